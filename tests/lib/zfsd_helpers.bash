# Helpers for the zfsd and zpool Bats suites (load with: load ../lib/zfsd_helpers).
#
# Builds on pool_helpers (ZFSD, ZPOOL, zfsd_start/zfsd_stop/zfsd_kill: a private zfsd per
# test with its own socket and state directory) and zdb_helpers (refpool, same). Adds a
# runner that keeps stdout, stderr and the status apart, exact-output checks, and a place
# an unprivileged user can reach.

HELPERS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=pool_helpers.bash
source "$HELPERS_DIR/pool_helpers.bash"
# shellcheck source=zdb_helpers.bash
source "$HELPERS_DIR/zdb_helpers.bash"

# Fails (never skips) when a binary is missing: a missing binary is a broken build.
require_binaries() {
  local b
  for b in "$ZFSD" "$ZPOOL"; do
    [ -x "$b" ] || { echo "not built: $b (set UZFS_BUILD)" >&2; return 1; }
  done
}

# zrun CMD ARGS...: runs CMD, stdout in $out, stderr in $err (files), status in $rc; never
# fails. A status of 128 or more (a signal: a crash) is reported on stderr.
zrun() {
  out=$BATS_TEST_TMPDIR/out err=$BATS_TEST_TMPDIR/err
  rc=0
  "$@" >"$out" 2>"$err" </dev/null || rc=$?
  if [ "$rc" -ge 128 ]; then
    echo "$* died with status $rc (signal $((rc - 128)))" >&2
    cat "$err" >&2
  fi
}

# expect_rc N: after zrun, the status is N (shows both streams otherwise).
expect_rc() {
  if [ "$rc" -ne "$1" ]; then
    echo "want status $1, got $rc" >&2
    echo "--- stdout" >&2; cat "$out" >&2
    echo "--- stderr" >&2; cat "$err" >&2
    return 1
  fi
}

# expect_stdout TEXT / expect_stderr TEXT: after zrun, the stream is exactly TEXT (a final
# newline is implied; "" means empty). TEXT is usually a $'...' string or a heredoc's.
expect_stdout() { _expect_stream "$out" "$1" stdout; }
expect_stderr() { _expect_stream "$err" "$1" stderr; }
_expect_stream() {
  local want=$BATS_TEST_TMPDIR/want.$3
  if [ -z "$2" ]; then : >"$want"; else printf '%s\n' "$2" >"$want"; fi
  diff -u "$want" "$1" >&2 || { echo "($3 differs: - wanted, + got)" >&2; return 1; }
}

# zfsd_public_start: zfsd_start with its socket in a directory every user may enter
# (BATS_TEST_TMPDIR is private to root), for the tests run as nobody.
zfsd_public_start() {
  PUBLIC_DIR=$(mktemp -d /tmp/uzfs-bats.XXXXXX)
  chmod 755 "$PUBLIC_DIR"
  zfsd_start "$PUBLIC_DIR"
}

zfsd_public_cleanup() {
  [ -n "${PUBLIC_DIR:-}" ] && rm -rf "$PUBLIC_DIR"
  PUBLIC_DIR=
}

# as_nobody CMD ARGS...: runs CMD as nobody:nogroup without supplementary groups.
as_nobody() {
  setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
}

# zfsd_usage: the usage line zfsd --help prints (the first line).
zfsd_usage() { "$ZFSD" --help | head -1; }
