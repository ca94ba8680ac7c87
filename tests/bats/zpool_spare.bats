#!/usr/bin/env bats
# Hot spares: zpool create / add ... spare, listed by zpool status ("spares", AVAIL, INUSE
# "currently in use") and list -v as zfs-fuse lists them; zpool remove of an inactive spare;
# zpool replace with a spare (a "spare" vdev, resilvered), detach of the spare (AVAIL again)
# or of the original (the spare becomes a pool disk); zfsd giving a spare to a faulted
# mirror side by itself (zed's retire agent); a SIGKILL mid-spare-resilver. zfs-fuse
# imports our pools with spares (an active one too) and we import its; its zdb -bcc judges.

load ../lib/pool_helpers
load ../lib/oracle

ZINJECT=$UZFS_BUILD/cmd/zinject/zinject

setup() {
  pool_vdevs_setup
  truncate -s 128M "$V/s0" "$V/s1"
}

teardown() {
  pool_suite_teardown
}

# spared POOL DEV: zpool events cleared, DEV faulted by zinject (-A fault: FAULTED, or
# DEGRADED where it holds the only copy); returns once zfsd has given it the AVAIL spare and
# the spare's resilver has ended.
spared() {
  "$ZPOOL" events -c >/dev/null
  "$ZINJECT" -d "$2" -A fault "$1" >/dev/null
  wait_status "$1" "spare-0"
  wait_resilvered "$1"
}

# files DIR N: N files of 1 MiB of random bytes, f1..fN.
files() {
  local i
  for i in $(seq "$2"); do head -c 1M /dev/urandom >"$1/f$i"; done
}

@test "spares: create and add list them (status, list -v); remove an inactive one; the refusals in zfs-fuse's words; zfs-fuse imports ours and we import its" {
  "$ZPOOL" create -m "$A/tank" tank mirror "$V/d0" "$V/d1" spare "$V/d2"
  # print_spares: a "spares" heading, each spare in the name column, AVAIL, no counters.
  w=$((${#V} + 3 + 4))  # the name column: the deepest row, "    $V/d0"
  [ "$(status_config tank | tail -2)" = "$(printf '\tspares\n\t  %-*s  %-8s' $((w - 2)) "$V/d2" AVAIL)" ] || {
    status_config tank | cat -A >&2
    false
  }
  "$ZPOOL" add tank spare "$V/s0"
  [ "$(status_devs tank)" = "mirror-0 ONLINE
$V/d0 ONLINE
$V/d1 ONLINE
spares
$V/d2 AVAIL
$V/s0 AVAIL" ]
  run "$ZPOOL" list -Hv -o name,health tank
  [ "$output" = "$(printf 'tank\tONLINE\n  mirror-0\tONLINE\n    %s\tONLINE\n    %s\tONLINE\nspare\t-\n  %s\tAVAIL\n  %s\tAVAIL' "$V/d0" "$V/d1" "$V/d2" "$V/s0")" ]
  # The spare's own label: POOL_STATE_SPARE (3), its guid, no pool.
  run "$ZDB" -l "$V/d2"
  [[ $output == *"state: 3"* ]]
  [[ $output != *"pool_guid"* ]]
  # Refusals: a spare of the pool already, one too small, one of another imported pool; no
  # such device; a data vdev; an available spare is no vdev to offline or attach to.
  expect 1 "cannot add to 'tank': one or more vdevs refer to the same device" "$ZPOOL" add tank spare "$V/s0"
  truncate -s 32M "$V/tiny"
  run "$ZPOOL" add tank spare "$V/tiny"
  [ "$status" -eq 1 ]
  [[ $output == *"less than the minimum size (64M)"* ]]
  "$ZPOOL" create -m "$A/other" other "$V/d3"
  run "$ZPOOL" add tank spare "$V/d3"
  [ "$status" -eq 1 ]
  [[ $output == *"$V/d3 is part of active pool 'other'"* ]]
  "$ZPOOL" destroy other
  expect 1 "cannot remove $V/d9: no such device in pool" "$ZPOOL" remove tank "$V/d9"
  expect 1 "cannot remove $V/d0: only inactive hot spares, cache, top-level, or log devices can be removed" \
    "$ZPOOL" remove tank "$V/d0"
  expect 1 "cannot offline $V/d2: device is reserved as a hot spare" "$ZPOOL" offline tank "$V/d2"
  expect 1 "cannot attach $V/s1 to $V/d2: device is reserved as a hot spare" "$ZPOOL" attach tank "$V/d2" "$V/s1"
  # remove: the spare leaves the list (its label stays a spare's, which is free).
  "$ZPOOL" remove tank "$V/s0"
  [ "$(status_devs tank | tail -2)" = "spares
$V/d2 AVAIL" ]
  "$ZPOOL" create -m "$A/other" other "$V/s0"
  "$ZPOOL" destroy other
  # The list is in the MOS: a new zfsd imports it.
  "$ZPOOL" export tank
  fresh_import tank
  [ "$(status_devs tank | tail -2)" = "spares
$V/d2 AVAIL" ]
  # zfs-fuse imports it and lists the spare; its zdb finds the pool clean.
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  "$ZF_ZPOOL" import -d "$V" -R "$BATS_TEST_TMPDIR/zf" tank
  run "$ZF_ZPOOL" status tank
  [[ $output == *$'\tspares\n\t  '"$V/d2"'    AVAIL'* ]]
  # Its own pool with spares, for us to import.
  "$ZF_ZPOOL" create -m none zfp mirror "$V/s0" "$V/s1" spare "$V/d3"
  "$ZF_ZPOOL" export zfp
  "$ZF_ZPOOL" export tank
  oracle_stop
  "$ZPOOL" import -d "$V" zfp
  [ "$(status_devs zfp)" = "mirror-0 ONLINE
$V/s0 ONLINE
$V/s1 ONLINE
spares
$V/d3 AVAIL" ]
  # It goes from zfs-fuse's list here, and zfs-fuse sees that.
  "$ZPOOL" remove zfp "$V/d3"
  "$ZPOOL" export zfp
  oracle_start
  oracle_zdb_clean "$V" zfp
  "$ZF_ZPOOL" import -d "$V" zfp
  run "$ZF_ZPOOL" status zfp
  [[ $output != *"spares"* ]]
  "$ZF_ZPOOL" export zfp
  oracle_stop
}

# import_config OUTPUT: the config block of a zpool import listing (after " config:").
import_config() {
  awk '/^ ?config:/ { on = 1; next } on && NF { print }' <<<"$1"
}

# pool_block OUTPUT POOL: POOL's part of a zpool import listing of several pools.
pool_block() {
  awk -v p="$2" '/^ *pool: / { on = ($2 == p) } on' <<<"$1"
}

@test "zpool import lists the spares of an exported pool as print_import_config does (after the vdevs, before the logs), ours and zfs-fuse's alike" {
  "$ZPOOL" create -m "$A/tank" tank mirror "$V/d0" "$V/d1" spare "$V/d2" "$V/s0" log "$V/d3"
  "$ZPOOL" export tank
  run "$ZPOOL" import -d "$V"
  [ "$status" -eq 0 ]
  ours=$(import_config "$output")
  [[ $ours == *$'\n\tspares\n\t  '"$V/d2"$'\n\t  '"$V/s0"$'\n\tlogs\n\t  '"$V/d3 "* ]] || {
    echo "$output" | cat -A >&2
    false
  }
  # zfs-fuse's own listing of the same pool says the same.
  oracle_start
  run "$ZF_ZPOOL" import -d "$V"
  [ "$status" -eq 0 ]
  [ "$(import_config "$(pool_block "$output" tank)")" = "$ours" ] || { diff <(echo "$ours") <(import_config "$output") | cat -A >&2; false; }
  # And we list zfs-fuse's pool's spares (its MOS's spares object) the same way it does.
  truncate -s 128M "$V/d4" "$V/d5"
  "$ZF_ZPOOL" create -m none zfp mirror "$V/s1" "$V/d4" spare "$V/d5"
  "$ZF_ZPOOL" export zfp
  run "$ZF_ZPOOL" import -d "$V"
  zf=$output
  oracle_stop
  run "$ZPOOL" import -d "$V"
  [ "$status" -eq 0 ]
  [[ $(import_config "$(pool_block "$zf" zfp)") == *$'\tspares\n\t  '"$V/d5" ]]
  [ "$(import_config "$(pool_block "$output" zfp)")" = "$(import_config "$(pool_block "$zf" zfp)")" ] || {
    echo "ours: $output" >&2
    echo "zfs-fuse: $zf" >&2
    false
  }
}

@test "replace with a spare under writes: a spare vdev, resilvered, the spare INUSE; detach the spare (AVAIL again) or the original (the spare stays for good); zfs-fuse imports the pool with an active spare" {
  "$ZPOOL" create -m "$A/tank" tank mirror "$V/d0" "$V/d1" spare "$V/d2" "$V/s0"
  files "$A/tank" 8
  (for i in $(seq 24); do head -c 512K /dev/urandom >"$A/tank/w$i"; done) &
  writer=$!
  "$ZPOOL" replace tank "$V/d0" "$V/d2"
  run status_devs tank
  [ "${lines[1]}" = "spare-0 ONLINE" ]
  [ "${lines[2]}" = "$V/d0 ONLINE" ]
  [ "${lines[3]}" = "$V/d2 ONLINE" ]
  [ "$(status_config tank | grep -F "$V/d2" | tail -1 | tr -s ' \t' ' ')" = " $V/d2 INUSE currently in use" ]
  # An active spare is no inactive one; a spare cannot take a second device's place.
  expect 1 "cannot remove $V/d2: only inactive hot spares, cache, top-level, or log devices can be removed" \
    "$ZPOOL" remove tank "$V/d2"
  expect 1 "invalid vdev specification
use '-f' to override the following errors:
$V/d2 is part of active pool 'tank'" "$ZPOOL" replace tank "$V/d1" "$V/d2"
  wait "$writer"
  wait_resilvered tank
  sums=$(cd "$A/tank" && sha256sum f* w*)
  run "$ZPOOL" history -i tank
  [[ $output == *"] replace vdev=$V/d2 for vdev=$V/d0"* ]]
  # The spare stays beside d0 once resilvered (v23: until one of them is detached).
  [ "$(status_devs tank | sed -n 2,4p)" = "spare-0 ONLINE
$V/d0 ONLINE
$V/d2 ONLINE" ]
  # zfs-fuse imports the pool with the active spare, reads every file, zdb finds it clean.
  "$ZPOOL" export tank
  oracle_start
  oracle_zdb_clean "$V" tank
  "$ZF_ZPOOL" import -d "$V" -R "$BATS_TEST_TMPDIR/zf" tank
  run "$ZF_ZPOOL" status tank
  [[ $output == *"spare-0"* ]]
  [[ $output == *"$V/d2"*"INUSE     currently in use"* ]]
  [ "$(cd "$BATS_TEST_TMPDIR/zf$A/tank" && sha256sum f* w*)" = "$sums" ]
  "$ZF_ZPOOL" export tank
  oracle_stop
  "$ZPOOL" import -d "$V" tank
  # Detach the spare: back to AVAIL, its label a spare's again.
  "$ZPOOL" detach tank "$V/d2"
  [ "$(status_devs tank)" = "mirror-0 ONLINE
$V/d0 ONLINE
$V/d1 ONLINE
spares
$V/d2 AVAIL
$V/s0 AVAIL" ]
  run "$ZDB" -l "$V/d2"
  [[ $output == *"state: 3"* ]]
  # Replace d1 with s0, then detach d1: s0 is a disk of the pool, no longer a spare.
  "$ZPOOL" replace tank "$V/d1" "$V/s0"
  wait_resilvered tank
  "$ZPOOL" detach tank "$V/d1"
  [ "$(status_devs tank)" = "mirror-0 ONLINE
$V/d0 ONLINE
$V/s0 ONLINE
spares
$V/d2 AVAIL" ]
  # s0 alone serves every file after a fresh import.
  "$ZPOOL" offline tank "$V/d0"
  "$ZPOOL" export tank
  fresh_import tank
  [ "$(cd "$A/tank" && sha256sum f* w*)" = "$sums" ]
  "$ZPOOL" online tank "$V/d0"
  wait_resilvered tank
  judge tank
}

@test "a mirror side faulted by zinject: zfsd gives it the AVAIL spare by itself (zpool events); autoreplace is a pool property" {
  "$ZPOOL" create -m "$A/tank" tank mirror "$V/d0" "$V/d1" spare "$V/d2"
  expect 0 "off" "$ZPOOL" get -H -o value autoreplace tank
  "$ZPOOL" set autoreplace=on tank
  expect 0 "on" "$ZPOOL" get -H -o value autoreplace tank
  files "$A/tank" 4
  "$ZPOOL" sync tank
  sums=$(cd "$A/tank" && sha256sum f*)
  spared tank "$V/d0"
  run status_devs tank
  [ "${lines[1]}" = "spare-0 DEGRADED" ]
  [ "${lines[2]}" = "$V/d0 FAULTED" ]
  [ "${lines[3]}" = "$V/d2 ONLINE" ]
  [[ $(status_config tank | grep -F "$V/d2" | tail -1) == *"INUSE     currently in use" ]]
  run "$ZPOOL" events -H tank
  [[ $output == *"sysevent.fs.zfs.vdev_spare"* ]]
  [[ $output == *"sysevent.fs.zfs.resilver_start"* ]]
  # The data is whole on d1 and the spare: d1 taken out, a fresh import reads it all.
  reads_without tank "$V/d1" "$sums"
  # The faulted disk goes; the spare takes its place for good.
  "$ZPOOL" detach tank "$V/d0"
  [ "$(status_devs tank)" = "mirror-0 ONLINE
$V/d2 ONLINE
$V/d1 ONLINE" ]
  judge tank
}

@test "a mirror side that can no longer be opened (zinject -e nxio, as if pulled): UNAVAIL, and zfsd gives it the spare by itself" {
  "$ZPOOL" create -m "$A/tank" tank mirror "$V/d0" "$V/d1" spare "$V/d2"
  files "$A/tank" 2
  "$ZPOOL" sync tank
  "$ZPOOL" events -c >/dev/null
  "$ZINJECT" -d "$V/d0" -e nxio tank >/dev/null
  # Writes meet the pulled device; its probe finds it gone.
  for i in 1 2 3; do head -c 1M /dev/urandom >"$A/tank/g$i"; "$ZPOOL" sync tank; done
  wait_status tank "spare-0"
  wait_resilvered tank
  run status_devs tank
  [ "${lines[1]}" = "spare-0 DEGRADED" ]
  [ "${lines[2]}" = "$V/d0 UNAVAIL" ]
  [ "${lines[3]}" = "$V/d2 ONLINE" ]
  [ "$("$ZPOOL" events -H tank | cut -f2 | grep -c 'sysevent.fs.zfs.vdev_spare')" = 1 ]
  sums=$(cd "$A/tank" && sha256sum f* g*)
  "$ZINJECT" -c all >/dev/null
  judge tank
  oracle_start
  "$ZF_ZPOOL" import -d "$V" -R "$BATS_TEST_TMPDIR/zf" tank
  [ "$(cd "$BATS_TEST_TMPDIR/zf$A/tank" && sha256sum f* g*)" = "$sums" ]
  "$ZF_ZPOOL" export tank
  oracle_stop
}

@test "SIGKILL of zfsd mid-spare-resilver: the resilver resumes and ends, the spare stays INUSE; zfs-fuse judges" {
  zfsd_stop
  ZFSD_EXTRA_ARGS="--scrub-delay 100000 --txg-timeout 1" zfsd_start
  "$ZPOOL" create -m "$A/tank" tank mirror "$V/d0" "$V/d1" spare "$V/d2"
  files "$A/tank" 10
  "$ZPOOL" sync tank
  sums=$(cd "$A/tank" && sha256sum f*)
  "$ZPOOL" replace tank "$V/d1" "$V/d2"
  sleep 1.5
  [[ $(scan tank) == "resilver in progress since "* ]]
  zfsd_kill
  oracle_start
  oracle_zdb_clean "$V" tank
  oracle_stop
  ZFSD_EXTRA_ARGS="--scrub-delay 20000 --txg-timeout 1" zfsd_start
  [[ $(scan tank) == "resilver in progress since "* ]]
  [ "$(status_devs tank | sed -n 1,6p)" = "mirror-0 ONLINE
$V/d0 ONLINE
spare-1 ONLINE
$V/d1 ONLINE
$V/d2 ONLINE
spares" ]
  wait_resilvered tank
  [[ $(status_config tank | grep -F "$V/d2" | tail -1) == *"INUSE     currently in use" ]]
  # d2 holds every block: d0 and d1 out, a fresh import reads it all from the spare.
  "$ZPOOL" offline tank "$V/d0"
  "$ZPOOL" export tank
  fresh_import tank
  "$ZPOOL" offline tank "$V/d1"
  "$ZPOOL" export tank
  fresh_import tank
  [ "$(cd "$A/tank" && sha256sum f*)" = "$sums" ]
  "$ZPOOL" online tank "$V/d0" "$V/d1"
  wait_resilvered tank
  judge tank
}

@test "shared spares: one device a spare of two pools under one guid; serving one, it is INUSE \"in use by pool\" in the other, which does not take it; detached, AVAIL in both; zfs-fuse judges both" {
  "$ZPOOL" create -m "$A/tank" tank mirror "$V/d0" "$V/d1" spare "$V/s0"
  "$ZPOOL" create -m "$A/other" other mirror "$V/d2" "$V/d3"
  run "$ZDB" -l "$V/s0"
  guid=$(awk '$1 == "guid:" { print $2; exit }' <<<"$output")
  # Its spare label makes it free to share (zpool_in_use): the label and guid stay.
  "$ZPOOL" add other spare "$V/s0"
  run "$ZDB" -l "$V/s0"
  [[ $output == *"state: 3"* ]]
  [ "$(awk '$1 == "guid:" { print $2; exit }' <<<"$output")" = "$guid" ]
  [ "$(status_devs other | tail -2)" = "spares
$V/s0 AVAIL" ]
  [ "$(status_devs tank | tail -2)" = "spares
$V/s0 AVAIL" ]
  files "$A/tank" 2
  files "$A/other" 2
  "$ZPOOL" sync tank
  "$ZINJECT" -d "$V/d0" -A fault tank >/dev/null
  wait_status tank "spare-0"
  wait_resilvered tank
  [[ $(status_config tank | grep -F "$V/s0" | tail -1) == *"INUSE     currently in use" ]]
  [[ $(status_config other | grep -F "$V/s0" | tail -1) == *"INUSE     in use by pool 'tank'" ]]
  # A side of other faulted now gets no spare: the only one serves tank.
  "$ZINJECT" -d "$V/d2" -A fault other >/dev/null
  "$ZPOOL" sync other
  sleep 3
  [[ $("$ZPOOL" status other) != *"spare-0"* ]]
  expect 1 "invalid vdev specification
use '-f' to override the following errors:
$V/s0 is part of active pool 'tank'" "$ZPOOL" replace other "$V/d2" "$V/s0"
  "$ZINJECT" -c all >/dev/null
  "$ZPOOL" clear other
  "$ZPOOL" clear tank
  wait_resilvered tank
  wait_resilvered other
  # Given back by tank: its spare label again, AVAIL to both.
  "$ZPOOL" detach tank "$V/s0"
  [ "$(status_devs tank | tail -2)" = "spares
$V/s0 AVAIL" ]
  [ "$(status_devs other | tail -2)" = "spares
$V/s0 AVAIL" ]
  # Now other may have it.
  "$ZPOOL" replace other "$V/d2" "$V/s0"
  wait_resilvered other
  [[ $(status_config tank | grep -F "$V/s0" | tail -1) == *"INUSE     in use by pool 'other'"* ]]
  "$ZPOOL" detach other "$V/s0"
  sums=$(cd "$A/other" && sha256sum f*)
  "$ZPOOL" export tank
  "$ZPOOL" export other
  oracle_start
  oracle_zdb_clean "$V" tank
  oracle_zdb_clean "$V" other
  "$ZF_ZPOOL" import -d "$V" -R "$BATS_TEST_TMPDIR/zf" other
  run "$ZF_ZPOOL" status other
  [[ $output == *$'\tspares\n\t  '"$V/s0"'    AVAIL'* ]]
  [ "$(cd "$BATS_TEST_TMPDIR/zf$A/other" && sha256sum f*)" = "$sums" ]
  "$ZF_ZPOOL" export other
  oracle_stop
}

# spare_kill POOL: a SIGKILL of zfsd, zfs-fuse's zdb -bcc judging the devices in $V as the
# kill left them, zfsd started again (its cache file imports POOL).
spare_kill() {
  zfsd_kill
  oracle_start
  oracle_zdb_clean "$V" "$1" || return 1
  oracle_stop
  zfsd_start
}

@test "SIGKILLs of zfsd while a spare kicks in for a faulted side and resilvers, and while the original is detached: the fault is remembered, the spare resumes and ends, nothing is lost; zfs-fuse judges each time" {
  zfsd_stop
  export ZFSD_EXTRA_ARGS="--scrub-delay 100000 --txg-timeout 1"
  zfsd_start
  "$ZPOOL" create -m "$A/tank" tank mirror "$V/d0" "$V/d1" spare "$V/d2"
  files "$A/tank" 12
  "$ZPOOL" sync tank
  sums=$(cd "$A/tank" && sha256sum f*)
  # The first kill comes within 0.3 s of the fault: before or just after the spare's attach
  # is synced. vdev_fault's state is in the config (v23's "faulted"): the next zfsd finds d0
  # FAULTED and gives it the spare, or resumes the spare's resilver.
  "$ZINJECT" -d "$V/d0" -A fault tank >/dev/null
  sleep "0.$((RANDOM % 4))"
  spare_kill tank
  wait_status tank "spare-0"
  # Then kills at varied moments of the spare's resilver.
  for k in 1 2 3; do
    sleep "$((RANDOM % 2)).$((RANDOM % 10))"
    spare_kill tank || { echo "kill $k" >&2; false; }
    run status_devs tank
    [ "${lines[1]}" = "spare-0 DEGRADED" ] || { echo "kill $k: $output" >&2; false; }
    [ "${lines[2]}" = "$V/d0 FAULTED" ]
    [ "${lines[3]}" = "$V/d2 ONLINE" ]
  done
  zfsd_stop
  ZFSD_EXTRA_ARGS="--scrub-delay 5000 --txg-timeout 1" zfsd_start
  wait_resilvered tank
  [[ $(scan tank) == "resilvered "*" with 0 errors on "* ]]
  [[ $(status_config tank | grep -F "$V/d2" | tail -1) == *"INUSE     currently in use" ]]
  # The spare holds every block: d1 out, a fresh import reads it all from d2.
  reads_without tank "$V/d1" "$sums"
  # The original detached, killed at once or a moment later: either the detach is in the
  # synced config (d2 a pool disk) or not (the spare vdev still there, the detach repeated).
  "$ZPOOL" detach tank "$V/d0" &
  det=$!
  sleep "0.0$((RANDOM % 10))"
  spare_kill tank
  wait "$det" || true
  if [[ $(status_devs tank) == *spare-0* ]]; then "$ZPOOL" detach tank "$V/d0"; fi
  [ "$(status_devs tank)" = "mirror-0 ONLINE
$V/d2 ONLINE
$V/d1 ONLINE" ]
  "$ZPOOL" export tank
  fresh_import tank
  [ "$(status_devs tank)" = "mirror-0 ONLINE
$V/d2 ONLINE
$V/d1 ONLINE" ]
  [ "$(cd "$A/tank" && sha256sum f*)" = "$sums" ]
  judge tank
}

@test "a DEGRADED mirror side (zinject -A fault backs off: the other side is offline) gets the AVAIL spare too (zfs_retire.c replaces after zpool_vdev_degrade); the spare resilvers from it; zfs-fuse judges" {
  "$ZPOOL" create -m "$A/tank" tank mirror "$V/d0" "$V/d1" spare "$V/d2"
  files "$A/tank" 2
  "$ZPOOL" offline tank "$V/d1"
  files "$A/tank" 3
  "$ZPOOL" sync tank
  sums=$(cd "$A/tank" && sha256sum f*)
  spared tank "$V/d0"
  run status_devs tank
  [ "${lines[1]}" = "spare-0 DEGRADED" ]
  [ "${lines[2]}" = "$V/d0 DEGRADED" ]
  [ "${lines[3]}" = "$V/d2 ONLINE" ]
  [ "${lines[4]}" = "$V/d1 OFFLINE" ]
  [ "$("$ZPOOL" events -H tank | cut -f2 | grep -c 'sysevent.fs.zfs.vdev_spare')" = 1 ]
  # The spare alone (d0 and d1 out) holds every file.
  "$ZPOOL" detach tank "$V/d0"
  [ "$(status_devs tank)" = "mirror-0 DEGRADED
$V/d2 ONLINE
$V/d1 OFFLINE" ]
  "$ZPOOL" export tank
  fresh_import tank
  [ "$(cd "$A/tank" && sha256sum f*)" = "$sums" ]
  judge tank
}
