#!/usr/bin/env bats
# zfs's command line, positive and negative, with OpenZFS's messages and exit codes (0 ok,
# 1 error, 2 usage), and what the FUSE mounts show. One private zfsd and one pool (altroot
# $ALT, so every mount lands under the test's directory) per test.

load ../lib/pool_helpers

setup() {
  V=$BATS_TEST_TMPDIR/v
  ALT=$BATS_TEST_TMPDIR/alt
  mkvdevs "$V" 2 256M
  SOCKDIR=$(mktemp -d /tmp/uzfs-zfscli.XXXXXX)
  chmod 755 "$SOCKDIR"
  zfsd_start "$SOCKDIR"
  "$ZPOOL" create -R "$ALT" tank "$V/d0"
  M=$ALT/tank
}

teardown() {
  cd /
  zfsd_stop || true
  dead_mounts_clear
  rm -rf "$SOCKDIR"
}

usage_of() { "$ZFS" "$1" --help | sed -n 's/^Usage: zfs /\t/p; s/^       zfs /\t/p'; }

@test "zfs: no command, unknown command, dead daemon" {
  run "$ZFS"
  [ "$status" -eq 2 ]
  [ "${lines[0]}" = "missing command" ]
  run "$ZFS" frobnicate
  [ "$status" -eq 2 ]
  [ "${lines[0]}" = "unrecognized command 'frobnicate'" ]
  UZFS_SOCKET=$BATS_TEST_TMPDIR/none.sock expect 1 \
    "cannot connect to zfsd at $BATS_TEST_TMPDIR/none.sock: No such file or directory" "$ZFS" list
}

@test "zfs create: filesystems are created, listed and mounted under the altroot" {
  "$ZFS" create tank/a
  "$ZFS" create -p tank/b/c/d
  run "$ZFS" list -H -o name,mountpoint,mounted
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf 'tank\t%s\tyes\ntank/a\t%s/a\tyes\ntank/b\t%s/b\tyes\ntank/b/c\t%s/b/c\tyes\ntank/b/c/d\t%s/b/c/d\tyes' "$M" "$M" "$M" "$M" "$M")" ]
  findmnt -n -t fuse.zfs "$M/b/c/d"
  echo hello >"$M/b/c/d/f"
  [ "$(cat "$M/b/c/d/f")" = hello ]
  # The mount shows what was written; the pool's accounting sees it after a sync.
  dd if=/dev/urandom of="$M/a/big" bs=1M count=4 status=none
  "$ZPOOL" sync tank
  run "$ZFS" list -Hp -o used tank/a
  [ "$output" -ge $((4 * 1024 * 1024)) ]
}

@test "zfs create: bad input" {
  "$ZFS" create tank/a
  expect 1 "cannot create 'tank/x/y': parent does not exist" "$ZFS" create tank/x/y
  expect 1 "cannot create 'tank': missing dataset name" "$ZFS" create tank
  expect 1 "cannot create 'nopool/x': no such pool 'nopool'" "$ZFS" create nopool/x
  expect 1 "cannot create 'tank/b*d': invalid character '*' in name" "$ZFS" create 'tank/b*d'
  expect 1 "cannot create 'tank/a': dataset already exists" "$ZFS" create tank/a
  # With -p an existing dataset is success and stays as it was (zfs-fuse's zfs does the same).
  expect 0 "" "$ZFS" create -p -o compression=gzip tank/a
  [ "$("$ZFS" get -H -o value compression tank/a)" = off ]
  expect 1 "cannot create 'tank/c': invalid property 'foo'" "$ZFS" create -o foo=bar tank/c
  expect 1 "cannot create 'tank/c': 'compression' must be one of 'on | off | lzjb | gzip | gzip-1 | gzip-2 | gzip-3 | gzip-4 | gzip-5 | gzip-6 | gzip-7 | gzip-8 | gzip-9 | zle'" \
    "$ZFS" create -o compression=bogus tank/c
  expect 1 "cannot create 'tank/c': 'recordsize' must be power of 2 from 512B to 128KB" \
    "$ZFS" create -o recordsize=3000 tank/c
  expect 1 "cannot create 'tank/c@s': snapshot delimiter '@' is not expected here" "$ZFS" create tank/c@s
  expect 1 "cannot create 'tank//c': empty component in name" "$ZFS" create tank//c
  expect 2 "missing filesystem argument
usage:
$(usage_of create)" "$ZFS" create
  expect 2 "invalid option 'q'
usage:
$(usage_of create)" "$ZFS" create -q tank/c
  expect 2 "missing '=' for property=value argument
usage:
$(usage_of create)" "$ZFS" create -o compression tank/c
  run "$ZFS" list -H -o name
  [ "$output" = "$(printf 'tank\ntank/a')" ]
}

@test "zfs get/set/inherit: values and sources as OpenZFS shows them" {
  "$ZFS" create -p tank/a/b
  "$ZFS" set compression=gzip tank
  "$ZFS" set com.example:owner=alice tank/a
  run "$ZFS" get -H -o name,property,value,source compression,com.example:owner,quota tank/a/b
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf 'tank/a/b\tcompression\tgzip\tinherited from tank\ntank/a/b\tcom.example:owner\talice\tinherited from tank/a\ntank/a/b\tquota\tnone\tdefault')" ]
  "$ZFS" set compression=lzjb atime=off tank/a/b
  run "$ZFS" get -H -o value,source compression,atime tank/a/b
  [ "$output" = "$(printf 'lzjb\tlocal\noff\tlocal')" ]
  "$ZFS" inherit compression tank/a/b
  run "$ZFS" get -H -o value,source compression tank/a/b
  [ "$output" = "$(printf 'gzip\tinherited from tank')" ]
  "$ZFS" inherit -r compression tank
  run "$ZFS" get -H -o value,source compression tank/a/b
  [ "$output" = "$(printf 'off\tdefault')" ]
  # -s filters by source; -p gives exact numbers.
  run "$ZFS" get -H -s local -o property all tank/a/b
  [ "$output" = atime ]
  "$ZFS" set quota=1G tank/a
  run "$ZFS" get -Hp -o value quota tank/a
  [ "$output" = 1073741824 ]
  run "$ZFS" get -H -o value quota tank/a
  [ "$output" = 1G ]
  # mountpoint: inherited paths follow the dataset's place under the setter.
  "$ZFS" set mountpoint=/data tank/a
  run "$ZFS" get -H -o value,source mountpoint tank/a/b
  [ "$output" = "$(printf '%s/data/b\tinherited from tank/a' "$ALT")" ]
  findmnt -n -t fuse.zfs "$ALT/data/b"
  # The recorded history has the commands.
  run "$ZPOOL" history tank
  [[ "$output" == *"zfs set compression=gzip tank"* ]]
}

@test "zfs set/inherit: bad input" {
  "$ZFS" create tank/a
  dd if=/dev/zero of="$M/a/f" bs=1M count=2 status=none
  "$ZPOOL" sync tank
  expect 1 "cannot set property for 'tank/a': invalid property 'foo'" "$ZFS" set foo=1 tank/a
  expect 1 "cannot set property for 'tank/a': 'used' is readonly" "$ZFS" set used=1 tank/a
  expect 1 "cannot set property for 'tank/a': 'atime' must be one of 'off | on'" "$ZFS" set atime=maybe tank/a
  expect 1 "cannot set property for 'tank/a': bad numeric value 'lots'" "$ZFS" set quota=lots tank/a
  expect 1 "cannot set property for 'tank/a': size is less than current used or reserved space" \
    "$ZFS" set quota=1M tank/a
  expect 1 "cannot set property for 'tank/a': 'mountpoint' must be an absolute path, 'none', or 'legacy'" \
    "$ZFS" set mountpoint=rel tank/a
  expect 1 "cannot open 'tank/nope': dataset does not exist" "$ZFS" set atime=off tank/nope
  expect 2 "missing property=value argument(s)
usage:
$(usage_of set)" "$ZFS" set tank/a
  expect 2 "missing dataset name(s)
usage:
$(usage_of set)" "$ZFS" set atime=off
  expect 1 "cannot inherit quota for 'tank/a': 'quota' property cannot be inherited" "$ZFS" inherit quota tank/a
  expect 1 "cannot inherit used for 'tank/a': 'used' property is read-only" "$ZFS" inherit used tank/a
  expect 2 "invalid property 'bogus'
usage:
$(usage_of inherit)" "$ZFS" inherit bogus tank/a
  # A reservation is charged to the parent at once (usedbychildren), and must fit.
  before=$("$ZFS" get -Hp -o value usedbychildren tank)
  "$ZFS" set reservation=20M tank/a
  after=$("$ZFS" get -Hp -o value usedbychildren tank)
  [ $((after - before)) -ge $((17 * 1024 * 1024)) ]
  expect 1 "cannot set property for 'tank/a': size is greater than available space" \
    "$ZFS" set reservation=1T tank/a
  "$ZFS" set reservation=none tank/a
  # Back to what it was, give or take the MOS ($MOS is one of the root's children, and
  # every txg's space maps change its size by some KiB).
  after=$("$ZFS" get -Hp -o value usedbychildren tank)
  [ $((after - before)) -lt $((1024 * 1024)) ] && [ $((before - after)) -lt $((1024 * 1024)) ]
  "$ZFS" snapshot tank/a@s
  expect 1 "cannot set property for 'tank/a@s': this property can not be modified for snapshots" \
    "$ZFS" set atime=off tank/a@s
  "$ZFS" set my:note=kept tank/a@s
  run "$ZFS" get -H -o value,source my:note tank/a@s
  [ "$output" = "$(printf 'kept\tlocal')" ]
}

@test "zfs list: types, depth, sorting, -p, -j" {
  "$ZFS" create -p tank/a/b
  "$ZFS" create tank/c
  dd if=/dev/urandom of="$M/c/f" bs=1M count=3 status=none
  "$ZFS" snapshot -r tank@one
  run "$ZFS" list -H -o name -t snapshot
  [ "$output" = "$(printf 'tank@one\ntank/a@one\ntank/a/b@one\ntank/c@one')" ]
  run "$ZFS" list -H -o name -d 1 tank
  [ "$output" = "$(printf 'tank\ntank/a\ntank/c')" ]
  run "$ZFS" list -H -o name -t all -r tank/a
  [ "$output" = "$(printf 'tank/a\ntank/a@one\ntank/a/b\ntank/a/b@one')" ]
  run "$ZFS" list -H -o name -S used -d 1 tank
  [ "${lines[0]}" = tank ]
  [ "${lines[1]}" = tank/c ]
  run "$ZFS" list -Hp -o referenced tank/c@one
  [ "$output" -ge $((3 * 1024 * 1024)) ]
  run "$ZFS" list -H -o avail tank/c@one
  [ "$output" = - ]
  # Column headers in lower case abbreviate properties, as in OpenZFS.
  run "$ZFS" list -H -o name,ratio,recsize,compress -s refer tank/c
  [ "$output" = "$(printf 'tank/c\t1.00x\t128K\toff')" ]
  run bash -c "'$ZFS' list -j -t all | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[\"output_version\"][\"command\"], d[\"datasets\"][\"tank/c@one\"][\"type\"], d[\"datasets\"][\"tank/a\"][\"properties\"][\"mountpoint\"][\"value\"])'"
  [ "$status" -eq 0 ]
  [ "$output" = "zfs list SNAPSHOT $M/a" ]
  expect 1 "cannot open 'tank/zz': dataset does not exist" "$ZFS" list tank/zz
  expect 2 "invalid property 'bogus'
usage:
$(usage_of list)" "$ZFS" list -o name,bogus
  expect 2 "invalid type 'volumes'
usage:
$(usage_of list)" "$ZFS" list -t volumes
}

@test "zfs snapshot/rollback/clone/promote/rename/destroy through the mount" {
  "$ZFS" create tank/fs
  echo one >"$M/fs/file"
  "$ZFS" snapshot tank/fs@s1
  echo two >"$M/fs/file"
  echo extra >"$M/fs/extra"
  "$ZFS" snapshot tank/fs@s2
  rm "$M/fs/extra"
  expect 1 "cannot rollback to 'tank/fs@s1': more recent snapshots exist
use '-r' to force deletion of the following snapshots:
tank/fs@s2" "$ZFS" rollback tank/fs@s1
  "$ZFS" rollback tank/fs@s2
  [ "$(cat "$M/fs/extra")" = extra ]
  "$ZFS" rollback -r tank/fs@s1
  [ "$(cat "$M/fs/file")" = one ]
  [ ! -e "$M/fs/extra" ]
  run "$ZFS" list -H -o name -t snapshot
  [ "$output" = tank/fs@s1 ]
  "$ZFS" clone tank/fs@s1 tank/cl
  [ "$(cat "$M/cl/file")" = one ]
  run "$ZFS" get -H -o value origin tank/cl
  [ "$output" = tank/fs@s1 ]
  expect 1 "cannot destroy 'tank/fs@s1': snapshot has dependent clones
use '-R' to destroy the following datasets:
tank/cl" "$ZFS" destroy tank/fs@s1
  "$ZFS" promote tank/cl
  run "$ZFS" get -H -o value origin tank/fs
  [ "$output" = tank/cl@s1 ]
  "$ZFS" rename tank/cl tank/moved
  [ "$(cat "$M/moved/file")" = one ]
  [ ! -e "$M/cl" ] || [ -z "$(ls -A "$M/cl")" ]
  "$ZFS" rename tank/moved@s1 tank/moved@first
  run "$ZFS" list -H -o name -t snapshot
  [ "$output" = tank/moved@first ]
  expect 1 "cannot rename to 'tank/fs': dataset already exists" "$ZFS" rename tank/moved tank/fs
  expect 1 "cannot rename to 'other/x': datasets must be within same pool" "$ZFS" rename tank/moved other/x
  expect 1 "cannot destroy 'tank/moved': filesystem has children
use '-r' to destroy the following datasets:
tank/moved@first" "$ZFS" destroy tank/moved
  run "$ZFS" destroy -nv -R tank/moved
  [ "$output" = "$(printf 'would destroy tank/fs\nwould destroy tank/moved@first\nwould destroy tank/moved')" ]
  "$ZFS" destroy -R tank/moved
  run "$ZFS" list -H -o name -t all
  [ "$output" = tank ]
  expect 1 "cannot destroy 'tank': operation does not apply to pools
use 'zfs destroy -r tank' to destroy all datasets in the pool
use 'zpool destroy tank' to destroy the pool itself" "$ZFS" destroy tank
  expect 1 "cannot open 'tank/none@x': dataset does not exist" "$ZFS" rollback tank/none@x
  expect 1 "cannot create snapshot 'tank/none@x': dataset does not exist" "$ZFS" snapshot tank/none@x
  expect 1 "cannot create snapshot 'tank': missing '@' delimiter in snapshot name" "$ZFS" snapshot tank
}

@test "zfs promote/rename/destroy: .zfs/snapshot shows the change at once (OpenZFS's zfs_promote_001_pos)" {
  "$ZFS" create tank/fs
  head -c 300000 /dev/urandom >"$M/fs/file0"
  sum=$(md5sum <"$M/fs/file0")
  "$ZFS" snapshot tank/fs@snap
  echo one >"$M/fs/file1"
  rm "$M/fs/file0"
  "$ZFS" clone tank/fs@snap tank/cl
  echo c >"$M/cl/cfile"
  [ "$(md5sum <"$M/fs/.zfs/snapshot/snap/file0")" = "$sum" ]  # the kernel now caches it
  "$ZFS" promote tank/cl
  [ ! -e "$M/fs/.zfs/snapshot/snap/file0" ]
  [ "$(md5sum <"$M/cl/.zfs/snapshot/snap/file0")" = "$sum" ]
  "$ZFS" promote tank/fs
  [ ! -e "$M/cl/.zfs/snapshot/snap/file0" ]
  [ "$(md5sum <"$M/fs/.zfs/snapshot/snap/file0")" = "$sum" ]
  "$ZFS" rename tank/fs@snap tank/fs@renamed
  [ ! -e "$M/fs/.zfs/snapshot/snap" ]
  [ "$(md5sum <"$M/fs/.zfs/snapshot/renamed/file0")" = "$sum" ]
  "$ZFS" destroy -R tank/fs@renamed
  [ ! -e "$M/fs/.zfs/snapshot/renamed" ]
  [ "$(ls "$M/fs/.zfs/snapshot")" = "" ]
}

@test "zfs destroy: children need -r; a busy filesystem stays" {
  "$ZFS" create -p tank/a/b
  "$ZFS" snapshot tank/a/b@s
  expect 1 "cannot destroy 'tank/a': filesystem has children
use '-r' to destroy the following datasets:
tank/a/b@s
tank/a/b" "$ZFS" destroy tank/a
  # A process working inside the filesystem keeps it busy.
  (cd "$M/a/b" && exec sleep 30) &
  busy=$!
  sleep 0.3
  expect 1 "cannot destroy 'tank/a/b': dataset is busy" "$ZFS" destroy -r tank/a/b
  kill "$busy"
  wait "$busy" 2>/dev/null || true
  "$ZFS" destroy -r tank/a
  run "$ZFS" list -H -o name -t all
  [ "$output" = tank ]
}

@test "zfs mount/unmount: listing, busy, -f, canmount, readonly" {
  "$ZFS" create tank/a
  echo data >"$M/a/f"
  run "$ZFS" mount
  [ "$output" = "$(printf 'tank  %s\ntank/a  %s/a' "$M" "$M")" ]
  "$ZFS" unmount tank/a
  run "$ZFS" get -H -o value mounted tank/a
  [ "$output" = no ]
  [ ! -e "$M/a/f" ]
  expect 1 "cannot unmount 'tank/a': not currently mounted" "$ZFS" unmount tank/a
  "$ZFS" mount tank/a
  [ "$(cat "$M/a/f")" = data ]
  expect 1 "cannot mount 'tank/a': filesystem already mounted" "$ZFS" mount tank/a
  exec 7<"$M/a/f"
  run "$ZFS" unmount "$M/a"
  [ "$status" -eq 1 ]
  [[ "$output" == "cannot unmount '$M/a': "* ]]
  "$ZFS" unmount -f "$M/a"
  exec 7<&-
  "$ZFS" set canmount=noauto tank/a
  run "$ZFS" get -H -o value mounted tank/a
  [ "$output" = no ]
  "$ZFS" mount tank/a
  "$ZFS" set readonly=on tank/a
  run bash -c "echo x >'$M/a/g'"
  [ "$status" -ne 0 ]
  [[ "$output" == *"Read-only file system"* ]]
  [ "$(cat "$M/a/f")" = data ]
  "$ZFS" set canmount=off tank/a
  expect 1 "cannot mount 'tank/a': 'canmount' property is set to 'off'" "$ZFS" mount tank/a
  "$ZFS" set mountpoint=none tank
  expect 1 "cannot mount 'tank': no mountpoint set" "$ZFS" mount tank
  expect 2 "missing filesystem argument
usage:
$(usage_of unmount)" "$ZFS" unmount
}

@test "zfs mount -o: temporary options over the exec, setuid, devices, atime and readonly properties, which the mount honours" {
  "$ZFS" create tank/a
  opts() { findmnt -n -o OPTIONS --target "$M/a" | tr , '\n'; }
  # The defaults (exec, setuid, devices on): no noexec, nosuid, nodev.
  run opts
  [[ $output != *noexec* && $output != *nosuid* && $output != *nodev* ]]
  printf '#!/bin/sh\necho ran\n' >"$M/a/x"
  chmod 755 "$M/a/x"
  [ "$("$M/a/x")" = ran ]
  # The properties: remounted with noexec, nosuid, nodev.
  "$ZFS" set exec=off tank/a
  "$ZFS" set setuid=off tank/a
  "$ZFS" set devices=off tank/a
  run opts
  [[ $output == *noexec* && $output == *nosuid* && $output == *nodev* ]]
  run "$M/a/x"
  [ "$status" -ne 0 ]
  [[ $output == *"Permission denied"* ]]
  # Temporary options win over the properties for that mount only.
  "$ZFS" unmount tank/a
  "$ZFS" mount -o exec,suid,dev,noatime tank/a
  run opts
  [[ $output != *noexec* && $output != *nosuid* && $output != *nodev* && $output == *noatime* ]]
  [ "$("$M/a/x")" = ran ]
  "$ZFS" unmount tank/a
  "$ZFS" mount tank/a
  run opts
  [[ $output == *noexec* && $output != *noatime* ]]
  # ro for one mount; rw cannot undo readonly=on.
  "$ZFS" unmount tank/a
  "$ZFS" mount -o ro tank/a
  run bash -c "echo y >'$M/a/g'"
  [[ $output == *"Read-only file system"* ]]
  "$ZFS" unmount tank/a
  "$ZFS" set readonly=on tank/a
  "$ZFS" unmount tank/a
  "$ZFS" mount -o rw tank/a
  run bash -c "echo y >'$M/a/g'"
  [[ $output == *"Read-only file system"* ]]
  # zfsd knows the words; the command passes them on.
  expect 1 "cannot mount 'tank/a': filesystem already mounted" "$ZFS" mount -o noatime tank/a
  "$ZFS" unmount tank/a
  expect 1 "cannot mount 'tank/a': unsupported mount option 'bogus'" "$ZFS" mount -o noatime,bogus tank/a
  run "$ZFS" get -H -o value mounted tank/a
  [ "$output" = no ]
}

@test "zfs mount -o remount: a mounted filesystem's options change in place; zfs get shows the mount's values as temporary" {
  "$ZFS" create tank/a
  has() { findmnt -n -o OPTIONS --mountpoint "$M/a" | tr , '\n' | grep -qx "$1"; }
  has_not() { ! has "$1"; }
  src() { "$ZFS" get -H -o value,source "$1" tank/a; }
  mount_id() { findmnt -n -o ID --mountpoint "$M/a"; }
  echo hi >"$M/a/f"
  printf '#!/bin/sh\necho ran\n' >"$M/a/x"
  chmod 755 "$M/a/x"
  [ "$(src readonly)" = "$(printf 'off\tdefault')" ]
  id=$(mount_id)
  [ -n "$id" ]
  # Read-only in place: the same mount, an open file goes on reading.
  exec 7<"$M/a/f"
  "$ZFS" mount -o remount,ro tank/a
  [ "$(mount_id)" = "$id" ]
  has ro
  run bash -c "echo y >'$M/a/g'"
  [[ $output == *"Read-only file system"* ]]
  [ "$(src readonly)" = "$(printf 'on\ttemporary')" ]
  [ "$(cat <&7)" = hi ]
  exec 7<&-
  # Back to read-write with other options; each shows as temporary.
  "$ZFS" mount -o remount,rw,noexec,nosuid,nodev,noatime tank/a
  [ "$(mount_id)" = "$id" ]
  echo y >"$M/a/g"
  [ "$(cat "$M/a/g")" = y ]
  for o in rw noexec nosuid nodev noatime; do has $o; done
  run "$M/a/x"
  [[ $output == *"Permission denied"* ]]
  [ "$(src readonly)" = "$(printf 'off\tdefault')" ]
  for p in exec setuid devices atime; do
    [ "$(src $p)" = "$(printf 'off\ttemporary')" ]
  done
  run "$ZFS" get -H -s temporary -o property all tank/a
  [ "$output" = "$(printf 'atime\ndevices\nexec\nsetuid')" ]
  # A remount without options takes the properties again.
  "$ZFS" mount -o remount tank/a
  has_not noexec
  has_not noatime
  [ "$("$M/a/x")" = ran ]
  for p in exec setuid devices atime; do
    [ "$(src $p)" = "$(printf 'on\tdefault')" ]
  done
  # Against a property set off, the temporary value is on.
  "$ZFS" set exec=off tank/a
  [ "$(src exec)" = "$(printf 'off\tlocal')" ]
  "$ZFS" mount -o remount,exec tank/a
  [ "$(src exec)" = "$(printf 'on\ttemporary')" ]
  [ "$("$M/a/x")" = ran ]
  # zfs mount -o's values are temporary too, until the unmount.
  "$ZFS" unmount tank/a
  "$ZFS" mount -o ro,nodev tank/a
  [ "$(src readonly)" = "$(printf 'on\ttemporary')" ]
  [ "$(src devices)" = "$(printf 'off\ttemporary')" ]
  [ "$(src exec)" = "$(printf 'off\tlocal')" ]
  "$ZFS" unmount tank/a
  [ "$(src readonly)" = "$(printf 'off\tdefault')" ]
  [ "$(src devices)" = "$(printf 'on\tdefault')" ]
  # Refusals: a file open for writing keeps it read-write; not mounted; a legacy one.
  "$ZFS" mount tank/a
  exec 8>>"$M/a/g"
  expect 1 "cannot mount 'tank/a': mountpoint or dataset is busy" "$ZFS" mount -o remount,ro tank/a
  exec 8>&-
  has_not ro
  [ "$(src readonly)" = "$(printf 'off\tdefault')" ]
  "$ZFS" unmount tank/a
  expect 1 "cannot mount 'tank/a': not currently mounted" "$ZFS" mount -o remount,ro tank/a
  "$ZFS" create -o mountpoint=legacy tank/leg
  expect 1 "cannot mount 'tank/leg': legacy mountpoint
use mount(8) to mount this filesystem" "$ZFS" mount -o remount tank/leg
}

@test "mount.zfs: a legacy filesystem mounted where mount(8) says, listed by zfs mount, ended by umount(8); OpenZFS's refusals and exit codes" {
  MZ=$UZFS_BUILD/cmd/mount.zfs/mount.zfs
  D=$BATS_TEST_TMPDIR/legacy
  mkdir -p "$D"
  "$ZFS" create -o mountpoint=legacy tank/leg
  "$ZFS" create tank/auto
  run "$ZFS" get -H -o value mounted tank/leg
  [ "$output" = no ]
  "$MZ" tank/leg "$D"
  [ "$(findmnt -n -o FSTYPE,SOURCE --mountpoint "$D")" = "fuse.zfs tank/leg" ]
  run "$ZFS" mount
  [[ $output == *"tank/leg  $D"* ]]
  run "$ZFS" get -H -o value mounted tank/leg
  [ "$output" = yes ]
  echo hello >"$D/f"
  expect 128 "filesystem 'tank/leg' is already mounted" "$MZ" tank/leg "$D"
  # umount(8) ends it; zfsd notices and it can be mounted again, read-only by -o.
  umount "$D"
  run "$ZFS" get -H -o value mounted tank/leg
  [ "$output" = no ]
  run "$ZFS" mount
  [[ $output != *"tank/leg"* ]]
  "$MZ" -o ro,noexec,noauto,x-systemd.automount tank/leg "$D"
  [ "$(cat "$D/f")" = hello ]
  run bash -c "echo y >'$D/g'"
  [[ $output == *"Read-only file system"* ]]
  [[ $(findmnt -n -o OPTIONS --mountpoint "$D") == *noexec* ]]
  "$ZFS" unmount tank/leg
  [ "$(findmnt -n --mountpoint "$D" | wc -l)" -eq 0 ]
  # Refusals.
  expect 1 "filesystem 'tank/auto' cannot be mounted using 'mount'.
Use 'zfs set mountpoint=legacy' or 'zfs mount tank/auto'.
See zfs(8) for more information." "$MZ" tank/auto "$D"
  expect 1 "filesystem 'tank/nope' cannot be mounted, unable to open the dataset" "$MZ" tank/nope "$D"
  expect 1 "filesystem 'tank/leg' cannot be mounted due to invalid option 'bogus'.
Use the '-s' option to ignore the bad mount option." "$MZ" -o bogus tank/leg "$D"
  expect 1 "filesystem 'tank/leg' can not be mounted: not currently mounted" "$MZ" -o remount tank/leg "$D"
  expect 1 "missing mountpoint argument
usage: mount <dataset> <mountpoint>" "$MZ" tank/leg
  run "$MZ" tank/leg "$D/none"
  [ "$status" -eq 2 ]
  [[ $output == "filesystem 'tank/leg' cannot be mounted at '$D/none' due to canonicalization error: No such file or directory" ]]
  # -f checks and mounts nothing; -s lets an unknown option through.
  "$MZ" -f tank/leg "$D"
  expect 1 "filesystem 'tank/leg' cannot be mounted due to invalid option 'bogus'.
Use the '-s' option to ignore the bad mount option." "$MZ" -f -o bogus tank/leg "$D"
  expect 1 "filesystem 'tank/nope' cannot be mounted, unable to open the dataset" "$MZ" -f tank/nope "$D"
  [ "$(findmnt -n --mountpoint "$D" | wc -l)" -eq 0 ]
  "$MZ" -s -o bogus,noatime tank/leg "$D"
  [[ $(findmnt -n -o OPTIONS --mountpoint "$D") == *noatime* ]]
  umount "$D"
  # Through mount(8) and an fstab: mount(8) runs /sbin/mount.zfs, here ours in a private
  # mount namespace whose /usr/sbin holds only it (zfsd, outside, makes the mount).
  printf 'tank/leg %s zfs defaults,nodev 0 0\n' "$D" >"$BATS_TEST_TMPDIR/fstab"
  with_helper() {
    unshare -m bash -c "mount -t tmpfs tmpfs /usr/sbin && ln -s '$MZ' /usr/sbin/mount.zfs &&
      ln -s mount.zfs /usr/sbin/mount.fuse.zfs && $1"
  }
  with_helper "mount -t zfs tank/leg '$D'"
  [ "$(findmnt -n -o FSTYPE,SOURCE --mountpoint "$D")" = "fuse.zfs tank/leg" ]
  umount "$D"
  with_helper "mount -a -T '$BATS_TEST_TMPDIR/fstab'"
  [ "$(findmnt -n -o FSTYPE,SOURCE --mountpoint "$D")" = "fuse.zfs tank/leg" ]
  [[ $(findmnt -n -o OPTIONS --mountpoint "$D") == *nodev* ]]
  [ "$(cat "$D/f")" = hello ]
  # -o remount: in place, by the helper and by mount(8) with -t zfs (a legacy mount, and a
  # filesystem of a path mountpoint, as mount_zfs allows).
  id=$(findmnt -n -o ID --mountpoint "$D")
  "$MZ" -o remount,ro tank/leg "$D"
  [ "$(findmnt -n -o ID --mountpoint "$D")" = "$id" ]
  run bash -c "echo y >'$D/g'"
  [[ $output == *"Read-only file system"* ]]
  run "$ZFS" get -H -o value,source readonly tank/leg
  [ "$output" = "$(printf 'on\ttemporary')" ]
  with_helper "mount -t zfs -o remount,rw tank/leg '$D'"
  echo y >"$D/g"
  run "$ZFS" get -H -o value,source readonly tank/leg
  [ "$output" = "$(printf 'off\tdefault')" ]
  # mount -o remount DIR: mount(8) runs mount.fuse.zfs (the mount's type is fuse.zfs) with the
  # kernel's options of the mount added (user_id=0, allow_other, max_read=...: dropped).
  with_helper "mount -o remount,ro,noexec '$D'"
  [ "$(findmnt -n -o ID --mountpoint "$D")" = "$id" ]
  run "$ZFS" get -H -o value,source readonly,exec tank/leg
  [ "$output" = "$(printf 'on\ttemporary\noff\ttemporary')" ]
  with_helper "mount -o remount,rw,exec '$D'"
  echo z >"$D/g"
  with_helper "mount -t zfs -o remount,noexec tank/auto '$M/auto'"
  [[ $(findmnt -n -o OPTIONS --mountpoint "$M/auto") == *noexec* ]]
  run "$ZFS" get -H -o value,source exec tank/auto
  [ "$output" = "$(printf 'off\ttemporary')" ]
  expect 1 "filesystem 'tank/auto' can not be mounted: not currently mounted" "$MZ" -o remount tank/auto "$D"
  expect 1 "filesystem 'tank/leg' cannot be mounted due to invalid option 'bogus'.
Use the '-s' option to ignore the bad mount option." "$MZ" -o remount,bogus tank/leg "$D"
}

@test "zfs: POSIX errors from the mount" {
  "$ZFS" create tank/a
  "$ZFS" create tank/b
  cd "$M/a"
  run cat nothing
  [[ "$output" == *"No such file or directory"* ]]
  mkdir d
  run mkdir d
  [[ "$output" == *"File exists"* ]]
  touch d/x
  run rmdir d
  [[ "$output" == *"Directory not empty"* ]]
  run touch "$(printf 'n%.0s' $(seq 256))"
  [[ "$output" == *"File name too long"* ]]
  touch "$(printf 'n%.0s' $(seq 255))"
  # Across datasets (two mounts) a rename is EXDEV; mv falls back to a copy.
  run python3 -c "import os; os.rename('$M/a/d/x', '$M/b/x')"
  [[ "$output" == *"Invalid cross-device link"* ]]
  "$ZFS" set readonly=on tank/b
  run touch "$M/b/y"
  [[ "$output" == *"Read-only file system"* ]]
  # Snapshots under .zfs/snapshot: the old contents, read-only.
  echo before >"$M/a/kept"
  "$ZFS" snapshot tank/a@s
  echo after >"$M/a/kept"
  [ "$(cat "$M/a/.zfs/snapshot/s/kept")" = before ]
  run ls "$M/a/.zfs/snapshot"
  [ "$output" = s ]
  run touch "$M/a/.zfs/snapshot/s/new"
  [[ "$output" == *"Read-only file system"* ]]
  run rm "$M/a/.zfs/snapshot/s/kept"
  [[ "$output" == *"Read-only file system"* ]]
  run ls -a "$M/a"
  [[ "$output" != *".zfs"* ]]
}

@test "zfs: reading and changing is for root; listing for everyone" {
  "$ZFS" create tank/a
  nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
  run nobody "$ZFS" list -H -o name
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf 'tank\ntank/a')" ]
  expect 1 "cannot create 'tank/b': permission denied" nobody "$ZFS" create tank/b
  expect 1 "cannot destroy 'tank/a': permission denied" nobody "$ZFS" destroy tank/a
}

@test "zfs version and upgrade" {
  run "$ZFS" version
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == uzfs-* ]]
  [[ "${lines[1]}" == zfsd-* ]]
  run "$ZFS" upgrade
  [ "$output" = "This system is currently running ZFS filesystem version 4.

All filesystems are formatted with the current version." ]
  run "$ZFS" upgrade -v
  [[ "${lines[0]}" == "The following filesystem versions are supported:" ]]
  run "$ZFS" upgrade -a
  [ "$output" = "$(printf '0 filesystems upgraded\n1 filesystems already at this version')" ]
}

@test "zpool import mounts the filesystems; -N leaves them unmounted; export unmounts" {
  "$ZFS" create tank/a
  echo kept >"$M/a/f"
  "$ZPOOL" export tank
  [ -z "$(findmnt -rn -t fuse.zfs -o TARGET | grep "^$ALT/")" ]
  "$ZPOOL" import -N -d "$V" -R "$ALT" tank
  run "$ZFS" get -H -o value mounted tank tank/a
  [ "$output" = "$(printf 'no\nno')" ]
  "$ZPOOL" export tank
  "$ZPOOL" import -d "$V" -R "$ALT" tank
  run "$ZFS" get -H -o value mounted tank tank/a
  [ "$output" = "$(printf 'yes\nyes')" ]
  [ "$(cat "$M/a/f")" = kept ]
}

@test "zfs: quota gives EDQUOT, a full pool ENOSPC, and the pool stays consistent" {
  "$ZFS" create -o quota=8M tank/q
  run dd if=/dev/urandom of="$M/q/big" bs=1M count=20 status=none
  [ "$status" -ne 0 ]
  [[ "$output" == *"Disk quota exceeded"* ]]
  "$ZPOOL" sync tank
  run "$ZFS" get -Hp -o value used tank/q
  [ "$output" -le $((9 * 1024 * 1024)) ]
  # Fill the pool (random bytes: zeros would be holes).
  "$ZFS" create tank/fill
  run dd if=/dev/urandom of="$M/fill/big" bs=1M count=400 status=none
  [ "$status" -ne 0 ]
  [[ "$output" == *"No space left on device"* ]]
  "$ZPOOL" sync tank
  run "$ZFS" get -Hp -o value available tank/fill
  [ "$output" -lt $((8 * 1024 * 1024)) ]
  # Deleting frees space again; the pool exports and checks clean.
  rm "$M/fill/big"
  "$ZPOOL" sync tank
  "$ZPOOL" sync tank
  "$ZPOOL" sync tank
  run "$ZFS" get -Hp -o value available tank/fill
  [ "$output" -gt $((100 * 1024 * 1024)) ]
  "$ZPOOL" export tank
  run "$ZDB" -e -p "$V" -bcc tank
  [ "$status" -eq 0 ]
  [[ "$output" == *"No leaks"* ]]
}
