#!/usr/bin/env bats
# zfs send -R / -p and their receive (libzfs_sendrecv.c zfs_send with replicate / props,
# zfs_receive_package), judged by zfs-fuse both ways: our replication stream received by
# zfs-fuse's zfs receive -d, and zfs-fuse's received by ours, give the same tree (datasets,
# snapshots, properties, files) and pools zfs-fuse's zdb -bcc finds clean. A damaged or cut
# short replication stream gets zfs-fuse's words and leaves what zfs-fuse's receive leaves.
# Incremental replication streams (send -R -i/-I) make the target's tree the sender's, as
# zfs-fuse's recv_incremental_replication does; received properties are kept as such.

load ../lib/pool_helpers
load ../lib/oracle

setup() {
  send_suite_setup 2
}

teardown() {
  pool_suite_teardown
}

# mktree BIN POOL: POOL/fs with children a, a/b, c (local properties on some), files in
# each, snapshots @s1 and @s2 of all (POOL/fs/late only has @s2), a user property on @s2.
mktree() {
  local z=$1 p=$2 fs
  "$z" create -o compression=gzip -o com.example:tag=top "$p/fs"
  "$z" create -o recordsize=16K -o atime=off "$p/fs/a"
  "$z" create "$p/fs/a/b"
  "$z" create -o com.example:tag=c -o checksum=sha256 "$p/fs/c"
  for fs in fs fs/a fs/a/b fs/c; do
    m=$(mountpoint_of "$z" "$p/$fs")
    dd if=/dev/urandom of="$m/data" bs=64K count=3 status=none
    mkdir "$m/dir"
    echo "$fs" >"$m/dir/name"
  done
  "$z" snapshot -r "$p/fs@s1"
  "$z" create "$p/fs/late"
  for fs in fs fs/a fs/late; do
    m=$(mountpoint_of "$z" "$p/$fs")
    yes "$fs" | head -c 200000 >"$m/more"
    rm -f "$m/dir/name"
  done
  "$z" snapshot -r "$p/fs@s2"
  "$z" set com.example:snap=yes "$p/fs@s2"
}

# describe BIN POOL: the tree under POOL/fs with POOL written as X: its datasets and
# snapshots, the properties set on them (ours are set as local values, zfs-fuse's as
# received ones), and each filesystem's files.
describe() {
  local z=$1 p=$2 fs
  "$z" list -H -o name -t all -r "$p/fs" | sed "s|^$p/|X/|" | sort
  "$z" get -H -o name,property,value -s local,received -r all "$p/fs" | sed "s|^$p/|X/|" | sort
  for fs in $("$z" list -H -o name -t filesystem -r "$p/fs"); do
    echo "== ${fs#"$p"/}"
    tree_sum "$(mountpoint_of "$z" "$fs")"
  done
}

@test "zfs send -R: our replication stream, received by zfs-fuse, gives the same tree" {
  "$ZPOOL" create -R "$ALT" tank "$V/d0"
  mktree "$ZFS" tank
  "$ZFS" send -R tank/fs@s2 >"$S/repl"
  "$ZFS" send -p tank/fs/a@s2 >"$S/props"
  describe "$ZFS" tank >"$BATS_TEST_TMPDIR/ours"
  grep -q 'X/fs/a	recordsize	16K' "$BATS_TEST_TMPDIR/ours"
  grep -q 'X/fs@s2	com.example:snap	yes' "$BATS_TEST_TMPDIR/ours"
  # The header: a compound BEGIN (drr_versioninfo 2) with the packed list after it.
  [ "$(od -A n -t u8 -j 16 -N 8 "$S/repl" | tr -d ' ')" = 2 ]
  [ "$(od -A n -t u4 -j 4 -N 4 "$S/repl" | tr -d ' ')" -gt 0 ]
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  "$ZF_ZPOOL" create -R "$ZALT" zpool1 "$V/d1"
  "$ZF_ZFS" receive -d zpool1 <"$S/repl"
  describe "$ZF_ZFS" zpool1 >"$BATS_TEST_TMPDIR/theirs"
  diff "$BATS_TEST_TMPDIR/ours" "$BATS_TEST_TMPDIR/theirs"
  # -p: one filesystem's stream with its properties.
  "$ZF_ZFS" receive zpool1/pcopy <"$S/props"
  [ "$("$ZF_ZFS" get -H -o value,source recordsize zpool1/pcopy)" = "16K	received" ]
  [ "$("$ZF_ZFS" get -H -o value atime zpool1/pcopy)" = off ]
  "$ZF_ZPOOL" export zpool1
  oracle_zdb_clean "$V" zpool1
  oracle_stop
}

@test "zfs receive -R: zfs-fuse's replication stream gives us the same tree; send -v as zfs-fuse" {
  oracle_start
  "$ZF_ZPOOL" create -R "$ZALT" zpool1 "$V/d1"
  mktree "$ZF_ZFS" zpool1
  "$ZF_ZFS" send -v -R zpool1/fs@s2 >"$S/repl" 2>"$S/zf-verbose"
  "$ZF_ZFS" send -p zpool1/fs/c@s2 >"$S/props"
  describe "$ZF_ZFS" zpool1 >"$BATS_TEST_TMPDIR/theirs"
  "$ZF_ZPOOL" export zpool1
  "$ZPOOL" create -R "$ALT" tank "$V/d0"
  run "$ZFS" receive -v -d tank <"$S/repl"
  [ "$status" -eq 0 ]
  [[ $output == *"receiving full stream of zpool1/fs/a@s1 into tank/fs/a@s1"* ]]
  [[ $output == *"receiving incremental stream of zpool1/fs/a@s2 into tank/fs/a@s2"* ]]
  describe "$ZFS" tank >"$BATS_TEST_TMPDIR/ours"
  diff "$BATS_TEST_TMPDIR/theirs" "$BATS_TEST_TMPDIR/ours"
  "$ZFS" receive -u tank/pcopy <"$S/props"
  [ "$("$ZFS" get -H -o value checksum tank/pcopy)" = sha256 ]
  [ "$("$ZFS" get -H -o value com.example:tag tank/pcopy)" = c ]
  # send -v: zfs-fuse's "sending from @ to ..." lines on standard error, one per snapshot.
  "$ZFS" send -v -R tank/fs@s2 2>"$S/verbose" >/dev/null
  diff <(sed 's|zpool1/|tank/|' "$S/zf-verbose" | sort) <(sort "$S/verbose")
  [ "$(wc -l <"$S/verbose")" -eq 9 ]
  "$ZPOOL" export tank
  oracle_zdb_clean "$V" tank
  oracle_stop
}

@test "zfs receive -R: damaged and short streams refused in zfs-fuse's words, leaving what it leaves" {
  "$ZPOOL" create -R "$ALT" tank "$V/d0"
  mktree "$ZFS" tank
  "$ZFS" send -R tank/fs@s2 >"$S/repl"
  "$ZFS" create tank/dst
  # A flipped byte in the header's BEGIN (its toname).
  cp "$S/repl" "$S/flipped"
  printf 'Q' | dd of="$S/flipped" bs=1 seek=60 conv=notrunc status=none
  size=$(stat -c %s "$S/repl")
  head -c $((size * 2 / 3)) "$S/repl" >"$S/short"
  run "$ZFS" receive -d tank/dst <"$S/flipped"
  flipped_ours="$status $output"
  run "$ZFS" receive -d tank/dst <"$S/short"
  short_ours="$status $output"
  left_ours=$("$ZFS" list -H -o name -t all -r tank/dst | sed 's|^tank/dst|D|')
  expect 1 "cannot receive: cannot specify snapshot name for multi-snapshot stream" \
    "$ZFS" receive tank/dst2@x <"$S/repl"
  [ "$("$ZFS" list -H -o name tank/dst2 2>&1)" = "cannot open 'tank/dst2': dataset does not exist" ]
  # zfs-fuse on the same streams.
  oracle_start
  "$ZF_ZPOOL" create -R "$ZALT" zpool1 "$V/d1"
  "$ZF_ZFS" create zpool1/dst
  run "$ZF_ZFS" receive -d zpool1/dst <"$S/flipped"
  [ "$flipped_ours" = "$status $output" ]
  [ "$flipped_ours" = "1 cannot receive: incorrect header checksum" ]
  run "$ZF_ZFS" receive -d zpool1/dst <"$S/short"
  [ "$short_ours" = "$status $output" ]
  [ "${short_ours%% *}" = 1 ]
  left_theirs=$("$ZF_ZFS" list -H -o name -t all -r zpool1/dst | sed 's|^zpool1/dst|D|')
  [ "$left_ours" = "$left_theirs" ]
  "$ZF_ZPOOL" export zpool1
  oracle_zdb_clean "$V" zpool1
  "$ZPOOL" export tank
  oracle_zdb_clean "$V" tank
  oracle_stop
}

@test "zfs send -R -i: a filesystem new since the source goes whole; received by us" {
  "$ZPOOL" create -R "$ALT" tank "$V/d0"
  mktree "$ZFS" tank
  # tank/fs/late has no @s1: left out with zfs-fuse's warning and exit status 1.
  ! "$ZFS" send -R tank/fs@s1 >"$S/full" 2>"$S/err"
  [ "$(cat "$S/err")" = "WARNING: could not send tank/fs/late@s1: does not exist" ]
  "$ZFS" send -R -i s1 tank/fs@s2 >"$S/inc"
  "$ZFS" create tank/dst
  "$ZFS" receive -d -u tank/dst <"$S/full"
  [ "$("$ZFS" list -H -o name -t snapshot -r tank/dst | tr '\n' ' ')" = \
    "tank/dst/fs@s1 tank/dst/fs/a@s1 tank/dst/fs/a/b@s1 tank/dst/fs/c@s1 " ]
  run "$ZFS" receive -v -d tank/dst <"$S/inc"
  [ "$status" -eq 0 ]
  [[ $output == *"receiving full stream of tank/fs/late@s2 into tank/dst/fs/late@s2"* ]]
  [[ $output == *"receiving incremental stream of tank/fs/a@s2 into tank/dst/fs/a@s2"* ]]
  [ "$("$ZFS" list -H -o name -t snapshot -r tank/dst | tr '\n' ' ')" = \
    "tank/dst/fs@s1 tank/dst/fs@s2 tank/dst/fs/a@s1 tank/dst/fs/a@s2 tank/dst/fs/a/b@s1 tank/dst/fs/a/b@s2 tank/dst/fs/c@s1 tank/dst/fs/c@s2 tank/dst/fs/late@s2 " ]
  # The new filesystem was mounted; the received files are the sender's.
  [ "$(tree_sum "$(mountpoint_of "$ZFS" tank/dst/fs/late)")" = "$(tree_sum "$(mountpoint_of "$ZFS" tank/fs/late)")" ]
  [ "$(tree_sum "$(mountpoint_of "$ZFS" tank/dst/fs/a)")" = "$(tree_sum "$(mountpoint_of "$ZFS" tank/fs/a)")" ]
}

# mkrepl BIN POOL: POOL/fs with children a, a/b, c (properties on some), files in fs and
# fs/a, snapshots @s0 and @s1 of all. a/b and c, which mkchanges renames and destroys, are
# never mounted (zfs-fuse finds its own recent FUSE mounts busy and cannot destroy them).
mkrepl() {
  local z=$1 p=$2 fs
  "$z" create -o compression=gzip -o com.example:tag=top "$p/fs"
  "$z" create -o recordsize=16K "$p/fs/a"
  "$z" create -o canmount=off "$p/fs/a/b"
  "$z" create -o canmount=off -o com.example:tag=c "$p/fs/c"
  for fs in fs fs/a; do
    m=$(mountpoint_of "$z" "$p/$fs")
    dd if=/dev/urandom of="$m/data" bs=64K count=2 status=none
    mkdir "$m/dir"
    echo "$fs" >"$m/dir/name"
  done
  "$z" snapshot -r "$p/fs@s0"
  for fs in fs fs/a; do echo more >>"$(mountpoint_of "$z" "$p/$fs")/dir/name"; done
  "$z" snapshot -r "$p/fs@s1"
}

# mkchanges BIN POOL [mid]: after @s1, fs/late made, fs/c and every @s0 destroyed, fs/a/b
# renamed to fs/b, files and properties changed; @s2 (with mid) and @s3 of all.
mkchanges() {
  local z=$1 p=$2 fs
  "$z" create -o com.example:tag=late "$p/fs/late"
  "$z" destroy -r "$p/fs/c"
  "$z" destroy -r "$p/fs@s0"
  "$z" rename "$p/fs/a/b" "$p/fs/b"
  "$z" set atime=off "$p/fs/a"
  "$z" set com.example:tag=top2 "$p/fs"
  "$z" set com.example:tag=b "$p/fs/b"
  for fs in fs fs/a fs/late; do
    m=$(mountpoint_of "$z" "$p/$fs")
    yes "$fs" | head -c 150000 >"$m/more"
    rm -f "$m/dir/name"
  done
  if [ "${3:-}" = mid ]; then "$z" snapshot -r "$p/fs@s2"; fi
  m=$(mountpoint_of "$z" "$p/fs/late")
  dd if=/dev/urandom of="$m/data" bs=64K count=1 conv=notrunc status=none
  "$z" snapshot -r "$p/fs@s3"
}

# describe_repl BIN POOL: describe for mkrepl's tree (files of the filesystems that mount).
describe_repl() {
  local z=$1 p=$2 fs
  "$z" list -H -o name -t all -r "$p/fs" | sed "s|^$p/|X/|" | sort
  "$z" get -H -o name,property,value -s local,received -r all "$p/fs" | sed "s|^$p/|X/|" | sort
  for fs in $("$z" list -H -o name -t filesystem -r "$p/fs"); do
    [ "$("$z" get -H -o value canmount "$fs")" = on ] || continue
    echo "== ${fs#"$p"/}"
    tree_sum "$(mountpoint_of "$z" "$fs")"
  done
}

@test "zfs send -R -I: ours, received by zfs-fuse with -F, gives the same tree" {
  "$ZPOOL" create -R "$ALT" tank "$V/d0"
  mkrepl "$ZFS" tank
  "$ZFS" send -R tank/fs@s1 >"$S/full"
  mkchanges "$ZFS" tank mid
  "$ZFS" send -R -I s1 tank/fs@s3 >"$S/inc"
  describe_repl "$ZFS" tank >"$BATS_TEST_TMPDIR/ours"
  grep -q '^X/fs/b@s3$' "$BATS_TEST_TMPDIR/ours"
  grep -q '^X/fs/late@s2$' "$BATS_TEST_TMPDIR/ours"
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  "$ZF_ZPOOL" create -R "$ZALT" zpool1 "$V/d1"
  "$ZF_ZFS" receive -u -d zpool1 <"$S/full"
  [ -n "$("$ZF_ZFS" list -H -o name zpool1/fs/c@s0)" ]
  run "$ZF_ZFS" receive -v -F -d zpool1 <"$S/inc"
  echo "$output"
  [ "$status" -eq 0 ]
  describe_repl "$ZF_ZFS" zpool1 >"$BATS_TEST_TMPDIR/theirs"
  diff "$BATS_TEST_TMPDIR/ours" "$BATS_TEST_TMPDIR/theirs"
  "$ZF_ZPOOL" export zpool1
  oracle_zdb_clean "$V" zpool1
  oracle_stop
}

@test "zfs receive -R -i: zfs-fuse's stream gives us the same tree; without -F and a missing source as zfs-fuse" {
  oracle_start
  "$ZF_ZPOOL" create -R "$ZALT" zpool1 "$V/d1"
  mkrepl "$ZF_ZFS" zpool1
  "$ZF_ZFS" send -R zpool1/fs@s1 >"$S/full"
  mkchanges "$ZF_ZFS" zpool1
  "$ZF_ZFS" send -R -i s1 zpool1/fs@s3 >"$S/inc"
  describe_repl "$ZF_ZFS" zpool1 >"$BATS_TEST_TMPDIR/theirs"
  # zfs-fuse's receive without -F (nothing destroyed: fs/c and the @s0 stay) and of a tree
  # that lacks the source (@s1 destroyed): what it prints, and what it leaves.
  for d in n m; do
    "$ZF_ZFS" create "zpool1/$d"
    "$ZF_ZFS" receive -d -u "zpool1/$d" <"$S/full"
  done
  "$ZF_ZFS" destroy -r zpool1/m/fs@s1
  run "$ZF_ZFS" receive -d -u zpool1/n <"$S/inc"
  nof_theirs="$status ${output//zpool1/X}"
  run "$ZF_ZFS" receive -d -u zpool1/m <"$S/inc"
  nobase_theirs="$status ${output//zpool1/X}"
  left_theirs=$("$ZF_ZFS" list -H -o name -t all -r zpool1/n zpool1/m | sed 's|^zpool1|X|')
  "$ZF_ZPOOL" export zpool1
  oracle_stop
  "$ZPOOL" create -R "$ALT" tank "$V/d0"
  "$ZFS" receive -d tank <"$S/full"
  "$ZFS" receive -F -d tank <"$S/inc"
  describe_repl "$ZFS" tank >"$BATS_TEST_TMPDIR/ours"
  diff "$BATS_TEST_TMPDIR/theirs" "$BATS_TEST_TMPDIR/ours"
  grep -q '^X/fs/b@s3$' "$BATS_TEST_TMPDIR/ours"
  ! grep -q '^X/fs/c' "$BATS_TEST_TMPDIR/ours"
  for d in n m; do
    "$ZFS" create "tank/$d"
    "$ZFS" receive -d -u "tank/$d" <"$S/full"
  done
  "$ZFS" destroy -r tank/m/fs@s1
  before=$("$ZFS" list -H -o name -t all -r tank/m)
  run "$ZFS" receive -d -u tank/n <"$S/inc"
  [ "$status ${output//tank/X}" = "$nof_theirs" ]
  run "$ZFS" receive -d -u tank/m <"$S/inc"
  [ "$status ${output//tank/X}" = "$nobase_theirs" ]
  [ "$status" -eq 1 ]
  [ "$("$ZFS" list -H -o name -t all -r tank/m)" = "$before" ]
  [ "$("$ZFS" list -H -o name -t all -r tank/n tank/m | sed 's|^tank|X|')" = "$left_theirs" ]
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  oracle_stop
}

@test "zfs receive: properties kept as received values; zfs set overrides, zfs inherit -S reverts; zfs-fuse reads them alike" {
  "$ZPOOL" create -R "$ALT" tank "$V/d0"
  mktree "$ZFS" tank
  "$ZFS" send -R tank/fs@s2 >"$S/repl"
  "$ZFS" create tank/dst
  "$ZFS" receive -d -u tank/dst <"$S/repl"
  g() { "$ZFS" get -H -o value,received,source "$1" "$2"; }
  [ "$(g recordsize tank/dst/fs/a)" = "16K	16K	received" ]
  [ "$(g compression tank/dst/fs)" = "gzip	gzip	received" ]
  [ "$(g compression tank/dst/fs/a)" = "gzip	-	inherited from tank/dst/fs" ]
  # Set before the data arrives (zfs_ioc_recv): a full stream's text is stored gzip'd.
  "$ZFS" create -o compression=gzip tank/z
  yes compressible | head -c 1000000 >"$(mountpoint_of "$ZFS" tank/z)/text"
  "$ZFS" snapshot tank/z@s
  "$ZFS" send -p tank/z@s | "$ZFS" receive -u tank/dst/z
  ratio=$("$ZFS" get -H -o value compressratio tank/dst/z)
  [ "$ratio" != "1.00x" ] || { echo "compressratio $ratio" >&2; false; }
  [ "$(g com.example:tag tank/dst/fs/c)" = "c	c	received" ]
  [ "$(g com.example:snap tank/dst/fs@s2)" = "yes	yes	received" ]
  [ "$("$ZFS" get -H -o name,property -s received -r all tank/dst | grep -c .)" -ge 7 ]
  # A local value overrides the received one, which stays beneath it.
  "$ZFS" set recordsize=32K tank/dst/fs/a
  [ "$(g recordsize tank/dst/fs/a)" = "32K	16K	local" ]
  "$ZFS" inherit -S recordsize tank/dst/fs/a
  [ "$(g recordsize tank/dst/fs/a)" = "16K	16K	received" ]
  # zfs inherit hides a received value (the parent's or the default shows); -S brings it back.
  "$ZFS" inherit com.example:tag tank/dst/fs/c
  [ "$(g com.example:tag tank/dst/fs/c)" = "top	c	inherited from tank/dst/fs" ]
  "$ZFS" inherit atime tank/dst/fs/a
  [ "$(g atime tank/dst/fs/a)" = "on	off	default" ]
  "$ZFS" inherit -S com.example:tag tank/dst/fs/c
  [ "$(g com.example:tag tank/dst/fs/c)" = "c	c	received" ]
  expect 1 "'volsize' property cannot be reverted to a received value" \
    "$ZFS" inherit -S volsize tank/dst/fs
  # Sent again, the received values go as the dataset's own (send_iterate_prop).
  "$ZFS" send -p tank/dst/fs/a@s2 >"$S/again"
  "$ZFS" receive -u tank/again <"$S/again"
  [ "$(g recordsize tank/again)" = "16K	16K	received" ]
  "$ZFS" get -H -o name,property,value,source -s local,received -r all tank/dst | sort >"$S/ours"
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  "$ZF_ZPOOL" import -d "$V" -R "$ZALT" tank
  "$ZF_ZFS" get -H -o name,property,value,source -s local,received -r all tank/dst | sort >"$S/theirs"
  diff "$S/ours" "$S/theirs"
  [ "$("$ZF_ZFS" get -H -o value,source atime tank/dst/fs/a)" = "on	default" ]
  "$ZF_ZPOOL" export tank
  oracle_stop
}

@test "zfs receive -R -I: an existing filesystem's properties go before its data; a failed stream puts the old ones back" {
  "$ZPOOL" create -R "$ALT" tank "$V/d0"
  "$ZFS" create -o compression=off -o com.example:tag=old tank/fs
  m=$(mountpoint_of "$ZFS" tank/fs)
  echo a >"$m/a"
  "$ZFS" snapshot tank/fs@s1
  "$ZFS" send -R tank/fs@s1 >"$S/full"
  "$ZFS" set compression=gzip tank/fs
  "$ZFS" set com.example:tag=new tank/fs
  yes uzfs | head -c 4M >"$m/text"
  "$ZFS" snapshot tank/fs@s2
  "$ZFS" send -R -I @s1 tank/fs@s2 >"$S/inc"
  "$ZFS" create tank/dst
  "$ZFS" receive -d tank/dst <"$S/full"
  # Cut inside the new file's data (zfs_ioc_recv: the stream's properties were set, then
  # the original ones put back).
  head -c $(($(stat -c %s "$S/inc") - 200000)) "$S/inc" >"$S/short"
  run "$ZFS" receive -d tank/dst <"$S/short"
  [ "$status" -eq 1 ]
  [ "$("$ZFS" get -H -o value,source compression,com.example:tag tank/dst/fs | tr '\n' ' ')" = "off	received old	received " ]
  [ "$("$ZFS" list -H -o name -t snapshot -r tank/dst | tr '\n' ' ')" = "tank/dst/fs@s1 " ]
  "$ZFS" receive -d tank/dst <"$S/inc"
  [ "$("$ZFS" get -H -o value,source compression,com.example:tag tank/dst/fs | tr '\n' ' ')" = "gzip	received new	received " ]
  # The new file was written with the received gzip: its 4 MiB take a small part of that.
  [ "$("$ZFS" get -H -p -o value used tank/dst/fs)" -lt 1000000 ]
  [ "$(tree_sum "$(mountpoint_of "$ZFS" tank/dst/fs)")" = "$(tree_sum "$m")" ]
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  oracle_stop
}

@test "zfs receive: a failed first receive with properties takes its \$hasrecvd mark away; the next one replaces the local values" {
  "$ZPOOL" create -R "$ALT" tank "$V/d0"
  "$ZFS" create -o compression=gzip tank/fs
  m=$(mountpoint_of "$ZFS" tank/fs)
  echo a >"$m/a"
  "$ZFS" snapshot tank/fs@s1
  "$ZFS" send tank/fs@s1 >"$S/full"  # no properties: the copy gets no received ones
  yes uzfs | head -c 4M >"$m/text"
  "$ZFS" snapshot tank/fs@s2
  "$ZFS" send -R -I @s1 tank/fs@s2 >"$S/inc"
  "$ZFS" create tank/dst
  "$ZFS" receive tank/dst/fs <"$S/full"
  "$ZFS" set atime=off tank/dst/fs
  head -c $(($(stat -c %s "$S/inc") - 200000)) "$S/inc" >"$S/short"
  run "$ZFS" receive -d tank/dst <"$S/short"
  [ "$status" -eq 1 ]
  [ "$("$ZFS" get -H -o value,source atime,compression tank/dst/fs | tr '\n' ' ')" = "off	local off	default " ]
  # Still the first receive with properties (zfs_ioc_recv's first_recvd_props): it clears
  # the local values, so atime is the default again and compression the received gzip.
  "$ZFS" receive -d tank/dst <"$S/inc"
  [ "$("$ZFS" get -H -o value,source atime,compression tank/dst/fs | tr '\n' ' ')" = "on	default gzip	received " ]
  [ "$(tree_sum "$(mountpoint_of "$ZFS" tank/dst/fs)")" = "$(tree_sum "$m")" ]
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  oracle_stop
}
