#!/usr/bin/env bats
# Device faults and their administration: READ/WRITE/CKSUM counters in zpool status, leaves
# FAULTED ("too many errors") or UNAVAIL ("cannot open") after failed I/O and a failed probe,
# zpool clear (counters zeroed, dead devices reopened), with OpenZFS's words. Faults come
# from zinject (device handlers in zfsd: -e io fails I/O with EIO, -e nxio as if the device
# were pulled, -A fault), the way OpenZFS's own tests make them; zfs-fuse judges the pools.

load ../lib/pool_helpers
load ../lib/oracle

ZINJECT=$UZFS_BUILD/cmd/zinject/zinject

setup() {
  V=$BATS_TEST_TMPDIR/v
  mkdir -p "$V"
  mkvdevs "$V" 3
  truncate -s 128M "$V/l0"
  zfsd_start
}

teardown() {
  cd /
  "$ZINJECT" -c all >/dev/null 2>&1 || true
  zfsd_stop || true
  dead_mounts_clear
  oracle_stop 2>/dev/null || true
}

# row POOL DEV: DEV's row of zpool status, blanks squeezed ("/v/l0 UNAVAIL 0 1 0 cannot open").
row() {
  "$ZPOOL" status "$1" | awk -v d="$2" '$1 == d { $1 = $1; print }'
}

# resilvered POOL: a device back from a fault missed txgs (its DTL), so zpool clear started
# a resilver (vdev_clear's SPA_ASYNC_RESILVER): until zpool status says it ended, then a
# sync (the one that empties the DTLs).
resilvered() {
  local _
  for _ in $(seq 150); do
    "$ZPOOL" status "$1" | grep -q "^  scan: resilvered " && { "$ZPOOL" sync "$1"; return 0; }
    sleep 0.2
  done
  return 1
}

@test "zpool clear: usage errors and unknown pools or devices, in zpool's words" {
  run "$ZPOOL" clear
  [ "$status" -eq 2 ]
  [[ $output == *"missing pool name"* ]]
  [[ $output == *"clear pool [device]"* ]]
  run "$ZPOOL" clear nosuch
  [ "$status" -eq 1 ]
  [ "$output" = "cannot open 'nosuch': no such pool" ]
  "$ZPOOL" create tank "$V/d0" "$V/d1"
  run "$ZPOOL" clear tank "$V/d2"
  [ "$status" -eq 1 ]
  [ "$output" = "cannot clear errors for $V/d2: no such device in pool" ]
  run "$ZPOOL" clear tank a b
  [ "$status" -eq 2 ]
  [[ $output == *"too many arguments"* ]]
}

@test "zpool clear: a healthy pool and one of its devices clear quietly; history records it" {
  "$ZPOOL" create tank "$V/d0" log "$V/l0"
  run "$ZPOOL" clear tank
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  run "$ZPOOL" clear tank "$V/l0"
  [ "$status" -eq 0 ]
  run "$ZPOOL" status -x tank
  [ "$output" = "pool 'tank' is healthy" ]
  run "$ZPOOL" history tank
  [[ $output == *"zpool clear tank $V/l0"* ]]
}

@test "zinject: handlers are added, listed and removed in zinject's words" {
  "$ZPOOL" create tank mirror "$V/d0" "$V/d1"
  run "$ZINJECT"
  [ "$status" -eq 0 ]
  [ "$output" = "No handlers registered.
Run 'zinject -h' for usage information." ]
  guid=$("$ZDB" -l "$V/d1" | awk '$1 == "guid:" { g = $2 } END { print g }')
  run "$ZINJECT" -d "$V/d1" -e io -T read tank
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "Added handler 1 with the following properties:" ] || [[ ${lines[0]} == "Added handler "*" with the following properties:" ]]
  [ "${lines[1]}" = "  pool: tank" ]
  [ "${lines[2]}" = "  vdev: $(printf '%x' "$guid")" ]
  id=$("$ZINJECT" -q -d "$V/d0" tank)
  [[ $id =~ ^[0-9]+$ ]]
  run "$ZINJECT"
  [ "${lines[0]}" = " ID  POOL             GUID" ]
  [ "${#lines[@]}" -eq 4 ]
  [[ ${lines[3]} == *"$id  tank"* ]]
  run "$ZINJECT" -c "$id"
  [ "$status" -eq 0 ]
  [ "$output" = "removed handler $id" ]
  run "$ZINJECT" -c "$id"
  [ "$status" -eq 1 ]
  [ "$output" = "failed to remove handler $id: No such file or directory" ]
  run "$ZINJECT" -c all
  [ "$output" = "removed all registered handlers" ]
  run "$ZINJECT"
  [[ $output == "No handlers registered."* ]]
}

@test "zinject: bad input gets zinject's messages and exit codes" {
  "$ZPOOL" create tank "$V/d0"
  run "$ZINJECT" -d "$V/d0" nosuch
  [ "$status" -eq 1 ]
  [ "$output" = "cannot open 'nosuch': no such pool" ]
  run "$ZINJECT" -d "$V/d9" tank
  [ "$status" -eq 1 ]
  [ "$output" = "cannot find device '$V/d9' in pool 'tank'" ]
  run "$ZINJECT" -d "$V/d0" -e bogus tank
  [ "$status" -eq 1 ]
  [ "${lines[0]}" = "invalid error type 'bogus': must be 'io', 'checksum' or 'nxio'" ]
  run "$ZINJECT" -d "$V/d0" -e checksum tank
  [ "$status" -eq 1 ]
  [ "$output" = "device error type must be 'io' or 'nxio'" ]
  run "$ZINJECT" -d "$V/d0" -T sideways tank
  [ "$status" -eq 1 ]
  [ "${lines[0]}" = "invalid I/O type 'sideways': must be 'read', 'write' or 'all'" ]
  run "$ZINJECT" -d "$V/d0" -f 0 tank
  [ "$status" -eq 1 ]
  [ "$output" = "frequency range must be in the range (0, 100]" ]
  run "$ZINJECT" -d "$V/d0" -A degrade tank
  [ "$status" -eq 1 ]
  [ "${lines[0]}" = "invalid action 'degrade': must be 'fault'" ]
  run "$ZINJECT" -d "$V/d0"
  [ "$status" -eq 2 ]
  [ "${lines[0]}" = "device (-d) injection requires a single pool name" ]
  run "$ZINJECT" -c 1 -d "$V/d0"
  [ "$status" -eq 2 ]
  [ "${lines[0]}" = "cancel (-c) incompatible with any other options" ]
  run "$ZINJECT" -c x
  [ "$status" -eq 2 ]
  [ "${lines[0]}" = "invalid handle id 'x': must be an integer or 'all'" ]
  run "$ZINJECT" -z
  [ "$status" -eq 2 ]
  [ "${lines[0]}" = "invalid option 'z'" ]
  run "$ZINJECT"
  [[ $output == "No handlers registered."* ]]
}

@test "faults: a pulled log device leaves the pool running on its main device; fsyncs stay durable; zfs-fuse replays them" {
  zfsd_stop
  ZFSD_EXTRA_ARGS="--txg-timeout 600" zfsd_start
  A=$BATS_TEST_TMPDIR/alt
  "$ZPOOL" create -o cachefile=none -m "$A/zl" zl "$V/d0" log "$V/l0"
  "$ZFS" create zl/fs
  fsync_files "$A/zl/fs" a 3
  "$ZINJECT" -q -d "$V/l0" zl >/dev/null
  # The next commit meets the dead device: the log goes on in the main device.
  fsync_files "$A/zl/fs" b 4
  [ "$(row zl "$V/l0")" = "$V/l0 UNAVAIL 0 1 0 cannot open" ]
  run "$ZPOOL" status zl
  [[ $output == *" state: DEGRADED"* ]]
  [[ $output == *"status: One or more devices could not be opened.  Sufficient replicas exist for"* ]]
  [[ $output == *"action: Attach the missing device and online it using 'zpool online'."* ]]
  [[ $output == *"see: https://openzfs.github.io/openzfs-docs/msg/ZFS-8000-2Q"* ]]
  run "$ZPOOL" status -x
  [[ $output == *"pool: zl"* ]]
  fsync_files "$A/zl/fs" c 2
  tree_sum "$A/zl/fs" >"$BATS_TEST_TMPDIR/want"
  zfsd_kill
  # Every block of the live log is on the main device (vdev 0).
  [ "$("$ZDB" -e -p "$V" -ivvvv zl | sed -n 's/.*Block seqno [0-9]*,.* DVA\[0\]=<\([0-9]*\):.*/\1/p' | sort -u)" = 0 ]
  oracle_start
  oracle_zdb_clean "$V" zl
  "$ZF_ZPOOL" import -d "$V" -R "$BATS_TEST_TMPDIR/zf" zl
  tree_sum "$(zf_mountpoint zl/fs)" >"$BATS_TEST_TMPDIR/got"
  diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
  "$ZF_ZPOOL" export zl
  oracle_zdb_clean "$V" zl
  oracle_stop
}

@test "faults: zpool clear cannot bring back a device still pulled; once it is back, it is relabelled and takes the log again" {
  A=$BATS_TEST_TMPDIR/alt
  "$ZPOOL" create -m "$A/zl" zl "$V/d0" log "$V/l0"
  "$ZFS" create zl/fs
  id=$("$ZINJECT" -q -d "$V/l0" zl)
  fsync_files "$A/zl/fs" a 2
  [ "$(row zl "$V/l0")" = "$V/l0 UNAVAIL 0 1 0 cannot open" ]
  "$ZPOOL" sync zl
  "$ZPOOL" clear zl "$V/l0"
  [ "$(row zl "$V/l0")" = "$V/l0 UNAVAIL 0 0 0 cannot open" ]
  "$ZINJECT" -c "$id" >/dev/null
  before=$("$ZDB" -l "$V/l0" | awk '$1 == "txg:" { print $2; exit }')
  "$ZPOOL" clear zl
  resilvered zl
  [ "$(row zl "$V/l0")" = "$V/l0 ONLINE 0 0 0" ]
  run "$ZPOOL" status -x zl
  [ "$output" = "pool 'zl' is healthy" ]
  # The labels it missed were written.
  after=$("$ZDB" -l "$V/l0" | awk '$1 == "txg:" { print $2; exit }')
  [ "$after" -gt "$before" ]
  # New log chains go to it again once the current one is given up (a sync).
  "$ZPOOL" sync zl
  fsync_files "$A/zl/fs" b 3
  "$ZPOOL" export zl
  oracle_start
  oracle_zdb_clean "$V" zl
  oracle_stop
}

@test "faults: write errors on one side of a mirror are counted, the tenth faults it, zpool clear returns it; zfs-fuse's zdb is clean" {
  A=$BATS_TEST_TMPDIR/alt
  "$ZPOOL" create -m "$A/tank" tank mirror "$V/d0" "$V/d1"
  "$ZINJECT" -q -d "$V/d1" -e io -T write tank >/dev/null
  dd if=/dev/urandom of="$A/tank/f1" bs=64k count=4 2>/dev/null
  # One txg's sync writes more than ten blocks and labels to d1: each failure is counted
  # (the device answers its probe, injected EIO does not touch the probe) until the tenth
  # faults it; a dead device counts nothing more.
  "$ZPOOL" sync tank
  [ "$(row tank "$V/d1")" = "$V/d1 FAULTED 0 10 0 too many errors" ]
  run "$ZPOOL" status tank
  [[ $output == *" state: DEGRADED"* ]]
  [[ $output == *"status: One or more devices are faulted in response to persistent errors."* ]]
  [[ $output == *"action: Replace the faulted device, or use 'zpool clear' to mark the device"* ]]
  # The pool goes on with the other side.
  dd if=/dev/urandom of="$A/tank/h" bs=64k count=4 2>/dev/null
  "$ZPOOL" sync tank
  "$ZINJECT" -c all >/dev/null
  "$ZPOOL" clear tank "$V/d1"
  resilvered tank
  [ "$(row tank "$V/d1")" = "$V/d1 ONLINE 0 0 0" ]
  sha=$(cat "$A"/tank/* | sha256sum)
  "$ZPOOL" export tank
  # d1 lacks what it missed: the judge reads each block from a side that has it.
  oracle_start
  oracle_zdb_clean "$V" tank
  "$ZF_ZPOOL" import -d "$V" -R "$BATS_TEST_TMPDIR/zf" tank
  [ "$(cat "$(zf_mountpoint tank)"/* | sha256sum)" = "$sha" ]
  "$ZF_ZPOOL" export tank
  oracle_stop
}

@test "faults: zinject -A fault takes a device out at once; zpool clear brings it back" {
  "$ZPOOL" create tank mirror "$V/d0" "$V/d1"
  run "$ZINJECT" -d "$V/d0" -A fault tank
  [ "$status" -eq 0 ]
  [ "$(row tank "$V/d0")" = "$V/d0 FAULTED 0 0 0 too many errors" ]
  run "$ZPOOL" status -x
  [[ $output == *"state: DEGRADED"* ]]
  # The fault's txg was synced without d0 (spa_vdev_state_exit): clear resilvers it.
  "$ZPOOL" clear tank
  resilvered tank
  [ "$(row tank "$V/d0")" = "$V/d0 ONLINE 0 0 0" ]
  run "$ZPOOL" status -x
  [ "$output" = "all pools are healthy" ]
}

@test "faults: a faulted device stays FAULTED when zfsd reopens the pool from its cache file; an explicit import tries it again and resilvers what it missed (v23's vdev_alloc)" {
  A=$BATS_TEST_TMPDIR/alt
  "$ZPOOL" create -m "$A/tank" tank mirror "$V/d0" "$V/d1"
  dd if=/dev/urandom of="$A/tank/f1" bs=64k count=4 2>/dev/null
  "$ZINJECT" -d "$V/d0" -A fault tank >/dev/null
  dd if=/dev/urandom of="$A/tank/f2" bs=64k count=4 2>/dev/null
  "$ZPOOL" sync tank
  sha=$(cat "$A"/tank/* | sha256sum)
  # zfsd's next start opens the pool from the cache file (SPA_LOAD_OPEN): the fault holds.
  zfsd_stop
  zfsd_start
  [ "$(row tank "$V/d0")" = "$V/d0 FAULTED 0 0 0 too many errors" ]
  # An explicit import does not read the persisted fault: d0 is opened, found healthy, and
  # resilvered from its DTL (f2 went to d1 only).
  "$ZPOOL" export tank
  "$ZPOOL" import -d "$V" tank
  resilvered tank
  [ "$(row tank "$V/d0")" = "$V/d0 ONLINE 0 0 0" ]
  [ "$(cat "$A"/tank/* | sha256sum)" = "$sha" ]
  "$ZPOOL" export tank
  # d0 alone holds every block now: the judge reads the pool without d1.
  mv "$V/d1" "$V/d1.out"
  oracle_start
  oracle_zdb_clean "$V" tank
  oracle_stop
}

@test "faults: zinject -A fault of a single-disk pool's only disk backs off to DEGRADED (vdev_fault): persisted for zfsd's reopen, dropped by an import here and in zfs-fuse" {
  "$ZPOOL" create -m "$BATS_TEST_TMPDIR/alt/tank" tank "$V/d0"
  head -c 1M /dev/urandom >"$BATS_TEST_TMPDIR/alt/tank/f"
  "$ZPOOL" sync tank
  sum=$(sha256sum <"$BATS_TEST_TMPDIR/alt/tank/f")
  run "$ZINJECT" -d "$V/d0" -A fault tank
  [ "$status" -eq 0 ]
  # The only copy of the data: DEGRADED, not FAULTED, and the pool is not suspended.
  [ "$(row tank "$V/d0")" = "$V/d0 DEGRADED 0 0 0 too many errors" ]
  [[ $("$ZPOOL" status tank) == *"state: DEGRADED"* ]]
  # ZPOOL_CONFIG_DEGRADED in the labels, as zfs-fuse's zdb reads them (it needs its daemon).
  oracle_start
  "$ZF_ZDB" -l "$V/d0" | grep -q "degraded: 1"
  oracle_stop
  echo more >"$BATS_TEST_TMPDIR/alt/tank/g"
  "$ZPOOL" sync tank
  # zfsd's reopen from its cache (SPA_LOAD_OPEN) keeps it.
  zfsd_kill
  zfsd_start
  [ "$(row tank "$V/d0")" = "$V/d0 DEGRADED 0 0 0 too many errors" ]
  "$ZPOOL" export tank
  # An import does not (vdev_alloc reads vdev_degraded only in SPA_LOAD_OPEN).
  oracle_start
  "$ZF_ZPOOL" import -d "$V" -R "$BATS_TEST_TMPDIR/zf" tank
  run "$ZF_ZPOOL" status tank
  [[ $output == *"state: ONLINE"* ]]
  [[ $output == *"$V/d0"*ONLINE* ]]
  "$ZF_ZPOOL" export tank
  oracle_zdb_clean "$V" tank
  oracle_stop
  "$ZPOOL" import -d "$V" tank
  [ "$(row tank "$V/d0")" = "$V/d0 ONLINE 0 0 0" ]
  [ "$(sha256sum <"$BATS_TEST_TMPDIR/alt/tank/f")" = "$sum" ]
  [ "$(cat "$BATS_TEST_TMPDIR/alt/tank/g")" = more ]
}

# l0_extents POOL/FS OBJ: "offset size" (hex) of each level-0 block of object OBJ (our zdb).
l0_extents() {
  "$ZDB" -e -p "$V" -ddddd "$1" "$2" | awk '$2 == "L0" { split($3, d, ":"); print d[2], d[3] }'
}

@test "faults: read errors of a single-disk pool's only disk are counted past ten and make it DEGRADED, not FAULTED (vdev_fault's back-off); it still takes writes; cleared, ONLINE and the data reads again" {
  A=$BATS_TEST_TMPDIR/alt
  "$ZPOOL" create -m "$A/tank" tank "$V/d0"
  head -c 2M /dev/urandom >"$A/tank/f"
  sum=$(sha256sum <"$A/tank/f")
  "$ZPOOL" export tank
  "$ZPOOL" import -d "$V" tank
  "$ZINJECT" -q -d "$V/d0" -e io -T read tank >/dev/null
  local i
  for i in 1 2 3 4 5 6; do
    run cat "$A/tank/f"
    [ "$status" -ne 0 ]
  done
  read -r _ st r w c aux < <(row tank "$V/d0")
  [ "$st" = DEGRADED ]
  [ "$aux" = "too many errors" ]
  [ "$r" -ge 10 ]
  [ "$w" -eq 0 ]
  [ "$c" -eq 0 ]
  run "$ZPOOL" status tank
  [[ $output != *"suspended"* ]]
  [[ $output == *"state: DEGRADED"* ]]
  # The failed reads are permanent errors of the file: check_status puts those first.
  [[ $output == *"status: One or more devices has experienced an error resulting in data"* ]]
  # The pool's line and the leaf's: DEGRADED, the leaf being the top-level vdev too.
  [ "$(row tank tank | cut -d' ' -f2)" = DEGRADED ]
  # The state change was posted (zfs_post_state_change: vdev_state 6, from 7).
  "$ZPOOL" events -v tank | awk '$1 == "vdev_state" && $2 == "="' | grep -qF '"DEGRADED" (0x6)'
  # Reads and writes still go to it (a DEGRADED leaf is no dead one), once the device
  # stops failing them: the handler goes, the state stays.
  "$ZINJECT" -c all >/dev/null
  before=$("$ZPOOL" iostat -Hpv tank | awk -v d="$V/d0" '$1 == d { print $5 }')
  head -c 512K /dev/urandom >"$A/tank/w"
  "$ZPOOL" sync tank
  after=$("$ZPOOL" iostat -Hpv tank | awk -v d="$V/d0" '$1 == d { print $5 }')
  [ "$after" -gt "$before" ]
  [ "$(sha256sum <"$A/tank/f")" = "$sum" ]
  [ "$(row tank "$V/d0" | cut -d' ' -f2)" = DEGRADED ]
  echo more >"$A/tank/g"
  "$ZPOOL" sync tank
  oracle_start
  "$ZF_ZDB" -l "$V/d0" | grep -q "degraded: 1"
  # zpool online does not clear it (vdev_online leaves vdev_degraded alone); zpool clear does.
  "$ZPOOL" online tank "$V/d0"
  [ "$(row tank "$V/d0" | cut -d' ' -f2)" = DEGRADED ]
  "$ZPOOL" clear tank
  [ "$(row tank "$V/d0")" = "$V/d0 ONLINE 0 0 0" ]
  [[ $("$ZPOOL" status tank) == *"state: ONLINE"* ]]
  [ -z "$("$ZF_ZDB" -l "$V/d0" | grep "degraded: 1")" ]
  "$ZPOOL" export tank
  oracle_zdb_clean "$V" tank
  oracle_stop
}

@test "self-healing: blocks damaged on one side of a mirror are read from the other, counted in CKSUM and rewritten; zfs-fuse's zdb is clean" {
  A=$BATS_TEST_TMPDIR/alt
  "$ZPOOL" create -m "$A/tank" tank mirror "$V/d0" "$V/d1"
  head -c 1M /dev/urandom >"$A/tank/f"
  sha=$(sha256sum <"$A/tank/f")
  obj=$(stat -c %i "$A/tank/f")
  "$ZPOOL" export tank
  mapfile -t ext < <(l0_extents tank "$obj")
  [ "${#ext[@]}" -eq 8 ]
  # Garbage over the first and the fourth block on d0, the side reads go to first (a leaf's
  # block offsets start after its 4 MiB of labels and boot area).
  for i in 0 3; do
    read -r off size <<<"${ext[$i]}"
    dd if=/dev/urandom of="$V/d0" bs=4096 seek=$(((0x$off + 4194304) / 4096)) count=$((0x$size / 4096)) conv=notrunc 2>/dev/null
  done
  zfsd_stop
  zfsd_start
  "$ZPOOL" import -d "$V" tank
  [ "$(sha256sum <"$A/tank/f")" = "$sha" ]
  [ "$(row tank "$V/d0")" = "$V/d0 ONLINE 0 0 2" ]
  [ "$(row tank "$V/d1")" = "$V/d1 ONLINE 0 0 0" ]
  run "$ZPOOL" status tank
  [[ $output == *"status: One or more devices has experienced an unrecoverable error.  An"* ]]
  [[ $output == *"see: https://openzfs.github.io/openzfs-docs/msg/ZFS-8000-9P"* ]]
  "$ZPOOL" clear tank
  [ "$(row tank "$V/d0")" = "$V/d0 ONLINE 0 0 0" ]
  "$ZPOOL" export tank
  # The damaged blocks hold the good copy again on both sides.
  for i in 0 3; do
    read -r off size <<<"${ext[$i]}"
    cmp <(dd if="$V/d0" bs=4096 skip=$(((0x$off + 4194304) / 4096)) count=$((0x$size / 4096)) 2>/dev/null) \
        <(dd if="$V/d1" bs=4096 skip=$(((0x$off + 4194304) / 4096)) count=$((0x$size / 4096)) 2>/dev/null)
  done
  oracle_start
  oracle_zdb_clean "$V" tank
  oracle_stop
}

@test "self-healing: a raidz1 member damaged throughout has its columns counted in CKSUM and rewritten as they are read; a second read finds them good" {
  A=$BATS_TEST_TMPDIR/alt
  "$ZPOOL" create -m "$A/tank" tank raidz1 "$V/d0" "$V/d1" "$V/d2"
  for i in 1 2 3 4; do head -c 1M /dev/urandom >"$A/tank/f$i"; done
  sha=$(cat "$A"/tank/f* | sha256sum)
  "$ZPOOL" export tank
  # Garbage over the first 64 MiB after d1's labels and boot area (its labels stay good).
  dd if=/dev/urandom of="$V/d1" bs=1M seek=4 count=64 conv=notrunc 2>/dev/null
  zfsd_stop
  zfsd_start
  "$ZPOOL" import -d "$V" tank
  [ "$(cat "$A"/tank/f* | sha256sum)" = "$sha" ]
  read -r _ st r w c _ <<<"$(row tank "$V/d1")"
  [ "$st" = ONLINE ] && [ "$r" -eq 0 ] && [ "$w" -eq 0 ]
  [ "$c" -gt 0 ]
  [ "$(row tank "$V/d0")" = "$V/d0 ONLINE 0 0 0" ]
  [ "$(row tank "$V/d2")" = "$V/d2 ONLINE 0 0 0" ]
  "$ZPOOL" export tank
  # A fresh daemon (nothing cached) reads the same blocks again: d1 now holds them good.
  zfsd_stop
  zfsd_start
  "$ZPOOL" import -d "$V" tank
  [ "$(cat "$A"/tank/f* | sha256sum)" = "$sha" ]
  [ "$(row tank "$V/d1")" = "$V/d1 ONLINE 0 0 0" ]
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  oracle_stop
}

@test "zinject -t data: a file's blocks in the range fail to read (EIO), zpool status -v lists the file, the devices count nothing; cleared, the bytes are back" {
  "$ZPOOL" create -m "$BATS_TEST_TMPDIR/alt/tank" tank "$V/d0"
  M=$BATS_TEST_TMPDIR/alt/tank
  head -c 1M /dev/urandom >"$BATS_TEST_TMPDIR/want"
  cp "$BATS_TEST_TMPDIR/want" "$M/f"
  echo other >"$M/g"
  # Nothing of the files cached (ARC, the mount's page cache): the reads go to disk.
  "$ZPOOL" export tank
  "$ZPOOL" import -d "$V" tank
  run "$ZINJECT" -t data -e checksum -r 256K "$M/f"
  [ "$status" -eq 0 ]
  [[ ${lines[0]} == "Added handler "*" with the following properties:" ]]
  [ "${lines[1]}" = "  pool: tank" ]
  [ "${lines[2]}" = "object: $(stat -c %i "$M/f")" ]
  [ "${lines[3]}" = "  type: data" ]
  [ "${lines[5]}" = " range: [262144, 262144]" ]
  run "$ZINJECT"
  [[ ${lines[0]} == " ID  POOL             OBJSET  OBJECT  TYPE      LVL  RANGE"* ]]
  [[ ${lines[2]} =~ ^\ +[0-9]+\ \ tank\ +[0-9]+\ +$(stat -c %i "$M/f")\ +data\ +0\ +\[262144,\ 262144\]$ ]]
  # The third 128K record fails; the ones before it, and the other file, read.
  run dd if="$M/f" of=/dev/null bs=128K skip=2 count=1 iflag=direct status=none
  [ "$status" -ne 0 ]
  [[ $output == *"Input/output error"* ]]
  cmp <(dd if="$M/f" bs=128K count=2 iflag=direct status=none) <(head -c 256K "$BATS_TEST_TMPDIR/want")
  [ "$(cat "$M/g")" = other ]
  run "$ZPOOL" status -v tank
  [[ $output == *"errors: Permanent errors have been detected in the following files:

        $M/f"* ]]
  [[ $output != *"$M/g"* ]]
  # No device failed: its counters stay 0.
  [ "$(row tank "$V/d0")" = "$V/d0 ONLINE 0 0 0" ]
  "$ZINJECT" -c all
  cmp "$M/f" "$BATS_TEST_TMPDIR/want"
  # -e io (the default) over the whole file, after -a flushed what the reads above cached.
  "$ZINJECT" -q -a -t data "$M/f" >/dev/null
  run dd if="$M/f" of=/dev/null bs=1M iflag=direct status=none
  [ "$status" -ne 0 ]
  [[ $output == *"Input/output error"* ]]
  "$ZINJECT" -c all
  cmp "$M/f" "$BATS_TEST_TMPDIR/want"
}

@test "zinject -t data: bad input gets zinject's messages and exit codes" {
  "$ZPOOL" create -m "$BATS_TEST_TMPDIR/alt/tank" tank "$V/d0"
  M=$BATS_TEST_TMPDIR/alt/tank
  echo x >"$M/f"
  echo x >"$BATS_TEST_TMPDIR/plain"
  run "$ZINJECT" -t data relative/f
  [ "$status" -eq 1 ]
  [ "${lines[0]}" = "invalid object 'relative/f': must be full path" ]
  run "$ZINJECT" -t data "$BATS_TEST_TMPDIR/plain"
  [ "$status" -eq 1 ]
  [ "$output" = "invalid path '$BATS_TEST_TMPDIR/plain': not a ZFS filesystem" ]
  run "$ZINJECT" -t data "$M/nosuch"
  [ "$status" -eq 1 ]
  [ "$output" = "cannot open '$M/nosuch': No such file or directory" ]
  run "$ZINJECT" -t data -e nxio "$M/f"
  [ "$status" -eq 1 ]
  [ "$output" = "data error type must be 'checksum' or 'io'" ]
  run "$ZINJECT" -t data -r 5,x "$M/f"
  [ "$status" -eq 1 ]
  [ "$output" = "invalid range '5,x': must be of the form 'start[,end]'" ]
  run "$ZINJECT" -t label "$M/f"
  [ "$status" -eq 1 ]
  [ "$output" = "injection into 'label' objects is not supported" ]
  run "$ZINJECT" -t bogus "$M/f"
  [ "$status" -eq 1 ]
  [ "${lines[0]}" = "invalid type 'bogus'" ]
  run "$ZINJECT" -t data -d "$V/d0" "$M/f"
  [ "$status" -eq 2 ]
  [ "${lines[0]}" = "-t is incompatible with -d, -A and -T" ]
  run "$ZINJECT" -r 0 -d "$V/d0" tank
  [ "$status" -eq 2 ]
  [ "${lines[0]}" = "-r and -l are only meaningful with -t" ]
  # -a alone flushes the ARC and adds nothing.
  run "$ZINJECT" -a
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  run "$ZINJECT"
  [[ $output == "No handlers registered."* ]]
}

@test "zinject -b: one block named by its bookmark fails like a data handler's; bad input in zinject's words" {
  "$ZPOOL" create -m "$BATS_TEST_TMPDIR/alt/tank" tank "$V/d0"
  M=$BATS_TEST_TMPDIR/alt/tank
  head -c 512K /dev/urandom >"$BATS_TEST_TMPDIR/want"
  cp "$BATS_TEST_TMPDIR/want" "$M/f"
  "$ZPOOL" export tank
  "$ZPOOL" import -d "$V" tank
  # The file's objset from a data handler's listing; its object is its inode number.
  id=$("$ZINJECT" -q -t data "$M/f")
  objset=$("$ZINJECT" | awk -v id="$id" '$1 == id { print $3 }')
  "$ZINJECT" -c "$id" >/dev/null
  obj=$(stat -c %i "$M/f")
  run "$ZINJECT" -b "$(printf '%x:%x:0:1' "$objset" "$obj")" tank
  [ "$status" -eq 0 ]
  [ "${lines[1]}" = "  pool: tank" ]
  [ "${lines[2]}" = "objset: $objset" ]
  [ "${lines[3]}" = "object: $obj" ]
  [ "${lines[5]}" = " level: 0" ]
  [ "${lines[6]}" = " range: [1, 1]" ]
  # Only the second 128K record fails.
  run dd if="$M/f" of=/dev/null bs=128K skip=1 count=1 iflag=direct status=none
  [ "$status" -ne 0 ]
  cmp <(dd if="$M/f" bs=128K count=1 iflag=direct status=none) <(head -c 128K "$BATS_TEST_TMPDIR/want")
  run "$ZPOOL" status -v tank
  [[ $output == *"errors: Permanent errors have been detected in the following files:

        $M/f"* ]]
  "$ZINJECT" -c all
  cmp "$M/f" "$BATS_TEST_TMPDIR/want"
  # Bad input.
  run "$ZINJECT" -b 1:2:0:0 -t data tank
  [ "$status" -eq 2 ]
  [ "${lines[0]}" = "raw (-b) format with any other options" ]
  run "$ZINJECT" -b 1:2:0:0 -f 50 tank
  [ "$status" -eq 2 ]
  [ "${lines[0]}" = "raw (-b) format with any other options" ]
  run "$ZINJECT" -b 1:2:0:0
  [ "$status" -eq 2 ]
  [ "${lines[0]}" = "raw (-b) format expects a single pool name" ]
  expect 1 "bad raw spec '1:2:x': must be of the form 'objset:object:level:blkid'" "$ZINJECT" -b 1:2:x tank
  expect 1 "data error type must be 'checksum' or 'io'" "$ZINJECT" -b 1:2:0:0 -e nxio tank
  expect 1 "cannot open 'nosuch': no such pool" "$ZINJECT" -b 1:2:0:0 nosuch
}

@test "MOS errors on ordinary reads: a MOS block that fails to read outside a scrub is in the error log as <metadata>:<0x...>" {
  "$ZPOOL" create -m "$BATS_TEST_TMPDIR/alt/tank" tank "$V/d0"
  M=$BATS_TEST_TMPDIR/alt/tank
  head -c 256K /dev/urandom >"$M/f"
  "$ZPOOL" export tank
  "$ZPOOL" import -d "$V" tank
  # A file's unreadable block puts a first entry in the MOS's error log.
  "$ZINJECT" -q -t data "$M/f" >/dev/null
  run cat "$M/f"
  [ "$status" -ne 0 ]
  "$ZINJECT" -c all >/dev/null
  "$ZPOOL" sync tank
  "$ZPOOL" export tank
  errlog=$("$ZDB" -e -p "$V" -dddd tank 1 | awk '$1 == "errlog_last" && $2 == "=" { print $3; exit }')
  [ -n "$errlog" ]
  # After the import nothing has read the error log object: zpool status -v reads it, and
  # that ordinary read of a MOS block fails.
  "$ZPOOL" import -d "$V" tank
  "$ZINJECT" -q -b "$(printf '0:%x:0:0' "$errlog")" -e checksum tank >/dev/null
  run "$ZPOOL" status -v tank
  [[ $output == *"<metadata>:<$(printf '0x%x' "$errlog")>"* ]]
  # No device failed; the entry reaches the MOS's log, which zfs-fuse's zdb accepts.
  [ "$(row tank "$V/d0")" = "$V/d0 ONLINE 0 0 0" ]
  "$ZINJECT" -c all >/dev/null
  "$ZPOOL" sync tank
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  oracle_stop
}

@test "zinject -L: label faults fail the I/O of one region of a device's four labels (EIO): uber its uberblock writes, nvlist also every read of its config, so a reopen cannot validate it, pad2 the probe after an I/O error, pad1 nothing; bad input in zinject's words" {
  "$ZPOOL" create -m "$BATS_TEST_TMPDIR/tank" tank mirror "$V/d0" "$V/d1"
  head -c 1M /dev/urandom >"$BATS_TEST_TMPDIR/tank/f"
  "$ZPOOL" sync tank
  sum=$(sha256sum <"$BATS_TEST_TMPDIR/tank/f")
  guid=$("$ZDB" -l "$V/d0" | awk '$1 == "guid:" { print $2; exit }')  # the label's own
  run "$ZINJECT" -d "$V/d0" -L vdev tank
  [ "$status" -eq 1 ]
  [ "${lines[0]}" = "invalid label type 'vdev'" ]
  run "$ZINJECT" -L uber tank
  [ "$status" -eq 2 ]
  [[ ${lines[0]} == "-L is only meaningful with -d" ]]
  run "$ZINJECT" -d "$V/d0" -L uber -e nxio tank
  [ "$status" -eq 2 ]
  [[ ${lines[0]} == "label faults (-L) fail with EIO: -e, -T and -f do not apply" ]]
  # uber: the uberblock writes of each txg fail on d0 (counted in WRITE); its config reads.
  run "$ZINJECT" -d "$V/d0" -L uber tank
  [ "$status" -eq 0 ]
  [ "$output" = "Added handler ${output#Added handler }" ]
  [ "${lines[1]}" = "  pool: tank" ]
  [ "${lines[2]}" = "  vdev: $(printf '%x' "$guid")" ]
  [[ $("$ZINJECT") == *"tank             $(printf '%x' "$guid")"* ]]
  for i in 1 2 3; do echo "$i" >"$BATS_TEST_TMPDIR/tank/g$i"; "$ZPOOL" sync tank; done
  read -r _ st r w c <<<"$(row tank "$V/d0")"
  [ "$st" = ONLINE ] && [ "$r" = 0 ] && [ "$c" = 0 ]
  [ "$w" -ge 3 ] || { row tank "$V/d0" >&2; false; }
  [ "$(row tank "$V/d1")" = "$V/d1 ONLINE 0 0 0" ]
  # The uberblock ring is not the config: a reopen still validates d0.
  "$ZPOOL" clear tank
  "$ZPOOL" offline tank "$V/d0"
  expect 0 "" "$ZPOOL" online tank "$V/d0"
  [[ $(row tank "$V/d0") == "$V/d0 ONLINE "* ]]
  "$ZINJECT" -c all >/dev/null
  # nvlist: the config of none of the four labels reads, so the reopen of zpool online
  # cannot validate d0 (vdev_validate): it stays out; its config writes fail too.
  "$ZINJECT" -q -d "$V/d0" -L nvlist tank >/dev/null
  "$ZPOOL" clear tank
  "$ZPOOL" offline tank "$V/d0"
  expect 0 "warning: device '$V/d0' onlined, but remains in faulted state
use 'zpool replace' to replace devices that are no longer present" "$ZPOOL" online tank "$V/d0"
  [[ $(row tank "$V/d0") == "$V/d0 UNAVAIL "* ]]
  echo more >"$BATS_TEST_TMPDIR/tank/h"
  "$ZPOOL" sync tank
  [ "$(sha256sum <"$BATS_TEST_TMPDIR/tank/f")" = "$sum" ]
  # pad1: read and written by nothing (vdev_label_init skips it).
  "$ZINJECT" -c all >/dev/null
  "$ZPOOL" clear tank
  resilvered tank
  [ "$(row tank "$V/d0")" = "$V/d0 ONLINE 0 0 0" ]
  "$ZINJECT" -q -d "$V/d0" -L pad1 tank >/dev/null
  "$ZINJECT" -q -d "$V/d0" -L pad2 tank >/dev/null
  [ "$("$ZINJECT" | grep -c "tank")" = 2 ]
  for i in 1 2 3; do echo "$i" >"$BATS_TEST_TMPDIR/tank/p$i"; "$ZPOOL" sync tank; done
  "$ZPOOL" offline tank "$V/d0"
  "$ZPOOL" online tank "$V/d0"
  resilvered tank
  [ "$(row tank "$V/d0")" = "$V/d0 ONLINE 0 0 0" ]
  # pad2: vdev_probe reads it (and writes it back) after an I/O error. With it failing, the
  # probe that follows d0's first write error fails and faults d0 at once (WRITE 1); without
  # it, d0 would answer and stay ONLINE until ten errors.
  "$ZINJECT" -q -d "$V/d0" -e io -T write tank >/dev/null
  echo x >"$BATS_TEST_TMPDIR/tank/q"
  "$ZPOOL" sync tank
  [ "$(row tank "$V/d0")" = "$V/d0 FAULTED 0 1 0 too many errors" ]
  "$ZINJECT" -c all >/dev/null
  # zpool online keeps a device its errors faulted (vdev_open bails on vdev_faulted).
  expect 0 "warning: device '$V/d0' onlined, but remains in faulted state
use 'zpool clear' to restore a faulted device" "$ZPOOL" online tank "$V/d0"
  [ "$(row tank "$V/d0")" = "$V/d0 FAULTED 0 1 0 too many errors" ]
  "$ZPOOL" clear tank
  resilvered tank
  [ "$(row tank "$V/d0")" = "$V/d0 ONLINE 0 0 0" ]
  # d0 holds every block again: alone (d1 out) after a fresh import, it serves the file.
  "$ZPOOL" offline tank "$V/d1"
  "$ZPOOL" export tank
  zfsd_stop
  zfsd_start
  "$ZPOOL" import -d "$V" tank
  [ "$(sha256sum <"$BATS_TEST_TMPDIR/tank/f")" = "$sum" ]
  "$ZPOOL" online tank "$V/d1"
  resilvered tank
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  oracle_stop
}

@test "zpool online of a device zinject -A fault faulted, inside a mirror and inside a raidz1, stays FAULTED (v23's vdev_open bails on vdev_faulted); one it degraded stays DEGRADED; zpool's warning for each; zpool clear brings them back" {
  for layout in mirror raidz1; do
    if [ "$layout" = mirror ]; then
      "$ZPOOL" create -m "$BATS_TEST_TMPDIR/tank" tank mirror "$V/d0" "$V/d1"
    else
      "$ZPOOL" create -m "$BATS_TEST_TMPDIR/tank" tank raidz1 "$V/d0" "$V/d1" "$V/d2"
    fi
    head -c 1M /dev/urandom >"$BATS_TEST_TMPDIR/tank/f"
    "$ZPOOL" sync tank
    "$ZINJECT" -d "$V/d1" -A fault tank >/dev/null
    [ "$(row tank "$V/d1")" = "$V/d1 FAULTED 0 0 0 too many errors" ]
    echo more >"$BATS_TEST_TMPDIR/tank/g"
    "$ZPOOL" sync tank
    expect 0 "warning: device '$V/d1' onlined, but remains in faulted state
use 'zpool clear' to restore a faulted device" "$ZPOOL" online tank "$V/d1"
    [ "$(row tank "$V/d1")" = "$V/d1 FAULTED 0 0 0 too many errors" ]
    "$ZINJECT" -c all >/dev/null
    "$ZPOOL" clear tank "$V/d1"
    resilvered tank
    [ "$(row tank "$V/d1")" = "$V/d1 ONLINE 0 0 0" ]
    "$ZPOOL" destroy tank
  done
  # The only copy: the fault backs off to DEGRADED, which vdev_open keeps (vdev_degraded);
  # zpool_do_online warns for any new state but a healthy one.
  "$ZPOOL" create -m "$BATS_TEST_TMPDIR/tank" tank "$V/d0"
  "$ZINJECT" -d "$V/d0" -A fault tank >/dev/null
  [ "$(row tank "$V/d0")" = "$V/d0 DEGRADED 0 0 0 too many errors" ]
  expect 0 "warning: device '$V/d0' onlined, but remains in faulted state
use 'zpool replace' to replace devices that are no longer present" "$ZPOOL" online tank "$V/d0"
  [ "$(row tank "$V/d0")" = "$V/d0 DEGRADED 0 0 0 too many errors" ]
  "$ZPOOL" clear tank
  expect 0 "" "$ZPOOL" online tank "$V/d0"
  [ "$(row tank "$V/d0")" = "$V/d0 ONLINE 0 0 0" ]
}
