#!/usr/bin/env bats
# Device faults and their administration: READ/WRITE/CKSUM counters in zpool status, leaves
# FAULTED ("too many errors") or UNAVAIL ("cannot open") after failed I/O and a failed probe,
# zpool clear (counters zeroed, dead devices reopened), with OpenZFS's words.

load ../lib/pool_helpers

setup() {
  V=$BATS_TEST_TMPDIR/v
  mkdir -p "$V"
  mkvdevs "$V" 3
  truncate -s 128M "$V/l0"
  zfsd_start
}

teardown() {
  cd /
  zfsd_stop || true
  dead_mounts_clear
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
