#!/usr/bin/env bats
# Pools our zpool creates pass zfs-fuse's zdb -bcc and import into
# zfs-fuse with our property values; zfs-fuse exports, ours imports again. And the reverse:
# ours imports a pool zfs-fuse made, changes it, exports, and zfs-fuse's zdb is still clean.

load ../lib/pool_helpers
load ../lib/oracle

setup() {
  V=$BATS_TEST_TMPDIR/vdevs
  zfsd_start
}

teardown() {
  zfsd_stop || true
  oracle_stop 2>/dev/null || true
}

# layout_args KIND DIR: the vdev arguments of `zpool create` for a layout.
layout_args() {
  case $1 in
    single) echo "$2/d0" ;;
    stripe) echo "$2/d0 $2/d1" ;;
    mirror) echo "mirror $2/d0 $2/d1" ;;
    raidz1) echo "raidz1 $2/d0 $2/d1 $2/d2 $2/d3" ;;
    raidz2) echo "raidz2 $2/d0 $2/d1 $2/d2 $2/d3" ;;
  esac
}

roundtrip() {
  local kind=$1 pool=u$1
  mkvdevs "$V" 4
  # shellcheck disable=SC2046
  "$ZPOOL" create "$pool" $(layout_args "$kind" "$V")
  "$ZPOOL" set failmode=continue "$pool"
  "$ZPOOL" set autoreplace=on "$pool"
  "$ZPOOL" set listsnapshots=on "$pool"
  "$ZPOOL" export "$pool"
  oracle_start
  oracle_zdb_clean "$V" "$pool"
  "$ZF_ZPOOL" import -R "$BATS_TEST_TMPDIR/alt" -d "$V" "$pool"
  # zfs-fuse's zpool get has no -H/-o: the VALUE column of its table.
  run bash -c "'$ZF_ZPOOL' get failmode,autoreplace,listsnapshots,delegation '$pool' | awk 'NR > 1 { print \$3 }'"
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf 'continue\non\non\non')" ]
  "$ZF_ZPOOL" export "$pool"
  oracle_zdb_clean "$V" "$pool"
  oracle_stop
  "$ZPOOL" import -d "$V" "$pool"
  run "$ZPOOL" get -H -o value failmode,autoreplace "$pool"
  [ "$output" = "$(printf 'continue\non')" ]
  "$ZPOOL" export "$pool"
  oracle_start
  oracle_zdb_clean "$V" "$pool"
  oracle_stop
}

@test "interop: single file vdev round trip through zfs-fuse" { roundtrip single; }
@test "interop: two-vdev stripe round trip through zfs-fuse" { roundtrip stripe; }
@test "interop: mirror round trip through zfs-fuse" { roundtrip mirror; }
@test "interop: raidz1 round trip through zfs-fuse" { roundtrip raidz1; }
@test "interop: raidz2 round trip through zfs-fuse" { roundtrip raidz2; }

@test "interop: a pool zfs-fuse made, changed by us, stays clean for zfs-fuse" {
  mkvdevs "$V" 3
  oracle_start
  M=$BATS_TEST_TMPDIR/alt
  "$ZF_ZPOOL" create -R "$M" zfmade mirror "$V/d0" "$V/d1" "$V/d2"
  "$ZF_ZFS" create zfmade/fs
  # With -R ALTROOT zfs-fuse mounts the root dataset at ALTROOT itself.
  dd if=/dev/urandom of="$M/fs/blob" bs=64k count=40 status=none
  sum=$(sha256sum "$M/fs/blob" | cut -d' ' -f1)
  "$ZF_ZFS" snapshot zfmade/fs@s1
  "$ZF_ZPOOL" export zfmade
  oracle_stop
  # zfs-fuse's -R set the root's mountpoint to /: without an altroot of our own, we (like
  # OpenZFS) would mount it over /.
  "$ZPOOL" import -d "$V" -R "$BATS_TEST_TMPDIR/ualt" zfmade
  [ "$(sha256sum "$BATS_TEST_TMPDIR/ualt/fs/blob" | cut -d' ' -f1)" = "$sum" ]
  "$ZPOOL" set failmode=panic zfmade
  "$ZPOOL" set comment=fromuzfs zfmade
  run "$ZPOOL" history zfmade
  [[ "$output" == *"zpool create -R "*" zfmade mirror"* ]]
  [[ "$output" == *"zpool set failmode=panic zfmade"* ]]
  "$ZPOOL" export zfmade
  # Our own zdb agrees, and so does the judge.
  run "$ZDB" -e -p "$V" -bcc zfmade
  [ "$status" -eq 0 ]
  [[ "$output" == *"No leaks"* ]]
  oracle_start
  oracle_zdb_clean "$V" zfmade
  "$ZF_ZPOOL" import -R "$M" -d "$V" zfmade
  [ "$("$ZF_ZPOOL" get failmode zfmade | awk 'NR > 1 { print $3 }')" = panic ]
  [ "$(sha256sum "$M/fs/blob" | cut -d' ' -f1)" = "$sum" ]
  run "$ZF_ZPOOL" history zfmade
  [[ "$output" == *"zpool set failmode=panic zfmade"* ]]
  "$ZF_ZPOOL" export zfmade
  oracle_stop
}

@test "interop: loop devices (real block devices) round trip through zfs-fuse" {
  [ -e /dev/loop-control ] || skip "no loop device support on this machine"
  mkvdevs "$V" 2
  L0=$(losetup -f --show "$V/d0")
  L1=$(losetup -f --show "$V/d1")
  run "$ZPOOL" create uloop mirror "$L0" "$L1"
  [ "$status" -eq 0 ] || { echo "$output"; losetup -d "$L0" "$L1"; return 1; }
  # Whole disks: the pool lives on partition 1 of each (zfs-fuse does not look inside).
  mkdir -p "$BATS_TEST_TMPDIR/devs"
  ln -s "${L0}p1" "$BATS_TEST_TMPDIR/devs/l0"
  ln -s "${L1}p1" "$BATS_TEST_TMPDIR/devs/l1"
  "$ZPOOL" set autoreplace=on uloop
  "$ZPOOL" export uloop
  oracle_start
  oracle_zdb_clean "$BATS_TEST_TMPDIR/devs" uloop || { oracle_stop; losetup -d "$L0" "$L1"; return 1; }
  oracle_stop
  "$ZPOOL" import -d "$BATS_TEST_TMPDIR/devs" uloop
  [ "$("$ZPOOL" get -H -o value autoreplace uloop)" = on ]
  "$ZPOOL" export uloop
  # The partitions were added by BLKPG (no partition scanning on these loops): drop them.
  partx -d "$L0" 2>/dev/null || true
  partx -d "$L1" 2>/dev/null || true
  losetup -d "$L0" "$L1"
}
