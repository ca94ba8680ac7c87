#!/usr/bin/env bats
# What an OpenZFS administrator types without thinking: short property names, 'none' for
# no quota, short snapshot names in rename, destroy's "has children", paths for datasets in
# list and get, canmount=noauto on a busy filesystem, several snapshots in one command.
# OpenZFS's messages and exit codes. One private zfsd and pool tank (altroot $ALT) per test;
# $V/d1 is free.

load ../lib/pool_helpers

setup() {
  V=$BATS_TEST_TMPDIR/v
  ALT=$BATS_TEST_TMPDIR/alt
  mkvdevs "$V" 2 256M
  SOCKDIR=$(mktemp -d /tmp/uzfs-zfscompat.XXXXXX)
  chmod 755 "$SOCKDIR"
  zfsd_start "$SOCKDIR"
  "$ZPOOL" create -R "$ALT" tank "$V/d0"
}

teardown() {
  cd /
  [ -z "${BUSY_PID:-}" ] || kill "$BUSY_PID" 2>/dev/null || true
  zfsd_stop || true
  dead_mounts_clear
  rm -rf "$SOCKDIR"
}

# props DATASET PROP,...: "property value source" lines of zfs get -H.
props() { "$ZFS" get -H -o property,value,source "$2" "$1" | tr '\t' ' '; }

@test "short property names: rdonly, compress, recsize, reserv, refreserv (zprop_name_to_prop)" {
  "$ZFS" set rdonly=on compress=lzjb recsize=8K reserv=1M refreserv=2M tank
  run props tank readonly,compression,recordsize,reservation,refreservation
  [ "$status" -eq 0 ]
  [ "$output" = "readonly on local
compression lzjb local
recordsize 8K local
reservation 1M local
refreservation 2M local" ]
  # zfs get takes them too and prints the property's name.
  run props tank rdonly,compress,recsize,reserv,refreserv
  [ "$output" = "readonly on local
compression lzjb local
recordsize 8K local
reservation 1M local
refreservation 2M local" ]
  "$ZFS" inherit rdonly tank
  "$ZFS" inherit compress tank
  "$ZFS" inherit recsize tank
  "$ZFS" set reserv=none refreserv=none tank
  run props tank readonly,compression,recordsize,reservation,refreservation
  [ "$output" = "readonly off default
compression off default
recordsize 128K default
reservation none default
refreservation none default" ]
  expect 1 "cannot inherit reserv for 'tank': 'reservation' property cannot be inherited" \
    "$ZFS" inherit reserv tank
  "$ZFS" create -o rdonly=on -o compress=gzip -o recsize=16K -o reserv=1M -o refreserv=1M tank/c
  run props tank/c readonly,compression,recordsize,reservation,refreservation
  [ "$output" = "readonly on local
compression gzip local
recordsize 16K local
reservation 1M local
refreservation 1M local" ]
  "$ZFS" snapshot tank/c@s
  "$ZFS" clone -o compress=zle -o recsize=4K tank/c@s tank/k
  run props tank/k compression,recordsize
  [ "$output" = "compression zle local
recordsize 4K local" ]
  "$ZPOOL" create -R "$ALT" -O rdonly=on -O compress=lzjb -O recsize=32K p2 "$V/d1"
  run props p2 readonly,compression,recordsize
  [ "$output" = "readonly on local
compression lzjb local
recordsize 32K local" ]
}

@test "quota=0 and refquota=0 are refused ('none' is none); sizes are decimal as zfs_nicestrtonum reads them" {
  expect 1 "cannot create 'tank/q': use 'none' to disable quota/refquota" "$ZFS" create -o quota=0 tank/q
  expect 1 "cannot create 'tank/q': use 'none' to disable quota/refquota" "$ZFS" create -o refquota=0K tank/q
  expect 1 "cannot open 'tank/q': dataset does not exist" "$ZFS" list tank/q
  "$ZFS" create -o quota=none -o reservation=0 tank/q
  run props tank/q quota,reservation
  [ "$output" = "quota none default
reservation none default" ]
  expect 1 "cannot set property for 'tank/q': use 'none' to disable quota/refquota" "$ZFS" set quota=0 tank/q
  expect 1 "cannot set property for 'tank/q': use 'none' to disable quota/refquota" "$ZFS" set refquota=0.0 tank/q
  expect 1 "cannot set property for 'tank/q': invalid numeric suffix 'x1b'" "$ZFS" set reservation=0x1b tank/q
  expect 1 "cannot set property for 'tank/q': invalid numeric suffix 'e3'" "$ZFS" set quota=1e3 tank/q
  expect 1 "cannot set property for 'tank/q': invalid numeric suffix 'KBB'" "$ZFS" set quota=1KBB tank/q
  expect 1 "cannot set property for 'tank/q': bad numeric value '-1'" "$ZFS" set quota=-1 tank/q
  expect 1 "cannot set property for 'tank/q': numeric value is too large" "$ZFS" set quota=16E tank/q
  run "$ZFS" get -Hp -o value reservation tank/q
  [ "$output" = 0 ]
  "$ZFS" set quota=1GiB reservation=1.5M tank/q
  run "$ZFS" get -Hp -o value quota,reservation tank/q
  [ "$output" = "1073741824
1572864" ]
  expect 1 "cannot create 'p2': use 'none' to disable quota/refquota" "$ZPOOL" create -O quota=0 p2 "$V/d1"
  expect 1 "cannot open 'p2': no such pool" "$ZPOOL" list -H p2
}

@test "zpool create -O quota, refquota, reservation: the root dataset has them, and they hold" {
  # One that cannot be set leaves no pool behind (zfs_ioc_pool_create: spa_destroy).
  expect 1 "cannot create 'p2': size is greater than available space" \
    "$ZPOOL" create -R "$ALT" -O reservation=1T p2 "$V/d1"
  expect 1 "cannot open 'p2': no such pool" "$ZPOOL" list -H p2
  "$ZPOOL" create -R "$ALT" -O quota=32M -O refquota=24M -O reservation=8M p2 "$V/d1"
  run props p2 quota,refquota,reservation
  [ "$output" = "quota 32M local
refquota 24M local
reservation 8M local" ]
  avail=$("$ZFS" get -Hp -o value available p2)
  [ "$avail" -le $((24 * 1024 * 1024)) ]
  # A write cannot go past them.
  run dd if=/dev/urandom of="$ALT/p2/f" bs=1M count=48 status=none
  [ "$status" -ne 0 ]
  [ "$(stat -c %s "$ALT/p2/f")" -le $((24 * 1024 * 1024)) ]
  # They survive an export and import.
  "$ZPOOL" export p2
  "$ZPOOL" import -R "$ALT" -d "$V" p2
  run props p2 quota,refquota,reservation
  [ "$output" = "quota 32M local
refquota 24M local
reservation 8M local" ]
}

@test "zfs destroy: a filesystem with children or snapshots lists them all, each after its own" {
  "$ZFS" create -p tank/a/b
  "$ZFS" snapshot tank/a@s1
  "$ZFS" create tank/a/c
  "$ZFS" snapshot tank/a/b@x
  "$ZFS" snapshot tank/a@s2
  expect 1 "cannot destroy 'tank/a': filesystem has children
use '-r' to destroy the following datasets:
tank/a/b@x
tank/a/b
tank/a/c
tank/a@s1
tank/a@s2" "$ZFS" destroy tank/a
  # Snapshots alone are children too (destroy_check_dependent).
  "$ZFS" create tank/d
  "$ZFS" snapshot tank/d@only
  expect 1 "cannot destroy 'tank/d': filesystem has children
use '-r' to destroy the following datasets:
tank/d@only" "$ZFS" destroy tank/d
  expect 0 "" "$ZFS" destroy -r tank/a
  run "$ZFS" list -H -o name -t all
  [ "$output" = "tank
tank/d
tank/d@only" ]
}

@test "zfs rename: a snapshot's new name may be short, '@new' or 'new' (zfs_rename)" {
  "$ZFS" create -p tank/a/b
  "$ZFS" snapshot tank/a@s1
  "$ZFS" snapshot -r tank/a@r
  expect 0 "" "$ZFS" rename tank/a@s1 @s2
  expect 0 "" "$ZFS" rename tank/a@s2 s3
  expect 0 "" "$ZFS" rename -r tank/a@r @r2
  run "$ZFS" list -H -o name -t snapshot
  [ "$output" = "tank/a@s3
tank/a@r2
tank/a/b@r2" ]
  # Errors name the target as it was given.
  expect 1 "cannot rename to '@s3': dataset already exists" "$ZFS" rename tank/a@r2 @s3
  expect 1 "cannot rename to '@b*d': invalid character '*' in name" "$ZFS" rename tank/a@s3 '@b*d'
}

@test "completion: after a short property name, the values of its property" {
  # COMP_WORDS as bash splits "compress=l" (at '=').
  run bash -c 'PATH=$(dirname "$ZFS"):$PATH; source "$UZFS_ROOT/completions/zfs"
    COMP_WORDS=(zfs set compress = l); COMP_CWORD=4; COMP_LINE="zfs set compress=l"
    COMP_POINT=${#COMP_LINE}; _uzfs_zfs zfs l =; printf "%s\n" "${COMPREPLY[@]}"'
  [ "$status" -eq 0 ]
  [ "$output" = "lzjb" ]
  run bash -c 'PATH=$(dirname "$ZFS"):$PATH; source "$UZFS_ROOT/completions/zfs"
    COMP_WORDS=(zfs create -o rdonly = ""); COMP_CWORD=5; COMP_LINE="zfs create -o rdonly="
    COMP_POINT=${#COMP_LINE}; _uzfs_zfs zfs "" =; printf "%s\n" "${COMPREPLY[@]}"'
  [ "$output" = "on
off" ]
}

@test "zfs create/clone -o version: set at creation; v23's values; uzfs writes version 4" {
  expect 0 "" "$ZFS" create -o version=4 tank/v4
  expect 0 "" "$ZFS" create -o version=current tank/vc
  run "$ZFS" get -H -o value version tank/v4 tank/vc
  [ "$output" = "4
4" ]
  for v in 5 0 abc; do
    expect 1 "cannot create 'tank/v': 'version' must be one of '1 | 2 | 3 | 4 | current'" \
      "$ZFS" create -o version=$v tank/v
  done
  expect 1 "cannot create 'tank/v': uzfs writes filesystem version 4 only" "$ZFS" create -o version=3 tank/v
  expect 1 "cannot open 'tank/v': dataset does not exist" "$ZFS" list tank/v
  "$ZFS" snapshot tank/v4@s
  expect 0 "" "$ZFS" clone -o version=4 tank/v4@s tank/c4
  run "$ZFS" get -H -o value version tank/c4
  [ "$output" = 4 ]
  expect 1 "cannot create 'tank/c': Can not downgrade; already at version 4" \
    "$ZFS" clone -o version=2 tank/v4@s tank/c
  expect 1 "cannot create 'tank/c': 'version' must be one of '1 | 2 | 3 | 4 | current'" \
    "$ZFS" clone -o version=5 tank/v4@s tank/c
}

@test "zfs list, get and upgrade take a path: the filesystem mounted there (zfs_path_to_zhandle)" {
  "$ZFS" create tank/fs
  mkdir "$ALT/tank/fs/dir"
  expect 0 "tank/fs" "$ZFS" list -H -o name "$ALT/tank/fs"
  expect 0 "tank/fs" "$ZFS" list -H -o name "$ALT/tank/fs/dir"
  expect 0 "tank" "$ZFS" list -H -o name "$ALT/tank"
  run "$ZFS" list -H -o name -r "$ALT/tank"
  [ "$output" = "tank
tank/fs" ]
  expect 0 "tank/fs	compression	off" "$ZFS" get -H -o name,property,value compression "$ALT/tank/fs/dir"
  cd "$ALT/tank/fs"
  expect 0 "tank/fs" "$ZFS" list -H -o name ./dir
  expect 1 "cannot open '$ALT/nope': No such file or directory" "$ZFS" list "$ALT/nope"
  expect 1 "'$BATS_TEST_TMPDIR': not a ZFS filesystem" "$ZFS" list "$BATS_TEST_TMPDIR"
  expect 1 "'$BATS_TEST_TMPDIR': not a ZFS filesystem" "$ZFS" get name "$BATS_TEST_TMPDIR"
  expect 0 "0 filesystems upgraded
1 filesystems already at this version" "$ZFS" upgrade "$ALT/tank/fs/dir"
}

@test "zfs set canmount=noauto on a busy mounted filesystem: no remount, so no 'busy'" {
  "$ZFS" create tank/fs
  (cd "$ALT/tank/fs" && exec sleep 60) &
  BUSY_PID=$!
  sleep 0.2
  expect 0 "" "$ZFS" set canmount=noauto tank/fs
  run props tank/fs canmount,mounted
  [ "$output" = "canmount noauto local
mounted yes -" ]
  kill "$BUSY_PID"
  wait "$BUSY_PID" || true
  BUSY_PID=
  # noauto: mounted by name only, not by zfs mount -a.
  "$ZFS" unmount tank/fs
  "$ZFS" mount -a
  expect 0 "no" "$ZFS" get -H -o value mounted tank/fs
  "$ZFS" mount tank/fs
  expect 0 "yes" "$ZFS" get -H -o value mounted tank/fs
}

@test "zfs snapshot of several snapshots at once, as OpenZFS takes them (all or none)" {
  "$ZFS" create tank/fs
  expect 0 "" "$ZFS" snapshot tank@a tank/fs@a
  run "$ZFS" list -H -o name -t snapshot
  [ "$output" = "tank@a
tank/fs@a" ]
  expect 1 "cannot create snapshot 'tank/fs@a': dataset already exists" "$ZFS" snapshot tank@b tank/fs@a
  expect 1 "cannot open 'tank@b': dataset does not exist" "$ZFS" list tank@b
}
