#!/usr/bin/env bats
# zpool offline / online and the resilver: a device taken offline takes no I/O and its DTL
# (a space map object in the MOS, named by its config, as pool version 23 keeps it) records
# the txgs it missed; online starts a resilver of those txgs only (a scrub whose
# scrub_min_txg is not 0), shown by zpool status in OpenZFS's words, resumed after a
# SIGKILL of zfsd (ten in a row: each next zfsd goes on where the MOS says); when it ends the
# DTL is empty and the device alone holds good data.
# zfs-fuse judges the pools after.

load ../lib/pool_helpers
load ../lib/oracle

setup() {
  pool_vdevs_setup
}

teardown() {
  pool_suite_teardown
}

@test "zpool offline / online: usage, unknown pools and devices, the last valid replica: zpool's words" {
  run "$ZPOOL" offline
  [ "$status" -eq 2 ]
  [[ $output == "missing pool name"* ]]
  [[ $output == *"offline [-t] pool device ..."* ]]
  run "$ZPOOL" online tank
  [ "$status" -eq 2 ]
  [[ $output == "missing device name"* ]]
  expect 1 "cannot open 'nosuch': no such pool" "$ZPOOL" offline nosuch "$V/d0"
  "$ZPOOL" create -m "$A/tank" tank "$V/d0"
  expect 1 "cannot offline $V/d9: no such device in pool" "$ZPOOL" offline tank "$V/d9"
  expect 1 "cannot online $V/d9: no such device in pool" "$ZPOOL" online tank "$V/d9"
  # A single device is its own only replica.
  expect 1 "cannot offline $V/d0: no valid replicas" "$ZPOOL" offline tank "$V/d0"
  "$ZPOOL" destroy tank
  "$ZPOOL" create -m "$A/tank" tank mirror "$V/d0" "$V/d1"
  "$ZPOOL" offline tank "$V/d0"
  expect 1 "cannot offline $V/d1: no valid replicas" "$ZPOOL" offline tank "$V/d1"
  # The offline side keeps the label of a live pool (a destroy writes no offline device).
  "$ZPOOL" destroy tank
  "$ZPOOL" create -f -m "$A/tank" tank raidz "$V/d0" "$V/d1" "$V/d2"
  "$ZPOOL" offline tank "$V/d2"
  expect 1 "cannot offline $V/d0: no valid replicas" "$ZPOOL" offline tank "$V/d0"
  run "$ZPOOL" history tank
  [[ $output == *"zpool offline tank $V/d2"* ]]
}

@test "mirror: a side offline misses the writes (DEGRADED, OFFLINE, zfs-fuse's status text); online resilvers only what it missed; then that side alone holds every file" {
  "$ZPOOL" create -m "$A/tank" tank mirror "$V/d0" "$V/d1"
  for i in $(seq 8); do head -c 1M /dev/urandom >"$A/tank/old$i"; done
  "$ZPOOL" sync tank
  "$ZPOOL" offline tank "$V/d1"
  run "$ZPOOL" status tank
  [[ $output == *" state: DEGRADED"* ]]
  [[ $output == *"status: One or more devices has been taken offline by the administrator."* ]]
  [[ $output == *"action: Online the device using 'zpool online' or replace the device with"* ]]
  [ "$(row tank "$V/d1")" = "$V/d1 OFFLINE 0 0 0" ]
  [ "$(row tank mirror-0)" = "mirror-0 DEGRADED 0 0 0" ]
  head -c 1M /dev/urandom >"$A/tank/new1"
  head -c 512K /dev/urandom >"$A/tank/new2"
  "$ZPOOL" sync tank
  sums=$(cd "$A/tank" && sha256sum old* new*)
  "$ZPOOL" online tank "$V/d1"
  wait_resilvered tank
  [[ $(scan tank) == "resilvered "*" in "*" with 0 errors on "* ]]
  # Only the missed blocks: well under the pool's 9.5M of files.
  done_bytes=$(bytes "$(scan tank | awk '{ print $2 }')")
  alloc=$("$ZPOOL" list -Hp -o allocated tank)
  [ "$done_bytes" -ge $((1536 * 1024)) ]
  [ "$done_bytes" -lt $((alloc / 2)) ]
  run "$ZPOOL" status tank
  [[ $output == *" state: ONLINE"* ]]
  [[ $output != *"status:"* ]]
  [ "$(row tank "$V/d1")" = "$V/d1 ONLINE 0 0 0" ]
  run "$ZPOOL" history tank
  [[ $output == *"zpool offline tank $V/d1"* ]]
  [[ $output == *"zpool online tank $V/d1"* ]]
  # The other side offline for good: d1 alone serves a fresh import.
  "$ZPOOL" offline tank "$V/d0"
  "$ZPOOL" export tank
  fresh_import tank
  [ "$(row tank "$V/d0")" = "$V/d0 OFFLINE 0 0 0" ]
  [ "$(cd "$A/tank" && sha256sum old* new*)" = "$sums" ]
  [ "$(row tank "$V/d1")" = "$V/d1 ONLINE 0 0 0" ]
  "$ZPOOL" online tank "$V/d0"
  wait_resilvered tank
  # zfs-fuse reads the history: each resilver a scrub with a minimum txg, then its end.
  "$ZPOOL" export tank
  oracle_start
  "$ZF_ZPOOL" import -d "$V" tank
  run "$ZF_ZPOOL" history -i tank
  [[ $output =~ "[internal pool scrub txg:"[0-9]+"] func=1 mintxg="[1-9][0-9]*" maxtxg=" ]]
  [[ $output == *"[internal pool scrub done txg:"*"] complete=1"* ]]
  "$ZF_ZPOOL" export tank
  oracle_zdb_clean "$V" tank
  oracle_stop
}

@test "the offline state and the DTL are in the config and the MOS: zfs-fuse sees them, an import keeps them, offline -t does not survive an import" {
  "$ZPOOL" create -m "$A/tank" tank mirror "$V/d0" "$V/d1"
  head -c 1M /dev/urandom >"$A/tank/a"
  "$ZPOOL" sync tank
  "$ZPOOL" offline tank "$V/d1"
  head -c 1M /dev/urandom >"$A/tank/b"
  sums=$(cd "$A/tank" && sha256sum a b)
  "$ZPOOL" export tank
  oracle_start
  run "$ZF_ZDB" -e -p "$V" -C tank
  [[ $output == *"offline: 1"* ]]
  [[ $output == *"DTL: "* ]]
  oracle_stop
  "$ZPOOL" import -d "$V" tank
  [ "$(row tank "$V/d1")" = "$V/d1 OFFLINE 0 0 0" ]
  "$ZPOOL" online tank "$V/d1"
  wait_resilvered tank
  [ "$(cd "$A/tank" && sha256sum a b)" = "$sums" ]
  # -t: back online by itself at the next import (with a resilver of what it missed).
  "$ZPOOL" offline -t tank "$V/d0"
  [ "$(row tank "$V/d0")" = "$V/d0 OFFLINE 0 0 0" ]
  head -c 1M /dev/urandom >"$A/tank/c"
  sums=$(cd "$A/tank" && sha256sum a b c)
  "$ZPOOL" export tank
  fresh_import tank
  wait_resilvered tank
  [ "$(row tank "$V/d0")" = "$V/d0 ONLINE 0 0 0" ]
  [ "$(cd "$A/tank" && sha256sum a b c)" = "$sums" ]
  judge tank
}

@test "raidz1: a member offline while files are written, online: the resilver rebuilds its columns; zfs-fuse's zdb is clean" {
  "$ZPOOL" create -m "$A/tank" tank raidz "$V/d0" "$V/d1" "$V/d2"
  for i in 1 2 3; do head -c 1M /dev/urandom >"$A/tank/old$i"; done
  "$ZPOOL" sync tank
  "$ZPOOL" offline tank "$V/d1"
  [ "$(row tank raidz1-0)" = "raidz1-0 DEGRADED 0 0 0" ]
  for i in 1 2 3; do head -c 1M /dev/urandom >"$A/tank/new$i"; done
  sums=$(cd "$A/tank" && sha256sum old* new*)
  "$ZPOOL" online tank "$V/d1"
  wait_resilvered tank
  [[ $(scan tank) == "resilvered "*" with 0 errors on "* ]]
  [ "$(row tank "$V/d1")" = "$V/d1 ONLINE 0 0 0" ]
  # d1 now needed: with d0 offline every file still reads.
  "$ZPOOL" offline tank "$V/d0"
  "$ZPOOL" export tank
  fresh_import tank
  [ "$(cd "$A/tank" && sha256sum old* new*)" = "$sums" ]
  "$ZPOOL" online tank "$V/d0"
  wait_resilvered tank
  judge tank
}

@test "a resilver under way shows its progress and (resilvering); ten SIGKILLs of zfsd: each next one resumes it where the MOS says; it completes and the onlined side alone holds every file" {
  zfsd_stop
  ZFSD_EXTRA_ARGS="--scrub-delay 100000 --txg-timeout 1" zfsd_start
  "$ZPOOL" create -m "$A/tank" tank mirror "$V/d0" "$V/d1"
  "$ZPOOL" offline tank "$V/d1"
  for i in $(seq 12); do head -c 1M /dev/urandom >"$A/tank/f$i"; done
  "$ZPOOL" sync tank
  sums=$(cd "$A/tank" && sha256sum f*)
  "$ZPOOL" online tank "$V/d1"
  sleep 1.5
  [[ $(scan tank) == "resilver in progress since "*" resilvered, "*"% done"* ]]
  run "$ZPOOL" status tank
  [[ $output == *"status: One or more devices is currently being resilvered."* ]]
  [[ $(row tank "$V/d1") == "$V/d1 ONLINE 0 0 0 (resilvering)" ]]
  expect 1 "cannot scrub tank: currently resilvering" "$ZPOOL" scrub tank
  ZFSD_EXTRA_ARGS="--scrub-delay 100000 --txg-timeout 1" scan_kills tank resilver 10
  zfsd_stop
  ZFSD_EXTRA_ARGS="--scrub-delay 5000 --txg-timeout 1" zfsd_start
  wait_resilvered tank
  [[ $(scan tank) == "resilvered "*" with 0 errors on "* ]]
  [ "$(row tank "$V/d1")" = "$V/d1 ONLINE 0 0 0" ]
  "$ZPOOL" offline tank "$V/d0"
  "$ZPOOL" export tank
  fresh_import tank
  [ "$(cd "$A/tank" && sha256sum f*)" = "$sums" ]
  "$ZPOOL" online tank "$V/d0"
  wait_resilvered tank
  judge tank
}

