#!/usr/bin/env bash
# Benchmark, not a test: stores made durable on persistent memory through libzfs's mapping of
# a DAX file (zfsprops(7) dax=on: the mapping is the device itself, uzfs_persist flushes CPU
# caches) against the same device-DAX mapped directly (MAP_SYNC, pmem_persist), in one guest
# of tests/vm/dax-vm.sh (qemu with an emulated NVDIMM as a real /dev/daxN.M; software
# emulation, so the absolute figures are the emulator's, the ratios are what counts).
# Prints each figure, the ratios and the target, met or not; it never fails on a figure.
#
#   bench/dax_bench.sh
#
# Environment: SIZE_MB (the region stored into, default 64), SECONDS_RAND (the random 64-byte
# run, default 3), UZFS_BUILD (default build/), UZFS_VM_CACHE (see tests/vm/dax-vm.sh).
# Figures (bench/dax_store.cc): "seq MB/s", every byte stored once in 4 KiB stores each
# persisted; "rand64 ops/s" and its mean latency, 64-byte stores at random aligned offsets each
# persisted. uzfs-libzfs persists with the function uzfs_get_persist_fn gives (as a store loop
# would); the last columns call uzfs_persist per store instead. Target: libzfs >= 0.95x raw.
set -euo pipefail
case ${1:-} in -*) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 2 ;; esac
cd "$(dirname "$0")/.."
root=$(pwd)
build=${UZFS_BUILD:-$root/build}
size_mb=${SIZE_MB:-64}
secs=${SECONDS_RAND:-3}
cmake -S "$root" -B "$build" -G Ninja >/dev/null
ninja -C "$build" zfsd zpool zfs uzfs_dax_store >/dev/null
state=$(mktemp -d /var/tmp/uzfs-daxbench.XXXXXX)
trap 'rm -rf "$state"' EXIT
cat >"$state/guest.sh" <<G
set -e
size=\$(( $size_mb << 20 ))
raw=\$(uzfs_dax_store --raw "\$UZFS_VM_DAX" --size \$size --seconds $secs)
mkdir -p /run/zfsd
export UZFS_SOCKET=/run/zfsd/sock
zfsd --foreground --socket \$UZFS_SOCKET --state-dir /run/zfsd --log-level warn 2>/tmp/zfsd.log &
i=0
until zpool version >/dev/null 2>&1; do sleep 0.1; i=\$((i + 1)); [ \$i -lt 100 ] || exit 9; done
zpool create tank /dev/pmem0 dax "\$UZFS_VM_DAX"
zfs create -o dax=on tank/pm
truncate -s \$size /tank/pm/f
lz=\$(uzfs_dax_store --libzfs /tank/pm/f --seconds $secs)
call=\$(uzfs_dax_store --libzfs /tank/pm/f --via-call --seconds $secs)
echo "\$raw" | sed 's/^/RAW /'
echo "\$lz" | sed 's/^/LIBZFS /'
echo "\$call" | sed 's/^/CALL /'
zpool export tank
G
out=$(UZFS_BUILD=$build "$root/tests/vm/dax-vm.sh" -s "$state/vm" -p 256 -d $((size_mb * 2 + 128)) -t 600 \
  -b "$build/bench/uzfs_dax_store" "$state/guest.sh")
echo "$out" | grep -E '^(uzfs-vm|RAW|LIBZFS|CALL)' || true
val() { echo "$out" | awk -v w="$1" -v k="$2" -v f="$3" '$1 == w && $2 == k { print $f }'; }
rs=$(val RAW seq 5) ls=$(val LIBZFS seq 5)
rr=$(val RAW rand64 5) lr=$(val LIBZFS rand64 5)
rn=$(val RAW rand64 6) ln=$(val LIBZFS rand64 6)
cs=$(val CALL seq 5) cr=$(val CALL rand64 5) cn=$(val CALL rand64 6)
if [ -z "$rs" ] || [ -z "$ls" ] || [ -z "$rr" ] || [ -z "$lr" ]; then
  echo "dax_bench: the guest gave no figures:" >&2
  echo "$out" >&2
  exit 1
fi
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
met() { awk -v r="$1" 'BEGIN { print (r >= 0.95 ? "met" : "NOT met") }'; }
printf '%-34s %11s %11s %8s  %-15s %11s %6s\n' figure raw-devdax uzfs-libzfs ratio "target >= 0.95x" uzfs_persist ratio
r1=$(ratio "$ls" "$rs") r2=$(ratio "$lr" "$rr") c1=$(ratio "$cs" "$rs") c2=$(ratio "$cr" "$rr")
printf '%-34s %11s %11s %8s  %-15s %11s %6s\n' "store+persist 4K sequential MB/s" "$rs" "$ls" "$r1" "$(met "$r1")" "$cs" "$c1"
printf '%-34s %11s %11s %8s  %-15s %11s %6s\n' "store+persist 64B random ops/s" "$rr" "$lr" "$r2" "$(met "$r2")" "$cr" "$c2"
printf '%-34s %11s %11s %8s  %-15s %11s\n' "  mean latency ns" "$rn" "$ln" "" "" "$cn"
