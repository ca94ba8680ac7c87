#!/usr/bin/env bats
# zfs receive of incremental streams (zfs-fuse dmu_send.c: the stream goes into a temporary
# clone of the target's latest snapshot, swapped in at the end), receive -F, send -I. Judged
# by zfs-fuse: its incrementals come into our pools, ours into its pools, and its zdb -bcc
# finds every pool clean. Refused streams (base missing, target modified, a flipped byte, a
# short stream) and a SIGKILL of zfsd mid-receive leave the target as it was.

load ../lib/pool_helpers
load ../lib/oracle

MANIFEST=$UZFS_ROOT/tests/lib/manifest.py

setup() {
  send_suite_setup 2
}

teardown() {
  pool_suite_teardown
}

manifest() { python3 "$MANIFEST" "$1"; }

# tank/fs with files of every kind and snapshot @s1; its full stream received as tank/copy.
mkpool() {
  "$ZPOOL" create -R "$ALT" tank "$V/d0"
  "$ZFS" create -o atime=off tank/fs
  M=$ALT/tank/fs
  dd if=/dev/urandom of="$M/random" bs=1M count=3 status=none
  truncate -s 20M "$M/sparse"
  dd if=/dev/urandom of="$M/sparse" bs=128K count=4 seek=100 conv=notrunc status=none
  mkdir -p "$M/dir/sub" "$M/many"
  for i in $(seq 200); do echo "$i" >"$M/many/f$i"; done
  echo small >"$M/dir/sub/small"
  ln -s dir/sub/small "$M/link"
  xattr_set "$M/random" user.color blue
  "$ZFS" snapshot tank/fs@s1
  "$ZFS" send tank/fs@s1 >"$S/full"
  "$ZFS" receive tank/copy <"$S/full"
  "$ZFS" set atime=off tank/copy
  C=$ALT/tank/copy
}

# Changes that make every kind of record: deleted files (FREEOBJECTS), truncated files and
# a punched-out tail (FREE), rewritten blocks (WRITE), a rename, new files and xattrs,
# changed modes and owners.
change() {
  for i in $(seq 1 2 200); do rm "$M/many/f$i"; done
  truncate -s 1M "$M/random"
  dd if=/dev/urandom of="$M/sparse" bs=128K count=1 seek=10 conv=notrunc status=none
  truncate -s 5M "$M/sparse"
  mv "$M/dir/sub/small" "$M/dir/renamed"
  rm "$M/link"
  mkdir "$M/new"
  dd if=/dev/urandom of="$M/new/file" bs=100K count=5 status=none
  xattr_set "$M/new/file" user.tag fresh
  xattr_set "$M/dir" user.note "$(printf 'v%.0s' $(seq 40))"
  chmod 0700 "$M/dir"
  chown 42:43 "$M/many/f2"
}

@test "zfs receive: an incremental stream into a mounted filesystem; space freed; zfs-fuse agrees" {
  mkpool
  ref1=$("$ZFS" get -H -p -o value referenced tank/copy)
  cd "$C/dir"  # the mount stays in use and keeps working
  change
  "$ZFS" snapshot tank/fs@s2
  "$ZFS" send -i s1 tank/fs@s2 >"$S/inc"
  run "$ZFS" receive -v tank/copy <"$S/inc"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [ "${lines[0]}" = "receiving incremental stream of tank/fs@s2 into tank/copy@s2" ]
  diff <(manifest "$M") <(manifest "$C")
  [ -f "$PWD/renamed" ]
  cd /
  [ "$("$ZFS" list -H -o name -t snapshot -r tank/copy | tr '\n' ' ')" = "tank/copy@s1 tank/copy@s2 " ]
  [ "$("$ZFS" get -H -p -o value guid,creation tank/copy@s2)" = "$("$ZFS" get -H -p -o value guid,creation tank/fs@s2)" ]
  # No temporary clone is left; the freed blocks are gone from the filesystem: it references
  # what a full receive of @s2 references.
  [ "$("$ZFS" list -H -o name -r tank | grep -c %)" = 0 ]
  "$ZFS" send tank/fs@s2 | "$ZFS" receive tank/whole
  ref2=$("$ZFS" get -H -p -o value referenced tank/copy)
  [ "$ref2" -lt "$ref1" ]
  [ "$ref2" = "$("$ZFS" get -H -p -o value referenced tank/whole)" ]
  # The previous snapshot keeps the old files; destroying it frees them.
  diff <(tree_sum "$C/.zfs/snapshot/s1") <(tree_sum "$ALT/tank/fs/.zfs/snapshot/s1")
  "$ZFS" destroy tank/copy@s1
  # zfs-fuse: our pool is clean; it reads the received files; its own incremental of them
  # comes back into ours.
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  "$ZF_ZPOOL" import -d "$V" -R "$ZALT" tank
  Z=$(zf_mountpoint tank/copy)
  diff <(tree_sum "$(zf_mountpoint tank/fs)") <(tree_sum "$Z")
  "$ZF_ZFS" set atime=off tank/copy
  rm "$Z/many/f2"
  truncate -s 100K "$Z/new/file"
  dd if=/dev/urandom of="$Z/zfnew" bs=64K count=3 status=none
  mv "$Z/dir/renamed" "$Z/moved"
  "$ZF_ZFS" snapshot tank/copy@z3
  "$ZF_ZFS" send -i s2 tank/copy@z3 >"$S/zfinc"
  manifest "$Z" >"$BATS_TEST_TMPDIR/z3"
  "$ZF_ZFS" destroy tank/copy@z3
  "$ZF_ZFS" rollback tank/copy@s2
  "$ZF_ZPOOL" export tank
  oracle_stop
  "$ZPOOL" import -d "$V" -R "$ALT" tank
  "$ZFS" receive tank/copy <"$S/zfinc"
  diff "$BATS_TEST_TMPDIR/z3" <(manifest "$C")
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  oracle_stop
}

@test "zfs receive: refused incrementals in zfs-fuse's words leave the target as it was; -F" {
  mkpool
  change
  "$ZFS" snapshot tank/fs@s2
  "$ZFS" send -i s1 tank/fs@s2 >"$S/inc"
  expect 1 "cannot receive incremental stream: destination 'tank/nope' does not exist" \
    "$ZFS" receive tank/nope <"$S/inc"
  before=$(tree_sum "$C")
  snaps() { "$ZFS" list -H -o name -t snapshot -r tank/copy | tr '\n' ' '; }
  # A flipped byte and a short stream: nothing of them stays.
  size=$(stat -c %s "$S/inc")
  cp "$S/inc" "$S/flipped"
  flip_byte "$S/flipped" $((size / 2))
  expect 1 "cannot receive incremental stream: invalid stream (checksum mismatch)" \
    "$ZFS" receive tank/copy <"$S/flipped"
  head -c $((size / 2)) "$S/inc" >"$S/short"
  expect 1 "cannot receive incremental stream: invalid backup stream" "$ZFS" receive tank/copy <"$S/short"
  # A compound stream whose property list does not unpack, or whose header checksum is
  # wrong, is refused as zfs-fuse refuses it (recv_read_nvlist, zfs_receive_package).
  compound() {  # payloadlen, then the END record's first checksum word
    python3 -c "import struct,sys; p=int(sys.argv[1]); b=struct.pack('<IIQQ',0,p,0x2F5bacbac,2)+bytes(288)
sys.stdout.buffer.write(b+bytes(p)+struct.pack('<IIQ',5,0,int(sys.argv[2]))+bytes(296))" "$@"
  }
  compound 8 0 >"$S/repl"
  expect 1 "cannot receive: invalid stream (malformed nvlist)" "$ZFS" receive tank/copy <"$S/repl"
  compound 0 12345 >"$S/badhdr"
  expect 1 "cannot receive: incorrect header checksum" "$ZFS" receive tank/copy <"$S/badhdr"
  [ "$(tree_sum "$C")" = "$before" ]
  [ "$(snaps)" = "tank/copy@s1 " ]
  [ "$("$ZFS" list -H -o name -r tank | grep -c %)" = 0 ]
  # The target changed since its snapshot: refused, unchanged; -F throws the change away.
  echo local >"$C/local"
  expect 1 "cannot receive incremental stream: destination tank/copy has been modified
since most recent snapshot" "$ZFS" receive tank/copy <"$S/inc"
  [ -f "$C/local" ]
  "$ZFS" receive -F tank/copy <"$S/inc"
  diff <(manifest "$M") <(manifest "$C")
  [ "$(snaps)" = "tank/copy@s1 tank/copy@s2 " ]
  # The same stream again: its snapshot exists.
  expect 1 "cannot receive incremental stream: most recent snapshot of tank/copy does not
match incremental source" "$ZFS" receive tank/copy <"$S/inc"
  # A base the target lacks.
  "$ZFS" snapshot tank/fs@s3
  "$ZFS" send -i s2 tank/fs@s3 >"$S/inc23"
  "$ZFS" rollback -r tank/copy@s1
  before=$(tree_sum "$C")
  expect 1 "cannot receive incremental stream: most recent snapshot of tank/copy does not
match incremental source" "$ZFS" receive tank/copy <"$S/inc23"
  [ "$(tree_sum "$C")" = "$before" ]
  # A full stream over a filesystem: -F needed, and it must have no snapshots.
  expect 1 "cannot receive new filesystem stream: destination 'tank/copy' exists
must specify -F to overwrite it" "$ZFS" receive tank/copy <"$S/full"
  expect 1 "cannot receive new filesystem stream: destination has snapshots (eg. tank/copy@s1)
must destroy them to overwrite it" "$ZFS" receive -F tank/copy <"$S/full"
  "$ZFS" create tank/plain
  echo old >"$ALT/tank/plain/old"
  "$ZFS" receive -F tank/plain <"$S/full"
  diff <(tree_sum "$ALT/tank/fs/.zfs/snapshot/s1") <(tree_sum "$ALT/tank/plain")
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  oracle_stop
}

@test "zfs send -I: a series of incrementals, received by us and by zfs-fuse" {
  mkpool
  "$ZFS" snapshot tank/fs@s2
  change
  "$ZFS" snapshot tank/fs@s3
  echo more >"$M/more"
  "$ZFS" snapshot tank/fs@s4
  "$ZFS" send -I s1 tank/fs@s4 >"$S/series"
  # The compound header: DRR_BEGIN with DMU_COMPOUNDSTREAM (2) in drr_versioninfo.
  [ "$(od -A n -t x8 -j 16 -N 8 "$S/series" | tr -d ' ')" = 0000000000000002 ]
  run "$ZFS" receive -v tank/copy <"$S/series"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "receiving incremental stream of tank/fs@s2 into tank/copy@s2" ]
  [ "${lines[2]}" = "receiving incremental stream of tank/fs@s4 into tank/copy@s4" ]
  [ "$("$ZFS" list -H -o name -t snapshot -r tank/copy | tr '\n' ' ')" = "tank/copy@s1 tank/copy@s2 tank/copy@s3 tank/copy@s4 " ]
  diff <(manifest "$M") <(manifest "$C")
  diff <(tree_sum "$ALT/tank/fs/.zfs/snapshot/s3") <(tree_sum "$C/.zfs/snapshot/s3")
  expect 1 "warning: cannot send 'tank/fs@s4': incremental source (@nope) does not exist" \
    "$ZFS" send -I nope tank/fs@s4
  manifest "$M" >"$BATS_TEST_TMPDIR/ours"
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  "$ZF_ZPOOL" create -R "$ZALT" zpool1 "$V/d1"
  "$ZF_ZFS" receive zpool1/copy <"$S/full"
  "$ZF_ZFS" receive zpool1/copy <"$S/series"
  run "$ZF_ZFS" list -H -o name -t snapshot -r zpool1
  [ "$output" = "$(printf 'zpool1/copy@s1\nzpool1/copy@s2\nzpool1/copy@s3\nzpool1/copy@s4')" ]
  "$ZF_ZPOOL" export zpool1
  "$ZF_ZPOOL" import -d "$V" -R "$ZALT" zpool1
  "$ZF_ZFS" set atime=off zpool1/copy
  manifest "$(zf_mountpoint zpool1/copy)" >"$BATS_TEST_TMPDIR/theirs"
  "$ZF_ZPOOL" export zpool1
  oracle_zdb_clean "$V" zpool1
  oracle_stop
  diff "$BATS_TEST_TMPDIR/ours" "$BATS_TEST_TMPDIR/theirs"
}

@test "zfs receive: a SIGKILL of zfsd mid-incremental leaves the target as it was and a clean pool" {
  mkpool
  change
  dd if=/dev/urandom of="$M/big" bs=1M count=24 status=none
  "$ZFS" snapshot tank/fs@s2
  "$ZFS" send -i s1 tank/fs@s2 >"$S/inc"
  before=$(tree_sum "$C")
  fifo=$BATS_TEST_TMPDIR/fifo
  mkfifo "$fifo"
  "$ZFS" receive tank/copy <"$fifo" 2>/dev/null &
  exec 4>"$fifo"
  head -c $(($(stat -c %s "$S/inc") / 2)) "$S/inc" >&4
  sleep 1
  "$ZPOOL" sync tank  # some of the stream on disk, in the temporary clone
  [ "$(tree_sum "$C")" = "$before" ]
  zfsd_kill
  exec 4>&-
  run "$ZDB" -e -p "$V" -d tank
  [[ $output == *"tank/copy/%s2"* ]]
  oracle_start
  oracle_zdb_clean "$V" tank
  oracle_stop
  zfsd_start
  "$ZPOOL" import -d "$V" -R "$ALT" tank
  [ "$(tree_sum "$C")" = "$before" ]
  [ "$("$ZFS" list -H -o name -t snapshot -r tank/copy | tr '\n' ' ')" = "tank/copy@s1 " ]
  [ "$("$ZFS" list -H -o name -r tank | grep -c %)" = 0 ]
  "$ZFS" receive tank/copy <"$S/inc"
  diff <(manifest "$M") <(manifest "$C")
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  oracle_stop
}

@test "zfs receive: a FREE inside a file punches holes, taking no more space than the sender's; zfs-fuse agrees" {
  "$ZPOOL" create -R "$ALT" tank "$V/d0"
  "$ZFS" create -o atime=off tank/fs
  M=$ALT/tank/fs
  dd if=/dev/urandom of="$M/f" bs=128K count=16 status=none
  "$ZFS" snapshot tank/fs@s1
  "$ZFS" send tank/fs@s1 >"$S/full"
  # The same object (128K blocks kept) now sparse but for its last block: the incremental
  # carries one FREE over the first 15 blocks, inside the object.
  truncate -s 0 "$M/f"
  truncate -s 2M "$M/f"
  dd if=/dev/urandom of="$M/f" bs=128K count=1 seek=15 conv=notrunc status=none
  "$ZFS" snapshot tank/fs@s2
  "$ZFS" send -i s1 tank/fs@s2 >"$S/inc"
  "$ZFS" receive tank/copy <"$S/full"
  "$ZFS" receive tank/copy <"$S/inc"
  cmp "$M/f" "$ALT/tank/copy/f"
  src=$("$ZFS" get -H -p -o value referenced tank/fs)
  dst=$("$ZFS" get -H -p -o value referenced tank/copy)
  # Zeros written would add the 15 blocks (1.9 MiB); holes add nothing.
  [ "$dst" -lt $((src + 262144)) ]
  [ "$dst" -lt 1048576 ]
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  oracle_stop
}
