#!/usr/bin/env bash
# Benchmark, not a test: the scrub of one pool of large files (a file vdev in DIR), by uzfs
# and by zfs-fuse in one run, against the raw sequential read of the same vdev file; and a
# cold sequential read through the uzfs mount alone and beside a uzfs scrub. Prints each
# figure and the ratios; it never fails on a figure.
#
#   bench/scrub_bench.sh [DIR]    DIR: where the vdev file goes (default /var/tmp)
# Environment: SIZE (data written, in MiB, default 1024), UZFS_BUILD (default build/; zfsd
# and zpool are built there first, unless NO_BUILD=1). Run as root.
# Targets (issue "Self-healing"): scrub rate >= 0.7x the raw sequential read of the vdevs;
# foreground read during a scrub >= 0.5x the same read without one.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
B=${UZFS_BUILD:-$root/build}
# shellcheck source=tests/lib/zfsfuse.sh
source "$root/tests/lib/zfsfuse.sh"
if [ "${NO_BUILD:-0}" != 1 ]; then
  cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$B" --target zfsd zpool >/dev/null
fi
SIZE=${SIZE:-1024}
ZP=$B/cmd/zpool/zpool
base=$(mktemp -d "${1:-/var/tmp}/uzfs-scrub.XXXXXX")
export UZFS_SOCKET=$base/zfsd.sock
zfsd_pid= zf_pid=$base/zfs-fuse.pid
cleanup() {
  set +e
  [ -n "$zfsd_pid" ] && { "$ZP" export sbench 2>/dev/null; kill "$zfsd_pid"; wait "$zfsd_pid"; }
  [ -f "$zf_pid" ] && zfsfuse_stop "$zf_pid"
  rm -rf "$base"
}
trap cleanup EXIT
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
now() { date +%s.%N; }
mbps() { awk -v b="$1" -v t="$2" 'BEGIN { printf "%.1f", b / 1048576 / t }'; }

truncate -s $((SIZE * 2 + 512))M "$base/v0"
"$B/daemon/zfsd" --foreground --socket "$UZFS_SOCKET" --state-dir "$base/state" --log-level warn 2>"$base/zfsd.log" &
zfsd_pid=$!
for _ in $(seq 100); do "$ZP" version >/dev/null 2>&1 && break; sleep 0.05; done
"$ZP" create -m "$base/mnt" sbench "$base/v0"
for i in $(seq $((SIZE / 64))); do head -c 64M /dev/urandom >"$base/mnt/f$i"; done
"$ZP" export sbench
alloc=$(du -B1 "$base/v0" | awk '{ print $1 }')

# Raw: the vdev file read sequentially, as much of it as is allocated, cold.
drop
t0=$(now)
dd if="$base/v0" of=/dev/null bs=1M count=$((alloc / 1048576)) iflag=direct 2>/dev/null
raw=$(mbps "$alloc" "$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')")

# uzfs: the scrub of the imported pool, cold; the scanned bytes over its time.
drop
"$ZP" import -d "$base" sbench
t0=$(now)
"$ZP" scrub -w sbench
t=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')
used=$("$ZP" list -Hp -o allocated sbench)
uz=$(mbps "$used" "$t")

# Foreground: a cold sequential read of one file, alone and beside a scrub.
"$ZP" export sbench
drop
"$ZP" import -d "$base" sbench
t0=$(now)
cat "$base/mnt/f1" "$base/mnt/f2" >/dev/null
fg_alone=$(mbps $((128 << 20)) "$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')")
"$ZP" export sbench
drop
"$ZP" import -d "$base" sbench
"$ZP" scrub sbench
sleep 1
t0=$(now)
cat "$base/mnt/f3" "$base/mnt/f4" >/dev/null
fg_scrub=$(mbps $((128 << 20)) "$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')")
"$ZP" scrub -s sbench 2>/dev/null || true
"$ZP" export sbench
kill "$zfsd_pid"
wait "$zfsd_pid" || true
zfsd_pid=

# zfs-fuse: the same pool, imported cold and scrubbed; its status says when it is done.
drop
zfsfuse_lock
zfsfuse_start "$zf_pid"
/usr/sbin/zpool import -d "$base" sbench
t0=$(now)
/usr/sbin/zpool scrub sbench
while ! /usr/sbin/zpool status sbench | grep -q "scrub completed"; do sleep 0.1; done
zf=$(mbps "$used" "$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')")

echo "pool: $((used / 1048576)) MiB allocated on one file vdev"
echo "raw sequential read of the vdev:  $raw MB/s"
echo "uzfs scrub:                       $uz MB/s   ($(awk -v a="$uz" -v b="$raw" 'BEGIN { printf "%.2f", a / b }')x raw, $(awk -v a="$uz" -v b="$zf" 'BEGIN { printf "%.2f", a / b }')x zfs-fuse)"
echo "zfs-fuse scrub:                   $zf MB/s"
echo "uzfs cold read alone:             $fg_alone MB/s"
echo "uzfs cold read beside a scrub:    $fg_scrub MB/s   ($(awk -v a="$fg_scrub" -v b="$fg_alone" 'BEGIN { printf "%.2f", a / b }')x)"
