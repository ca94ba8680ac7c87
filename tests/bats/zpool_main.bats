#!/usr/bin/env bats
# zpool without a subcommand, or with one it does not know (zpool_main.c's main): the usage
# listing every subcommand, on stderr with exit 2 when it is an error, on stdout with exit 0
# when asked for.

load ../lib/zfsd_helpers

setup() {
  require_binaries
}

# The subcommands of the usage listing: the first word of each tab-indented line.
listed_subcommands() {
  sed -n 's/^\t\([a-z]*\).*/\1/p' "$1" | LC_ALL=C sort -u
}

@test "zpool --help: the usage listing on stdout, exit 0" {
  zrun "$ZPOOL" --help
  expect_rc 0
  expect_stderr ""
  [ "$(sed -n 1p "$out")" = "usage: zpool command args ..." ]
  [ "$(sed -n 2p "$out")" = "where 'command' is one of the following:" ]
  for sub in version import; do
    listed_subcommands "$out" | grep -qx "$sub" || { echo "$sub not listed" >&2; return 1; }
  done
}

@test "zpool: no subcommand is 'missing command', the usage on stderr, exit 2" {
  "$ZPOOL" --help >"$BATS_TEST_TMPDIR/help"
  zrun "$ZPOOL"
  expect_rc 2
  expect_stdout ""
  { echo "missing command"; cat "$BATS_TEST_TMPDIR/help"; } >"$BATS_TEST_TMPDIR/usage"
  same "$BATS_TEST_TMPDIR/usage" "$err"
}

@test "zpool: an unknown subcommand is 'unrecognized command', the usage on stderr, exit 2" {
  "$ZPOOL" --help >"$BATS_TEST_TMPDIR/help"
  zrun "$ZPOOL" frobnicate -x pool
  expect_rc 2
  expect_stdout ""
  { echo "unrecognized command 'frobnicate'"; cat "$BATS_TEST_TMPDIR/help"; } >"$BATS_TEST_TMPDIR/usage"
  same "$BATS_TEST_TMPDIR/usage" "$err"
}

@test "zpool: every listed subcommand answers --help with its own usage" {
  "$ZPOOL" --help >"$BATS_TEST_TMPDIR/help"
  for sub in $(listed_subcommands "$BATS_TEST_TMPDIR/help"); do
    zrun "$ZPOOL" "$sub" --help
    expect_rc 0
    grep -q "^Usage: zpool $sub" "$out" || { echo "zpool $sub --help:" >&2; cat "$out" >&2; return 1; }
  done
}
