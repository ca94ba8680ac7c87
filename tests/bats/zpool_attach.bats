#!/usr/bin/env bats
# zpool attach / detach / replace: a device attached to a single disk or a mirror gets every
# block by a resilver (its DTL holds every txg so far), shown by zpool status in OpenZFS's
# words; a replacement puts a "replacing" vdev above the old device, resilvers, and detaches
# the old device when the resilver ends, also after a SIGKILL of zfsd mid-resilver; detach
# removes a mirror side. The refusals in pool version 23's words. zfs-fuse imports the
# pools (mid-resilver too) and its zdb -bcc judges them.

load ../lib/pool_helpers
load ../lib/oracle

setup() {
  pool_vdevs_setup
}

teardown() {
  pool_suite_teardown
}

# files DIR N: N files of 1 MiB of random bytes, f1..fN.
files() {
  local i
  for i in $(seq "$2"); do head -c 1M /dev/urandom >"$1/f$i"; done
}

# wait_gone POOL DEV: until DEV has no row in zpool status (30 s at most).
wait_gone() {
  for _ in $(seq 150); do
    [ -z "$(row "$1" "$2")" ] && return 0
    sleep 0.2
  done
  return 1
}

# devs POOL: the vdev tree of zpool status, one "name state" per line, without the pool.
devs() {
  "$ZPOOL" status "$1" | awk '/^\tNAME/ { on = 1; next } on && NF == 0 { on = 0 }
                              on && $1 != "'"$1"'" { print $1, $2 }'
}

@test "zpool attach / detach / replace: usage and refusals in zpool's words" {
  run "$ZPOOL" attach
  [ "$status" -eq 2 ]
  [[ $output == "missing pool name argument"* ]]
  [[ $output == *"attach [-f] pool device new_device"* ]]
  run "$ZPOOL" attach tank
  [ "$status" -eq 2 ]
  [[ $output == "missing <device> specification"* ]]
  run "$ZPOOL" attach tank "$V/d0"
  [ "$status" -eq 2 ]
  [[ $output == "missing <new_device> specification"* ]]
  run "$ZPOOL" attach tank "$V/d0" "$V/d1" "$V/d2"
  [ "$status" -eq 2 ]
  [[ $output == "too many arguments"* ]]
  run "$ZPOOL" replace tank
  [ "$status" -eq 2 ]
  [[ $output == "missing <device> specification"* ]]
  [[ $output == *"replace [-f] pool device [new_device]"* ]]
  run "$ZPOOL" detach tank
  [ "$status" -eq 2 ]
  [[ $output == "missing <device> specification"* ]]
  [[ $output == *"detach pool device"* ]]
  expect 1 "cannot open 'nosuch': no such pool" "$ZPOOL" attach nosuch "$V/d0" "$V/d1"
  expect 1 "cannot open 'nosuch': no such pool" "$ZPOOL" detach nosuch "$V/d0"
  "$ZPOOL" create -m "$A/tank" tank "$V/d0"
  expect 1 "cannot attach $V/d1 to $V/d9: no such device in pool" "$ZPOOL" attach tank "$V/d9" "$V/d1"
  expect 1 "cannot replace $V/d9 with $V/d1: no such device in pool" "$ZPOOL" replace tank "$V/d9" "$V/d1"
  expect 1 "cannot detach $V/d9: no such device in pool" "$ZPOOL" detach tank "$V/d9"
  # Smaller than the vdev it joins; smaller than SPA_MINDEVSIZE.
  truncate -s 100M "$V/small"
  expect 1 "cannot attach $V/small to $V/d0: device is too small" "$ZPOOL" attach tank "$V/d0" "$V/small"
  truncate -s 32M "$V/tiny"
  expect 1 "cannot attach $V/tiny to $V/d0: device is too small" "$ZPOOL" attach tank "$V/d0" "$V/tiny"
  # A device of the pool itself, one of another imported pool.
  expect 1 "invalid vdev specification
the following errors must be manually repaired:
$V/d0 is part of active pool 'tank'" "$ZPOOL" attach -f tank "$V/d0" "$V/d0"
  "$ZPOOL" create -m "$A/other" other "$V/d3"
  run "$ZPOOL" attach tank "$V/d0" "$V/d3"
  [ "$status" -eq 1 ]
  [[ $output == *"$V/d3 is part of active pool 'other'"* ]]
  # A device holding an exported pool's label: -f (zpool_in_use).
  "$ZPOOL" export other
  run "$ZPOOL" attach tank "$V/d0" "$V/d3"
  [ "$status" -eq 1 ]
  [[ $output == *"use '-f' to override the following errors:"* ]]
  [[ $output == *"$V/d3 is part of exported pool 'other'"* ]]
  "$ZPOOL" attach -f tank "$V/d0" "$V/d3"
  [ "$(devs tank)" = "mirror-0 ONLINE
$V/d0 ONLINE
$V/d3 ONLINE" ]
  wait_resilvered tank
  "$ZPOOL" detach tank "$V/d3"
  # A single disk is no mirror side.
  expect 1 "cannot detach $V/d0: only applicable to mirror and replacing vdevs" "$ZPOOL" detach tank "$V/d0"
  # raidz: no attach (v23); a replacement smaller than a member's share is too small.
  truncate -s 128M "$V/e0" "$V/e1"
  "$ZPOOL" create -m "$A/r" r raidz "$V/d1" "$V/d2" "$V/e0"
  expect 1 "cannot attach $V/e1 to $V/d1: can only attach to mirrors and top-level disks" "$ZPOOL" attach r "$V/d1" "$V/e1"
  expect 1 "cannot replace $V/d1 with $V/small: device is too small" "$ZPOOL" replace r "$V/d1" "$V/small"
  expect 1 "cannot detach $V/d1: only applicable to mirror and replacing vdevs" "$ZPOOL" detach r "$V/d1"
  "$ZPOOL" destroy r
  # The last side holding every block stays.
  "$ZPOOL" destroy tank
  "$ZPOOL" create -f -m "$A/tank" tank mirror "$V/d0" "$V/d1"
  "$ZPOOL" offline tank "$V/d0"
  expect 1 "cannot detach $V/d1: no valid replicas" "$ZPOOL" detach tank "$V/d1"
  # Nothing was changed by the refusals.
  [ "$(devs tank)" = "mirror-0 DEGRADED
$V/d0 OFFLINE
$V/d1 ONLINE" ]
}

@test "attach to a single disk: a mirror, every block resilvered onto the new side; the old side destroyed, a scrub repairs it all from the new one; zfs-fuse judges" {
  "$ZPOOL" create -m "$A/tank" tank "$V/d0"
  files "$A/tank" 8
  "$ZPOOL" sync tank
  sums=$(cd "$A/tank" && sha256sum f*)
  "$ZPOOL" attach tank "$V/d0" "$V/d1"
  wait_resilvered tank
  [[ $(scan tank) == "resilvered "*" in "*" with 0 errors on "* ]]
  # Every block: at least the 8M of files.
  [ "$(bytes "$(scan tank | awk '{ print $2 }')")" -ge $((8 << 20)) ]
  [ "$(devs tank)" = "mirror-0 ONLINE
$V/d0 ONLINE
$V/d1 ONLINE" ]
  [ "$(row tank "$V/d1")" = "$V/d1 ONLINE 0 0 0" ]
  run "$ZPOOL" history tank
  [[ $output == *"zpool attach tank $V/d0 $V/d1"* ]]
  run "$ZPOOL" history -i tank
  [[ $output == *"[internal vdev attach txg:"*"] attach vdev=$V/d1 to vdev=$V/d0"* ]]
  # The old side's data area overwritten whole (its labels kept): the new side serves every
  # block, and a scrub rewrites the old side from it.
  "$ZPOOL" export tank
  dd if=/dev/urandom of="$V/d0" bs=1M seek=4 count=$((128 - 4 - 1)) conv=notrunc 2>/dev/null
  fresh_import tank
  # The scrub first: a read of the files would repair their blocks itself.
  "$ZPOOL" scrub tank
  for _ in $(seq 300); do [[ $(scan tank) == "scrub repaired "* ]] && break; sleep 0.2; done
  [[ $(scan tank) == "scrub repaired "*" with 0 errors on "* ]]
  [ "$(bytes "$(scan tank | awk '{ print $3 }')")" -ge $((8 << 20)) ]
  read -r _ state r w ck <<<"$(row tank "$V/d0")"
  [ "$state" = ONLINE ] && [ "$r" = 0 ] && [ "$w" = 0 ] && [ "$ck" -ge 64 ]
  [ "$(cd "$A/tank" && sha256sum f*)" = "$sums" ]
  # d0 alone now holds every block: the new side detached, a fresh import reads it all.
  "$ZPOOL" detach tank "$V/d1"
  [ "$(devs tank)" = "$V/d0 ONLINE" ]
  "$ZPOOL" export tank
  fresh_import tank
  [ "$(cd "$A/tank" && sha256sum f*)" = "$sums" ]
  [ "$(row tank "$V/d0")" = "$V/d0 ONLINE 0 0 0" ]
  judge tank
}

@test "attach to a mirror, then detach its sides down to one disk: the data stays; zfs-fuse imports every step's pool" {
  "$ZPOOL" create -m "$A/tank" tank mirror "$V/d0" "$V/d1"
  files "$A/tank" 4
  "$ZPOOL" sync tank
  sums=$(cd "$A/tank" && sha256sum f*)
  "$ZPOOL" attach tank "$V/d1" "$V/d2"
  wait_resilvered tank
  [ "$(devs tank)" = "mirror-0 ONLINE
$V/d0 ONLINE
$V/d1 ONLINE
$V/d2 ONLINE" ]
  # zfs-fuse imports the three-way mirror and finds it clean.
  judge tank
  "$ZPOOL" import -d "$V" tank
  "$ZPOOL" detach tank "$V/d0"
  [ "$(devs tank)" = "mirror-0 ONLINE
$V/d1 ONLINE
$V/d2 ONLINE" ]
  "$ZPOOL" detach tank "$V/d1"
  [ "$(devs tank)" = "$V/d2 ONLINE" ]
  run "$ZPOOL" history -i tank
  [[ $output == *"zpool detach tank $V/d0"* ]]
  [[ $output == *"[internal vdev detach txg:"*"] vdev=$V/d1"* ]]
  # The detached devices' labels no longer offer the pool; d2 alone holds it.
  "$ZPOOL" export tank
  run "$ZPOOL" import -d "$V"
  [[ $output == *"   pool: tank"* ]]
  [[ $output != *"$V/d0"* && $output != *"$V/d1"* ]]
  fresh_import tank
  [ "$(cd "$A/tank" && sha256sum f*)" = "$sums" ]
  "$ZPOOL" export tank
  oracle_start
  "$ZF_ZPOOL" import -d "$V" -R "$BATS_TEST_TMPDIR/zf" tank
  run "$ZF_ZPOOL" status tank
  [[ $output == *" state: ONLINE"* ]]
  [ "$(cd "$BATS_TEST_TMPDIR/zf$A/tank" && sha256sum f*)" = "$sums" ]
  "$ZF_ZPOOL" export tank
  oracle_zdb_clean "$V" tank
  oracle_stop
}

@test "replace: a replacing vdev while it resilvers, the old device detached at the end; in place (the same path) too" {
  zfsd_stop
  ZFSD_EXTRA_ARGS="--scrub-delay 30000 --txg-timeout 1" zfsd_start
  "$ZPOOL" create -m "$A/tank" tank "$V/d0"
  files "$A/tank" 6
  "$ZPOOL" sync tank
  sums=$(cd "$A/tank" && sha256sum f*)
  "$ZPOOL" replace tank "$V/d0" "$V/d1"
  sleep 1
  [[ $(scan tank) == "resilver in progress since "* ]]
  [ "$(devs tank)" = "replacing-0 ONLINE
$V/d0 ONLINE
$V/d1 ONLINE" ]
  [[ $(row tank "$V/d1") == "$V/d1 ONLINE 0 0 0 (resilvering)" ]]
  expect 1 "cannot replace $V/d1 with $V/d2: cannot replace a replacing device" "$ZPOOL" replace tank "$V/d1" "$V/d2"
  expect 1 "cannot detach $V/d0: no valid replicas" "$ZPOOL" detach tank "$V/d0"
  wait_resilvered tank
  wait_gone tank "$V/d0"
  [ "$(devs tank)" = "$V/d1 ONLINE" ]
  [ "$(cd "$A/tank" && sha256sum f*)" = "$sums" ]
  run "$ZPOOL" history -i tank
  [[ $output == *"zpool replace tank $V/d0 $V/d1"* ]]
  [[ $output == *"] replace vdev=$V/d1 for vdev=$V/d0"* ]]
  [[ $output == *"[internal vdev detach txg:"*"] vdev=$V/d0"* ]]
  # A mirror side swapped for a blank disk at the same path.
  "$ZPOOL" attach tank "$V/d1" "$V/d2"
  wait_resilvered tank
  rm "$V/d2"
  truncate -s 128M "$V/d2"
  "$ZPOOL" replace tank "$V/d2"
  sleep 1
  run "$ZPOOL" status tank
  [[ $output == *"replacing-1"* ]]
  [[ $output == *"$V/d2/old"* ]]
  wait_resilvered tank
  wait_gone tank "$V/d2/old"
  [ "$(devs tank)" = "mirror-0 ONLINE
$V/d1 ONLINE
$V/d2 ONLINE" ]
  # d2 alone serves every file.
  reads_without tank "$V/d1" "$sums"
  judge tank
}

@test "attach mid-resilver: zfs-fuse imports the exported pool and finds it clean; SIGKILL of zfsd mid-replace: the resilver resumes, ends, the old device is detached" {
  zfsd_stop
  ZFSD_EXTRA_ARGS="--scrub-delay 100000 --txg-timeout 1" zfsd_start
  "$ZPOOL" create -m "$A/tank" tank "$V/d0"
  files "$A/tank" 12
  "$ZPOOL" sync tank
  sums=$(cd "$A/tank" && sha256sum f*)
  "$ZPOOL" attach tank "$V/d0" "$V/d1"
  sleep 1.5
  [[ $(scan tank) == "resilver in progress since "*" resilvered, "*"% done"* ]]
  run "$ZPOOL" status tank
  [[ $output == *"status: One or more devices is currently being resilvered."* ]]
  # Exported mid-resilver: zfs-fuse imports it (it resumes the resilver: the scrub state
  # and the new side's DTL are v23's), its zdb -bcc finds no leak and no error.
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  "$ZF_ZPOOL" import -d "$V" -R "$BATS_TEST_TMPDIR/zf" tank
  run "$ZF_ZPOOL" status tank
  [[ $output == *"mirror"* && $output == *"$V/d1"* ]]
  # zfs-fuse takes it as a resilver and resumes it ("resilver in progress" or, once its
  # faster walk is through, "resilver completed").
  [[ $output == *"scrub: resilver "* ]]
  [ "$(cd "$BATS_TEST_TMPDIR/zf$A/tank" && sha256sum f*)" = "$sums" ]
  # Until it has ended (its DTL then empty), d0 cannot go.
  for _ in $(seq 150); do
    [[ $("$ZF_ZPOOL" status tank) == *"resilver completed"* ]] && break
    sleep 0.2
  done
  "$ZF_ZPOOL" export tank
  oracle_zdb_clean "$V" tank
  oracle_stop
  "$ZPOOL" import -d "$V" tank
  [[ $(scan tank) != "resilver in progress"* ]]
  [ "$(row tank "$V/d1")" = "$V/d1 ONLINE 0 0 0" ]
  "$ZPOOL" detach tank "$V/d0"
  [ "$(devs tank)" = "$V/d1 ONLINE" ]
  # Replace, killed mid-resilver: the next zfsd resumes it and detaches the old device.
  "$ZPOOL" replace tank "$V/d1" "$V/d2"
  sleep 1.5
  [[ $(scan tank) == "resilver in progress since "* ]]
  zfsd_kill
  ZFSD_EXTRA_ARGS="--scrub-delay 20000 --txg-timeout 1" zfsd_start
  [[ $(scan tank) == "resilver in progress since "* ]]
  [ "$(devs tank)" = "replacing-0 ONLINE
$V/d1 ONLINE
$V/d2 ONLINE" ]
  wait_resilvered tank
  wait_gone tank "$V/d1"
  [ "$(devs tank)" = "$V/d2 ONLINE" ]
  "$ZPOOL" export tank
  fresh_import tank
  [ "$(cd "$A/tank" && sha256sum f*)" = "$sums" ]
  judge tank
}

@test "replace a raidz1 member: the new device is resilvered by reconstruction from parity, the old one detached; the data whole without it; zfs-fuse judges" {
  zfsd_stop
  ZFSD_EXTRA_ARGS="--txg-timeout 1" zfsd_start
  truncate -s 128M "$V/e0"
  "$ZPOOL" create -m "$A/tank" tank raidz1 "$V/d0" "$V/d1" "$V/d2"
  files "$A/tank" 8
  "$ZPOOL" sync tank
  sums=$(cd "$A/tank" && sha256sum f*)
  # d1 dies for good: zeroed while exported (labels too), so the import finds it missing.
  "$ZPOOL" export tank
  dd if=/dev/zero of="$V/d1" bs=1M count=128 conv=notrunc 2>/dev/null
  fresh_import tank
  [[ $(row tank "$V/d1") == "$V/d1 UNAVAIL "* ]]
  "$ZPOOL" replace tank "$V/d1" "$V/e0"
  wait_resilvered tank
  wait_gone tank "$V/d1"
  [ "$(devs tank)" = "raidz1-0 ONLINE
$V/d0 ONLINE
$V/e0 ONLINE
$V/d2 ONLINE" ]
  [ "$(cd "$A/tank" && sha256sum f*)" = "$sums" ]
  # e0 holds its column of every block: d0 taken out, every file still reads whole (each
  # block rebuilt from e0, d2 and parity).
  "$ZPOOL" offline tank "$V/d0"
  "$ZPOOL" export tank
  fresh_import tank
  [ "$(cd "$A/tank" && sha256sum f*)" = "$sums" ]
  [ "$(row tank "$V/e0")" = "$V/e0 ONLINE 0 0 0" ]
  "$ZPOOL" online tank "$V/d0"
  wait_resilvered tank
  judge tank
}
