#!/usr/bin/env bats
# Crash: zfsd is SIGKILLed at random moments while a loop of property
# sets, exports and imports runs against three pools (single, mirror, raidz1). After every
# kill: zfsd restarts (re-importing from its cache file), every pool imports, our zdb -bcc
# finds no leak and no error, and every operation that returned success is on disk (an
# operation cut short may or may not have landed, both are allowed). Every 10 kills, and at
# the end, the pools are exported and zfs-fuse's zdb judges them.

load ../lib/pool_helpers
load ../lib/oracle

KILLS=${UZFS_CRASH_KILLS:-60}

setup() {
  V=$BATS_TEST_TMPDIR/vdevs
  LOG=$BATS_TEST_TMPDIR/ops.log
  STATE=$BATS_TEST_TMPDIR/zfsd
}

teardown() {
  zfsd_kill || true
  dead_mounts_clear  # the killed daemon's volume file system (state/zvol)
  oracle_stop 2>/dev/null || true
}

POOLS=(csingle cmirror craidz)

# The workload: random operations, each logged as "start POOL PROP VALUE" before and
# "ok POOL PROP VALUE" after success; exports/imports logged too.
workload() {
  local i pool prop val
  local props=(failmode autoreplace listsnapshots comment)
  for ((i = 0; ; i++)); do
    pool=${POOLS[RANDOM % 3]}
    case $((RANDOM % 6)) in
      5)
        echo "start export $pool" >>"$LOG"
        "$ZPOOL" export "$pool" >/dev/null 2>&1 && echo "ok export $pool" >>"$LOG"
        echo "start import $pool" >>"$LOG"
        "$ZPOOL" import -d "$V" "$pool" >/dev/null 2>&1 && echo "ok import $pool" >>"$LOG"
        ;;
      *)
        prop=${props[RANDOM % 4]}
        case $prop in
          failmode) val=$(shuf -n1 -e wait continue panic) ;;
          comment) val=c$RANDOM ;;
          *) val=$(shuf -n1 -e on off) ;;
        esac
        echo "start $pool $prop $val" >>"$LOG"
        "$ZPOOL" set "$prop=$val" "$pool" >/dev/null 2>&1 && echo "ok $pool $prop $val" >>"$LOG"
        ;;
    esac
  done
}

# allowed POOL PROP: the values PROP of POOL may have now — the last acknowledged one
# (or the default) and any value whose set was started after it.
allowed() {
  awk -v p="$1" -v k="$2" '
    $1 == "ok" && $2 == p && $3 == k { n = 0; acked = $4 }
    $1 == "start" && $2 == p && $3 == k { pend[n++] = $4 }
    END { print (acked == "" ? "DEFAULT" : acked); for (i = 0; i < n; i++) print pend[i] }
  ' "$LOG"
}

default_of() {
  case $1 in failmode) echo wait ;; comment) echo - ;; *) echo off ;; esac
}

check_pools() {
  local pool prop got ok
  for pool in "${POOLS[@]}"; do
    if ! "$ZPOOL" list -H -o name "$pool" >/dev/null 2>&1; then
      "$ZPOOL" import -d "$V" "$pool" || { echo "cannot import $pool after kill $1" >&2; return 1; }
    fi
    for prop in failmode autoreplace listsnapshots comment; do
      got=$("$ZPOOL" get -H -o value "$prop" "$pool")
      ok=0
      while read -r want; do
        [ "$want" = DEFAULT ] && want=$(default_of "$prop")
        [ "$got" = "$want" ] && ok=1
      done < <(allowed "$pool" "$prop")
      if [ $ok -ne 1 ]; then
        echo "kill $1: $pool $prop = $got, allowed: $(allowed "$pool" "$prop" | tr '\n' ' ')" >&2
        return 1
      fi
    done
  done
}

judge() {
  local pool
  for pool in "${POOLS[@]}"; do "$ZPOOL" export "$pool"; done
  zfsd_stop
  oracle_start
  for pool in "${POOLS[@]}"; do oracle_zdb_clean "$V" "$pool"; done
  oracle_stop
  zfsd_start "$STATE"
  for pool in "${POOLS[@]}"; do "$ZPOOL" import -d "$V" "$pool"; done
}

@test "crash: $KILLS SIGKILLs of zfsd during sets, exports and imports lose nothing" {
  mkvdevs "$V" 7
  : >"$LOG"
  zfsd_start "$STATE"
  "$ZPOOL" create csingle "$V/d0"
  "$ZPOOL" create cmirror mirror "$V/d1" "$V/d2"
  "$ZPOOL" create craidz raidz1 "$V/d3" "$V/d4" "$V/d5" "$V/d6"
  for ((k = 1; k <= KILLS; k++)); do
    workload &
    wl=$!
    sleep "0.$((RANDOM % 5))$((RANDOM % 10))"
    zfsd_kill
    kill "$wl" 2>/dev/null || true
    wait "$wl" 2>/dev/null || true
    # Every pool on disk is consistent at its last synced txg (our zdb; zfs-fuse's below).
    for pool in "${POOLS[@]}"; do
      run "$ZDB" -e -p "$V" -bcc "$pool"
      if [ "$status" -ne 0 ] || [[ "$output" != *"No leaks"* ]]; then
        echo "kill $k: zdb -bcc $pool:" >&2
        echo "$output" >&2
        return 1
      fi
    done
    zfsd_start "$STATE"
    check_pools "$k"
    if ((k % 10 == 0)); then judge; fi
  done
  judge
}
