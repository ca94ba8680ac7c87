#!/usr/bin/env bats
# zpool events: what zfsd records (libcore/base/fm.h) — a pool's life, scrubs, and each
# error a device's counters count (ereport.fs.zfs.checksum / .io, with the device and the
# I/O's place on it), a device faulted by errors (resource.fs.zfs.statechange) — printed as
# OpenZFS's zpool events prints them (-v, -H, -f, -c, a pool name).

load ../lib/zfsd_helpers
load ../lib/oracle

ZINJECT=$UZFS_BUILD/cmd/zinject/zinject

setup() {
  # No timer sync: the exact event lists below would gain a resilver if one landed between a
  # fault and its clear (every sync here is a zpool sync of the test's own).
  export ZFSD_EXTRA_ARGS="--txg-timeout 600"
  pool_vdevs_setup
}

teardown() {
  "$ZINJECT" -c all >/dev/null 2>&1 || true
  pool_suite_teardown
}

# classes [ARGS]: the class column of zpool events -H ARGS.
classes() { "$ZPOOL" events -H "$@" | cut -f2; }

# field NAME: the values of NAME in zpool events -v's output on stdin, one a line.
field() { awk -v n="$1" '$1 == n && $2 == "=" { $1 = $2 = ""; sub(/^ +/, ""); print }'; }

@test "zpool events: a pool's life in order, each with its pool, guid, time and number; -H, a pool name, -c" {
  "$ZPOOL" events -c >/dev/null
  "$ZPOOL" create -m "$A/tank" tank "$V/d0"
  "$ZPOOL" create -m "$A/other" other "$V/d1"
  guid=$("$ZPOOL" get -H -o value guid tank)
  "$ZPOOL" export tank
  "$ZPOOL" import -d "$V" tank
  "$ZPOOL" destroy other
  run classes
  [ "$output" = "sysevent.fs.zfs.pool_create
sysevent.fs.zfs.pool_create
sysevent.fs.zfs.pool_export
sysevent.fs.zfs.pool_import
sysevent.fs.zfs.pool_destroy" ]
  run classes tank
  [ "$output" = "sysevent.fs.zfs.pool_create
sysevent.fs.zfs.pool_export
sysevent.fs.zfs.pool_import" ]
  # The header and the time as zpool_do_events_short cuts it from ctime(3).
  run "$ZPOOL" events tank
  [ "${lines[0]}" = "TIME                           CLASS" ]
  [[ ${lines[1]} =~ ^[A-Z][a-z][a-z]\ [\ 0-9][0-9]\ 20[0-9][0-9]\ [0-2][0-9]:[0-5][0-9]:[0-5][0-9]\.[0-9]{9}\ sysevent.fs.zfs.pool_create$ ]]
  run "$ZPOOL" events -v tank
  [ "$(field pool <<<"$output" | sort -u)" = '"tank"' ]
  [ "$(field pool_guid <<<"$output" | sort -u)" = "$(printf '0x%x' "$guid")" ]
  [ "$(field eid <<<"$output" | tr '\n' ' ')" = "0x1 0x3 0x4 " ]
  # time = seconds nanoseconds, the seconds within the last minutes.
  t=$(field time <<<"$output" | head -1 | awk '{ print $1 }')
  [ $(($(date +%s) - t)) -lt 600 ]
  # -c: the queue emptied, numbering goes on.
  expect 0 "cleared 5 events" "$ZPOOL" events -c
  expect 0 "" "$ZPOOL" events -H
  "$ZPOOL" export tank
  run "$ZPOOL" events -v
  [ "$(field eid <<<"$output")" = "0x6" ]
}

@test "zpool events: usage errors in zpool's words; -c is root's" {
  run "$ZPOOL" events -c tank
  [ "$status" -eq 2 ]
  [ "${lines[0]}" = "invalid options combined with -c" ]
  run "$ZPOOL" events -c -v
  [ "$status" -eq 2 ]
  [ "${lines[0]}" = "invalid options combined with -c" ]
  run "$ZPOOL" events a b
  [ "$status" -eq 2 ]
  [ "${lines[0]}" = "too many arguments" ]
  run "$ZPOOL" events 1pool
  [ "$status" -eq 2 ]
  [ "${lines[0]}" = "invalid pool name '1pool'" ]
  # Everyone may read the events; only root may clear them.
  zfsd_stop
  zfsd_public_start
  "$ZPOOL" create -m "$A/tank" tank "$V/d0"
  run as_nobody "$ZPOOL" events -H
  [ "$status" -eq 0 ]
  [[ $output == *"sysevent.fs.zfs.pool_create" ]]
  run as_nobody "$ZPOOL" events -c
  [ "$status" -eq 1 ]
  [ "$(classes)" = "sysevent.fs.zfs.pool_create" ]
  "$ZPOOL" destroy tank
  zfsd_stop
  zfsd_public_cleanup
}

@test "zpool events: a scrub's checksum errors, one event per damaged copy, naming the device and the offsets damaged" {
  "$ZPOOL" create -m "$A/tank" tank mirror "$V/d0" "$V/d1"
  head -c 1M /dev/urandom >"$A/tank/f"
  obj=$(stat -c %i "$A/tank/f")
  "$ZPOOL" export tank
  # The file's level-0 blocks (offset, size; hex), from our zdb; d1's copies damaged.
  mapfile -t ext < <("$ZDB" -e -p "$V" -dddddd tank "$obj" |
    awk '/^Dataset / { on = ($2 == "tank") } on && $2 == "L0" { split($3, d, ":"); print d[2], d[3] }')
  [ "${#ext[@]}" -eq 8 ]
  want=
  for e in "${ext[@]}"; do
    read -r off size <<<"$e"
    dd if=/dev/urandom of="$V/d1" bs=512 seek=$(((0x$off + 4194304) / 512)) count=$((0x$size / 512)) conv=notrunc 2>/dev/null
    want+="$(printf '0x%x' $((0x$off + 4194304)))"$'\n'
  done
  "$ZPOOL" import -d "$V" tank
  "$ZPOOL" events -c >/dev/null
  "$ZPOOL" scrub -w tank
  run "$ZPOOL" events -v tank
  [ "$(field class <<<"$output" | sed -n '1p;$p')" = '"sysevent.fs.zfs.scrub_start"
"sysevent.fs.zfs.scrub_finish"' ]
  # One checksum report per damaged copy, all of d1, as many as its CKSUM count.
  cksum=$(row tank "$V/d1" | cut -d' ' -f5)
  [ "$cksum" -eq 8 ]
  [ "$(field class <<<"$output" | grep -c '"ereport.fs.zfs.checksum"')" -eq 8 ]
  reports=$("$ZPOOL" events -v tank | awk '/^[A-Z]/ { c = $NF } c == "ereport.fs.zfs.checksum"')
  [ "$(field vdev_path <<<"$reports" | sort -u)" = "\"$V/d1\"" ]
  [ "$(field zio_err <<<"$reports" | sort -u)" = "0x34" ]
  [ "$(field zio_offset <<<"$reports" | sort)" = "$(sort <<<"${want%$'\n'}")" ]
  [ "$(field vdev_cksum_errors <<<"$reports" | tail -1)" = "0x8" ]
}

@test "zpool events: write errors are io reports; the tenth faults the device (statechange ONLINE -> FAULTED)" {
  "$ZPOOL" create -m "$A/tank" tank mirror "$V/d0" "$V/d1"
  "$ZPOOL" events -c >/dev/null
  "$ZINJECT" -q -d "$V/d1" -e io -T write tank >/dev/null
  dd if=/dev/urandom of="$A/tank/f1" bs=64k count=4 2>/dev/null
  "$ZPOOL" sync tank
  run classes tank
  [ "$(grep -c '^ereport.fs.zfs.io$' <<<"$output")" -eq 10 ]
  [ "$(grep -c '^resource.fs.zfs.statechange$' <<<"$output")" -eq 1 ]
  [ "$(grep -v '^ereport.fs.zfs.io$' <<<"$output")" = "resource.fs.zfs.statechange" ]
  run "$ZPOOL" events -v tank
  [ "$(field zio_type <<<"$output" | sort -u)" = "0x2 [WRITE]" ]
  [ "$(field vdev_path <<<"$output" | sort -u)" = "\"$V/d1\"" ]
  [ "$(field vdev_state <<<"$output")" = '"FAULTED" (0x5)' ]
  [ "$(field vdev_laststate <<<"$output")" = '"ONLINE" (0x7)' ]
}

@test "zpool events -f: new events are printed as they come" {
  "$ZPOOL" events -c >/dev/null
  "$ZPOOL" events -H -f >"$BATS_TEST_TMPDIR/follow" &
  pid=$!
  sleep 0.5
  "$ZPOOL" create -m "$A/tank" tank "$V/d0"
  for _ in $(seq 50); do
    grep -q pool_create "$BATS_TEST_TMPDIR/follow" && break
    sleep 0.1
  done
  "$ZPOOL" export tank
  for _ in $(seq 50); do
    grep -q pool_export "$BATS_TEST_TMPDIR/follow" && break
    sleep 0.1
  done
  kill "$pid"
  wait "$pid" || true
  [ "$(cut -f2 "$BATS_TEST_TMPDIR/follow")" = "sysevent.fs.zfs.pool_create
sysevent.fs.zfs.pool_export" ]
}

@test "zpool events: the vdev lifecycle: offline, online, attach, detach, a fault and zpool clear" {
  "$ZPOOL" create -m "$A/tank" tank mirror "$V/d0" "$V/d1"
  "$ZPOOL" events -c >/dev/null
  "$ZPOOL" offline tank "$V/d1"
  head -c 1M /dev/urandom >"$A/tank/f"
  "$ZPOOL" sync tank
  "$ZPOOL" online tank "$V/d1"
  wait_resilvered tank
  "$ZPOOL" attach tank "$V/d0" "$V/d2"
  wait_resilvered tank
  "$ZPOOL" detach tank "$V/d2"
  "$ZINJECT" -d "$V/d0" -A fault tank >/dev/null
  # zinject returns once the fault's txg is synced, which d0 missed: clear resilvers it.
  "$ZPOOL" clear tank
  wait_resilvered tank
  run classes tank
  [ "$output" = "resource.fs.zfs.statechange
resource.fs.zfs.statechange
sysevent.fs.zfs.vdev_online
sysevent.fs.zfs.resilver_start
sysevent.fs.zfs.resilver_finish
sysevent.fs.zfs.vdev_attach
sysevent.fs.zfs.resilver_start
sysevent.fs.zfs.resilver_finish
sysevent.fs.zfs.vdev_remove
resource.fs.zfs.statechange
resource.fs.zfs.statechange
sysevent.fs.zfs.vdev_clear
sysevent.fs.zfs.resilver_start
sysevent.fs.zfs.resilver_finish" ]
  run "$ZPOOL" events -v tank
  [ "$(field vdev_state <<<"$output" | tr '\n' ' ')" = '"OFFLINE" (0x2) "ONLINE" (0x7) "FAULTED" (0x5) "ONLINE" (0x7) ' ]
  [ "$(field vdev_laststate <<<"$output" | tr '\n' ' ')" = '"ONLINE" (0x7) "OFFLINE" (0x2) "ONLINE" (0x7) "FAULTED" (0x5) ' ]
  [ "$(field vdev_path <<<"$output" | tr '\n' ' ')" = "\"$V/d1\" \"$V/d1\" \"$V/d1\" \"$V/d2\" \"$V/d2\" \"$V/d0\" \"$V/d0\" \"$V/d0\" " ]
}
