#!/usr/bin/env bash
# Benchmark, not a test (targets below): mmap sequential reads and the memory a mapped file
# costs, on (a) ext4, (b) uzfs through libzfs's file API (the mapping is zfsd's ARC) and (c) a
# zfs-fuse mount (POSIX mmap through FUSE), each on a loop device with direct I/O over a sparse
# file in one work directory (same disk, no page cache of the backing files), in one run.
# Prints each figure, the ratios and the targets, met or not; it never fails on a figure.
#
#   bench/mmap_bench.sh [DIR]    DIR: where the work directory goes (default /var/tmp)
#
# Environment: SIZE (the file, default 512M), ROUNDS (cold and warm reads and memory
# measurements per file system, medians shown; default 5), FS (which of "ext4 uzfs zfs-fuse"
# to run, default all), UZFS_BUILD (default build/; zfsd, zpool, zfs and uzfs_mmap_read are
# built there first), VDEV (the uzfs pool's device: "loop", the default, a loop device with
# direct I/O like the others'; "file", a file vdev: a sparse file in the work directory, which
# zfsd opens O_DIRECT where the work directory's file system allows it, so the copies show
# whether the vdev's page cache is a second copy; the file's pages in the page cache, by
# fincore, are printed as "vdev file in page cache"), UZFS_PREFAULT (passed to the readers:
# 0 turns libzfs's prefault thread off).
# Run as root; needs only what scripts/deps.sh installs (zfs-fuse, e2fsprogs, util-linux).
#
# Throughput: bench/mmap_read.cc (uzfs_mmap_read) maps the whole file, reads every byte once
# in order and reports MB/s (2^20 bytes) from open to last byte. "cold": the file system's own
# cache emptied (uzfs and zfs-fuse: pool exported and imported; ext4: unmounted and mounted)
# and `sync; echo 3 >/proc/sys/vm/drop_caches`; "warm": the same read again right after.
# Memory: the daemon restarted (uzfs, zfs-fuse) or the file system remounted (ext4), caches
# dropped, then MemFree (median of 3 samples) before, after one process mapped and read the
# file and holds it, and after a second one did too; copies = MemFree drop / SIZE (page cache
# counts as used, so does every daemon's growth and the holders' page tables). MemFree is the
# whole machine's: other work running meanwhile moves it, hence ROUNDS, the per-round figures
# printed, ext4 as the reference (one copy by construction) and three more figures: the drop
# of MemFree plus the per-CPU free lists (which MemFree leaves out), the part in Buffers
# (block device cache) and the growth of the holders' and the daemon's Pss.
# Store+msync: after the memory rounds, MSYNC_SECONDS (default 5) of 8-byte stores into random
# pages of the mapped file, each followed by msync(MS_SYNC) of its page (no target; the
# figure shows what a synchronous store through a mapping costs on each).
# Targets: uzfs <= 1.05 copies (1 and 2 processes); libzfs mmap read >= 1.0x ext4's.
set -euo pipefail
case ${1:-} in -*) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 2 ;; esac
cd "$(dirname "$0")/.."
root=$(pwd)
[ "$(id -u)" = 0 ] || { echo "mmap_bench: run as root" >&2; exit 1; }
for c in losetup mkfs.ext4 flock ps numfmt /usr/sbin/zfs-fuse /usr/sbin/zpool /usr/sbin/zfs; do
  command -v "$c" >/dev/null || { echo "mmap_bench: $c missing (run scripts/deps.sh)" >&2; exit 1; }
done
B=${UZFS_BUILD:-$root/build}
# shellcheck source=tests/lib/zfsfuse.sh
source "$root/tests/lib/zfsfuse.sh"
[ -f "$B/build.ninja" ] || cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
SIZE=${SIZE:-512M} ROUNDS=${ROUNDS:-5} FS=${FS:-ext4 uzfs zfs-fuse} VDEV=${VDEV:-loop}
MSYNC_SECONDS=${MSYNC_SECONDS:-5}
case $VDEV in loop | file) ;; *) echo "mmap_bench: VDEV must be loop or file, not '$VDEV'" >&2; exit 2 ;; esac
if [ "$VDEV" = file ]; then
  command -v fincore >/dev/null || { echo "mmap_bench: fincore missing (util-linux)" >&2; exit 1; }
fi
targets=(uzfs_mmap_read)
[[ " $FS " != *" uzfs "* ]] || targets+=(zfsd zpool zfs)
cmake --build "$B" -j"$(nproc)" --target "${targets[@]}" >/dev/null
ZFSD=$B/daemon/zfsd ZPOOL=$B/cmd/zpool/zpool ZFS=$B/cmd/zfs/zfs READ=$B/bench/uzfs_mmap_read
ZF_ZPOOL=/usr/sbin/zpool ZF_ZFS=/usr/sbin/zfs
bytes=$(numfmt --from=iec "$SIZE")
img=$((bytes * 2 + (512 << 20)))
base=$(mktemp -d "${1:-/var/tmp}/uzfs-mmap-bench.XXXXXX")
export UZFS_SOCKET=$base/zfsd.sock
zfsd_pid='' zf_pid=$base/zfs-fuse.pid holders=() loops=() vdev_file=

cleanup() {
  set +e
  local l
  stop_holders
  if [ -n "$zfsd_pid" ]; then
    "$ZPOOL" export ubench 2>/dev/null
    zfsd_stop
  fi
  if [ -f "$zf_pid" ]; then
    $ZF_ZPOOL export -f zbench 2>/dev/null
    zf_stop
  fi
  mountpoint -q "$base/ext4" && umount "$base/ext4"
  for l in "${loops[@]}"; do losetup -d "$l"; done
  rm -rf "$base"
}
trap cleanup EXIT
log() { printf '%s\n' "$*" >&2; }
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; sleep 1; }
loop_dev() {  # loop_dev NAME: DEV, a loop device with direct I/O over a new sparse file
  truncate -s "$img" "$base/$1.img"
  DEV=$(losetup -f --show --direct-io=on "$base/$1.img")
  loops+=("$DEV")
}
# memfree: "FREE PCP BUF" in bytes, from the middle one (by MemFree) of 3 samples 0.1 s apart.
# FREE is MemFree; PCP the free pages parked on the per-CPU lists (/proc/zoneinfo "count:"),
# which MemFree leaves out: dropping caches fills them (hundreds of MiB here) and the next
# allocations are served from them first, so a MemFree drop alone under-counts what a mapping
# takes; BUF is Buffers, the block devices' page cache (where a pool device read without
# O_DIRECT lands).
memfree() {
  local i
  for i in 1 2 3; do
    awk -v page="$(getconf PAGESIZE)" '
      FILENAME ~ /meminfo/ && /^MemFree:/ { f = $2 * 1024 }
      FILENAME ~ /meminfo/ && /^Buffers:/ { b = $2 * 1024 }
      FILENAME ~ /zoneinfo/ && $1 == "count:" { p += $2 * page }
      END { printf "%.0f %.0f %.0f\n", f, p, b }' /proc/meminfo /proc/zoneinfo
    sleep 0.1
  done | sort -n -k1,1 | sed -n 2p
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'; }
# vdev_cached FILE: bytes of FILE in the page cache (fincore)
vdev_cached() { fincore -b -n -o RES "$1" | awk '{ print $1 + 0 }'; }

declare -A R=() SUMS=()

# read_once MODE FILE: one uzfs_mmap_read; its MB/s into MB, its checksum into SUMS.
read_once() {
  local out
  out=$("$READ" "--$1" "$2") || return 1
  SUMS[$(awk '{ print $4 }' <<<"$out")]=1
  MB=$(awk '{ print $3 }' <<<"$out")
}

# throughput NAME MODE FILE EMPTY: ROUNDS cold reads (EMPTY, a command, empties the file
# system's own cache first) each followed by a warm one; medians into R[NAME.cold/warm].
throughput() {
  local name=$1 mode=$2 file=$3 empty=$4 i cold=() warm=()
  for ((i = 0; i < ROUNDS; i++)); do
    eval "$empty" || return 1
    drop
    read_once "$mode" "$file" || return 1
    cold+=("$MB")
    read_once "$mode" "$file" || return 1
    warm+=("$MB")
  done
  R[$name.cold]=$(printf '%s\n' "${cold[@]}" | median)
  R[$name.warm]=$(printf '%s\n' "${warm[@]}" | median)
  log "$name: cold MB/s ${cold[*]}; warm MB/s ${warm[*]}"
}

# holder MODE FILE READY: a uzfs_mmap_read that maps and reads FILE, appends its line to READY
# and holds the mapping; waits for the line.
holder() {
  local p _
  "$READ" "--$1" --hold 3600 --ready "$3" "$2" >/dev/null &
  p=$!
  holders+=("$p")
  for _ in $(seq 6000); do
    [ -s "$3" ] && return 0
    kill -0 "$p" 2>/dev/null || { log "uzfs_mmap_read --$1 $2 failed"; return 1; }
    sleep 0.1
  done
  log "uzfs_mmap_read --$1 $2: no result after 600 s"
  return 1
}
stop_holders() {
  local p
  for p in "${holders[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null || true; done
  holders=()
}

# pss PID...: the sum of the processes' proportional set sizes, bytes (a page mapped by n of
# them counts 1/n in each: the sum counts it once)
pss() {
  local p
  for p in "$@"; do cat "/proc/$p/smaps_rollup"; done </dev/null | awk '/^Pss:/ { s += $2 } END { printf "%.0f\n", s * 1024 }'
}
copies() { awk -v a="$1" -v b="$2" -v s="$bytes" 'BEGIN { printf "%.3f", (b - a) / s }'; }

# memory NAME MODE FILE EMPTY DAEMON: ROUNDS times, MemFree before, after 1 and after 2
# processes hold FILE mapped (EMPTY: a command that empties the caches; DAEMON: one that
# prints the file system daemon's pid, or ''); the medians of the copies into R[NAME.copies1/copies2]. Also
# the growth of the Pss of the holders and the daemon (R[NAME.pss1/pss2]): blind to the rest
# of the machine, but it counts only memory mapped by them (not zfs-fuse's block device
# cache, nor page tables).
memory() {
  local name=$1 mode=$2 file=$3 empty=$4 daemon=$5 f0 f1 f2 q0 q1 q2 b0 b1 b2 p0 p1 p2 r i
  local c1=() c2=() e1=() e2=() d1=() d2=() s1=() s2=() v1=() v2=() dp vf=''
  [ "$name" != uzfs ] || vf=$vdev_file
  for ((i = 0; i < ROUNDS; i++)); do
    eval "$empty" || return 1
    dp=()
    [ -z "$daemon" ] || dp=("$(eval "$daemon")")
    drop
    read -r f0 q0 b0 <<<"$(memfree)"
    p0=$(pss "${dp[@]}")
    holder "$mode" "$file" "$base/ready.1" || { stop_holders; return 1; }
    read -r f1 q1 b1 <<<"$(memfree)"
    p1=$(pss "${dp[@]}" "${holders[@]}")
    [ -z "$vf" ] || v1+=("$(copies 0 "$(vdev_cached "$vf")")")
    holder "$mode" "$file" "$base/ready.2" || { stop_holders; return 1; }
    read -r f2 q2 b2 <<<"$(memfree)"
    p2=$(pss "${dp[@]}" "${holders[@]}")
    [ -z "$vf" ] || v2+=("$(copies 0 "$(vdev_cached "$vf")")")
    stop_holders
    for r in "$base/ready.1" "$base/ready.2"; do SUMS[$(awk '{ print $4 }' "$r")]=1; done
    rm -f "$base/ready.1" "$base/ready.2"
    c1+=("$(copies "$f1" "$f0")") c2+=("$(copies "$f2" "$f0")")
    e1+=("$(copies $((f1 + q1)) $((f0 + q0)))") e2+=("$(copies $((f2 + q2)) $((f0 + q0)))")
    d1+=("$(copies "$b0" "$b1")") d2+=("$(copies "$b0" "$b2")")
    s1+=("$(copies "$p0" "$p1")") s2+=("$(copies "$p0" "$p2")")
    log "$name: MiB before, after 1 process, after 2: MemFree $((f0 >> 20)) $((f1 >> 20)) $((f2 >> 20));" \
      "per-CPU free $((q0 >> 20)) $((q1 >> 20)) $((q2 >> 20)); Buffers $((b0 >> 20)) $((b1 >> 20)) $((b2 >> 20));" \
      "Pss $((p0 >> 20)) $((p1 >> 20)) $((p2 >> 20))"
  done
  R[$name.copies1]=$(printf '%s\n' "${c1[@]}" | median)
  R[$name.copies2]=$(printf '%s\n' "${c2[@]}" | median)
  R[$name.free1]=$(printf '%s\n' "${e1[@]}" | median)
  R[$name.free2]=$(printf '%s\n' "${e2[@]}" | median)
  R[$name.buf1]=$(printf '%s\n' "${d1[@]}" | median)
  R[$name.buf2]=$(printf '%s\n' "${d2[@]}" | median)
  R[$name.pss1]=$(printf '%s\n' "${s1[@]}" | median)
  R[$name.pss2]=$(printf '%s\n' "${s2[@]}" | median)
  if [ -n "$vf" ]; then
    R[$name.vdev1]=$(printf '%s\n' "${v1[@]}" | median)
    R[$name.vdev2]=$(printf '%s\n' "${v2[@]}" | median)
    log "$name: the vdev file's page cache with 1 process, 2 processes (copies): ${v1[*]}, ${v2[*]}"
  fi
  log "$name: copies with 1 process, 2 processes: MemFree ${c1[*]}, ${c2[*]};" \
    "MemFree + per-CPU free ${e1[*]}, ${e2[*]}; Buffers ${d1[*]}, ${d2[*]}; Pss ${s1[*]}, ${s2[*]}"
}

# measure NAME MODE FILE EMPTY_FOR_READS EMPTY_FOR_MEMORY DAEMON: throughput, then memory.
# stores NAME MODE FILE: MSYNC_SECONDS of 8-byte stores each msync'ed (MS_SYNC) by its page,
# into R[NAME.msync] (per second).
stores() {
  local out
  out=$("$READ" "--$2" --msync "$MSYNC_SECONDS" "$3") || return 1
  R[$1.msync]=$(awk '{ print $3 }' <<<"$out")
  log "$1: $(awk '{ print $1 }' <<<"$out") store+msync in $(awk '{ print $2 }' <<<"$out") s"
}
measure() { throughput "$1" "$2" "$3" "$4" && memory "$1" "$2" "$3" "$5" "$6" && stores "$1" "$2" "$3"; }

put_file() {  # put_file DEST: the benchmark file, written through the file system at DEST
  dd if="$base/src" of="$1" bs=1M status=none
  sync "$1"
}
quiet() {  # quiet CMD...: runs CMD, shows its output only if it fails
  local out
  out=$("$@" 2>&1) || { log "$out"; log "mmap_bench: failed: $*"; return 1; }
}
mounted_at() { findmnt -n -o TARGET -S "$1" | head -n1; }  # mounted_at DATASET
appears() {  # appears PATH: waits (10 s at most) until PATH exists; an import may mount late
  local _
  for _ in $(seq 100); do [ -e "$1" ] && return 0; sleep 0.1; done
  log "mmap_bench: $1 did not appear"; return 1
}

# zfsd as tests/lib/pool_helpers.bash starts it: private socket and state dir, foreground.
zfsd_start() {
  mkdir -p "$base/state"
  "$ZFSD" --foreground --socket "$UZFS_SOCKET" --state-dir "$base/state" --log-level warn \
    2>>"$base/zfsd.log" &
  zfsd_pid=$!
  local _
  for _ in $(seq 100); do
    "$ZPOOL" version >/dev/null 2>&1 && return 0
    kill -0 "$zfsd_pid" 2>/dev/null || break
    sleep 0.05
  done
  log "mmap_bench: zfsd did not start"; tail -n 20 "$base/zfsd.log" >&2; return 1
}
zfsd_stop() { kill "$zfsd_pid" 2>/dev/null || true; wait "$zfsd_pid" || true; zfsd_pid=''; }
# vdev_flags FILE: how zfsd holds FILE open, one word per descriptor (its fdinfo flags):
# "O_DIRECT" or "page cache" (a direct file vdev has both: reads direct, writes buffered and
# dropped from the page cache at each flush)
vdev_flags() {
  local fd out=()
  for fd in /proc/"$zfsd_pid"/fd/*; do
    [ "$(readlink "$fd")" = "$1" ] || continue
    local flags
    flags=$(awk '/^flags:/ { print $2 }' /proc/"$zfsd_pid"/fdinfo/"${fd##*/}")
    if (((8#$flags) & 8#40000)); then out+=(O_DIRECT); else out+=("page cache"); fi
  done
  if [ "${#out[@]}" -eq 0 ]; then echo "not open"; else (IFS=,; echo "${out[*]}"); fi
}
# zfs-fuse as the tests start it (tests/lib/zfsfuse.sh; the caller holds the lock).
zf_start() { zfsfuse_start "$zf_pid" || { log "mmap_bench: zfs-fuse did not start"; return 1; }; }
zf_stop() { zfsfuse_stop "$zf_pid"; }

log "mmap_bench: SIZE=$SIZE ($bytes bytes), ROUNDS=$ROUNDS, work dir $base"
head -c "$bytes" /dev/urandom >"$base/src"
want=$("$READ" --posix "$base/src" | awk '{ print $4 }')

# Each file system: the file written through it and synced; then throughput with its cache
# emptied by the lightest means that empties it, and memory with the daemon restarted (a
# daemon that keeps its old heap would hide what the mapping costs) and the pool imported.
for fs in $FS; do
  case $fs in
  ext4)
    loop_dev e; dev=$DEV
    mkfs.ext4 -q "$dev"; mkdir "$base/ext4"; mount "$dev" "$base/ext4"
    put_file "$base/ext4/f"
    remount="umount '$base/ext4'; mount '$dev' '$base/ext4'"
    measure ext4 posix "$base/ext4/f" "$remount" "$remount" '' || log "ext4: the mmap part failed"
    umount "$base/ext4"
    ;;
  uzfs)
    if [ "$VDEV" = file ]; then
      dev=$base/u.img part=$dev vdev_file=$dev
      truncate -s "$img" "$dev"
    else
      loop_dev u; dev=$DEV
    fi
    zfsd_start
    # -R: no cache file, so a restarted zfsd imports nothing by itself.
    quiet "$ZPOOL" create -f -R "$base/u" ubench "$dev"
    if [ "$VDEV" = loop ]; then
      # A whole disk gets a partition table, the pool goes in its first partition.
      part=${dev}p1
      [ -b "$part" ] || part=$dev
    else
      log "uzfs: file vdev $dev, opened by zfsd with flags $(vdev_flags "$dev")"
    fi
    quiet "$ZFS" create -o compression=off ubench/fs
    f=$(mounted_at ubench/fs)/f
    put_file "$f"
    "$ZPOOL" sync ubench
    import="quiet '$ZPOOL' import -d '$part' -R '$base/u' ubench && appears '$f'"
    reimport="quiet '$ZPOOL' export ubench && $import"
    restart="quiet '$ZPOOL' export ubench && zfsd_stop && zfsd_start && $import"
    # shellcheck disable=SC2016 # (expanded by memory, after each restart)
    measure uzfs libzfs "$f" "$reimport" "$restart" 'echo $zfsd_pid' || {
      log "uzfs: the libzfs mmap part failed; the end of zfsd's log:"
      tail -n 20 "$base/zfsd.log" >&2 || true
    }
    "$ZPOOL" export ubench || true
    zfsd_stop
    ;;
  zfs-fuse)
    loop_dev z; dev=$DEV
    # One zfs-fuse on the machine: under the lock the tests' oracle takes.
    zfsfuse_lock
    if zfsfuse_alive; then log "mmap_bench: a zfs-fuse runs outside the lock"; exit 1; fi
    zf_start
    quiet $ZF_ZPOOL create -f -R "$base/z" zbench "$dev"
    quiet $ZF_ZFS create -o compression=off zbench/fs
    f=$(mounted_at zbench/fs)/f
    put_file "$f"
    # zfs-fuse imports from a directory of devices: one holding only this pool's
    mkdir "$base/zdev"; ln -s "$dev" "$base/zdev/"
    import="quiet $ZF_ZPOOL import -d '$base/zdev' -R '$base/z' zbench && appears '$f'"
    reimport="quiet $ZF_ZPOOL export zbench && $import"
    restart="quiet $ZF_ZPOOL export zbench && zf_stop && zf_start && $import"
    # shellcheck disable=SC2016
    measure zfs-fuse posix "$f" "$reimport" "$restart" 'cat "$zf_pid"' || log "zfs-fuse: the mmap part failed"
    $ZF_ZPOOL export zbench || true
    zf_stop
    zfsfuse_unlock
    ;;
  *) log "mmap_bench: unknown file system '$fs' in FS"; exit 2 ;;
  esac
done

v() { echo "${R[$1]:--}"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "-" && b != "-" && b > 0) printf "%.2f", a / b; else print "-" }'; }
# met VALUE OP LIMIT: "met", "NOT met" or "-" (no figure)
met() {
  awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN {
    if (a == "-") { print "-"; exit }
    ok = op == "<=" ? a + 0 <= b + 0 : a + 0 >= b + 0
    print ok ? "met" : "NOT met" }'
}

echo
echo "mmap sequential read of a $SIZE file ($bytes bytes); medians of $ROUNDS; MB/s = 2^20 bytes/s"
printf '%-28s %9s %9s %9s %13s %10s\n' figure uzfs zfs-fuse ext4 uzfs/zfs-fuse uzfs/ext4
for k in cold:"cold read MB/s" warm:"warm read MB/s" \
  copies1:"copies, 1 process" copies2:"copies, 2 processes" \
  free1:"  with per-CPU free, 1 proc" free2:"  with per-CPU free, 2 procs" \
  buf1:"  in Buffers, 1 process" buf2:"  in Buffers, 2 processes" \
  pss1:"  by Pss, 1 process" pss2:"  by Pss, 2 processes" \
  vdev1:"  vdev file in page cache, 1" vdev2:"  vdev file in page cache, 2" \
  msync:"store + msync(MS_SYNC) per s"; do
  key=${k%%:*} label=${k#*:} r1=- r2=-
  [[ $key != vdev* ]] || [ "$VDEV" = file ] || continue
  if [[ $key != buf* && $key != vdev* ]]; then
    r1=$(ratio "$(v "uzfs.$key")" "$(v "zfs-fuse.$key")") r2=$(ratio "$(v "uzfs.$key")" "$(v "ext4.$key")")
  fi
  printf '%-28s %9s %9s %9s %13s %10s\n' "$label" "$(v "uzfs.$key")" "$(v "zfs-fuse.$key")" "$(v "ext4.$key")" "$r1" "$r2"
done
echo "uzfs reads through libzfs (uzfs_open + uzfs_mmap), zfs-fuse and ext4 through mmap(2)."
echo "copies: MemFree drop / $SIZE, caches dropped first (page cache counts as used); the whole"
echo "machine's, so other work moves it too (each round's figures are above); ext4's mapping is"
echo "one copy by construction, its figure shows the method's error. \"with per-CPU free\": the"
echo "drop of MemFree plus the free pages on the per-CPU lists (MemFree leaves them out, and"
echo "dropping caches fills them). \"in Buffers\": the part that is block device page cache (a"
echo "pool device read without O_DIRECT). \"by Pss\": growth of the holders' and the daemon's"
echo "Pss, blind to other work and to caches no one maps."
echo "store + msync: 8 bytes stored into a random page of the mapped file, then msync(MS_SYNC)"
echo "of that page, for $MSYNC_SECONDS s (uzfs: through the dataset's intent log)."
[ "$VDEV" = loop ] || echo "uzfs's pool is on a file vdev (VDEV=file); \"vdev file in page cache\": its pages in the
page cache (fincore), in copies of $SIZE."
echo
echo "targets:"
target() { printf '  %-44s %8s  %s\n' "$1" "$2" "$(met "$2" "$3" "$4")"; }
target "uzfs copies, 1 process <= 1.05" "$(v uzfs.copies1)" '<=' 1.05
target "uzfs copies, 2 processes <= 1.05" "$(v uzfs.copies2)" '<=' 1.05
target "  with per-CPU free, 1 process" "$(v uzfs.free1)" '<=' 1.05
target "  with per-CPU free, 2 processes" "$(v uzfs.free2)" '<=' 1.05
for t in cold warm; do
  target "libzfs mmap $t read >= 1.0x ext4's" "$(ratio "$(v "uzfs.$t")" "$(v "ext4.$t")")" '>=' 1.0
done
target "  this round's: cold >= 0.7x ext4's" "$(ratio "$(v uzfs.cold)" "$(v ext4.cold)")" '>=' 0.7
target "  this round's: warm >= 0.9x ext4's" "$(ratio "$(v uzfs.warm)" "$(v ext4.warm)")" '>=' 0.9
if [ "${#SUMS[@]}" -eq 1 ] && [ -n "${SUMS[$want]:-}" ]; then
  echo "every read's checksum matched the file's ($want)"
else
  echo "CHECKSUMS DIFFER: the file's $want, reads gave ${!SUMS[*]}"
fi
