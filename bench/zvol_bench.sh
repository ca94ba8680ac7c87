#!/usr/bin/env bash
# Benchmark, not a test: fio 4 KiB random writes and reads on a uzfs volume's device
# (/dev/zvol/POOL/VOL: a loop device over zfsd's FUSE file of the volume) beside a loop device
# over a plain file, both backed by files in the same directory, so the same disk. Prints
# each figure and the ratio; it never fails on a figure.
#
#   bench/zvol_bench.sh [DIR]      DIR: where the backing files go (default /var/tmp)
# Environment: SIZE (the volume's and the plain file's size, default 1G), SECONDS_EACH (each
# job's run time, default 20), JOBS (fio threads, default 4), UZFS_BUILD (default build/;
# zfsd, zpool and zfs are built there first, unless NO_BUILD=1). Run as root; installs fio.
# Jobs, on the raw devices: random 4 KiB writes with direct I/O (IOPS; a flush at the end),
# then random 4 KiB reads with direct I/O (IOPS) of what was written.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
dpkg-query -W -f='${Status}' fio 2>/dev/null | grep -q 'install ok installed' ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fio >/dev/null
B=${UZFS_BUILD:-$root/build}
if [ "${NO_BUILD:-0}" != 1 ]; then
  cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$B" --target zfsd zpool zfs >/dev/null
fi
SIZE=${SIZE:-1G} SECONDS_EACH=${SECONDS_EACH:-20} JOBS=${JOBS:-4}
base=$(mktemp -d "${1:-/var/tmp}/uzfs-zvbench.XXXXXX")
export UZFS_SOCKET=$base/zfsd.sock
pool=zvbench$$ zfsd_pid= loop=
cleanup() {
  set +e
  [ -n "$zfsd_pid" ] && { "$B/cmd/zpool/zpool" export "$pool" 2>/dev/null; kill "$zfsd_pid"; wait "$zfsd_pid"; }
  [ -n "$loop" ] && losetup -d "$loop"
  rm -rf "$base"
}
trap cleanup EXIT

# fio_iops DEV JOB...: IOPS of one fio job over DEV (reads, else writes).
fio_iops() {
  local dev=$1; shift
  fio --name=b --filename="$dev" --output-format=terse --terse-version=3 --direct=1 \
    --ioengine=psync --bs=4k --numjobs="$JOBS" --group_reporting --time_based \
    --runtime="$SECONDS_EACH" --size="$SIZE" "$@" 2>/dev/null |
    awk -F';' '{ r = $8; w = $49; print (r > 0 ? r : w) }'
}

# uzfs: a pool on a file vdev (twice the volume, for the reservation and copies of metadata).
bytes=$(numfmt --from=iec "$SIZE")
truncate -s $((bytes * 2 + 256 * 1048576)) "$base/vdev"
mkdir -p "$base/state"
"$B/daemon/zfsd" --foreground --socket "$UZFS_SOCKET" --state-dir "$base/state" --log-level warn 2>"$base/zfsd.log" &
zfsd_pid=$!
for _ in $(seq 100); do "$B/cmd/zpool/zpool" version >/dev/null 2>&1 && break; sleep 0.05; done
"$B/cmd/zpool/zpool" create -m none "$pool" "$base/vdev"
"$B/cmd/zfs/zfs" create -V "$SIZE" "$pool/vol"
zdev=
for _ in $(seq 50); do [ -b "/dev/zvol/$pool/vol" ] && break; sleep 0.1; done
zdev=$(readlink -f "/dev/zvol/$pool/vol")
dio=$(cat "/sys/block/${zdev#/dev/}/loop/dio")
# The plain side: a loop device with direct I/O over a file in the same directory.
truncate -s "$SIZE" "$base/plain"
loop=$(losetup --direct-io=on -f --show "$base/plain")

echo "zvol bench: $SIZE, $JOBS threads, ${SECONDS_EACH}s per job, in $base"
echo "  uzfs volume: $zdev (loop direct I/O: $dio); plain: $loop over a file"
printf '%-28s %12s %12s %8s\n' job uzfs-zvol plain-loop ratio
for job in randwrite randread; do
  z=$(fio_iops "$zdev" --rw="$job" --end_fsync=1)
  p=$(fio_iops "$loop" --rw="$job" --end_fsync=1)
  printf '%-28s %12s %12s %8s\n' "4K $job (IOPS)" "$z" "$p" "$(awk -v a="$z" -v b="$p" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }')"
done
