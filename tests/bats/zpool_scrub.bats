#!/usr/bin/env bats
# zpool scrub: every block of every dataset, snapshot and of the MOS read with all its copies;
# damage found where a good copy exists is counted in the device's CKSUM and rewritten, damage
# beyond redundancy counted as the scrub's errors; progress and result in zpool status in
# OpenZFS's words; the scrub's state in the MOS as pool version 23 keeps it, so an
# interrupted scrub resumes after an import, with uzfs or zfs-fuse, and after each of ten
# SIGKILLs of zfsd in a row goes on from where the MOS says, never from the start. Blocks
# are damaged with dd at offsets our zdb gives, while the pool is exported; zfs-fuse judges
# the pools after.

load ../lib/pool_helpers
load ../lib/oracle
load ../lib/damage

setup() {
  pool_vdevs_setup
}

teardown() {
  pool_suite_teardown
}

@test "zpool scrub: usage, unknown pools, nothing to stop, a scrub under way: zpool's words" {
  expect 2 "$("$ZPOOL" scrub 2>&1)" "$ZPOOL" scrub
  run "$ZPOOL" scrub
  [[ $output == "missing pool name argument"* ]]
  [[ $output == *"scrub [-s | -w] pool ..."* ]]
  expect 1 "cannot open 'nosuch': no such pool" "$ZPOOL" scrub nosuch
  "$ZPOOL" create tank "$V/d0"
  # Never scrubbed: no scan line.
  run "$ZPOOL" status tank
  [[ $output != *"scan:"* ]]
  expect 1 "cannot cancel scrubbing tank: there is no active scrub" "$ZPOOL" scrub -s tank
  "$ZPOOL" scrub -w tank
  [[ $(scan tank) == "scrub repaired 0B in 00:00:0"*" with 0 errors on "* ]]
  run "$ZPOOL" history tank
  [[ $output == *"zpool scrub -w tank"* ]]
}

@test "zpool scrub -s stops a scrub under way; a second start is refused while one runs; the MOS keeps no scrub state after" {
  zfsd_stop
  ZFSD_EXTRA_ARGS="--scrub-delay 200000" zfsd_start
  "$ZPOOL" create -m "$A/tank" tank "$V/d0"
  for i in 1 2 3 4; do head -c 1M /dev/urandom >"$A/tank/f$i"; done
  "$ZPOOL" scrub tank
  [[ $(scan tank) == "scrub in progress since "*" scanned"*" repaired, "*"% done, "* ]]
  expect 1 "cannot scrub tank: currently scrubbing; use 'zpool scrub -s' to cancel scrub" "$ZPOOL" scrub tank
  "$ZPOOL" scrub -s tank
  [[ $(scan tank) == "scrub canceled on "* ]]
  "$ZPOOL" export tank
  oracle_start
  run "$ZF_ZDB" -e -p "$V" -dddd tank 1
  [[ $output == *"root_dataset"* ]]
  [[ $output != *"scrub_"* ]]
  oracle_zdb_clean "$V" tank
  oracle_stop
}

@test "mirror: blocks damaged on the side reads do not go to, in a file and in a snapshot only, are all found by the scrub, counted exactly and rewritten; zfs-fuse's zdb is clean" {
  "$ZPOOL" create -m "$A/tank" tank mirror "$V/d0" "$V/d1"
  head -c 1M /dev/urandom >"$A/tank/f"
  head -c 1M /dev/urandom >"$A/tank/g"
  sha=$(sha256sum <"$A/tank/f")
  fobj=$(stat -c %i "$A/tank/f")
  gobj=$(stat -c %i "$A/tank/g")
  "$ZPOOL" export tank
  mapfile -t fext < <(extents tank "$fobj")
  mapfile -t gext < <(extents tank "$gobj")
  [ "${#fext[@]}" -eq 8 ] && [ "${#gext[@]}" -eq 8 ]
  # g's blocks end up in a snapshot only.
  "$ZPOOL" import -d "$V" tank
  "$ZFS" snapshot tank@s
  rm "$A/tank/g"
  "$ZPOOL" export tank
  # Three blocks of f and two of g on d1: a plain read takes d0 and never sees them.
  for e in "${fext[0]}" "${fext[4]}" "${fext[7]}" "${gext[1]}" "${gext[6]}"; do
    read -r off size <<<"$e"
    smash "$V/d1" "$off" "$size"
  done
  fresh_import tank
  [ "$(sha256sum <"$A/tank/f")" = "$sha" ]
  [ "$(row tank "$V/d1")" = "$V/d1 ONLINE 0 0 0" ]
  "$ZPOOL" scrub -w tank
  [[ $(scan tank) == "scrub repaired 640K in "*" with 0 errors on "* ]]
  [ "$(row tank "$V/d0")" = "$V/d0 ONLINE 0 0 0" ]
  [ "$(row tank "$V/d1")" = "$V/d1 ONLINE 0 0 5" ]
  # A second scrub finds nothing more.
  "$ZPOOL" clear tank
  "$ZPOOL" scrub -w tank
  [[ $(scan tank) == "scrub repaired 0B in "*" with 0 errors on "* ]]
  [ "$(row tank "$V/d1")" = "$V/d1 ONLINE 0 0 0" ]
  "$ZPOOL" export tank
  for e in "${fext[@]}" "${gext[@]}"; do
    read -r off size <<<"$e"
    cmp <(dd if="$V/d0" bs=512 skip=$(((0x$off + 4194304) / 512)) count=$((0x$size / 512)) 2>/dev/null) \
        <(dd if="$V/d1" bs=512 skip=$(((0x$off + 4194304) / 512)) count=$((0x$size / 512)) 2>/dev/null)
  done
  oracle_start
  oracle_zdb_clean "$V" tank
  oracle_stop
}

@test "raidz1 and raidz2: damaged columns (parity or data) of chosen blocks on one device, and on two for raidz2, are counted exactly per device and repaired" {
  for layout in "raidz1 1" "raidz2 2"; do
    read -r kind bad <<<"$layout"
    "$ZPOOL" create -m "$A/tank" tank "$kind" "$V/d0" "$V/d1" "$V/d2" "$V/d3"
    for i in 1 2 3; do head -c 1M /dev/urandom >"$A/tank/f$i"; done
    sha=$(cat "$A"/tank/f* | sha256sum)
    obj=$(stat -c %i "$A/tank/f2")
    "$ZPOOL" export tank
    mapfile -t ext < <(extents tank "$obj")
    [ "${#ext[@]}" -eq 8 ]
    for i in 0 2 3 5 6 7; do
      read -r off _ <<<"${ext[$i]}"
      smash_raidz "$V/d1" 4 "$off"
      [ "$bad" -eq 2 ] && smash_raidz "$V/d3" 4 "$off"
    done
    fresh_import tank
    "$ZPOOL" scrub -w tank
    [[ $(scan tank) == "scrub repaired "*" with 0 errors on "* ]]
    [[ $(scan tank) != "scrub repaired 0B "* ]]
    [ "$(row tank "$V/d1")" = "$V/d1 ONLINE 0 0 6" ]
    if [ "$bad" -eq 2 ]; then
      [ "$(row tank "$V/d3")" = "$V/d3 ONLINE 0 0 6" ]
    else
      [ "$(row tank "$V/d3")" = "$V/d3 ONLINE 0 0 0" ]
    fi
    [ "$(row tank "$V/d0")" = "$V/d0 ONLINE 0 0 0" ]
    [ "$(cat "$A"/tank/f* | sha256sum)" = "$sha" ]
    "$ZPOOL" clear tank
    "$ZPOOL" scrub -w tank
    [[ $(scan tank) == "scrub repaired 0B in "*" with 0 errors on "* ]]
    [ "$(row tank "$V/d1")" = "$V/d1 ONLINE 0 0 0" ]
    judge tank
    "$ZPOOL" import -d "$V" tank
    "$ZPOOL" destroy tank
  done
}

@test "copies=2 on one device: a damaged ditto copy is counted and rewritten; damage beyond redundancy (both sides of a mirror) is the scrub's error, the file reads EIO and zpool status -v names it, as zfs-fuse does from the same log" {
  "$ZPOOL" create -m "$A/tank" -O copies=2 tank "$V/d0"
  head -c 512K /dev/urandom >"$A/tank/f"
  obj=$(stat -c %i "$A/tank/f")
  "$ZPOOL" export tank
  mapfile -t second < <(extents tank "$obj" 1)
  [ "${#second[@]}" -eq 4 ]
  for i in 1 3; do
    read -r off size <<<"${second[$i]}"
    smash "$V/d0" "$off" "$size"
  done
  fresh_import tank
  "$ZPOOL" scrub -w tank
  [[ $(scan tank) == "scrub repaired 256K in "*" with 0 errors on "* ]]
  [ "$(row tank "$V/d0")" = "$V/d0 ONLINE 0 0 2" ]
  judge tank
  "$ZPOOL" import -d "$V" tank
  "$ZPOOL" destroy tank

  "$ZPOOL" create -m "$A/two" two mirror "$V/d1" "$V/d2"
  head -c 1M /dev/urandom >"$A/two/f"
  head -c 1M /dev/urandom >"$A/two/ok"
  sha=$(sha256sum <"$A/two/ok")
  obj=$(stat -c %i "$A/two/f")
  "$ZPOOL" export two
  mapfile -t ext < <(extents two "$obj")
  read -r off size <<<"${ext[2]}"
  smash "$V/d1" "$off" "$size"
  smash "$V/d2" "$off" "$size"
  fresh_import two
  "$ZPOOL" scrub -w two
  [[ $(scan two) == "scrub repaired 0B in "*" with 1 errors on "* ]]
  run cat "$A/two/f"
  [ "$status" -ne 0 ]
  [[ $output == *"Input/output error"* ]]
  [ "$(sha256sum <"$A/two/ok")" = "$sha" ]
  # The error log names the file, as zpool status -v prints it; it outlives an export.
  run "$ZPOOL" status two
  [[ $output == *"status: One or more devices has experienced an error resulting in data
	corruption.  Applications may be affected."* ]]
  [[ $output == *"see: https://openzfs.github.io/openzfs-docs/msg/ZFS-8000-8A"* ]]
  [[ $output == *"errors: 1 data errors, use '-v' for a list" ]]
  "$ZPOOL" export two
  "$ZPOOL" import -d "$V" two
  run "$ZPOOL" status -v two
  [[ $output == *"errors: Permanent errors have been detected in the following files:

        $A/two/f" ]]
  run "$ZPOOL" status -x
  [[ $output == *"pool: two"* ]]
  "$ZPOOL" export two
  # zfs-fuse reads the same log.
  oracle_start
  "$ZF_ZPOOL" import -d "$V" -R "$BATS_TEST_TMPDIR/zf" two
  run "$ZF_ZPOOL" status -v two
  [[ $output == *"errors: Permanent errors have been detected in the following files:"* ]]
  [[ $output == *"$BATS_TEST_TMPDIR/zf$A/two/f"* ]]
  "$ZF_ZPOOL" export two
  oracle_stop
  # The file removed, the next scrub finds nothing, and its log replaces the last one.
  "$ZPOOL" import -d "$V" two
  rm "$A/two/f"
  "$ZPOOL" sync two
  "$ZPOOL" scrub -w two
  [[ $(scan two) == "scrub repaired 0B in "*" with 0 errors on "* ]]
  run "$ZPOOL" status -v two
  [[ $output == *"errors: No known data errors" ]]
}

@test "a scrub interrupted by export is resumed where it paused by zfs-fuse; one interrupted by zfsd's stop or SIGKILL resumes with uzfs and repairs" {
  zfsd_stop
  ZFSD_EXTRA_ARGS="--scrub-delay 100000 --txg-timeout 1" zfsd_start
  "$ZPOOL" create -m "$A/tank" tank mirror "$V/d0" "$V/d1"
  for i in $(seq 12); do head -c 1M /dev/urandom >"$A/tank/f$i"; done
  obj=$(stat -c %i "$A/tank/f12")
  # A scrub reads what was written before the txg it starts in (dsl_pool_scrub_setup_sync).
  "$ZPOOL" sync tank
  "$ZPOOL" scrub tank
  sleep 2.5
  [[ $(scan tank) == "scrub in progress since "* ]]
  "$ZPOOL" export tank
  oracle_start
  # Where the scrub paused is in the MOS, as zfs-fuse keeps it.
  run "$ZF_ZDB" -e -p "$V" -dddd tank 1
  [[ $output == *"scrub_func = 1"* ]]
  [[ $output == *"scrub_queue = "* ]]
  "$ZF_ZPOOL" import -d "$V" tank
  for _ in $(seq 100); do
    "$ZF_ZPOOL" status tank | grep -q "scrub completed" && break
    sleep 0.2
  done
  run "$ZF_ZPOOL" status tank
  [[ $output == *"scrub: scrub completed after "*" with 0 errors on "* ]]
  "$ZF_ZPOOL" export tank
  oracle_zdb_clean "$V" tank
  oracle_stop

  # Stopped (SIGTERM) and killed mid-scrub: the next zfsd resumes it and finds the damage.
  mapfile -t ext < <(extents tank "$obj")
  read -r off size <<<"${ext[7]}"
  smash "$V/d1" "$off" "$size"
  "$ZPOOL" import -d "$V" tank
  "$ZPOOL" scrub tank
  sleep 1.5
  zfsd_stop
  ZFSD_EXTRA_ARGS="--scrub-delay 100000 --txg-timeout 1" zfsd_start
  [[ $(scan tank) == "scrub in progress since "* ]]
  sleep 1.5
  zfsd_kill
  ZFSD_EXTRA_ARGS="--scrub-delay 20000 --txg-timeout 1" zfsd_start
  [[ $(scan tank) == "scrub in progress since "* ]]
  for _ in $(seq 300); do
    [[ $(scan tank) == "scrub repaired"* ]] && break
    sleep 0.2
  done
  [[ $(scan tank) == "scrub repaired 128K in "*" with 0 errors on "* ]]
  [ "$(row tank "$V/d1")" = "$V/d1 ONLINE 0 0 1" ]
  judge tank
}

@test "ten SIGKILLs of zfsd during a scrub: each next zfsd resumes where the MOS says, the scrub completes and repairs, no file changes" {
  zfsd_stop
  ZFSD_EXTRA_ARGS="--scrub-delay 100000 --txg-timeout 1" zfsd_start
  "$ZPOOL" create -m "$A/tank" tank mirror "$V/d0" "$V/d1"
  for i in $(seq 12); do head -c 1M /dev/urandom >"$A/tank/f$i"; done
  sums=$(cd "$A/tank" && sha256sum f*)
  obj=$(stat -c %i "$A/tank/f12")
  "$ZPOOL" export tank
  # A block of the last file damaged on d1: found by whichever run of the scrub reaches it.
  mapfile -t ext < <(extents tank "$obj")
  read -r off size <<<"${ext[3]}"
  smash "$V/d1" "$off" "$size"
  "$ZPOOL" import -d "$V" tank
  "$ZPOOL" scrub tank
  ZFSD_EXTRA_ARGS="--scrub-delay 100000 --txg-timeout 1" scan_kills tank scrub 10
  zfsd_stop
  ZFSD_EXTRA_ARGS="--scrub-delay 5000 --txg-timeout 1" zfsd_start
  for _ in $(seq 300); do
    [[ $(scan tank) == "scrub repaired"* ]] && break
    sleep 0.2
  done
  [[ $(scan tank) == "scrub repaired "*" with 0 errors on "* ]]
  # d1 alone gives every file back: the damaged block was rewritten.
  "$ZPOOL" offline tank "$V/d0"
  "$ZPOOL" export tank
  fresh_import tank
  [ "$(cd "$A/tank" && sha256sum f*)" = "$sums" ]
  [ "$(row tank "$V/d1")" = "$V/d1 ONLINE 0 0 0" ]
  "$ZPOOL" online tank "$V/d0"
  wait_resilvered tank
  judge tank
}

@test "without a scrub: a file block with no good copy met by an ordinary read gives EIO, is the device's checksum error and goes into the error log, which zfs-fuse reads too; an mmap of it faults the same way" {
  "$ZPOOL" create -m "$A/tank" tank "$V/d0"
  head -c 1M /dev/urandom >"$A/tank/f"
  head -c 1M /dev/urandom >"$A/tank/ok"
  sha=$(sha256sum <"$A/tank/ok")
  obj=$(stat -c %i "$A/tank/f")
  "$ZPOOL" export tank
  mapfile -t ext < <(extents tank "$obj")
  [ "${#ext[@]}" -eq 8 ]
  read -r off size <<<"${ext[5]}"
  smash "$V/d0" "$off" "$size"
  fresh_import tank
  run "$ZPOOL" status -v tank
  [[ $output == *"errors: No known data errors" ]]
  run cat "$A/tank/f"
  [ "$status" -ne 0 ]
  [[ $output == *"Input/output error"* ]]
  [ "$(sha256sum <"$A/tank/ok")" = "$sha" ]
  # The first 640K read fine; the sixth block did not.
  [ "$(head -c 655360 "$A/tank/f" | wc -c)" -eq 655360 ]
  read -r _ state r w ck <<<"$(row tank "$V/d0")"
  [ "$state" = ONLINE ] && [ "$r" = 0 ] && [ "$w" = 0 ] && [ "$ck" -ge 1 ]
  run "$ZPOOL" status -v tank
  [[ $output == *"errors: Permanent errors have been detected in the following files:

        $A/tank/f" ]]
  [[ $output == *"see: https://openzfs.github.io/openzfs-docs/msg/ZFS-8000-8A"* ]]
  # A mapping of the block faults with SIGBUS, its read logged as well (the log holds each
  # block once: still one entry).
  # The EIO reaches a mapping as SIGBUS: uzfs-map dies of it (128 + 7) before printing a sum.
  run "$UZFS_BUILD/cmd/uzfs-map/uzfs-map" --sum "$A/tank/f"
  [ "$status" -eq $((128 + $(kill -l BUS))) ]
  [ -z "$output" ]
  run "$ZPOOL" status tank
  [[ $output == *"errors: 1 data errors, use '-v' for a list" ]]
  # Synced with the pool: zfs-fuse reads the same log.
  "$ZPOOL" export tank
  oracle_start
  "$ZF_ZPOOL" import -d "$V" -R "$BATS_TEST_TMPDIR/zf" tank
  run "$ZF_ZPOOL" status -v tank
  [[ $output == *"errors: Permanent errors have been detected in the following files:"* ]]
  [[ $output == *"$BATS_TEST_TMPDIR/zf$A/tank/f"* ]]
  "$ZF_ZPOOL" export tank
  oracle_stop
}
