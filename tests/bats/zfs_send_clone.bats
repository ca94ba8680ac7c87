#!/usr/bin/env bats
# Clones in zfs send and receive, as zfs-fuse 0.7 does them (libzfs_sendrecv.c, dmu_send.c):
# `zfs send -i ORIGIN clone@snap` is the incremental from the clone's origin flagged
# DRR_FLAG_CLONE, which zfs receive makes into a clone of the local snapshot with the
# origin's guid; -R sends a clone after the filesystem holding its origin, its first
# snapshot as such a clone stream. Judged by zfs-fuse both ways (its receive of our streams,
# ours of its), by the trees' manifests and zfs-fuse's zdb -bcc. Also zfs receive -d making
# the missing parents (create_parents), and an -R -I receive promoting what the sender promoted.

load ../lib/pool_helpers
load ../lib/oracle

setup() {
  send_suite_setup 3
}

teardown() {
  pool_suite_teardown
}

# begin_u8 FILE OFFSET / begin_u4: a field of the stream's first BEGIN record (drr_flags at
# 36, drr_toguid at 40, drr_fromguid at 48).
begin_u8() { od -A n -t u8 -j "$2" -N 8 "$1" | tr -d ' '; }
begin_u4() { od -A n -t u4 -j "$2" -N 4 "$1" | tr -d ' '; }
guid() { "$1" get -H -p -o value guid "$2"; }

# clones_received BIN POOL: POOL/cl and POOL/cl2 (the clone stream, then the -I series) are
# clones of POOL/fs@o with the sender's snapshots and files ($S/sum_s, $S/sum_t).
clones_received() {
  local z=$1 p=$2
  [ "$("$z" get -H -o value origin "$p/cl")" = "$p/fs@o" ]
  [ "$("$z" get -H -o value origin "$p/cl2")" = "$p/fs@o" ]
  [ "$("$z" list -H -o name -t snapshot -r "$p/cl2" | tr '\n' ' ')" = "$p/cl2@s $p/cl2@t " ]
  [ "$(tree_sum "$(mountpoint_of "$z" "$p/cl")")" = "$(cat "$S/sum_s")" ]
  [ "$(tree_sum "$(mountpoint_of "$z" "$p/cl2")")" = "$(cat "$S/sum_t")" ]
}

# mkclone BIN POOL: POOL/fs with files, @o; POOL/cl a clone of it, changed, @s; changed
# again, @t. The clone's files at @s and @t go to $S/sum_s and $S/sum_t.
mkclone() {
  local z=$1 p=$2 m
  "$z" create -o compression=gzip "$p/fs"
  m=$(mountpoint_of "$z" "$p/fs")
  dd if=/dev/urandom of="$m/data" bs=64K count=32 status=none
  mkdir "$m/dir"
  echo origin >"$m/dir/name"
  yes origin | head -c 300000 >"$m/text"
  "$z" snapshot "$p/fs@o"
  "$z" clone "$p/fs@o" "$p/cl"
  m=$(mountpoint_of "$z" "$p/cl")
  echo clone >"$m/dir/name"
  dd if=/dev/urandom of="$m/data" bs=64K count=1 seek=3 conv=notrunc status=none
  rm "$m/text"
  echo new >"$m/new"
  "$z" snapshot "$p/cl@s"
  tree_sum "$m" >"$S/sum_s"
  yes later | head -c 100000 >"$m/later"
  "$z" snapshot "$p/cl@t"
  tree_sum "$m" >"$S/sum_t"
}

@test "zfs send -i ORIGIN of a clone: a clone stream zfs-fuse receives as a clone; -I from the origin too" {
  "$ZPOOL" create -R "$ALT" tank "$V/d0"
  mkclone "$ZFS" tank
  "$ZFS" send tank/fs@o >"$S/origin"
  "$ZFS" send -i tank/fs@o tank/cl@s >"$S/clone"
  "$ZFS" send -I tank/fs@o tank/cl@t >"$S/series"
  "$ZFS" send tank/cl@s >"$S/whole"
  # BEGIN: DRR_FLAG_CLONE, the origin's guid as fromguid; a full stream of the clone has
  # neither. The clone stream carries only what the clone changed.
  [ "$(begin_u4 "$S/clone" 36)" = 1 ]
  [ "$(begin_u8 "$S/clone" 48)" = "$(guid "$ZFS" tank/fs@o)" ]
  [ "$(begin_u8 "$S/clone" 40)" = "$(guid "$ZFS" tank/cl@s)" ]
  [ "$(begin_u4 "$S/whole" 36)" = 0 ]
  [ "$(begin_u8 "$S/whole" 48)" = 0 ]
  [ "$(stat -c %s "$S/clone")" -lt $(($(stat -c %s "$S/whole") / 2)) ]
  # Another filesystem's snapshot that is no origin of this one stays refused (zfs_do_send).
  run bash -c "'$ZFS' send -i tank/cl@s tank/fs@o >/dev/null"
  [ "$status" -eq 2 ]
  [ "${lines[0]}" = "incremental source must be in same filesystem" ]
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  "$ZF_ZPOOL" create -R "$ZALT" zpool1 "$V/d1"
  "$ZF_ZFS" receive zpool1/fs <"$S/origin"
  "$ZF_ZFS" receive zpool1/cl <"$S/clone"
  "$ZF_ZFS" receive zpool1/cl2 <"$S/series"
  clones_received "$ZF_ZFS" zpool1
  # zfs-fuse's own clone stream of what it received: the same BEGIN (but the pool's name).
  "$ZF_ZFS" send -i zpool1/fs@o zpool1/cl@s >"$S/theirs"
  cmp <(head -c 56 "$S/clone") <(head -c 56 "$S/theirs")
  "$ZF_ZPOOL" export zpool1
  oracle_zdb_clean "$V" zpool1
  oracle_stop
}

@test "zfs receive of zfs-fuse's clone streams makes clones; a missing origin refused in its words" {
  oracle_start
  "$ZF_ZPOOL" create -R "$ZALT" zpool1 "$V/d1"
  mkclone "$ZF_ZFS" zpool1
  "$ZF_ZFS" send zpool1/fs@o >"$S/origin"
  "$ZF_ZFS" send -i zpool1/fs@o zpool1/cl@s >"$S/clone"
  "$ZF_ZFS" send -I zpool1/fs@o zpool1/cl@t >"$S/series"
  [ "$(begin_u4 "$S/clone" 36)" = 1 ]
  # zfs-fuse's words: a pool without the origin, and an existing destination.
  "$ZF_ZPOOL" create -R "$BATS_TEST_TMPDIR/zalt2" zpool2 "$V/d2"
  run "$ZF_ZFS" receive zpool2/cl <"$S/clone"
  noorigin_theirs="$status ${output//zpool2/X}"
  "$ZF_ZFS" create zpool1/busy
  run "$ZF_ZFS" receive zpool1/busy <"$S/clone"
  exists_theirs="$status ${output//zpool1/X}"
  oracle_unbusy "$ZF_ZPOOL" export zpool1
  oracle_unbusy "$ZF_ZPOOL" destroy zpool2
  oracle_stop
  "$ZPOOL" create -R "$ALT" tank "$V/d0"
  run "$ZFS" receive tank/cl <"$S/clone"
  [ "$status ${output//tank/X}" = "$noorigin_theirs" ]
  [ "$noorigin_theirs" = "1 cannot receive: local origin for clone X/cl@s does not exist" ]
  "$ZFS" receive tank/fs <"$S/origin"
  "$ZFS" create tank/busy
  run "$ZFS" receive tank/busy <"$S/clone"
  [ "$status ${output//tank/X}" = "$exists_theirs" ]
  run "$ZFS" receive -v tank/cl <"$S/clone"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "found clone origin tank/fs@o" ]
  [ "${lines[1]}" = "receiving incremental stream of zpool1/cl@s into tank/cl@s" ]
  "$ZFS" receive tank/cl2 <"$S/series"
  clones_received "$ZFS" tank
  # The clone shares the origin's blocks: it uses far less than it references.
  used=$("$ZFS" get -H -p -o value used tank/cl)
  refer=$("$ZFS" get -H -p -o value referenced tank/cl)
  [ "$used" -lt $((refer / 2)) ]
  # The origin cannot go while its clones are there, as for any clone.
  run "$ZFS" destroy tank/fs@o
  [ "$status" -eq 1 ]
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  oracle_stop
}

# mkclones BIN POOL: POOL/top with children z (files, a child b) and a, a clone of z@s1
# (its name sorts before its origin's filesystem); @s1 of top and z, @s2 of all. (A clone
# has no children here: zfs-fuse may send a clone's child before the clone it waits for.)
# Then (mkclones2) n, a clone of a@s2, and @s3 of all.
mkclones() {
  local z=$1 p=$2 m
  "$z" create -o com.example:tag=top "$p/top"
  "$z" create -o recordsize=16K "$p/top/z"
  m=$(mountpoint_of "$z" "$p/top/z")
  dd if=/dev/urandom of="$m/data" bs=64K count=6 status=none
  echo z >"$m/name"
  "$z" snapshot -r "$p/top@s1"
  "$z" clone -o com.example:tag=a "$p/top/z@s1" "$p/top/a"
  m=$(mountpoint_of "$z" "$p/top/a")
  echo a >"$m/name"
  dd if=/dev/urandom of="$m/data" bs=64K count=1 seek=2 conv=notrunc status=none
  "$z" create "$p/top/z/b"
  echo b >"$(mountpoint_of "$z" "$p/top/z/b")/name"
  echo changed >>"$(mountpoint_of "$z" "$p/top/z")/name"
  "$z" snapshot -r "$p/top@s2"
}
mkclones2() {
  local z=$1 p=$2 m
  "$z" clone "$p/top/a@s2" "$p/top/n"
  m=$(mountpoint_of "$z" "$p/top/n")
  echo n >"$m/name"
  "$z" snapshot -r "$p/top@s3"
}

# describe_clones BIN POOL: the tree under POOL/top with POOL written as X: datasets,
# origins, properties set on them, files.
describe_clones() {
  local z=$1 p=$2 fs
  "$z" list -H -o name -t all -r "$p/top" | sed "s|^$p/|X/|" | sort
  "$z" list -H -o name,origin -t filesystem -r "$p/top" | sed "s|$p/|X/|g" | sort
  "$z" get -H -o name,property,value -s local,received -r all "$p/top" | sed "s|^$p/|X/|" | sort
  for fs in $("$z" list -H -o name -t filesystem -r "$p/top"); do
    echo "== ${fs#"$p"/}"
    tree_sum "$(mountpoint_of "$z" "$fs")"
  done
}

@test "zfs send -R of a tree with clones: zfs-fuse receives them as clones, with -R -I after a new clone" {
  "$ZPOOL" create -R "$ALT" tank "$V/d0"
  mkclones "$ZFS" tank
  "$ZFS" send -v -R tank/top@s2 >"$S/full" 2>"$S/verbose"
  # The origin's filesystem before its clone (dump_filesystems).
  [ "$(grep -n 'to tank/top/z@s1' "$S/verbose" | cut -d: -f1)" -lt \
    "$(grep -n 'to tank/top/a@s2' "$S/verbose" | cut -d: -f1)" ]
  mkclones2 "$ZFS" tank
  "$ZFS" send -R -I s2 tank/top@s3 >"$S/inc"
  describe_clones "$ZFS" tank >"$BATS_TEST_TMPDIR/ours"
  grep -q '^X/top/n	X/top/a@s2$' "$BATS_TEST_TMPDIR/ours"
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  "$ZF_ZPOOL" create -R "$ZALT" zpool1 "$V/d1"
  "$ZF_ZFS" receive -d zpool1 <"$S/full"
  [ "$("$ZF_ZFS" get -H -o value origin zpool1/top/a)" = zpool1/top/z@s1 ]
  # -F: the full receive's mounts changed the filesystems since their snapshots.
  "$ZF_ZFS" receive -F -d zpool1 <"$S/inc"
  # Imported again: zfs-fuse's kernel attribute cache of top's root predates the receive.
  "$ZF_ZPOOL" export zpool1
  "$ZF_ZPOOL" import -d "$V" -R "$ZALT" zpool1
  describe_clones "$ZF_ZFS" zpool1 >"$BATS_TEST_TMPDIR/theirs"
  diff "$BATS_TEST_TMPDIR/ours" "$BATS_TEST_TMPDIR/theirs"
  "$ZF_ZPOOL" export zpool1
  oracle_zdb_clean "$V" zpool1
  oracle_stop
}

@test "zfs receive -R of zfs-fuse's tree with clones makes them clones, with -R -I after a new clone" {
  oracle_start
  "$ZF_ZPOOL" create -R "$ZALT" zpool1 "$V/d1"
  mkclones "$ZF_ZFS" zpool1
  "$ZF_ZFS" send -R zpool1/top@s2 >"$S/full"
  mkclones2 "$ZF_ZFS" zpool1
  "$ZF_ZFS" send -R -I s2 zpool1/top@s3 >"$S/inc"
  describe_clones "$ZF_ZFS" zpool1 >"$BATS_TEST_TMPDIR/theirs"
  "$ZF_ZPOOL" export zpool1
  oracle_stop
  "$ZPOOL" create -R "$ALT" tank "$V/d0"
  run "$ZFS" receive -v -d tank <"$S/full"
  [ "$status" -eq 0 ]
  [[ $output == *"found clone origin tank/top/z@s1"* ]]
  [ "$("$ZFS" get -H -o value origin tank/top/a)" = tank/top/z@s1 ]
  "$ZFS" receive -F -d tank <"$S/inc"
  describe_clones "$ZFS" tank >"$BATS_TEST_TMPDIR/ours"
  diff "$BATS_TEST_TMPDIR/theirs" "$BATS_TEST_TMPDIR/ours"
  used=$("$ZFS" get -H -p -o value used tank/top/n)
  refer=$("$ZFS" get -H -p -o value referenced tank/top/n)
  [ "$used" -lt $((refer / 2)) ]
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  oracle_stop
}

@test "zfs receive: a SIGKILL of zfsd mid-clone-stream leaves no clone and a clean pool" {
  "$ZPOOL" create -R "$ALT" tank "$V/d0"
  mkclone "$ZFS" tank
  m=$(mountpoint_of "$ZFS" tank/cl)
  dd if=/dev/urandom of="$m/big" bs=1M count=24 status=none
  "$ZFS" snapshot tank/cl@big
  "$ZFS" send -i tank/fs@o tank/cl@big >"$S/clone"
  fifo=$BATS_TEST_TMPDIR/fifo
  mkfifo "$fifo"
  "$ZFS" receive tank/copy <"$fifo" 2>/dev/null &
  exec 4>"$fifo"
  head -c $(($(stat -c %s "$S/clone") / 2)) "$S/clone" >&4
  sleep 1
  "$ZPOOL" sync tank  # some of the stream on disk, in the new clone
  zfsd_kill
  exec 4>&-
  oracle_start
  oracle_zdb_clean "$V" tank
  oracle_stop
  zfsd_start
  "$ZPOOL" import -d "$V" -R "$ALT" tank
  run "$ZFS" list tank/copy
  [ "$output" = "cannot open 'tank/copy': dataset does not exist" ]
  "$ZFS" receive tank/copy <"$S/clone"
  [ "$("$ZFS" get -H -o value origin tank/copy)" = tank/fs@o ]
  [ "$(tree_sum "$(mountpoint_of "$ZFS" tank/copy)")" = "$(tree_sum "$(mountpoint_of "$ZFS" tank/cl)")" ]
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  oracle_stop
}

@test "zfs receive -d makes the missing parents, as zfs-fuse's create_parents does" {
  oracle_start
  "$ZF_ZPOOL" create -R "$ZALT" zpool1 "$V/d1"
  "$ZF_ZFS" create -p zpool1/src/mid/deep
  echo deep >"$(mountpoint_of "$ZF_ZFS" zpool1/src/mid/deep)/f"
  "$ZF_ZFS" snapshot zpool1/src/mid/deep@s
  "$ZF_ZFS" send zpool1/src/mid/deep@s >"$S/deep"
  "$ZF_ZFS" create zpool1/dst
  "$ZF_ZFS" receive -d -u zpool1/dst <"$S/deep"
  theirs=$("$ZF_ZFS" list -H -o name,mounted -r zpool1/dst | sed 's|^zpool1|X|')
  [ "$(echo "$theirs" | grep -c .)" = 4 ]
  "$ZF_ZPOOL" export zpool1
  oracle_stop
  "$ZPOOL" create -R "$ALT" tank "$V/d0"
  "$ZFS" create tank/dst
  "$ZFS" receive -n -d tank/dst <"$S/deep"
  [ "$("$ZFS" list -H -o name -r tank/dst)" = tank/dst ]
  "$ZFS" receive -d -u tank/dst <"$S/deep"
  [ "$("$ZFS" list -H -o name,mounted -r tank/dst | sed 's|^tank|X|')" = "$theirs" ]
  "$ZFS" mount tank/dst/src/mid/deep
  [ "$(cat "$(mountpoint_of "$ZFS" tank/dst/src/mid/deep)/f")" = deep ]
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  oracle_stop
}

# promote_after BIN POOL: zfs promote of POOL/top/a (z becomes the clone of a@s1), @s3.
promote_after() {
  "$1" promote "$2/top/a"
  echo more >>"$(mountpoint_of "$1" "$2/top/a")/name"
  "$1" snapshot -r "$2/top@s3"
}

@test "zfs receive -R -I after a zfs promote on the sender promotes here too, ours and zfs-fuse's" {
  "$ZPOOL" create -R "$ALT" tank "$V/d0"
  mkclones "$ZFS" tank
  "$ZFS" send -R tank/top@s2 >"$S/full"
  promote_after "$ZFS" tank
  "$ZFS" send -R -I s2 tank/top@s3 >"$S/inc"
  describe_clones "$ZFS" tank >"$BATS_TEST_TMPDIR/ours"
  grep -q '^X/top/z	X/top/a@s1$' "$BATS_TEST_TMPDIR/ours"
  "$ZPOOL" export tank
  oracle_start
  "$ZF_ZPOOL" create -R "$ZALT" zpool1 "$V/d1"
  "$ZF_ZFS" receive -d zpool1 <"$S/full"
  run "$ZF_ZFS" receive -v -F -d zpool1 <"$S/inc"
  [ "$status" -eq 0 ]
  [[ $output == *"promoting zpool1/top/a"* ]]
  "$ZF_ZPOOL" export zpool1
  "$ZF_ZPOOL" import -d "$V" -R "$ZALT" zpool1
  describe_clones "$ZF_ZFS" zpool1 >"$BATS_TEST_TMPDIR/theirs"
  diff "$BATS_TEST_TMPDIR/ours" "$BATS_TEST_TMPDIR/theirs"
  # zfs-fuse's own tree, promoted likewise, received by us.
  "$ZF_ZFS" create zpool1/src
  mkclones "$ZF_ZFS" zpool1/src
  "$ZF_ZFS" send -R zpool1/src/top@s2 >"$S/zf-full"
  promote_after "$ZF_ZFS" zpool1/src
  "$ZF_ZFS" send -R -I s2 zpool1/src/top@s3 >"$S/zf-inc"
  describe_clones "$ZF_ZFS" zpool1/src >"$BATS_TEST_TMPDIR/zf-src"
  "$ZF_ZPOOL" export zpool1
  oracle_stop
  "$ZPOOL" import -d "$V" -R "$ALT" tank
  "$ZFS" destroy -R tank/top
  "$ZFS" receive -e tank <"$S/zf-full"
  [ "$("$ZFS" get -H -o value origin tank/top/a)" = tank/top/z@s1 ]
  run "$ZFS" receive -v -F -e tank <"$S/zf-inc"
  [ "$status" -eq 0 ]
  [[ $output == *"promoting tank/top/a"* ]]
  describe_clones "$ZFS" tank >"$BATS_TEST_TMPDIR/again"
  diff "$BATS_TEST_TMPDIR/zf-src" "$BATS_TEST_TMPDIR/again"
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  oracle_zdb_clean "$V" zpool1
  oracle_stop
}

@test "zfs receive -R -I: an origin that cannot be opened ends the replication pass with zfs_open's error" {
  "$ZPOOL" create -R "$ALT" tank "$V/d0"
  "$ZFS" create tank/top
  "$ZFS" snapshot tank/top@o
  "$ZFS" create tank/fs
  "$ZFS" clone tank/top@o tank/fs/x
  "$ZFS" snapshot -r tank/fs@s1
  "$ZFS" snapshot -r tank/fs@s2
  "$ZFS" send -R tank/fs@s2 >"$S/full"
  "$ZFS" snapshot -r tank/fs@s3
  "$ZFS" send -R -I @s2 tank/fs@s3 >"$S/inc"
  "$ZFS" receive tank/dst <"$S/full"
  [ "$("$ZFS" get -H -o value origin tank/dst/x)" = tank/top@o ]
  # Here x becomes a clone of tank/zz@s1, outside the received tree: the stream's origin of
  # x (tank/top@o) differs, and created_before cannot open both (zfs-fuse's fsavl_find finds
  # neither in the local tree).
  "$ZFS" clone tank/dst/x@s1 tank/zz
  "$ZFS" promote tank/zz
  run "$ZFS" receive -v tank/dst <"$S/inc"
  [ "$status" -eq 1 ]
  [[ $output == *"cannot open 'tank/fs/x@s1': dataset does not exist"* ]]
  [[ $output != *"another pass"* ]]
  # The substreams were received all the same (zfs_receive_package's softerr).
  [ "$("$ZFS" list -H -o name -t snapshot -r tank/dst | grep -c @s3)" = 2 ]
}
