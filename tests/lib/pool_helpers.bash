# Helpers for the pool Bats suites (load with: load ../lib/pool_helpers): a private zfsd per
# test (its own socket and state directory under BATS_TEST_TMPDIR), sparse file vdevs.
# Our binaries are called by full path ($ZPOOL, $ZFSD, $ZDB); zfs-fuse's by /usr/sbin/...

UZFS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
UZFS_BUILD=${UZFS_BUILD:-$UZFS_ROOT/build}
ZPOOL=$UZFS_BUILD/cmd/zpool/zpool
ZFSD=$UZFS_BUILD/daemon/zfsd
ZDB=$UZFS_BUILD/cmd/zdb/zdb
ZFS=$UZFS_BUILD/cmd/zfs/zfs
export UZFS_ROOT UZFS_BUILD ZPOOL ZFSD ZDB ZFS

# zfsd_start [DIR]: starts zfsd in the foreground (background job) with DIR/sock and
# DIR/state, exports UZFS_SOCKET, waits until it answers. $ZFSD_EXTRA_ARGS (words) are added
# to its command line (e.g. "--arc-max 128M").
zfsd_start() {
  local dir=${1:-$BATS_TEST_TMPDIR/zfsd}
  # A second daemon would leave the first running, unseen by zfsd_stop and teardown.
  if [ -n "${ZFSD_PID:-}" ] && kill -0 "$ZFSD_PID" 2>/dev/null; then
    echo "zfsd_start: this test's zfsd (pid $ZFSD_PID) still runs; zfsd_stop or zfsd_kill first" >&2
    return 1
  fi
  mkdir -p "$dir/state"
  export UZFS_SOCKET=$dir/sock
  ZFSD_DIR=$dir
  # shellcheck disable=SC2086
  "$ZFSD" --foreground --socket "$UZFS_SOCKET" --state-dir "$dir/state" --log-level warn \
    ${ZFSD_EXTRA_ARGS:-} 2>>"$dir/zfsd.log" &
  ZFSD_PID=$!
  local _
  for _ in $(seq 100); do
    "$ZPOOL" version >/dev/null 2>&1 && return 0
    kill -0 "$ZFSD_PID" 2>/dev/null || { cat "$dir/zfsd.log" >&2; return 1; }
    sleep 0.05
  done
  echo "zfsd did not answer on $UZFS_SOCKET" >&2
  return 1
}

# zfsd_stop: SIGTERM (sync, release every pool), waits for the exit status (must be 0).
zfsd_stop() {
  [ -n "${ZFSD_PID:-}" ] || return 0
  kill -TERM "$ZFSD_PID" 2>/dev/null || true
  local rc=0
  wait "$ZFSD_PID" || rc=$?
  ZFSD_PID=
  return $rc
}

# zfsd_kill: SIGKILL, as a crash. The FUSE mounts it served stay behind, dead (every access
# fails with ENOTCONN): they are detached, deepest first (the list is asked of the daemon
# before the kill, so other daemons' mounts are left alone).
zfsd_kill() {
  [ -n "${ZFSD_PID:-}" ] || return 0
  local mounts
  mounts=$("$UZFS_BUILD/cmd/zfs/zfs" mount 2>/dev/null | awk '{ print $2 }' | sort -r)
  kill -KILL "$ZFSD_PID" 2>/dev/null || true
  wait "$ZFSD_PID" 2>/dev/null || true
  ZFSD_PID=
  local m
  for m in $mounts; do umount -l "$m" 2>/dev/null || true; done
}

# dead_mounts_clear: detaches dead FUSE mounts of type fuse.zfs, and zfsd's volume file
# system (fuse.uzfs-zvol), under this test's directory (teardown's safety net after a daemon
# died on its own).
dead_mounts_clear() {
  local m
  findmnt -rn -t fuse.zfs,fuse.uzfs-zvol -o TARGET 2>/dev/null | sort -r | while read -r m; do
    m=$(printf '%b' "$m")
    case $m in "$BATS_TEST_TMPDIR"/*) umount -l "$m" 2>/dev/null || true ;; esac
  done
}

# expect CODE TEXT CMD...: runs CMD, checks the exit code and the whole output (stdout+stderr).
expect() {  # (a Bats helper: uses run)
  local code=$1 text=$2
  shift 2
  run "$@"
  if [ "$status" -ne "$code" ] || [ "$output" != "$text" ]; then
    echo "command: $*" >&2
    echo "exit $status (want $code), output:" >&2
    echo "$output" >&2
    echo "want:" >&2
    echo "$text" >&2
    return 1
  fi
}

# mkvdevs DIR COUNT [SIZE]: sparse files DIR/d0..d{COUNT-1} (default 128M).
mkvdevs() {
  local dir=$1 n=$2 size=${3:-128M} i
  mkdir -p "$dir"
  for ((i = 0; i < n; i++)); do truncate -s "$size" "$dir/d$i"; done
}

# crash_loop VDEVDIR POOL FS SPREAD [WRITER_ARGS...] (needs ../lib/oracle): UZFS_CRASH_KILLS
# (default 30) times, tests/lib/crash_writer.py writes under mountpoint of FS (with
# WRITER_ARGS) while zfsd is SIGKILLed after 0.3 s plus up to SPREAD hundredths; after each
# kill zfs-fuse's zdb -bcc must be clean, zfsd must mount FS again from its cache file, and
# the writer's --check must find every acknowledged version.
crash_loop() {
  local vdevs=$1 pool=$2 fs=$3 spread=$4 k wpid mp
  shift 4
  local writer=$UZFS_ROOT/tests/lib/crash_writer.py log=$BATS_TEST_TMPDIR/durable.log
  mp=$("$ZFS" get -H -o value mountpoint "$fs")
  for k in $(seq "${UZFS_CRASH_KILLS:-30}"); do
    python3 "$writer" "$mp" "$log" "$@" &
    wpid=$!
    sleep "$(awk -v r=$RANDOM -v s="$spread" 'BEGIN { printf "%.2f", 0.3 + (r % s) / 100 }')"
    zfsd_kill
    wait "$wpid" || true
    oracle_start
    oracle_zdb_clean "$vdevs" "$pool" || { echo "after kill $k" >&2; return 1; }
    oracle_stop
    zfsd_start
    run "$ZFS" get -H -o value mounted "$fs"
    [ "$output" = yes ] || { echo "kill $k: $fs not mounted: $output" >&2; cat "$ZFSD_DIR/zfsd.log" >&2; return 1; }
    run python3 "$writer" "$mp" "$log" --check
    [ "$status" -eq 0 ] || { echo "kill $k: $output" >&2; return 1; }
  done
}

# fsync_files DIR TAG N: N files of 6000 bytes, TAG0..TAG(N-1), each written and
# fsync'ed on its own (the log suites' workload).
fsync_files() {
  python3 - "$1" "$2" "$3" <<'PY'
import os, sys
d, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(n):
    fd = os.open("%s/%s%d" % (d, tag, i), os.O_CREAT | os.O_WRONLY, 0o644)
    os.write(fd, (tag * 6000)[:6000].encode())
    os.fsync(fd)
    os.close(fd)
PY
}

# ---- The scrub, resilver and attach suites' helpers (with ../lib/oracle for judge) ----

# pool_vdevs_setup: V (four 128M file vdevs d0..d3), A (a directory for mountpoints) and a
# zfsd of the test's own.
pool_vdevs_setup() {
  V=$BATS_TEST_TMPDIR/v
  A=$BATS_TEST_TMPDIR/alt
  mkdir -p "$V"
  mkvdevs "$V" 4
  zfsd_start
}

# row POOL DEV: DEV's row of zpool status, blanks squeezed ("/v/d0 ONLINE 0 0 3").
row() {
  "$ZPOOL" status "$1" | awk -v d="$2" '$1 == d { $1 = $1; print }'
}

# scan POOL: the text after "scan: " (and its continuation lines), one line.
scan() {
  "$ZPOOL" status "$1" | awk '/^  scan: / { sub(/^  scan: /, ""); s = $0; on = 1; next }
                              on && /^\t/ { s = s " " substr($0, 2); next } { on = 0 }
                              END { print s }'
}

# wait_resilvered POOL: until zpool status says the resilver ended (60 s at most), then a
# sync (the one that empties the DTLs: vdev_dtl_reassess).
wait_resilvered() {
  for _ in $(seq 300); do
    [[ $(scan "$1") == "resilvered "* ]] && { "$ZPOOL" sync "$1"; return 0; }
    sleep 0.2
  done
  return 1
}

# scan_place POOL: where the scrub or resilver will go on, "OBJSET OBJECT BLKID", from the
# MOS's scrub_bookmark (objset object level blkid; the walk pauses at level-0 blocks only),
# read by our zdb from the devices in $V (with zfsd dead). A pause at a block of an objset's
# dnode array (object 0) is before the objects that block holds (32 to a 16K block).
scan_place() {
  "$ZDB" -e -p "$V" -dddd "$1" 1 | awk '$1 == "scrub_bookmark" {
    if ($4 == 0) print $3, $6 * 32, 0; else print $3, $4, $6; exit }'
}

# scan_kills POOL KIND N: N times, 1-3 s apart, SIGKILLs zfsd while POOL's KIND (scrub or
# resilver) is in progress and starts it again (with ZFSD_EXTRA_ARGS). Each time the walk's
# place must only have moved on: forward within an objset, and never back to the MOS (objset
# 0), where a walk started over would be. It must have moved at least N/3 times (a zfsd
# killed soon after its import may not have synced a step yet).
scan_kills() {
  local pool=$1 kind=$2 n=$3 i at prev="0 0 0" moved=0 po pobj pblk ao aobj ablk
  for i in $(seq "$n"); do
    sleep "$((1 + RANDOM % 2)).$((RANDOM % 10))"
    [[ $(scan "$pool") == "$kind in progress since "* ]] || { echo "kill $i: $(scan "$pool")"; return 1; }
    zfsd_kill
    at=$(scan_place "$pool")
    read -r po pobj pblk <<<"$prev"
    read -r ao aobj ablk <<<"$at"
    if [ "$ao" = "$po" ]; then
      [ "$aobj" -gt "$pobj" ] || { [ "$aobj" = "$pobj" ] && [ "$ablk" -ge "$pblk" ]; } ||
        { echo "kill $i: at $at after $prev"; return 1; }
    else
      [ "$ao" != 0 ] || { echo "kill $i: at $at after $prev"; return 1; }
    fi
    [ "$at" != "$prev" ] && moved=$((moved + 1))
    prev=$at
    zfsd_start || return 1
  done
  [ "$moved" -ge $((n / 3)) ] || { echo "the $kind's place moved $moved times in $n kills"; return 1; }
}

# xattr_set FILE NAME VALUE: sets a user extended attribute (setfattr is not installed).
xattr_set() { python3 -c "import os,sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode())" "$@"; }

# dev_of POOL/VOL: the block device zfsd exposes for a volume (waits for its link).
dev_of() {
  local _
  for _ in $(seq 50); do [ -b "/dev/zvol/$1" ] && break; sleep 0.1; done
  readlink -f "/dev/zvol/$1"
}

# flip_byte FILE OFFSET: inverts the byte at OFFSET (writing a fixed value would leave the
# file as it was when that byte already held it).
flip_byte() {
  python3 -c "import sys
with open(sys.argv[1], 'r+b') as f:
    f.seek(int(sys.argv[2])); b = f.read(1)[0]; f.seek(int(sys.argv[2])); f.write(bytes([b ^ 0xff]))" "$@"
}

# bytes SIZE: zfs_nicebytes' text ("12.5M", "512B") as bytes.
bytes() {
  numfmt --from=iec "${1%B}"
}

# fresh_import POOL: a new zfsd (nothing of the pool cached) imports POOL from $V (the old
# one stopped with SIGTERM: the pool is left imported, as after a reboot).
fresh_import() {
  zfsd_stop
  zfsd_start
  "$ZPOOL" import -d "$V" "$1"
}

# reads_without POOL DEV SUMS: with DEV offline, a fresh zfsd's import of POOL reads every
# $A/POOL/f* with the sha256sum lines SUMS (the other sides hold every block); DEV is then
# brought back and resilvered.
reads_without() {
  "$ZPOOL" offline "$1" "$2"
  "$ZPOOL" export "$1"
  fresh_import "$1"
  [ "$(cd "$A/$1" && sha256sum f*)" = "$3" ]
  "$ZPOOL" online "$1" "$2"
  wait_resilvered "$1"
}

# judge POOL: POOL exported, zfs-fuse's zdb -bcc must find it clean.
judge() {
  "$ZPOOL" export "$1"
  oracle_start
  oracle_zdb_clean "$V" "$1"
  oracle_stop
}

# status_config POOL: zpool status's config block (from the NAME line to the blank line).
status_config() {
  "$ZPOOL" status "$1" | awk '/^\tNAME/ { on = 1 } on && NF == 0 { exit } on { print }'
}

# status_devs POOL: "name state" of every row of the config block but the header and the pool.
status_devs() {
  status_config "$1" | awk 'NR > 2 { print (NF > 1 ? $1 " " $2 : $1) }'
}

# wait_status POOL TEXT: until zpool status shows TEXT (30 s at most).
wait_status() {
  for _ in $(seq 150); do
    [[ $("$ZPOOL" status "$1") == *"$2"* ]] && return 0
    sleep 0.2
  done
  "$ZPOOL" status "$1" >&2
  return 1
}

# send_suite_setup N: the send/receive suites' setup: N vdev files of 256M in $V, the
# altroots $ALT (ours) and $ZALT (zfs-fuse's), the stream directory $S, and zfsd started.
send_suite_setup() {
  V=$BATS_TEST_TMPDIR/v
  ALT=$BATS_TEST_TMPDIR/alt
  ZALT=$BATS_TEST_TMPDIR/zalt
  S=$BATS_TEST_TMPDIR/streams
  mkdir -p "$S"
  mkvdevs "$V" "$1" 256M
  zfsd_start
}
