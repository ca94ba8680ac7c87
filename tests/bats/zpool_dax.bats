#!/usr/bin/env bats
# The dax class of a pool outside a guest (no persistent memory here): regular files stand in
# for device-DAX devices when zfsd runs with --dax-emulation. zpool create/add ... dax, the
# listings (status, list -v, create/add -n), the refusals (a file without --dax-emulation, a
# character device that is not device-DAX, mirrors, the keyword twice or alone), export and
# import, zpool remove of a dax device (only when empty), and that the pool's data and
# metadata never land on a dax device (zdb -bcc clean). DAX files and their mappings follow;
# zpool_dax_revoke.bats has rename, receive and fences. tests/bats/dax_guest.bats does the
# same on a real device-DAX in a qemu guest.
#
# The vdevs live in a short directory of fixed length (/tmp/zdax.XXXXXX), so the tables'
# column widths are the same on every run.

load ../lib/pool_helpers
load ../lib/dax_helpers

setup() {
  V=$(mktemp -d /tmp/zdax.XXXXXX)
  chmod 755 "$V"
  mkvdevs "$V" 2
  truncate -s 128M "$V/p0"
  truncate -s 96M "$V/p1"
  MNT=$BATS_TEST_TMPDIR/mnt
  ZFSD_EXTRA_ARGS=--dax-emulation
  zfsd_start
}

teardown() {
  cd /
  zfsd_stop || true
  dead_mounts_clear
  rm -rf "$V"
}

@test "dax: create with a dax class — -n, status, list -v; its space is not the pool's" {
  expect 0 "would create 'tank' with the following layout:

	tank
	  $V/d0
	dax
	  $V/p0
	  $V/p1" "$ZPOOL" create -n tank "$V/d0" dax "$V/p0" "$V/p1"
  "$ZPOOL" create -o cachefile=none -m none tank "$V/d0" dax "$V/p0" "$V/p1"
  run "$ZPOOL" status tank
  [ "$status" -eq 0 ]
  [[ "$output" == *"	NAME                   STATE     READ WRITE CKSUM
	tank                   ONLINE       0     0     0
	  $V/d0  ONLINE       0     0     0
	dax
	  $V/p0  ONLINE       0     0     0  emulated DAX (a file, no MAP_SYNC)
	  $V/p1  ONLINE       0     0     0  emulated DAX (a file, no MAP_SYNC)"* ]] || { echo "$output"; false; }
  # list -v: the class after a row of dashes; each device's space a multiple of the 2 MiB
  # extents (128M less the 4.5 MiB of labels: 122M; 96M: 90M).
  run "$ZPOOL" list -Hpv -o name,size,allocated tank
  [ "$status" -eq 0 ]
  echo "$output"
  [ "$(sed -n 3p <<<"$output")" = "dax	-	-" ]
  [ "$(sed -n 4p <<<"$output" | cut -f1,2)" = "  $V/p0	$((122 << 20))" ]
  [ "$(sed -n 5p <<<"$output" | cut -f1,2)" = "  $V/p1	$((90 << 20))" ]
  # The pool's size is its data vdev's alone: the same as a pool of d1 only.
  "$ZPOOL" create -o cachefile=none -m none other "$V/d1"
  [ "$("$ZPOOL" list -Hp -o size tank)" = "$("$ZPOOL" list -Hp -o size other)" ]
}

@test "dax: zpool add dax, -n first; the data written never lands on a dax device" {
  "$ZPOOL" create -o cachefile=none -m "$MNT" tank "$V/d0"
  expect 0 "would update 'tank' to the following configuration:
	tank
	  $V/d0
	dax
	  $V/p0" "$ZPOOL" add -n tank dax "$V/p0"
  "$ZPOOL" add tank dax "$V/p0"
  run "$ZPOOL" status tank
  [[ "$output" == *"	dax
	  $V/p0  ONLINE"* ]] || { echo "$output"; false; }
  head -c 24M /dev/urandom >"$MNT/f"
  mkdir "$MNT/dir" && touch "$MNT/dir/a" "$MNT/dir/b"
  "$ZPOOL" sync tank
  run "$ZPOOL" list -Hpv -o name,allocated tank
  echo "$output"
  [ "$(sed -n 2p <<<"$output" | cut -f2)" -gt $((24 << 20)) ]
  [ "$(sed -n 4p <<<"$output")" = "  $V/p0	0" ]
  sum=$(sha256sum <"$MNT/f")
  "$ZPOOL" export tank
  # Our zdb walks every block: all on d0, none leaked, none on the dax device.
  run "$ZDB" -e -p "$V" -bcc tank
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"No leaks"* ]]
  "$ZPOOL" import -d "$V" tank
  [ "$(sha256sum <"$MNT/f")" = "$sum" ]
  run "$ZPOOL" status tank
  [[ "$output" == *"	dax
	  $V/p0  ONLINE       0     0     0  emulated DAX (a file, no MAP_SYNC)"* ]] || { echo "$output"; false; }
}

@test "dax: without --dax-emulation a file is no dax device, and a pool with one is not imported" {
  zfsd_stop
  ZFSD_EXTRA_ARGS= zfsd_start
  expect 1 "cannot create 'tank': cannot use '$V/p0': not a device-DAX character device (zfsd emulates one on a file only with --dax-emulation)" \
    "$ZPOOL" create -o cachefile=none -m none tank "$V/d0" dax "$V/p0"
  [ -z "$("$ZPOOL" list -H -o name)" ]
  "$ZPOOL" create -o cachefile=none -m none tank "$V/d0"
  expect 1 "cannot add to 'tank': cannot use '$V/p0': not a device-DAX character device (zfsd emulates one on a file only with --dax-emulation)" \
    "$ZPOOL" add tank dax "$V/p0"
  "$ZPOOL" destroy tank
  zfsd_stop
  ZFSD_EXTRA_ARGS=--dax-emulation zfsd_start
  "$ZPOOL" create -o cachefile=none -m none tank "$V/d0" dax "$V/p0"
  "$ZPOOL" export tank
  zfsd_stop
  ZFSD_EXTRA_ARGS= zfsd_start
  run "$ZPOOL" import -d "$V" tank
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *"'$V/p0' is a file emulating a device-DAX device; zfsd takes it only with --dax-emulation"* ]]
  [ -z "$("$ZPOOL" list -H -o name)" ]
}

# complete_words WORD...: what completions/zpool offers for "zpool WORD...", one per line.
complete_words() {
  (
    PATH=$(dirname "$ZPOOL"):$PATH
    # shellcheck disable=SC1091
    source "$UZFS_ROOT/completions/zpool"
    COMP_WORDS=(zpool "$@")
    COMP_CWORD=$#
    COMPREPLY=()
    _uzfs_zpool zpool "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    printf '%s\n' "${COMPREPLY[@]}"
  )
}

@test "dax: zpool remove of a dax device: refused while extents of DAX files (a snapshot's too) are on it, then it leaves; completion offers it" {
  dax_pool
  [ "$(complete_words remove tank '')" = "$V/p0" ]
  head -c $((3 << 20)) /dev/urandom >"$MNT/pm/f"
  busy="cannot remove $V/p0: dax device holds extents of DAX files"
  expect 1 "$busy" "$ZPOOL" remove tank "$V/p0"
  "$ZFS" snapshot tank/pm@s
  rm "$MNT/pm/f"
  "$ZPOOL" sync tank
  expect 1 "$busy" "$ZPOOL" remove tank "$V/p0"
  "$ZFS" destroy tank/pm@s
  "$ZPOOL" sync tank
  "$ZPOOL" sync tank
  [ "$("$ZPOOL" list -Hpv -o name,allocated tank | sed -n 4p)" = "  $V/p0	0" ]
  "$ZPOOL" remove tank "$V/p0"
  [ "$("$ZPOOL" list -Hv -o name tank | grep -cx dax)" = 0 ]
  expect 1 "cannot remove $V/p0: no such device in pool" "$ZPOOL" remove tank "$V/p0"
  "$ZPOOL" export tank
  run "$ZDB" -e -p "$V" -bcc tank
  [[ "$output" == *"No leaks (block sum matches space maps exactly)"* ]] || { echo "$output"; false; }
  "$ZPOOL" import -d "$V" tank
  # Its labels say txg 0: added again without -f, and DAX files live there again.
  "$ZPOOL" add tank dax "$V/p0"
  head -c $((1 << 20)) /dev/urandom >"$MNT/pm/g"
  "$ZPOOL" sync tank
  [ "$("$ZPOOL" list -Hpv -o name,allocated tank | sed -n 4p)" = "  $V/p0	$((2 << 20))" ]
}

@test "dax: bad specifications are refused in zpool's words" {
  expect 1 "invalid vdev specification: unsupported 'dax' device: mirror" \
    "$ZPOOL" create tank "$V/d0" dax mirror "$V/p0" "$V/p1"
  expect 1 "invalid vdev specification: dax requires at least 1 device" \
    "$ZPOOL" create tank "$V/d0" dax
  expect 1 "invalid vdev specification: 'dax' can be specified only once" \
    "$ZPOOL" create tank "$V/d0" dax "$V/p0" dax "$V/p1"
  expect 1 "invalid vdev specification
use '-f' to override the following errors:
at least one general top-level vdev must be specified" "$ZPOOL" create tank dax "$V/p0"
  # A character device that is not device-DAX.
  run "$ZPOOL" create tank "$V/d0" dax /dev/null
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == "cannot create 'tank': cannot use '/dev/null': not a device-DAX character device"* ]]
  truncate -s 32M "$V/tiny"
  expect 1 "cannot create 'tank': one or more devices is less than the minimum size (64M)" \
    "$ZPOOL" create tank "$V/d0" dax "$V/tiny"
  [ -z "$("$ZPOOL" list -H -o name)" ]
}

@test "dax=on: files written through the mount live in place on the dax device; snapshot, rollback, export/import, zdb -bcc" {
  dax_pool
  [ "$("$ZFS" get -H -o value,source dax tank/pm)" = "on	local" ]
  [ "$("$ZFS" get -H -o value,source dax tank)" = "off	default" ]
  "$ZFS" create tank/pm/child
  [ "$("$ZFS" get -H -o value,source dax tank/pm/child)" = "on	inherited from tank/pm" ]
  head -c $((5 << 20)) /dev/urandom >"$BATS_TEST_TMPDIR/r"
  cp "$BATS_TEST_TMPDIR/r" "$MNT/pm/f"
  echo small >"$MNT/pm/s"
  "$ZPOOL" sync tank
  # Three extents for 5 MiB and one for the small file, all on the dax device.
  [ "$("$ZPOOL" list -Hpv -o name,allocated tank | sed -n 4p)" = "  $V/p0	$((8 << 20))" ]
  # In place: the device holds the file's first bytes at the start of its allocatable space.
  cmp -n 4096 "$BATS_TEST_TMPDIR/r" <(tail -c +$(((4 << 20) + 1)) "$V/p0")
  sum=$(sha256sum <"$BATS_TEST_TMPDIR/r")
  "$ZFS" snapshot tank/pm@s
  printf 'changed' | dd of="$MNT/pm/f" bs=1 seek=100 conv=notrunc 2>/dev/null
  [ "$(sha256sum <"$MNT/pm/.zfs/snapshot/s/f")" = "$sum" ]
  [ "$(sha256sum <"$MNT/pm/f")" != "$sum" ]
  "$ZPOOL" sync tank
  [ "$("$ZPOOL" list -Hpv -o name,allocated tank | sed -n 4p)" = "  $V/p0	$((10 << 20))" ]
  "$ZFS" rollback tank/pm@s
  [ "$(sha256sum <"$MNT/pm/f")" = "$sum" ]
  "$ZFS" destroy tank/pm@s
  "$ZPOOL" export tank
  run "$ZDB" -e -p "$V" -bcc tank
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"No leaks (block sum matches space maps exactly)"* ]]
  "$ZPOOL" import -d "$V" tank
  [ "$(sha256sum <"$MNT/pm/f")" = "$sum" ]
  [ "$(cat "$MNT/pm/s")" = small ]
  [ "$("$ZPOOL" list -Hpv -o name,allocated tank | sed -n 4p)" = "  $V/p0	$((8 << 20))" ]
}

@test "dax=on: what fsync acknowledged survives a SIGKILL of zfsd" {
  zfsd_stop
  ZFSD_EXTRA_ARGS="--dax-emulation --txg-timeout 600" zfsd_start
  dax_pool
  "$ZPOOL" sync tank
  python3 - "$MNT/pm" <<'PY'
import os, sys
d = sys.argv[1]
for i in range(4):
    fd = os.open("%s/f%d" % (d, i), os.O_CREAT | os.O_WRONLY, 0o644)
    os.write(fd, bytes([65 + i]) * (3 << 20))
    os.fsync(fd)
    os.close(fd)
fd = os.open("%s/f0" % d, os.O_WRONLY)
os.pwrite(fd, b"overwritten", 1000)
os.fsync(fd)
os.close(fd)
PY
  zfsd_kill
  ZFSD_EXTRA_ARGS=--dax-emulation zfsd_start
  "$ZPOOL" import -d "$V" tank
  for i in 1 2 3; do
    [ "$(stat -c %s "$MNT/pm/f$i")" = $((3 << 20)) ]
    [ "$(tr -d "$(printf "\\x$(printf %x $((65 + i)))")" <"$MNT/pm/f$i" | wc -c)" = 0 ]
  done
  [ "$(dd if="$MNT/pm/f0" bs=1 skip=1000 count=11 2>/dev/null)" = overwritten ]
  "$ZPOOL" export tank
  run "$ZDB" -e -p "$V" -bcc tank
  [[ "$output" == *"No leaks (block sum matches space maps exactly)"* ]] || { echo "$output"; false; }
}

@test "dax=on: refused where the pool has no dax class" {
  "$ZPOOL" create -o cachefile=none -m none tank "$V/d0"
  expect 1 "cannot create 'tank/pm': pool has no dax devices" "$ZFS" create -o dax=on tank/pm
  "$ZFS" create tank/x
  expect 1 "cannot set property for 'tank/x': pool has no dax devices" "$ZFS" set dax=on tank/x
  "$ZFS" set dax=off tank/x
  [ "$("$ZFS" get -H -o value dax tank/x)" = off ]
}

@test "dax=on: uzfs-map maps the device itself; stores persisted are the file's bytes; no ARC; what a mapping forbids" {
  MAP=$UZFS_BUILD/cmd/uzfs-map/uzfs-map ARCSTAT=$UZFS_BUILD/cmd/arcstat/arcstat
  dax_pool
  F=$MNT/pm/f
  truncate -s 5M "$F"
  "$ZPOOL" sync tank
  cat "$F" >/dev/null  # the mount caches no page of a DAX file: reads below see the stores
  before=$("$ARCSTAT" -H -p -f datasz)
  run "$MAP" --write-pattern 0x5a --persist --sum "$F"
  [ "$status" -eq 0 ]
  want=$(head -c $((5 << 20)) /dev/zero | tr '\0' 'Z' | sha256sum | cut -d' ' -f1)
  [ "$output" = "$want  $F" ]
  # The mapping placed the three extents (synced before it was returned) and stored into
  # the device: the mount and the device file hold the bytes, the ARC none of them.
  [ "$("$ZPOOL" list -Hpv -o name,allocated tank | sed -n 4p)" = "  $V/p0	$((6 << 20))" ]
  [ "$(sha256sum <"$F" | cut -d' ' -f1)" = "$want" ]
  [ "$(head -c 4096 "$F" | tr -d Z | wc -c)" = 0 ]
  [ "$(tail -c +$(((4 << 20) + 1)) "$V/p0" | head -c 4096 | tr -d Z | wc -c)" = 0 ]
  [ "$("$ARCSTAT" -H -p -f datasz)" = "$before" ]
  # While mapped: no destroy or export without -f; a snapshot or rollback pauses the mapping
  # around it, a shrinking truncate cuts it (see below).
  "$ZFS" snapshot tank/pm@early
  "$MAP" --hold 30 "$F" &
  holder=$!
  for _ in $(seq 50); do [ "$("$ARCSTAT" -H -p -f maps)" = 1 ] && break; sleep 0.1; done
  [ "$("$ARCSTAT" -H -p -f maps)" = 1 ]
  "$ZFS" snapshot tank/pm@mapped
  [ "$(sha256sum <"$MNT/pm/.zfs/snapshot/mapped/f" | cut -d' ' -f1)" = "$want" ]
  run "$ZPOOL" export tank
  [ "$status" -eq 1 ]
  [[ "$output" == *"pool is busy: a DAX file is mapped"* ]]
  expect 1 "cannot destroy 'tank/pm': dataset is busy: a DAX file of it is mapped" \
    "$ZFS" destroy -r tank/pm
  truncate -s 7M "$F"  # growing is fine
  kill "$holder"
  wait "$holder" || true
  for _ in $(seq 50); do [ "$("$ARCSTAT" -H -p -f maps)" = 0 ] && break; sleep 0.1; done
  "$ZFS" snapshot tank/pm@s
  truncate -s 1M "$F"
  "$ZFS" rollback tank/pm@s
  [ "$(stat -c %s "$F")" = $((7 << 20)) ]
  [ "$(head -c $((5 << 20)) "$F" | sha256sum | cut -d' ' -f1)" = "$want" ]
  "$ZFS" destroy tank/pm@mapped
  "$ZPOOL" export tank
  run "$ZDB" -e -p "$V" -bcc tank
  [[ "$output" == *"No leaks (block sum matches space maps exactly)"* ]] || { echo "$output"; false; }
}

@test "dax=on: mmap(2) through the mount: shared stores land on the device (libzfs's mapping, the device, a fresh import read them); a private mapping keeps its own; a libzfs client's stores reach a mount mapping" {
  MAP=$UZFS_BUILD/cmd/uzfs-map/uzfs-map
  dax_pool
  F=$MNT/pm/f
  truncate -s 3M "$F"
  # read(2) and write(2) stay direct but see the mapping's pages (the kernel writes them
  # back first); a private mapping sees the shared stores, keeps its own.
  python3 - "$F" <<'PY'
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, 3 << 20, mmap.MAP_SHARED)
m[:] = b'M' * (3 << 20)
m[4096:4101] = b'hello'
assert os.pread(fd, 5, 4096) == b'hello'
os.pwrite(fd, b'W', 8192)
assert m[8192:8193] == b'W', m[8192:8193]
p = mmap.mmap(fd, 3 << 20, mmap.MAP_PRIVATE)
assert p[4096:4101] == b'hello'
p[0:4] = b'priv'
assert m[0:4] == b'MMMM'
m.flush()
PY
  want=$({ head -c 4096 /dev/zero | tr '\0' M; printf hello; head -c 4091 /dev/zero | tr '\0' M
    printf W; head -c $(((3 << 20) - 8193)) /dev/zero | tr '\0' M; } | sha256sum | cut -d' ' -f1)
  [ "$(dax_sum "$F")" = "$want" ]
  [ "$("$MAP" --sum "$F")" = "$want  $F" ]
  [ "$(tr -cd M <"$V/p0" | wc -c)" -ge $(((3 << 20) - 6)) ]
  # A mapping through the mount made before a libzfs client stores sees the stores once the
  # client's mapping goes (zfsd drops the mount's pages of the file).
  python3 - "$F" "$BATS_TEST_TMPDIR" >"$BATS_TEST_TMPDIR/seen" <<'PY' &
import mmap, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, 3 << 20, mmap.MAP_SHARED)
first = m[0:1] + m[4096:4097]
open(sys.argv[2] + '/mapped', 'w').close()
while not os.path.exists(sys.argv[2] + '/stored'):
    time.sleep(0.05)
for _ in range(100):
    if m[0:1] == b'Z':
        break
    time.sleep(0.05)
print(first.decode(), m[0:1].decode(), m[4096:4101].decode(), m[(3 << 20) - 1:].decode())
PY
  reader=$!
  wait_file "$BATS_TEST_TMPDIR/mapped"
  "$MAP" --write-pattern 0x5a --persist "$F"
  touch "$BATS_TEST_TMPDIR/stored"
  wait "$reader"
  [ "$(cat "$BATS_TEST_TMPDIR/seen")" = "Mh Z ZZZZZ Z" ]
  want=$(head -c $((3 << 20)) /dev/zero | tr '\0' Z | sha256sum | cut -d' ' -f1)
  dax_zdb_clean
  [ "$(dax_sum "$F")" = "$want" ]
}

@test "dax=on: stores persisted through a mapping survive a SIGKILL of zfsd" {
  MAP=$UZFS_BUILD/cmd/uzfs-map/uzfs-map
  dax_pool
  F=$MNT/pm/f
  truncate -s 3M "$F"
  "$ZPOOL" sync tank
  # The pattern is stored and persisted; zfsd dies while the mapping is still held.
  "$MAP" --write-pattern 0xa7 --persist --hold 30 "$F" &
  holder=$!
  for _ in $(seq 100); do [ "$("$UZFS_BUILD/cmd/arcstat/arcstat" -H -p -f maps)" = 1 ] && break; sleep 0.1; done
  sleep 0.5
  zfsd_kill
  kill "$holder" 2>/dev/null || true
  wait "$holder" || true
  zfsd_start
  "$ZPOOL" import -d "$V" tank
  [ "$(stat -c %s "$F")" = $((3 << 20)) ]
  [ "$(od -An -tx1 -v "$F" | tr -s ' \n' '\n\n' | sort -u | tr -d '\n')" = a7 ]
  "$ZPOOL" export tank
  run "$ZDB" -e -p "$V" -bcc tank
  [[ "$output" == *"No leaks (block sum matches space maps exactly)"* ]] || { echo "$output"; false; }
}

@test "dax=on: a clone shares the extents; a write through the clone, the origin or a mapping copies only its side; promote; destroy in either order" {
  MAP=$UZFS_BUILD/cmd/uzfs-map/uzfs-map
  dax_pool
  head -c $((5 << 20)) /dev/urandom >"$MNT/pm/f"
  head -c $((3 << 20)) /dev/urandom >"$MNT/pm/g"
  F0=$(dax_sum "$MNT/pm/f") G0=$(dax_sum "$MNT/pm/g")
  "$ZFS" snapshot tank/pm@s
  # A clone inherits from its parent, as in OpenZFS: under tank/pm it is dax=on; under
  # tank it is off, yet the files it shares stay DAX files (their znodes say so).
  "$ZFS" clone tank/pm@s tank/pm/c
  "$ZFS" clone tank/pm@s tank/c
  [ "$("$ZFS" get -H -o value,source dax tank/pm/c)" = "on	inherited from tank/pm" ]
  [ "$("$ZFS" get -H -o value,source dax tank/c)" = "off	default" ]
  [ "$("$ZFS" get -H -o value origin tank/c)" = "tank/pm@s" ]
  "$ZPOOL" sync tank
  # Five extents (three of f, two of g), shared by the head, the snapshot and both clones.
  [ "$("$ZPOOL" list -Hpv -o name,allocated tank | sed -n 4p)" = "  $V/p0	$((10 << 20))" ]
  [ "$(dax_sum "$MNT/c/f")" = "$F0" ]
  [ "$(dax_sum "$MNT/pm/c/g")" = "$G0" ]
  # Through the clone's mount: the clone's first extent is copied, nothing else changes.
  printf 'clone' | dd of="$MNT/c/f" bs=1 seek=100 conv=notrunc 2>/dev/null
  # Through the origin's mount: its last extent of f.
  printf 'origin' | dd of="$MNT/pm/f" bs=1 seek=$((4 << 20)) conv=notrunc 2>/dev/null
  # Through a libzfs mapping of the clone's g: both of g's extents copied, then stored into.
  "$MAP" --write-pattern 0x3c --persist "$MNT/pm/c/g"
  want_g=$(head -c $((3 << 20)) /dev/zero | tr '\0' '<' | sha256sum | cut -d' ' -f1)
  [ "$(dax_sum "$MNT/pm/c/g")" = "$want_g" ]
  [ "$(dd if="$MNT/c/f" bs=1 skip=100 count=5 2>/dev/null)" = clone ]
  [ "$(dd if="$MNT/pm/f" bs=1 skip=$((4 << 20)) count=6 2>/dev/null)" = origin ]
  F_C=$(dax_sum "$MNT/c/f") F_PM=$(dax_sum "$MNT/pm/f")
  [ "$F_C" != "$F0" ] && [ "$F_PM" != "$F0" ] && [ "$F_C" != "$F_PM" ]
  # Everything not written is still shared and the same everywhere.
  [ "$(dax_sum "$MNT/pm/.zfs/snapshot/s/f")" = "$F0" ]
  [ "$(dax_sum "$MNT/pm/.zfs/snapshot/s/g")" = "$G0" ]
  [ "$(dax_sum "$MNT/c/g")" = "$G0" ]
  [ "$(dax_sum "$MNT/pm/g")" = "$G0" ]
  [ "$(dax_sum "$MNT/pm/c/f")" = "$F0" ]
  cmp <(head -c $((4 << 20)) "$MNT/pm/f") <(head -c $((4 << 20)) "$MNT/pm/.zfs/snapshot/s/f")
  "$ZPOOL" sync tank
  # 5 shared + 1 (tank/c's f) + 1 (the origin's f) + 2 (tank/pm/c's g): 9 extents.
  [ "$("$ZPOOL" list -Hpv -o name,allocated tank | sed -n 4p)" = "  $V/p0	$((18 << 20))" ]
  # A new file in tank/c (dax=off) is an ordinary one: nothing more on the dax device.
  head -c $((1 << 20)) /dev/urandom >"$MNT/c/plain"
  "$ZPOOL" sync tank
  [ "$("$ZPOOL" list -Hpv -o name,allocated tank | sed -n 4p)" = "  $V/p0	$((18 << 20))" ]
  dax_zdb_clean

  # Promote tank/c: the snapshot moves to it, tank/pm becomes its clone.
  "$ZFS" promote tank/c
  [ "$("$ZFS" get -H -o value origin tank/pm)" = "tank/c@s" ]
  [ "$(dax_sum "$MNT/c/.zfs/snapshot/s/f")" = "$F0" ]
  [ "$(dax_sum "$MNT/c/f")" = "$F_C" ]
  [ "$(dax_sum "$MNT/pm/f")" = "$F_PM" ]
  # After the promote a write through either side still copies only what the snapshot shares.
  printf 'again' | dd of="$MNT/c/g" bs=1 seek=10 conv=notrunc 2>/dev/null
  "$MAP" --write-pattern 0x3c --persist "$MNT/pm/g"
  [ "$(dax_sum "$MNT/pm/g")" = "$want_g" ]
  [ "$(dax_sum "$MNT/c/.zfs/snapshot/s/g")" = "$G0" ]
  [ "$(dd if="$MNT/c/g" bs=1 skip=10 count=5 2>/dev/null)" = again ]
  G_C=$(dax_sum "$MNT/c/g")
  dax_zdb_clean
  [ "$(dax_sum "$MNT/c/f")" = "$F_C" ]
  [ "$(dax_sum "$MNT/pm/f")" = "$F_PM" ]
  [ "$(dax_sum "$MNT/pm/c/g")" = "$want_g" ]

  # Destroy the former origin (now a clone) first, then the promoted clone's snapshot.
  "$ZFS" destroy -r tank/pm
  "$ZPOOL" sync tank
  # pm's copies of f (1) and g (2) and pm/c's g (2) are freed: 12 - 5 = 7 extents.
  [ "$("$ZPOOL" list -Hpv -o name,allocated tank | sed -n 4p)" = "  $V/p0	$((14 << 20))" ]
  [ "$(dax_sum "$MNT/c/f")" = "$F_C" ]
  [ "$(dax_sum "$MNT/c/g")" = "$G_C" ]
  [ "$(dax_sum "$MNT/c/.zfs/snapshot/s/f")" = "$F0" ]
  dax_zdb_clean
  "$ZFS" destroy tank/c@s
  "$ZPOOL" sync tank
  # What is left: tank/c's f (one copied extent, two it shared) and g (one copied, one
  # shared): five extents; the snapshot's f and g first extents went with it.
  [ "$("$ZPOOL" list -Hpv -o name,allocated tank | sed -n 4p)" = "  $V/p0	$((10 << 20))" ]
  dax_zdb_clean
  [ "$(dax_sum "$MNT/c/f")" = "$F_C" ]
  "$ZFS" destroy tank/c
  "$ZPOOL" sync tank
  [ "$("$ZPOOL" list -Hpv -o name,allocated tank | sed -n 4p)" = "  $V/p0	0" ]
  dax_zdb_clean
}

@test "dax=on: destroying a clone then its origin frees every extent" {
  dax_pool
  head -c $((4 << 20)) /dev/urandom >"$MNT/pm/f"
  F0=$(dax_sum "$MNT/pm/f")
  "$ZFS" snapshot tank/pm@s
  "$ZFS" clone tank/pm@s tank/c
  printf 'x' | dd of="$MNT/c/f" bs=1 seek=1 conv=notrunc 2>/dev/null
  echo new >"$MNT/pm/h"  # a new DAX file of the origin: its own extent
  [ "$(dax_sum "$MNT/pm/f")" = "$F0" ]
  "$ZPOOL" sync tank
  [ "$("$ZPOOL" list -Hpv -o name,allocated tank | sed -n 4p)" = "  $V/p0	$((8 << 20))" ]
  expect 1 "cannot destroy 'tank/pm': filesystem has children
use '-r' to destroy the following datasets:
tank/pm@s" "$ZFS" destroy tank/pm
  "$ZFS" destroy tank/c
  [ "$(dax_sum "$MNT/pm/f")" = "$F0" ]
  [ "$(dax_sum "$MNT/pm/.zfs/snapshot/s/f")" = "$F0" ]
  dax_zdb_clean
  "$ZFS" destroy -r tank/pm
  "$ZPOOL" sync tank
  [ "$("$ZPOOL" list -Hpv -o name,allocated tank | sed -n 4p)" = "  $V/p0	0" ]
  dax_zdb_clean
}

@test "dax=on: shrinking a mapped file cuts every mapping at the new end (SIGBUS past it, the bytes before kept); through the mount and uzfs_ftruncate" {
  dax_pool
  F=$MNT/pm/f T=$BATS_TEST_TMPDIR
  cut=$(((3 << 20) + 100))
  for how in mount ftruncate; do
    head -c $((5 << 20)) /dev/urandom >"$F"
    want=$(head -c $cut "$F" | sha256sum | cut -d' ' -f1)
    rm -f "$T/ready" "$T/go"
    client dax-cut "$F" "$T/ready" "$T/go" $cut >"$T/out" &
    mapper=$!
    wait_file "$T/ready"
    if [ $how = mount ]; then truncate -s $cut "$F"; else client truncate "$F" $cut; fi
    [ "$(stat -c %s "$F")" = $cut ]
    touch "$T/go"
    st=0
    wait "$mapper" || st=$?
    cat "$T/out"
    [ "$st" -eq 135 ]  # SIGBUS (128 + 7) on the first page past the end
    [ "$(sed -n 1p "$T/out")" = "$want" ]
    [ "$(wc -l <"$T/out")" = 1 ]
    [ "$(dax_sum "$F")" = "$want" ]
  done
  # Two extents left (the third freed), zeros past the end within the second one.
  "$ZPOOL" sync tank
  [ "$("$ZPOOL" list -Hpv -o name,allocated tank | sed -n 4p)" = "  $V/p0	$((4 << 20))" ]
  truncate -s $((4 << 20)) "$F"
  [ "$(tail -c +$((cut + 1)) "$F" | tr -d '\0' | wc -c)" = 0 ]
  dax_zdb_clean
}

@test "dax=on: zfs snapshot of a file mapped under stores is one instant: each snapshot a prefix of the records with no gap; the file goes on" {
  truncate -s 256M "$V/p2"
  "$ZPOOL" create -o cachefile=none -m "$MNT" tank "$V/d0" dax "$V/p2"
  "$ZFS" create -o dax=on tank/pm
  F=$MNT/pm/f T=$BATS_TEST_TMPDIR
  truncate -s 32M "$F"
  client counter "$F" "$T/ready" "$T/stop" >"$T/out" &
  writer=$!
  wait_file "$T/ready"
  for i in 1 2 3 4; do
    "$ZFS" snapshot tank/pm@s$i
    sleep 0.2
  done
  "$ZFS" snapshot -r tank@r
  touch "$T/stop"
  wait "$writer"
  last=$(cat "$T/out")
  prev=0
  for s in s1 s2 s3 s4 r; do
    n=$(client prefix "$MNT/pm/.zfs/snapshot/$s/f")
    echo "$s: $n records (of $last)"
    [ "$n" -ge 1024 ]
    [ "$n" -ge "$prev" ]
    prev=$n
  done
  [ "$(client prefix "$F")" = "$last" ]
  [ "$last" -ge "$prev" ]
  # A snapshot taken while the writer ran holds fewer records than it stored in the end.
  [ "$(client prefix "$MNT/pm/.zfs/snapshot/s1/f")" -lt "$last" ]
  "$ZFS" destroy tank/pm@s1
  "$ZFS" destroy tank/pm@s2
  "$ZFS" destroy tank/pm@s3
  "$ZFS" destroy tank/pm@s4
  "$ZFS" destroy -r tank@r
  "$ZPOOL" sync tank
  "$ZPOOL" sync tank
  # The head's 16 extents alone are left.
  [ "$("$ZPOOL" list -Hpv -o name,allocated tank | sed -n 4p)" = "  $V/p2	$((32 << 20))" ]
  dax_zdb_clean
}

@test "dax=on: a client that does not answer a revocation within 5 s is severed (its mappings inaccessible); the truncate goes on" {
  dax_pool
  F=$MNT/pm/f T=$BATS_TEST_TMPDIR
  head -c $((5 << 20)) /dev/urandom >"$F"
  cut=$((1 << 20))
  # python itself, not a subshell running it: it is the process stopped below
  python3 "$UZFS_ROOT/tests/lib/map_client.py" "$UZFS_BUILD/libzfs/libuzfs_file.so" \
    dax-cut "$F" "$T/ready" "$T/go" $cut >"$T/out" &
  mapper=$!
  wait_file "$T/ready"
  kill -STOP "$mapper"
  start=$(date +%s)
  truncate -s $cut "$F"
  took=$(($(date +%s) - start))
  echo "truncate took $took s"
  [ "$took" -ge 4 ] && [ "$took" -le 15 ]
  [ "$(stat -c %s "$F")" = $cut ]
  kill -CONT "$mapper"
  sleep 1  # its watcher sees the connection gone and makes the whole mapping inaccessible
  touch "$T/go"
  st=0
  wait "$mapper" || st=$?
  [ "$st" -eq 139 ]  # SIGSEGV on its first access: nothing read from extents now free
  [ ! -s "$T/out" ]
  "$ZPOOL" sync tank
  [ "$("$ZPOOL" list -Hpv -o name,allocated tank | sed -n 4p)" = "  $V/p0	$((2 << 20))" ]
  dax_zdb_clean
}

@test "dax=on: zfs rollback under stores: the mapping shows the snapshot's bytes at once, stores go on to new extents; zdb -bcc clean; export/import keeps what the mapping shows" {
  truncate -s 256M "$V/p2"
  "$ZPOOL" create -o cachefile=none -m "$MNT" tank "$V/d0" dax "$V/p2"
  "$ZFS" create -o dax=on tank/pm
  F=$MNT/pm/f T=$BATS_TEST_TMPDIR
  truncate -s 32M "$F"
  client counter "$F" "$T/ready" "$T/stop" "$T/sum" >"$T/out" &
  writer=$!
  wait_file "$T/ready"
  sleep 0.2
  "$ZFS" snapshot tank/pm@s
  sleep 0.3
  "$ZFS" rollback tank/pm@s
  sleep 0.2
  touch "$T/stop"
  wait "$writer"
  last=$(cat "$T/out")
  k=$(client prefix "$MNT/pm/.zfs/snapshot/s/f")
  runs=$(client runs "$F")
  echo "snapshot: records 1-$k; file: $runs; last stored $last"
  # The snapshot's records, zeros where the records stored between the snapshot and the
  # rollback were (the mapping lost them at once), then every record stored after it.
  [[ "$runs" =~ ^1-([0-9]+)\ ([0-9]+)-([0-9]+)$ ]]
  [ "${BASH_REMATCH[1]}" = "$k" ]
  [ "${BASH_REMATCH[2]}" -gt $((k + 1)) ]
  [ "${BASH_REMATCH[3]}" = "$last" ]
  [ "$last" -lt $((4 << 20)) ]  # stopped, not full
  [ "$(dax_sum "$F")" = "$(cat "$T/sum")" ]
  # The snapshot's 16 extents and the head's 16 copies; the copies the rollback discarded freed.
  "$ZPOOL" sync tank
  [ "$("$ZPOOL" list -Hpv -o name,allocated tank | sed -n 4p)" = "  $V/p2	$((64 << 20))" ]
  dax_zdb_clean
  [ "$(dax_sum "$F")" = "$(cat "$T/sum")" ]
  [ "$(client prefix "$MNT/pm/.zfs/snapshot/s/f")" = "$k" ]
  "$ZFS" destroy tank/pm@s
  "$ZPOOL" sync tank
  [ "$("$ZPOOL" list -Hpv -o name,allocated tank | sed -n 4p)" = "  $V/p2	$((32 << 20))" ]
  dax_zdb_clean
}

@test "dax=on: after a rollback a mapping raises SIGBUS past the file's size in the snapshot, and all over a file the snapshot lacks" {
  dax_pool
  F=$MNT/pm/f G=$MNT/pm/g T=$BATS_TEST_TMPDIR
  head -c $((2 << 20)) /dev/urandom >"$F"
  want=$(dax_sum "$F")
  "$ZFS" snapshot tank/pm@s
  head -c $((3 << 20)) /dev/urandom >>"$F"
  head -c $((1 << 20)) /dev/urandom >"$G"
  client dax-cut "$F" "$T/ready-f" "$T/go" $((2 << 20)) >"$T/out-f" &
  mf=$!
  client dax-cut "$G" "$T/ready-g" "$T/go" 0 >"$T/out-g" &
  mg=$!
  wait_file "$T/ready-f"
  wait_file "$T/ready-g"
  "$ZFS" rollback tank/pm@s
  [ "$(stat -c %s "$F")" = $((2 << 20)) ]
  [ ! -e "$G" ]
  touch "$T/go"
  st=0
  wait "$mf" || st=$?
  cat "$T/out-f"
  [ "$st" -eq 135 ]  # SIGBUS past the snapshot's 2 MiB; the bytes before them the snapshot's
  [ "$(cat "$T/out-f")" = "$want" ]
  st=0
  wait "$mg" || st=$?
  cat "$T/out-g"
  [ "$st" -eq 135 ]  # SIGBUS at its first byte
  [ "$(cat "$T/out-g")" = "$(sha256sum </dev/null | cut -d' ' -f1)" ]
  # The snapshot's extent of f and the head's copy of it; g's and f's later ones freed.
  "$ZPOOL" sync tank
  [ "$("$ZPOOL" list -Hpv -o name,allocated tank | sed -n 4p)" = "  $V/p0	$((4 << 20))" ]
  dax_zdb_clean
  [ "$(dax_sum "$F")" = "$want" ]
}

@test "dax=on: export, destroy and pool destroy refuse a mapped file; with -f the mapping raises SIGBUS and the pool imports clean" {
  dax_pool
  F=$MNT/pm/f T=$BATS_TEST_TMPDIR
  head -c $((3 << 20)) /dev/urandom >"$F"
  sum=$(dax_sum "$F") empty=$(sha256sum </dev/null | cut -d' ' -f1)
  # Maps F, waits for go, then reads its first byte: SIGBUS once the mapping was taken.
  mapped() {
    rm -f "$T/ready" "$T/go"
    client dax-cut "$F" "$T/ready" "$T/go" 0 >"$T/out" &
    mapper=$!
    wait_file "$T/ready"
  }
  sigbus() {
    touch "$T/go"
    st=0
    wait "$mapper" || st=$?
    [ "$st" -eq 135 ] && [ "$(cat "$T/out")" = "$empty" ]
  }
  mapped
  expect 1 "cannot export 'tank': pool is busy: a DAX file is mapped" "$ZPOOL" export tank
  [ "$(cat "$MNT/pm/f" | sha256sum | cut -d' ' -f1)" = "$sum" ]  # still mounted
  "$ZPOOL" export -f tank
  sigbus
  run "$ZDB" -e -p "$V" -bcc tank
  [[ "$output" == *"No leaks (block sum matches space maps exactly)"* ]] || { echo "$output"; false; }
  "$ZPOOL" import -d "$V" tank
  [ "$(dax_sum "$F")" = "$sum" ]

  mapped
  expect 1 "cannot destroy 'tank/pm': dataset is busy: a DAX file of it is mapped" "$ZFS" destroy tank/pm
  [ "$(dax_sum "$F")" = "$sum" ]
  "$ZFS" destroy -f tank/pm
  sigbus
  "$ZPOOL" sync tank
  [ "$("$ZPOOL" list -Hpv -o name,allocated tank | sed -n 4p)" = "  $V/p0	0" ]
  dax_zdb_clean

  "$ZFS" create -o dax=on tank/pm
  head -c $((3 << 20)) /dev/urandom >"$F"
  mapped
  expect 1 "cannot destroy 'tank': pool is busy: a DAX file is mapped" "$ZPOOL" destroy tank
  "$ZPOOL" destroy -f tank
  sigbus
  [ -z "$("$ZPOOL" list -H -o name)" ]
}
