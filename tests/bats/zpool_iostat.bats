#!/usr/bin/env bats
# zpool iostat: OpenZFS's layout (the two header rows, the pool row, -v's vdev rows with the
# classes under a row of dashes, -H, -p, -T), its usage errors, and figures that are right:
# a known amount written or read inside one interval shows as that many bytes per second
# over it, every side of a mirror is written what the mirror is, raidz columns add parity.

load ../lib/pool_helpers
load ../lib/oracle

setup() {
  V=$BATS_TEST_TMPDIR/v
  A=$BATS_TEST_TMPDIR/alt
  mkvdevs "$V" 4 256M
  ZFSD_EXTRA_ARGS="--txg-timeout 600" zfsd_start
}

teardown() {
  pool_suite_teardown
}

# field ROW N: the Nth tab-separated field of the -H row named ROW in $output (1: alloc ...
# 6: write bandwidth).
field() {
  awk -F'\t' -v r="$1" -v n="$2" '$1 == r { print $(n + 1); exit }' <<<"$output"
}

@test "zpool iostat: usage errors, unknown pools and no pools in OpenZFS's words" {
  expect 1 "no pools available" "$ZPOOL" iostat
  expect 1 "Unable to parse pools/vdevs list." "$ZPOOL" iostat nosuch
  run "$ZPOOL" iostat 0
  [ "$status" -eq 2 ]
  [[ $output == "interval cannot be zero"$'\n'"usage:"* ]]
  run "$ZPOOL" iostat -T x
  [ "$status" -eq 2 ]
  [[ $output == "usage:"$'\n'"	iostat [-T u|d] [-Hpvy] [pool] ... [interval [count]]"* ]]
  run "$ZPOOL" iostat -l
  [ "$status" -eq 2 ]
  [[ $output == "invalid option 'l'"* ]]
}

@test "zpool iostat: the header, the pool row and -v's vdev rows (data vdevs, then logs under a row of dashes) as OpenZFS lays them out" {
  "$ZPOOL" create -m "$A/tank" tank mirror "$V/d0" "$V/d1" log "$V/d2"
  run "$ZPOOL" iostat tank
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "              capacity     operations     bandwidth " ]
  [ "${lines[1]}" = "pool        alloc   free   read  write   read  write" ]
  [ "${lines[2]}" = "----------  -----  -----  -----  -----  -----  -----" ]
  re='^tank {8}( {1,6}[0-9.]+[KMGT]?){6}$'
  [[ ${lines[3]} =~ $re ]]
  [ "${#lines[@]}" -eq 4 ]

  run "$ZPOOL" iostat -v tank
  [ "$status" -eq 0 ]
  # The name column is as wide as the widest name with its indent ("    $V/d0").
  n=$((${#V} + 7))
  pad() { printf '%-*s' "$n" "$1"; }
  [ "${lines[1]}" = "$(pad pool)  alloc   free   read  write   read  write" ]
  [[ ${lines[3]} == "$(pad tank)  "* ]]
  [[ ${lines[4]} == "$(pad "  mirror-0")  "* ]]
  [[ ${lines[5]} == "$(pad "    $V/d0")      -      -  "* ]]
  [[ ${lines[6]} == "$(pad "    $V/d1")      -      -  "* ]]
  [ "${lines[7]}" = "$(pad logs)      -      -      -      -      -      -" ]
  [[ ${lines[8]} == "$(pad "  $V/d2")  "* ]]
  [ "${lines[9]}" = "$(printf '%*s' "$n" '' | tr ' ' -)  -----  -----  -----  -----  -----  -----" ]
  [ "${#lines[@]}" -eq 10 ]

  # -H: no headers, tabs; -p: exact numbers, '0' where a figure does not apply.
  run "$ZPOOL" iostat -Hpv tank
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 5 ]
  re=$'^tank(\t[0-9]+){6}$'
  [[ ${lines[0]} =~ $re ]]
  re="^$V/d0"$'\t0\t0(\t[0-9]+){4}$'
  [[ ${lines[2]} =~ $re ]]
  [[ ${lines[3]} == "$V/d1	0	0	"* ]]
  [[ ${lines[4]} == "$V/d2	"* ]]
  # The pool's capacity is zpool list's.
  [ "$(field tank 1)" = "$("$ZPOOL" list -Hp -o allocated tank)" ]
  [ "$(field tank 2)" = "$("$ZPOOL" list -Hp -o free tank)" ]
  # -T u: the seconds since the epoch before the report.
  run "$ZPOOL" iostat -T u -H tank
  [[ ${lines[0]} =~ ^[0-9]{10}$ ]]
  [ $((${lines[0]} - $(date +%s))) -le 1 ]
  [[ ${lines[1]} == "tank	"* ]]
  # Two pools: a separator after the last.
  "$ZPOOL" create -m "$A/two" two "$V/d3"
  run "$ZPOOL" iostat
  [[ ${lines[3]} == "tank "* ]] && [[ ${lines[4]} == "two "* ]]
  [ "${lines[5]}" = "----------  -----  -----  -----  -----  -----  -----" ]
}

@test "zpool iostat: 48 MiB written inside one interval show as 48 MiB over it, on the mirror and on each side; read back after an import, the same" {
  "$ZPOOL" create -m "$A/tank" -O compression=off tank mirror "$V/d0" "$V/d1"
  # One report of the 3 seconds after it starts (-y leaves out the average since import).
  "$ZPOOL" iostat -Hpvy tank 3 1 >"$BATS_TEST_TMPDIR/w" &
  pid=$!
  sleep 0.5
  head -c 48M /dev/urandom >"$A/tank/f"
  "$ZPOOL" sync tank
  wait "$pid"
  output=$(cat "$BATS_TEST_TMPDIR/w")
  echo "$output"
  mb=$((1 << 20))
  # bytes/s over ~3 s: between 48 MiB (the data) and 56 MiB (with the metadata).
  top=$(($(field mirror-0 6) * 3))
  [ "$top" -ge $((46 * mb)) ] && [ "$top" -le $((60 * mb)) ]
  [ "$(field "$V/d0" 6)" = "$(field mirror-0 6)" ]
  [ "$(field "$V/d1" 6)" = "$(field mirror-0 6)" ]
  [ "$(field "$V/d0" 4)" = "$(field mirror-0 4)" ]
  [ "$(field tank 6)" = "$(field mirror-0 6)" ]
  [ "$(field tank 3)" -eq 0 ] || [ "$(field tank 5)" -lt $((1 * mb)) ]

  # After an import nothing is cached: reading the file reads 48 MiB from the mirror, each
  # block from one side only.
  "$ZPOOL" export tank
  "$ZPOOL" import -d "$V" tank
  "$ZPOOL" iostat -Hpvy tank 3 1 >"$BATS_TEST_TMPDIR/r" &
  pid=$!
  sleep 0.5
  cat "$A/tank/f" >/dev/null
  wait "$pid"
  output=$(cat "$BATS_TEST_TMPDIR/r")
  echo "$output"
  top=$(($(field mirror-0 5) * 3))
  [ "$top" -ge $((46 * mb)) ] && [ "$top" -le $((56 * mb)) ]
  sides=$(($(field "$V/d0" 5) + $(field "$V/d1" 5)))
  [ "$sides" = "$(field mirror-0 5)" ]
  [ "$(field mirror-0 6)" -lt $((1 * mb)) ]
}

@test "zpool iostat: a raidz1 of three writes a third more to its columns than the blocks hold; -y with a count gives that many reports" {
  "$ZPOOL" create -m "$A/tank" -O compression=off tank raidz1 "$V/d0" "$V/d1" "$V/d2"
  "$ZPOOL" iostat -Hpvy tank 3 1 >"$BATS_TEST_TMPDIR/w" &
  pid=$!
  sleep 0.5
  head -c 32M /dev/urandom >"$A/tank/f"
  "$ZPOOL" sync tank
  wait "$pid"
  output=$(cat "$BATS_TEST_TMPDIR/w")
  echo "$output"
  top=$(field raidz1-0 6)
  cols=$(($(field "$V/d0" 6) + $(field "$V/d1" 6) + $(field "$V/d2" 6)))
  # 128K records over 2 data columns and 1 parity: the columns get 3/2 of the data.
  [ "$cols" -ge $((top * 3 / 2 - top / 20)) ] && [ "$cols" -le $((top * 3 / 2 + top / 20)) ]
  run "$ZPOOL" iostat -Hy tank 0.2 3
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 3 ]
  run "$ZPOOL" iostat -H tank 0.2 2
  [ "${#lines[@]}" -eq 2 ]
}
