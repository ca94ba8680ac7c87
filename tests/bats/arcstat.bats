#!/usr/bin/env bats
# arcstat's command line, positive and negative, and what it shows of zfsd's ARC: c_max from
# zfsd --arc-max and from arcstat --arc-max (root only, at least 64M), rows and their rates,
# OpenZFS's message for an unknown field, and hits when a file is read a second time through
# the FUSE mount. One private zfsd (--arc-max 128M) per test, its socket in a directory
# every user may enter.

load ../lib/zfsd_helpers

ARCSTAT=$UZFS_BUILD/cmd/arcstat/arcstat

setup() {
  [ -x "$ARCSTAT" ] || { echo "not built: $ARCSTAT (set UZFS_BUILD)" >&2; return 1; }
  require_binaries
  SOCKDIR=$(mktemp -d /tmp/uzfs-arcstat.XXXXXX)
  chmod 755 "$SOCKDIR"
  ZFSD_EXTRA_ARGS="--arc-max 128M" zfsd_start "$SOCKDIR"
}

teardown() {
  cd /
  zfsd_stop || true
  dead_mounts_clear
  rm -rf "$SOCKDIR"
}

# stat_of FIELD...: the exact values of the fields now, tab-separated.
stat_of() { "$ARCSTAT" -Hp -f "$(IFS=,; echo "$*")"; }

# make_pool: a file pool tank mounted under the test's directory; $M is its root.
make_pool() {
  mkvdevs "$BATS_TEST_TMPDIR/v" 1 512M
  "$ZPOOL" create -R "$BATS_TEST_TMPDIR/alt" tank "$BATS_TEST_TMPDIR/v/d0"
  M=$BATS_TEST_TMPDIR/alt/tank
  findmnt -n -t fuse.zfs "$M" >/dev/null
}

# read_cold FILE: reads FILE through the mount with the kernel's page cache dropped first,
# so every byte is asked of zfsd.
read_cold() {
  sync
  echo 3 >/proc/sys/vm/drop_caches
  cat "$1" >/dev/null
}

@test "arcstat: c_max is zfsd's --arc-max; the default row has the default fields" {
  zrun "$ARCSTAT" -p -f c_max
  expect_rc 0
  expect_stdout $'c_max\n134217728'
  expect_stderr ""
  zrun "$ARCSTAT" -f c_max,c_min
  expect_rc 0
  expect_stdout $'c_max  c_min\n 128M    16M'
  zrun "$ARCSTAT"
  expect_rc 0
  [ "$(head -1 "$out")" = "    time  read  hit%  miss  miss%  dhit%  mhit%  arcsz      c   mru   mfu  mapped  evict" ]
  [ "$(wc -l <"$out")" -eq 2 ]
  # One value per column, each as wide as its header.
  awk 'NR == 1 { w = length($0) } NR == 2 { exit !(NF == 13 && length($0) == w) }' "$out" ||
    { cat "$out" >&2; return 1; }
  [[ "$(sed -n 2p "$out")" =~ ^[0-9]{2}:[0-9]{2}:[0-9]{2}\  ]]
}

@test "arcstat: -H is tab-separated without a header; -p exact; -a every field of -v" {
  zrun "$ARCSTAT" -H -f c_max,c,arcsz
  expect_rc 0
  [[ "$(cat "$out")" =~ ^128M$'\t'[0-9.]+[KMG]?$'\t'[0-9.]+[KMG]?$ ]] || { cat "$out" >&2; return 1; }
  zrun "$ARCSTAT" -Hp -f c_max,c_min
  expect_stdout $'134217728\t16777216'
  # c never exceeds c_max, nor falls below c_min.
  read -r c cmin cmax < <(stat_of c c_min c_max)
  [ "$c" -le "$cmax" ] && [ "$c" -ge "$cmin" ]
  # -a prints exactly the fields -v lists, in its order.
  zrun "$ARCSTAT" -a -p
  expect_rc 0
  "$ARCSTAT" -v | sed -n 's/^ *\([^ ]*\) : .*/\1/p' | paste -sd' ' >"$BATS_TEST_TMPDIR/listed"
  [ "$(head -1 "$out" | tr -s ' ')" = "$(cat "$BATS_TEST_TMPDIR/listed")" ]
  # The file service's fields are "-" while it reports nothing.
  zrun "$ARCSTAT" -Hp -f maps,clients,mfault
  expect_rc 0
  [[ "$(cat "$out")" =~ ^([0-9]+|-)$'\t'([0-9]+|-)$'\t'([0-9.]+|-)$ ]]
}

@test "arcstat: -v lists every field with a description, each in the man page" {
  zrun "$ARCSTAT" -v
  expect_rc 0
  expect_stderr ""
  grep -q '^Field definitions are as follows:$' "$out"
  sed -n 's/^ *\([^ ]*\) : .*/\1/p' "$out" >"$BATS_TEST_TMPDIR/fields"
  [ "$(wc -l <"$BATS_TEST_TMPDIR/fields")" -ge 40 ]
  while read -r f; do
    grep -qxF ".It Sy $f" "$UZFS_ROOT/man/man1/arcstat.1" || { echo "arcstat.1 lacks field $f" >&2; return 1; }
  done <"$BATS_TEST_TMPDIR/fields"
  # And the page documents no field arcstat lacks.
  sed -n 's/^\.It Sy //p' "$UZFS_ROOT/man/man1/arcstat.1" | sort >"$BATS_TEST_TMPDIR/page"
  sort "$BATS_TEST_TMPDIR/fields" | diff - "$BATS_TEST_TMPDIR/page"
}

@test "arcstat --arc-max: sets c_max at run time, prints nothing" {
  zrun "$ARCSTAT" --arc-max 96M
  expect_rc 0
  expect_stdout ""
  expect_stderr ""
  zrun "$ARCSTAT" -p -f c_max
  expect_stdout $'c_max\n100663296'
  read -r c cmax < <(stat_of c c_max)
  [ "$c" -le "$cmax" ]
  "$ARCSTAT" --arc-max 1G
  [ "$(stat_of c_max)" = 1073741824 ]
  "$ARCSTAT" --arc-max 64M
  [ "$(stat_of c_max)" = 67108864 ]
}

@test "arcstat --arc-max: less than 64M, bad sizes, other options" {
  zrun "$ARCSTAT" --arc-max 32M
  expect_rc 1
  expect_stdout ""
  expect_stderr "cannot set 'arc_max': arc_max must be at least 64M"
  zrun "$ARCSTAT" --arc-max 67108863
  expect_rc 1
  expect_stderr "cannot set 'arc_max': arc_max must be at least 64M"
  [ "$(stat_of c_max)" = 134217728 ]
  zrun "$ARCSTAT" --arc-max lots
  expect_rc 2
  [ "$(head -1 "$err")" = "arcstat: bad numeric value 'lots'" ]
  zrun "$ARCSTAT" --arc-max 96M -p
  expect_rc 2
  [ "$(head -1 "$err")" = "arcstat: --arc-max takes no other option or operand" ]
  zrun "$ARCSTAT" --arc-max
  expect_rc 2
  [ "$(head -1 "$err")" = "arcstat: missing argument for 'arc-max' option" ]
  [ "$(stat_of c_max)" = 134217728 ]
}

@test "arcstat: any user reads the statistics; only root sets arc_max" {
  zrun as_nobody "$ARCSTAT" -p -f c_max
  expect_rc 0
  expect_stdout $'c_max\n134217728'
  zrun as_nobody "$ARCSTAT" --arc-max 96M
  expect_rc 1
  expect_stdout ""
  expect_stderr "cannot set 'arc_max': permission denied"
  [ "$(stat_of c_max)" = 134217728 ]
}

@test "arcstat: an unknown field is OpenZFS's error, exit 1" {
  zrun "$ARCSTAT" -f time,foo
  expect_rc 1
  expect_stdout ""
  expect_stderr "arcstat: Invalid column definition! -- foo"
  zrun "$ARCSTAT" -f foo,hits,bar 1 2
  expect_rc 1
  expect_stderr "arcstat: Invalid column definition! -- foo, bar"
  # Checked before the daemon is asked.
  UZFS_SOCKET=$BATS_TEST_TMPDIR/none.sock zrun "$ARCSTAT" -f foo
  expect_rc 1
  expect_stderr "arcstat: Invalid column definition! -- foo"
}

@test "arcstat: usage errors exit 2 with the usage" {
  for args in "-k" "-f" "0" "x" "1 y" "1 2 3" "-- -1"; do
    # shellcheck disable=SC2086
    zrun "$ARCSTAT" $args
    expect_rc 2
    [ "$(sed -n 2p "$err")" = "Usage: arcstat [-Hapv] [-f field[,field]...] [interval [count]]" ] ||
      { echo "for: arcstat $args" >&2; cat "$err" >&2; return 1; }
    expect_stdout ""
  done
  zrun "$ARCSTAT" -k
  [ "$(head -1 "$err")" = "arcstat: invalid option 'k'" ]
  zrun "$ARCSTAT" 0
  [ "$(head -1 "$err")" = "arcstat: invalid interval '0'" ]
  zrun "$ARCSTAT" 1 2 3
  [ "$(head -1 "$err")" = "arcstat: too many arguments" ]
}

@test "arcstat: an unreachable daemon is the other commands' error, exit 1" {
  export UZFS_SOCKET=$BATS_TEST_TMPDIR/none.sock
  zrun "$ARCSTAT"
  expect_rc 1
  expect_stdout ""
  expect_stderr "cannot connect to zfsd at $UZFS_SOCKET: No such file or directory"
  zrun "$ARCSTAT" --arc-max 96M
  expect_rc 1
  expect_stderr "cannot connect to zfsd at $UZFS_SOCKET: No such file or directory"
}

@test "arcstat INTERVAL COUNT: COUNT rows, INTERVAL seconds apart" {
  t0=$(date +%s%N)
  zrun "$ARCSTAT" -Hp -f time,read,hits,miss,c_max 1 3
  t1=$(date +%s%N)
  expect_rc 0
  expect_stderr ""
  [ "$(wc -l <"$out")" -eq 3 ]
  while IFS= read -r line; do
    [[ $line =~ ^[0-9]{2}:[0-9]{2}:[0-9]{2}$'\t'[0-9.]+$'\t'[0-9.]+$'\t'[0-9.]+$'\t'134217728$ ]] ||
      { echo "bad row: $line" >&2; return 1; }
  done <"$out"
  # Three rows: two intervals between them.
  [ $(((t1 - t0) / 1000000)) -ge 2000 ]
  [ $(((t1 - t0) / 1000000)) -lt 6000 ]
  # With the header: one header, then the rows.
  zrun "$ARCSTAT" -f time,c 1 2
  expect_rc 0
  [ "$(wc -l <"$out")" -eq 3 ]
  [ "$(head -1 "$out")" = "    time      c" ]
  # Nothing read in between: the rates of the later rows are 0.
  zrun "$ARCSTAT" -Hp -f read,evict 1 3
  [ "$(sed -n 2,3p "$out")" = $'0\t0\n0\t0' ]
}

@test "arcstat: a file read a second time is served by the ARC (hits, no misses)" {
  make_pool
  dd if=/dev/urandom of="$M/f" bs=1M count=4 status=none
  "$ZPOOL" sync tank
  read_cold "$M/f"
  read -r hits1 dhit1 dmis1 < <(stat_of hits dhit dmis)
  read_cold "$M/f"
  read -r hits2 dhit2 dmis2 < <(stat_of hits dhit dmis)
  echo "after the first read: hits $hits1 data hits $dhit1 misses $dmis1;" \
    "after the second: hits $hits2 data hits $dhit2 misses $dmis2" >&2
  [ "$hits2" -gt "$hits1" ]
  # 4 MiB of 128 KiB records: at least 32 data hits, and nothing read from disk again.
  [ $((dhit2 - dhit1)) -ge 32 ]
  [ "$dmis2" -eq "$dmis1" ]
  read -r size cmax < <(stat_of size c_max)
  [ "$size" -le "$cmax" ]
}

@test "arcstat: more data than c_max is read, the ARC stays within c_max and evicts" {
  "$ARCSTAT" --arc-max 64M
  make_pool
  dd if=/dev/urandom of="$M/big" bs=1M count=160 status=none
  "$ZPOOL" sync tank
  read_cold "$M/big"
  read_cold "$M/big"
  read -r size cmax evictions < <("$ARCSTAT" -Hp -f size,c_max,evict)
  echo "size $size c_max $cmax evictions $evictions" >&2
  [ "$cmax" -eq 67108864 ]
  [ "$size" -le "$cmax" ]
  [ "$evictions" -gt 0 ]
}
