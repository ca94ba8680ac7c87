#!/usr/bin/env bats
# zdb -i against zfs-fuse's zdb on an intent log zfs-fuse wrote: a pool made with zfs-fuse,
# files changed and fsync'ed through its mount (every kind of record zfs-fuse logs), the
# daemon SIGKILLed right after the last fsync so the records are still in the log (zfs-fuse
# syncs a txg every 30 s), then both zdbs read the files: the same output at every
# verbosity, records listed as expected, and the same end of the chain after damage.

load ../lib/zdb_helpers
load ../lib/oracle

setup() {
  require_zdb
  V=$BATS_TEST_TMPDIR/v
  ALT=$BATS_TEST_TMPDIR/alt
  mkdir -p "$V" "$ALT"
  truncate -s 128M "$V/d0"
}

teardown() {
  fusermount -u -z "$ALT/fs" 2>/dev/null || true
  fusermount -u -z "$ALT" 2>/dev/null || true
  oracle_stop 2>/dev/null || true
}

# oracle_restart: after the SIGKILL, a daemon again (zfs-fuse's zdb needs one), with the lock
# oracle_start took still held. The pool was made with cachefile=none: nothing is imported,
# so nothing replays the log.
oracle_restart() {
  local _
  for _ in $(seq 100); do zfsfuse_alive || break; sleep 0.1; done
  fusermount -u -z "$ALT/fs" 2>/dev/null || true
  fusermount -u -z "$ALT" 2>/dev/null || true
  # In the foreground (-n), in the background of the test: started as a daemon again so
  # soon after the SIGKILL, zfs-fuse exits with status 1.
  /usr/sbin/zfs-fuse -n --no-kstat-mount --enable-xattr >"$BATS_TEST_TMPDIR/zfs-fuse.log" 2>&1 &
  echo $! >"$ORACLE_PID"
  for _ in $(seq 100); do "$ZF_ZPOOL" list >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "zfs-fuse did not restart" >&2
  return 1
}

# same_zdb ARGS...: our zdb and zfs-fuse's print the same bytes (with FILTER set, the lines
# of both that match it).
same_zdb() {
  zdb_run -e -p "$V" "$@" zilp
  [ "$rc" -eq 0 ] || { cat "$err" >&2; return 1; }
  "$ZF_ZDB" -e -p "$V" "$@" zilp >"$BATS_TEST_TMPDIR/theirs" 2>&1
  diff <(grep -E "${FILTER:-}" "$BATS_TEST_TMPDIR/theirs") <(grep -E "${FILTER:-}" "$out") >&2
}

@test "zdb -i: the records of an intent log zfs-fuse wrote, as zfs-fuse's zdb lists them" {
  oracle_start
  "$ZF_ZPOOL" create -o cachefile=none -R "$ALT" zilp "$V/d0"
  "$ZF_ZFS" create zilp/fs
  # The first fsync creates the log and waits for a txg sync (zil_create): do it first, so
  # the workload's records all stay in the log.
  python3 - "$ALT/fs" "$(cat "$ORACLE_PID")" <<'PY'
import os, signal, sys
m, pid = sys.argv[1], int(sys.argv[2])
fd = os.open(m + '/warmup', os.O_CREAT | os.O_WRONLY, 0o644)
os.fsync(fd)
os.mkdir(m + '/dir')
os.mkdir(m + '/gone')
small = os.open(m + '/small', os.O_CREAT | os.O_WRONLY, 0o640)
os.write(small, b'hello intent log\n' * 10)
os.fsync(small)
big = os.open(m + '/dir/big', os.O_CREAT | os.O_WRONLY, 0o600)
os.write(big, os.urandom(200000))
os.fsync(big)
os.symlink('small', m + '/link')
os.link(m + '/small', m + '/hard')
os.rename(m + '/hard', m + '/dir/hard2')
os.ftruncate(small, 50)
os.fchmod(small, 0o600)
os.unlink(m + '/warmup')
os.rmdir(m + '/gone')
os.fsync(small)
os.kill(pid, signal.SIGKILL)
PY
  oracle_restart

  # The same output, byte for byte, at every level of detail (-ivvvvv: all write data).
  same_zdb -i
  grep -q '^    ZIL header: claim_txg 0, claim_blk_seq 0, claim_lr_seq 0 replay_seq 0, flags 0x0$' "$out"
  same_zdb -ivv
  same_zdb -ivvvv
  same_zdb -ivvvvv
  # -dd shows the logs too, between each dataset's line and its objects.
  FILTER=$'^(Dataset|    ZIL|\t)' same_zdb -dd
  grep -q '^		TX_RENAME ' "$out"

  # And what the workload logged is there (what zfs-fuse's zdb lists too, by the diffs).
  zdb_run -e -p "$V" -ivvvv zilp/fs
  [ "$rc" -eq 0 ]
  for t in MKDIR CREATE WRITE SYMLINK LINK RENAME TRUNCATE SETATTR REMOVE RMDIR; do
    grep -qE "^		TX_$t +len +[0-9]+, txg [0-9]+, seq [0-9]+$" "$out" || { echo "no TX_$t" >&2; false; }
  done
  grep -qx '			small' "$out"
  grep -qx '			link -> small' "$out"
  grep -qE '^			doid [0-9]+, link_obj [0-9]+, name hard$' "$out"
  grep -qx '			src hard tgt hard2' "$out"
  grep -qE '^			foid [0-9]+, offset 0x32, length 0x0$' "$out"
  grep -qx '			AT_MODE  100600' "$out"
  grep -qE '^			doid [0-9]+, name gone$' "$out"
  grep -qE '^			foid [0-9]+, offset 20000, length 10d40$' "$out"   # big's second block
  grep -qE '^	Block seqno [0-9]+, will claim, DVA\[0\]=<0:' "$out"
  # Record sequence numbers grow by one along the log.
  seqs=$(sed -n 's/^		TX_.*, seq \([0-9]*\)$/\1/p' "$out")
  [ "$(wc -l <<<"$seqs")" -ge 12 ]
  [ "$(awk 'NR > 1 && $1 != prev + 1 { bad = 1 } { prev = $1 } END { print bad + 0 }' <<<"$seqs")" = 0 ]
  # The copied write carries its bytes; the indirect one its block pointer.
  zdb_run -e -p "$V" -ivvvvv zilp/fs
  grep -q '^			h e l l o   i n t e n t   l o g  A' "$out"
  grep -q '^			has blkptr, will claim$' "$out"

  # Damage the second log block: both zdbs end the chain there.
  [ "$(grep -c '^	Block seqno' "$out")" -ge 3 ]
  blk=$(sed -n 's/^	Block seqno 2, .*DVA\[0\]=<0:\([0-9a-f]*\):.*/\1/p' "$out")
  [ -n "$blk" ]
  printf 'XXXXXXXX' | dd of="$V/d0" bs=1 seek=$((0x400000 + 0x$blk + 300)) conv=notrunc status=none
  same_zdb -ivvvv
  [ "$(grep -c '^	Block seqno' "$out")" -eq 2 ]
  oracle_stop
}
