#!/usr/bin/env bats
# Self-healing beside the other suites' cases: damage made with dd while the pool is
# imported (zpool_scrub.bats damages exported pools), pools zfs-fuse scrubbed and
# resilvered continuing with uzfs and the reverse, and a device of a mirror and of a raidz1
# replaced while files are being written. zfs-fuse judges every pool.

load ../lib/pool_helpers
load ../lib/oracle
load ../lib/damage

setup() {
  pool_vdevs_setup
  truncate -s 128M "$V/e0" "$V/e1"
}

teardown() {
  pool_suite_teardown
}

# zf_wait POOL WORDS: until zfs-fuse's zpool status says WORDS (30 s at most).
zf_wait() {
  for _ in $(seq 150); do
    "$ZF_ZPOOL" status "$1" | grep -q "$2" && return 0
    sleep 0.2
  done
  "$ZF_ZPOOL" status "$1" >&2
  return 1
}

@test "live damage: blocks of a mirror side and of a raidz1 member overwritten with dd while the pool is imported are all found by a scrub, counted exactly per device and repaired; zfs-fuse's zdb is clean" {
  for layout in "mirror d1" "raidz1 d2"; do
    read -r kind bad <<<"$layout"
    if [ "$kind" = mirror ]; then
      "$ZPOOL" create -m "$A/tank" tank mirror "$V/d0" "$V/d1"
    else
      "$ZPOOL" create -m "$A/tank" tank raidz1 "$V/d0" "$V/d1" "$V/d2"
    fi
    for i in 1 2; do head -c 1M /dev/urandom >"$A/tank/f$i"; done
    sha=$(cat "$A"/tank/f* | sha256sum)
    obj=$(stat -c %i "$A/tank/f2")
    "$ZPOOL" export tank
    mapfile -t ext < <(extents tank "$obj")
    [ "${#ext[@]}" -eq 8 ]
    "$ZPOOL" import -d "$V" tank
    # Imported and running: four of f2's blocks damaged on one device behind its back.
    for i in 1 3 4 6; do
      read -r off size <<<"${ext[$i]}"
      if [ "$kind" = mirror ]; then smash "$V/$bad" "$off" "$size"; else smash_raidz "$V/$bad" 3 "$off"; fi
    done
    sync
    "$ZPOOL" scrub -w tank
    [[ $(scan tank) == "scrub repaired "*" with 0 errors on "* ]]
    [[ $(scan tank) != "scrub repaired 0B "* ]]
    [ "$(row tank "$V/$bad")" = "$V/$bad ONLINE 0 0 4" ]
    [ "$(row tank "$V/d0")" = "$V/d0 ONLINE 0 0 0" ]
    [ "$(cat "$A"/tank/f* | sha256sum)" = "$sha" ]
    "$ZPOOL" clear tank
    "$ZPOOL" scrub -w tank
    [[ $(scan tank) == "scrub repaired 0B in "*" with 0 errors on "* ]]
    judge tank
    "$ZPOOL" import -d "$V" tank
    "$ZPOOL" destroy tank
  done
}

@test "interop: a pool zfs-fuse scrubbed (repairing damage) and resilvered imports and continues with uzfs; one uzfs resilvered continues in zfs-fuse, whose scrub finds nothing to repair" {
  "$ZPOOL" create -m "$A/tank" tank mirror "$V/d0" "$V/d1"
  for i in 1 2 3; do head -c 1M /dev/urandom >"$A/tank/f$i"; done
  obj=$(stat -c %i "$A/tank/f2")
  "$ZPOOL" export tank
  mapfile -t ext < <(extents tank "$obj")
  for i in 0 5; do
    read -r off size <<<"${ext[$i]}"
    smash "$V/d1" "$off" "$size"
  done
  oracle_start
  Z=$BATS_TEST_TMPDIR/zf
  "$ZF_ZPOOL" import -d "$V" -R "$Z" tank
  "$ZF_ZPOOL" scrub tank
  zf_wait tank "scrub completed"
  run "$ZF_ZPOOL" status tank
  [[ $output == *"scrub: scrub completed after "*" with 0 errors on "* ]]
  # zfs-fuse resilvers d0 after an offline that missed a file.
  "$ZF_ZPOOL" offline tank "$V/d0"
  head -c 1M /dev/urandom >"$Z$A/tank/z1"
  "$ZF_ZPOOL" online tank "$V/d0"
  zf_wait tank "resilver completed"
  sums=$(cd "$Z$A/tank" && sha256sum f* z1)
  "$ZF_ZPOOL" export tank
  oracle_stop
  # zfs-fuse's scrub rewrote the damaged blocks: both sides hold the same bytes there.
  for i in 0 5; do
    read -r off size <<<"${ext[$i]}"
    cmp <(dd if="$V/d0" bs=512 skip=$(((0x$off + 4194304) / 512)) count=$((0x$size / 512)) 2>/dev/null) \
        <(dd if="$V/d1" bs=512 skip=$(((0x$off + 4194304) / 512)) count=$((0x$size / 512)) 2>/dev/null)
  done
  "$ZPOOL" import -d "$V" tank
  [ "$(cd "$A/tank" && sha256sum f* z1)" = "$sums" ]
  "$ZPOOL" scrub -w tank
  [[ $(scan tank) == "scrub repaired 0B in "*" with 0 errors on "* ]]
  [ "$(row tank "$V/d0")" = "$V/d0 ONLINE 0 0 0" ]
  [ "$(row tank "$V/d1")" = "$V/d1 ONLINE 0 0 0" ]
  # Ours: d1 misses a file, online resilvers it; zfs-fuse takes the pool on.
  "$ZPOOL" offline tank "$V/d1"
  head -c 1M /dev/urandom >"$A/tank/u1"
  "$ZPOOL" online tank "$V/d1"
  wait_resilvered tank
  sums=$(cd "$A/tank" && sha256sum f* u1 z1)
  "$ZPOOL" export tank
  oracle_start
  "$ZF_ZPOOL" import -d "$V" -R "$Z" tank
  [ "$(cd "$Z$A/tank" && sha256sum f* u1 z1)" = "$sums" ]
  # d0 out: d1 alone must hold u1.
  "$ZF_ZPOOL" offline tank "$V/d0"
  "$ZF_ZPOOL" scrub tank
  zf_wait tank "scrub completed"
  run "$ZF_ZPOOL" status tank
  [[ $output == *"scrub completed after "*" with 0 errors on "* ]]
  [[ $output =~ "$V/d1"[[:space:]]+ONLINE[[:space:]]+0[[:space:]]+0[[:space:]]+0 ]]
  "$ZF_ZPOOL" online tank "$V/d0"
  zf_wait tank "resilver completed"
  "$ZF_ZPOOL" export tank
  oracle_zdb_clean "$V" tank
  oracle_stop
}

@test "replace a mirror side and a raidz1 member while files are written: the resilver completes, the old device leaves, every file written before and during reads back by sha256; zfs-fuse's zdb is clean" {
  S=$BATS_TEST_TMPDIR/src
  mkdir -p "$S"
  for i in $(seq 16); do head -c 512K /dev/urandom >"$S/w$i"; done
  for kind in mirror raidz1; do
    # Each layout's devices in a directory of their own, for zdb -e to find one pool.
    V=$BATS_TEST_TMPDIR/$kind
    old=d1 new=e0
    mkdir -p "$V"
    truncate -s 128M "$V/d0" "$V/d1" "$V/d2" "$V/e0"
    if [ "$kind" = mirror ]; then
      "$ZPOOL" create -m "$A/tank" tank mirror "$V/d0" "$V/d1"
    else
      "$ZPOOL" create -m "$A/tank" tank raidz1 "$V/d0" "$V/d1" "$V/d2"
    fi
    for i in 1 2 3 4; do head -c 1M /dev/urandom >"$A/tank/f$i"; done
    before=$(cd "$A/tank" && sha256sum f*)
    (for i in $(seq 16); do cp "$S/w$i" "$A/tank/w$i"; sleep 0.1; done) &
    writer=$!
    sleep 0.3
    "$ZPOOL" replace tank "$V/$old" "$V/$new"
    wait "$writer"
    wait_resilvered tank
    for _ in $(seq 150); do [ -z "$(row tank "$V/$old")" ] && break; sleep 0.2; done
    [ -z "$(row tank "$V/$old")" ]
    [ "$(row tank "$V/$new")" = "$V/$new ONLINE 0 0 0" ]
    [ "$(cd "$A/tank" && sha256sum f*)" = "$before" ]
    for i in $(seq 16); do cmp "$S/w$i" "$A/tank/w$i"; done
    # The new device holds its share: d0 out, a fresh import reads every file whole.
    "$ZPOOL" offline tank "$V/d0"
    "$ZPOOL" export tank
    fresh_import tank
    [ "$(cd "$A/tank" && sha256sum f*)" = "$before" ]
    for i in $(seq 16); do cmp "$S/w$i" "$A/tank/w$i"; done
    "$ZPOOL" online tank "$V/d0"
    wait_resilvered tank
    judge tank
    "$ZPOOL" import -d "$V" tank
    "$ZPOOL" destroy tank
  done
}
