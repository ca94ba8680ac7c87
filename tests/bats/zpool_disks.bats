#!/usr/bin/env bats
# Real block devices (loop devices with partition scanning): a whole disk gets OpenZFS's GPT
# (partition 1 from sector 2048 for the pool, partition 9 of 8 MiB reserved) and the pool
# lives on partition 1; libblkid refuses devices holding a file system or a partition table
# unless -f; a mounted device is refused even with -f; import without -d finds pools on the
# block devices udev knows; zfs-fuse's zdb judges the result.

load ../lib/pool_helpers
load ../lib/oracle

setup() {
  [ -e /dev/loop-control ] || skip "no loop device support on this machine"
  IMG=$BATS_TEST_TMPDIR/img
  mkdir -p "$IMG"
  zfsd_start
}

teardown() {
  zfsd_stop || true
  oracle_stop 2>/dev/null || true
  umount "$BATS_TEST_TMPDIR/mnt" 2>/dev/null || true
  # newloop runs in a command substitution: find the loops by their backing files.
  local f
  for f in "$IMG"/disk.*; do
    [ -e "$f" ] || continue
    losetup -j "$f" | cut -d: -f1 | xargs -r losetup -d 2>/dev/null || true
  done
}

# newloop SIZE: a loop device with partition scanning over a fresh sparse file.
newloop() {
  local f
  f=$(mktemp "$IMG/disk.XXXXXX")
  truncate -s "$1" "$f"
  local l
  l=$(losetup -P -f --show "$f")
  echo "$l"
}

part_attr() { cat "/sys/class/block/$(basename "$1")/$2"; }

@test "disks: a whole disk gets OpenZFS's GPT and the pool lives on partition 1" {
  L=$(newloop 256M)
  "$ZPOOL" create wdisk$$ "$L"
  p1=${L}p1
  p9=${L}p9
  [ -b "$p1" ] && [ -b "$p9" ]
  [ "$(part_attr "$p1" start)" -eq 2048 ]
  [ "$(part_attr "$p9" size)" -eq 16384 ]
  # p9 after p1, inside the disk, leaving room for the backup GPT.
  [ "$(part_attr "$p9" start)" -ge $(( $(part_attr "$p1" start) + $(part_attr "$p1" size) )) ]
  [ $(( $(part_attr "$p9" start) + 16384 )) -le $(( $(cat "/sys/class/block/$(basename "$L")/size") - 33 )) ]
  eval "$(blkid -p -o export "$p1" | grep -E '^PART_ENTRY_(TYPE|NAME)=')"
  [ "$PART_ENTRY_TYPE" = 6a898cc3-1dd2-11b2-99a6-080020736631 ]
  [[ "$PART_ENTRY_NAME" =~ ^zfs-[0-9a-f]{16}$ ]]
  eval "$(blkid -p -o export "$p9" | grep -E '^PART_ENTRY_TYPE=')"
  [ "$PART_ENTRY_TYPE" = 6a945a3b-1dd2-11b2-99a6-080020736631 ]
  run "$ZPOOL" status wdisk$$
  [[ "$output" == *"  $(basename "$p1")  "* ]]
  # The label says whole_disk, as OpenZFS writes it.
  run "$ZDB" -l "$p1"
  [[ "$output" == *"whole_disk: 1"* ]]
  "$ZPOOL" export wdisk$$
  # Import without -d: the block devices udev knows are scanned.
  run "$ZPOOL" import
  [[ "$output" == *"   pool: wdisk$$"* ]]
  "$ZPOOL" import wdisk$$
  "$ZPOOL" set autoreplace=on wdisk$$
  "$ZPOOL" export wdisk$$
  mkdir -p "$BATS_TEST_TMPDIR/devs"
  ln -s "$p1" "$BATS_TEST_TMPDIR/devs/p1"
  oracle_start
  oracle_zdb_clean "$BATS_TEST_TMPDIR/devs" wdisk$$
  "$ZF_ZPOOL" import -R "$BATS_TEST_TMPDIR/alt" -d "$BATS_TEST_TMPDIR/devs" wdisk$$
  [ "$("$ZF_ZPOOL" get autoreplace wdisk$$ | awk 'NR > 1 { print $3 }')" = on ]
  "$ZF_ZPOOL" export wdisk$$
  oracle_stop
}

@test "disks: libblkid refuses a file system or a partition table unless -f" {
  L=$(newloop 128M)
  mkfs.ext4 -q "$L"
  run "$ZPOOL" create fsdisk "$L"
  [ "$status" -eq 1 ]
  [ "$output" = "invalid vdev specification
use '-f' to override the following errors:
$L contains a filesystem of type 'ext4'" ]
  run "$ZPOOL" list -H
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  "$ZPOOL" create -f fsdisk "$L"
  "$ZPOOL" destroy fsdisk
  # Now it holds our GPT and a destroyed pool: free (check_disk scans the GPT's partitions;
  # zpool_in_use: a destroyed pool is not in use), so it takes a new pool without -f.
  "$ZPOOL" create again "$L"
  run "$ZPOOL" list -H -o name,health
  [ "$output" = "again	ONLINE" ]
  "$ZPOOL" export again
  # Exported, its partition is in use: refused, named by the partition, until -f.
  run "$ZPOOL" create third "$L"
  [ "$status" -eq 1 ]
  [[ "$output" == *"is part of exported pool 'again'"* ]]
  [[ "$output" != *"partition table"* ]]
  # A dos table stays refused (uzfs is stricter than OpenZFS, which does not scan it).
  wipefs -q -a "$L"
  echo 'label: dos' | sfdisk -q "$L"
  run "$ZPOOL" create fourth "$L"
  [ "$status" -eq 1 ]
  [[ "$output" == *"$L contains a partition table of type 'dos'"* ]]
}

@test "disks: a mounted device is refused even with -f" {
  L=$(newloop 128M)
  mkfs.ext4 -q "$L"
  mkdir -p "$BATS_TEST_TMPDIR/mnt"
  mount "$L" "$BATS_TEST_TMPDIR/mnt" || skip "cannot mount an ext4 loop device here"
  run "$ZPOOL" create -f busy "$L"
  [ "$status" -eq 1 ]
  [ "$output" = "invalid vdev specification
the following errors must be manually repaired:
$L is currently mounted on $BATS_TEST_TMPDIR/mnt" ]
}

@test "disks: a mirror of two whole disks survives export and import" {
  L0=$(newloop 128M)
  L1=$(newloop 128M)
  "$ZPOOL" create wmirror$$ mirror "$L0" "$L1"
  "$ZPOOL" set failmode=continue wmirror$$
  "$ZPOOL" export wmirror$$
  "$ZPOOL" import wmirror$$
  [ "$("$ZPOOL" get -H -o value failmode wmirror$$)" = continue ]
  run "$ZPOOL" list -v -H -o name wmirror$$
  [ "$output" = "$(printf "wmirror$$"'\n  mirror-0\n    %s\n    %s' "$(basename "$L0")p1" "$(basename "$L1")p1")" ]
}
