#!/usr/bin/env bats
# mmap through libzfs's file API maps the ARC's own pages (one copy),
# the ARC stays in charge (eviction, refill), holes cost no disk, stores into mappings reach
# disk consistently at txg sync, and neither a dead zfsd nor a dead client leaves anyone
# hanging or reading wrong bytes.

load ../lib/pool_helpers
load ../lib/oracle

LIB=$UZFS_BUILD/libzfs/libuzfs_file.so
MAP=$UZFS_BUILD/cmd/uzfs-map/uzfs-map
ARCSTAT=$UZFS_BUILD/cmd/arcstat/arcstat
CLIENT_PY=$UZFS_ROOT/tests/lib/map_client.py

client() { python3 "$CLIENT_PY" "$LIB" "$@"; }

setup() {
  V=$BATS_TEST_TMPDIR/v
  ALT=$BATS_TEST_TMPDIR/alt
  LOOP=
  BG=()
}

teardown() {
  cd /
  local p
  for p in "${BG[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  zfsd_stop || true
  dead_mounts_clear
  oracle_stop 2>/dev/null || true
  [ -z "$LOOP" ] || losetup -d "$LOOP" 2>/dev/null || true
  [ -z "${PUB:-}" ] || rm -rf "$PUB"
}

# wait_for_lines FILE N: until FILE has N lines (60 s at most).
wait_for_lines() {
  local _
  for _ in $(seq 600); do
    [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ] && return 0
    sleep 0.1
  done
  echo "timed out waiting for $2 line(s) in $1" >&2
  return 1
}

# memfree_bytes: MemFree plus the free pages parked on the per-CPU lists (/proc/zoneinfo
# "count:"), which MemFree leaves out (dropping caches fills them with hundreds of MiB that
# the next allocations take first): what is really free, in bytes.
memfree_bytes() {
  awk -v page="$(getconf PAGESIZE)" '
    FILENAME ~ /meminfo/ && /^MemFree:/ { f = $2 * 1024 }
    FILENAME ~ /zoneinfo/ && $1 == "count:" { p += $2 * page }
    END { printf "%.0f\n", f + p }' /proc/meminfo /proc/zoneinfo
}

# arc FIELDS: one row of the daemon's statistics, exact values, tab-separated.
arc() { "$ARCSTAT" -H -p -f "$1"; }

@test "mmap: two processes map a 512 MiB file; one copy in memory between them and the ARC, both read the right bytes" {
  # A loop device with direct I/O under the pool: no page cache of the pool's device counts.
  mkdir -p "$V"
  truncate -s 1G "$V/d0"
  LOOP=$(losetup -f --show --direct-io=on "$V/d0")
  zfsd_start
  "$ZPOOL" create -f -m "$ALT/mp" mp "$LOOP"
  "$ZFS" create -o compression=off mp/fs
  F=$ALT/mp/fs/big
  # The bytes come from a file outside the pool, so nothing reads them through the ARC first.
  head -c 512M /dev/urandom >"$BATS_TEST_TMPDIR/src"
  want=$(sha256sum <"$BATS_TEST_TMPDIR/src" | awk '{ print $1 }')
  cp "$BATS_TEST_TMPDIR/src" "$F"
  rm "$BATS_TEST_TMPDIR/src"
  size=$(stat -c %s "$F")
  "$ZPOOL" sync mp
  # Empty the ARC as far as it goes (64M is the least arc_max), then give it room again.
  "$ARCSTAT" --arc-max 64M
  "$ARCSTAT" --arc-max 4G
  sync
  echo 3 >/proc/sys/vm/drop_caches
  sleep 1
  resident0=$(arc resident)
  before=$(memfree_bytes)
  "$MAP" --sum --hold 60 "$F" >"$BATS_TEST_TMPDIR/one" &
  BG+=($!)
  "$MAP" --sum --hold 60 "$F" >"$BATS_TEST_TMPDIR/two" &
  BG+=($!)
  wait_for_lines "$BATS_TEST_TMPDIR/one" 1
  wait_for_lines "$BATS_TEST_TMPDIR/two" 1
  after=$(memfree_bytes)
  drop=$((before - after))
  # What the two processes hold, each shared page counted once between its sharers (Pss), and
  # what the ARC holds: measured on these processes and the ARC alone, so other programs'
  # memory (a parallel test, a compiler) cannot blur it as it blurs MemFree, which is shown.
  pss=0
  for p in "${BG[@]: -2}"; do
    # The mapping is the ARC's own memfd segment, not a copy of it.
    grep -q 'memfd:uzfs-arc:' "/proc/$p/maps"
    pss=$((pss + $(awk '/^Pss:/ { print $2 * 1024 }' "/proc/$p/smaps_rollup")))
  done
  resident=$(arc resident)
  echo "Pss of the two mappers $pss bytes, ARC resident $resident (before $resident0), MemFree" \
    "dropped by $drop, for a $size-byte file mapped twice (mapped, maps: $(arc mapped,maps))" >&3
  [ "$(awk '{ print $1 }' "$BATS_TEST_TMPDIR/one")" = "$want" ]
  [ "$(awk '{ print $1 }' "$BATS_TEST_TMPDIR/two")" = "$want" ]
  [ "$(arc maps)" = 2 ]
  # The two mappings share one copy (two copies would make Pss twice the file), and that copy
  # is the ARC's resident pages (the ARC holds the file once, not beside another copy).
  [ "$pss" -le $((size * 115 / 100)) ]
  [ "$pss" -ge $((size * 85 / 100)) ]
  [ "$resident" -ge $((size * 85 / 100)) ]
  [ "$resident" -le $((size * 115 / 100 + resident0)) ]
}

@test "mmap: with the ARC bounded to 128 MiB a 512 MiB mapped file reads right twice and the ARC stays in bounds" {
  mkvdevs "$V" 1 1G
  ZFSD_EXTRA_ARGS="--arc-max 128M" zfsd_start
  "$ZPOOL" create -m "$ALT/bp" bp "$V/d0"
  "$ZFS" create -o compression=off bp/fs
  F=$ALT/bp/fs/big
  head -c 512M /dev/urandom >"$F"
  want=$(sha256sum <"$F" | awk '{ print $1 }')
  "$ZPOOL" sync bp
  [ "$(arc c_max)" = 134217728 ]
  "$ARCSTAT" -H -p -f resident,arcsz 1 >"$BATS_TEST_TMPDIR/samples" &
  BG+=($!)
  run "$MAP" --sum "$F"
  [ "$status" -eq 0 ]
  [ "${output%% *}" = "$want" ]
  run "$MAP" --sum "$F"
  [ "$status" -eq 0 ]
  [ "${output%% *}" = "$want" ]
  kill "${BG[0]}"
  # Slack: held units (none here) and one unit in flight per fault, plus metadata rounding.
  slack=$((16 << 20))
  max_res=$(awk 'BEGIN { m = 0 } { if ($1 > m) m = $1 } END { print m }' "$BATS_TEST_TMPDIR/samples")
  max_size=$(awk 'BEGIN { m = 0 } { if ($2 > m) m = $2 } END { print m }' "$BATS_TEST_TMPDIR/samples")
  echo "max resident $max_res, max arc size $max_size over $(wc -l <"$BATS_TEST_TMPDIR/samples") samples" >&3
  arc resident,arcsz >>"$BATS_TEST_TMPDIR/samples"
  [ "$(wc -l <"$BATS_TEST_TMPDIR/samples")" -ge 2 ]
  [ "$max_res" -le $(((128 << 20) + slack)) ]
  [ "$max_size" -le $(((128 << 20) + slack)) ]
  # The file is 4x the bound and was read whole twice: the ARC evicted and refilled.
  [ "$max_res" -ge $((64 << 20)) ]
}

@test "mmap: reading every page of a 1 GiB sparse mapping allocates nothing; one store allocates one record" {
  mkvdevs "$V" 1 512M
  zfsd_start
  "$ZPOOL" create -m "$ALT/sp" sp "$V/d0"
  "$ZFS" create -o compression=off sp/fs
  F=$ALT/sp/fs/sparse
  truncate -s 1G "$F"
  "$ZPOOL" sync sp
  alloc0=$("$ZPOOL" list -Hp -o alloc sp)
  ref0=$("$ZFS" get -Hp -o value referenced sp/fs)
  zeros=$(head -c 1G /dev/zero | sha256sum | awk '{ print $1 }')
  run "$MAP" --sum "$F"
  [ "$status" -eq 0 ]
  [ "${output%% *}" = "$zeros" ]
  "$ZPOOL" sync sp
  [ "$("$ZPOOL" list -Hp -o alloc sp)" = "$alloc0" ]
  [ "$("$ZFS" get -Hp -o value referenced sp/fs)" = "$ref0" ]
  client poke "$F" $((512 * 1048576 + 5)) 0x77
  "$ZPOOL" sync sp
  ref1=$("$ZFS" get -Hp -o value referenced sp/fs)
  grown=$((ref1 - ref0))
  echo "referenced grew by $grown bytes" >&3
  # One 128 KiB record, plus the indirect blocks that now point at it.
  [ "$grown" -ge 131072 ]
  [ "$grown" -lt $((131072 + 65536)) ]
  # The byte is there, seen through the FUSE mount too.
  [ "$(od -An -tx1 -j $((512 * 1048576 + 5)) -N1 "$F" | tr -d ' ')" = 77 ]
}

@test "mmap: a writer storing into a mapping across 25 syncs leaves a pool zfs-fuse finds clean, with its last synced bytes" {
  mkvdevs "$V" 1 256M
  zfsd_start
  "$ZPOOL" create -m "$ALT/wp" wp "$V/d0"
  "$ZFS" create wp/fs
  F=$ALT/wp/fs/f
  head -c 8M /dev/urandom >"$F"
  client writer "$F" 25 "$BATS_TEST_TMPDIR/state"
  read -r digest rounds syncs <"$BATS_TEST_TMPDIR/state"
  echo "writer: $rounds rounds over $syncs syncs" >&3
  [ "$syncs" -ge 20 ]
  [ "$rounds" -ge 2 ]
  [ "$(client read "$F")" = "$digest" ]
  "$ZPOOL" export wp
  oracle_start
  oracle_zdb_clean "$V" wp
  "$ZF_ZPOOL" import -d "$V" -R "$BATS_TEST_TMPDIR/zf" wp
  mp=$("$ZF_ZFS" get -H -o value mountpoint wp/fs)
  [ "$(sha256sum <"$mp/f" | awk '{ print $1 }')" = "$digest" ]
  "$ZF_ZPOOL" export wp
  oracle_stop
}

@test "mmap: SIGKILL of zfsd with dirty mapped pages: the client gets SIGBUS, the pool comes back at its last sync" {
  mkvdevs "$V" 1 256M
  zfsd_start
  "$ZPOOL" create -m "$ALT/kp" kp "$V/d0"
  "$ZFS" create kp/fs
  F=$ALT/kp/fs/f
  head -c 4M /dev/urandom >"$F"
  client dirty-then-wait "$F" "$BATS_TEST_TMPDIR/ready" &
  cpid=$!
  BG+=($cpid)
  wait_for_lines "$BATS_TEST_TMPDIR/ready" 1
  zfsd_kill
  rc=0
  wait "$cpid" || rc=$?
  # 135 = 128 + SIGBUS: not a hang (the client gives up after 60 s), not wrong bytes (exit 1).
  [ "$rc" -eq 135 ]
  oracle_start
  oracle_zdb_clean "$V" kp
  oracle_stop
  zfsd_start
  want=$(head -c 4M /dev/zero | tr '\0' '\132' | sha256sum | awk '{ print $1 }')
  [ "$(sha256sum <"$F" | awk '{ print $1 }')" = "$want" ]
}

@test "mmap: SIGKILL of a client: zfsd keeps serving and frees what the client held" {
  mkvdevs "$V" 1 256M
  zfsd_start
  "$ZPOOL" create -m "$ALT/cp" cp "$V/d0"
  "$ZFS" create cp/fs
  F=$ALT/cp/fs/f
  head -c 64M /dev/urandom >"$F"
  want=$(sha256sum <"$F" | awk '{ print $1 }')
  "$MAP" --sum --hold 60 "$F" >"$BATS_TEST_TMPDIR/held" &
  mpid=$!
  BG+=($mpid)
  wait_for_lines "$BATS_TEST_TMPDIR/held" 1
  [ "$(arc maps,clients,mapped)" = "$(printf '1\t1\t67108864')" ]
  kill -9 "$mpid"
  wait "$mpid" || true
  for _ in $(seq 50); do
    [ "$(arc maps,clients,mapped)" = "$(printf '0\t0\t0')" ] && break
    sleep 0.1
  done
  [ "$(arc maps,clients,mapped)" = "$(printf '0\t0\t0')" ]
  run "$MAP" --sum "$F"
  [ "$status" -eq 0 ]
  [ "${output%% *}" = "$want" ]
}

@test "mmap: FUSE write(2), libzfs pwrite and mappings see each other's bytes; truncate gives SIGBUS past the end" {
  mkvdevs "$V" 1 256M
  zfsd_start
  "$ZPOOL" create -m "$ALT/co" co "$V/d0"
  "$ZFS" create co/fs
  F=$ALT/co/fs/f
  head -c 1M /dev/zero >"$F"
  # A store through a mapping is seen by read(2) on the FUSE mount at once (no sync between).
  client poke "$F" 100 0x41
  [ "$(od -An -c -j 100 -N1 "$F" | tr -d ' ')" = A ]
  # A write(2) through FUSE is seen by a mapping and by uzfs_pread.
  printf B | dd of="$F" bs=1 seek=200 conv=notrunc status=none
  [ "$(client peek "$F" 200)" = 42 ]
  [ "$(client read "$F")" = "$(sha256sum <"$F" | awk '{ print $1 }')" ]
  # A small file's block grows while it is mapped (its units are cut anew): a store through
  # the mapping afterwards still reaches the file.
  head -c 3000 /dev/urandom >"$ALT/co/fs/small"
  client poke-late "$ALT/co/fs/small" 100 0x55 2 &
  ppid=$!
  sleep 0.7
  head -c 100000 /dev/urandom >>"$ALT/co/fs/small"
  wait "$ppid"
  [ "$(stat -c %s "$ALT/co/fs/small")" = 103000 ]
  [ "$(od -An -tx1 -j 100 -N1 "$ALT/co/fs/small" | tr -d ' ')" = 55 ]
  "$ZPOOL" sync co
  [ "$(client peek "$ALT/co/fs/small" 100)" = 55 ]
  # Truncating a mapped file: touching past the new end raises SIGBUS, as on a kernel fs.
  # (Truncated only once the client has mapped the whole megabyte: a client started late
  # would map 8 KiB and read outside its mapping.)
  client peek "$F" 500000 2 2>"$BATS_TEST_TMPDIR/peek.err" &
  ppid=$!
  for _ in $(seq 200); do
    grep -q mapped "$BATS_TEST_TMPDIR/peek.err" && break
    sleep 0.05
  done
  grep -q mapped "$BATS_TEST_TMPDIR/peek.err"
  truncate -s 8192 "$F"
  rc=0
  wait "$ppid" || rc=$?
  [ "$rc" -eq 135 ]
}

@test "mmap: zfsd reads ahead of a mapping read in order: few missing-page faults for a cold file" {
  mkvdevs "$V" 1 512M
  zfsd_start
  "$ZPOOL" create -m "$ALT/ra" ra "$V/d0"
  "$ZFS" create -o compression=off ra/fs
  F=$ALT/ra/fs/f
  head -c 64M /dev/urandom >"$F"
  want=$(sha256sum <"$F" | awk '{ print $1 }')
  # Export and import: nothing of the file is left in the ARC.
  "$ZPOOL" export ra
  "$ZPOOL" import -d "$V" ra
  f0=$(arc mfault)
  # A reader slower than the disk (2 ms per 128 KiB record): zfsd stays ahead of it.
  run client slow-read "$F" 0.002
  [ "$status" -eq 0 ]
  [ "$output" = "$want" ]
  f1=$(arc mfault)
  echo "missing-page faults for 512 records read in order: $((f1 - f0))" >&3
  # Without read-ahead every record is a fault (512); with it, one per window at most.
  [ $((f1 - f0)) -lt 64 ]
}

@test "mmap: the library maps the resident part of a new mapping by itself; a store still faults and is kept" {
  mkvdevs "$V" 1 256M
  zfsd_start
  "$ZPOOL" create -m "$ALT/pf" pf "$V/d0"
  "$ZFS" create -o compression=off pf/fs
  F=$ALT/pf/fs/f
  head -c 16M /dev/urandom >"$F"
  size=$(stat -c %s "$F")
  # Read once: the whole file is in the ARC.
  "$MAP" "$F"
  # A mapping nobody touches is mapped whole by the library's prefault thread...
  run client map-rss "$F" 10
  [ "$status" -eq 0 ]
  echo "RssShmem of an untouched mapping of a resident $size-byte file: $output" >&3
  [ "$output" -ge "$size" ]
  # ... and not at all without it.
  UZFS_PREFAULT=0 run client map-rss "$F" 1
  [ "$status" -eq 0 ]
  [ "$output" -lt $((size / 8)) ]
  # A page it mapped is read-only and still write-protected: the first store reaches zfsd
  # (a WP fault) and is synced, so it survives an export and import.
  w0=$(arc wpfault)
  client poke-late "$F" 5000000 0x66 1
  w1=$(arc wpfault)
  [ "$w1" -gt "$w0" ]
  "$ZPOOL" export pf
  "$ZPOOL" import -d "$V" pf
  [ "$(od -An -tx1 -j 5000000 -N1 "$F" | tr -d ' ')" = 66 ]
}

@test "mmap: without userfaultfd mappings are pinned whole, and stores are found by hash at sync" {
  mkvdevs "$V" 1 256M
  zfsd_start
  "$ZPOOL" create -m "$ALT/np" np "$V/d0"
  "$ZFS" create np/fs
  F=$ALT/np/fs/f
  head -c 16M /dev/urandom >"$F"
  want=$(sha256sum <"$F" | awk '{ print $1 }')
  UZFS_NO_UFFD=1 "$MAP" --sum --hold 30 "$F" >"$BATS_TEST_TMPDIR/held" &
  BG+=($!)
  wait_for_lines "$BATS_TEST_TMPDIR/held" 1
  [ "$(awk '{ print $1 }' "$BATS_TEST_TMPDIR/held")" = "$want" ]
  # The whole file is resident and held while mapped, and no fault was needed.
  [ "$(arc held)" -ge 16777216 ]
  kill "${BG[0]}"
  wait "${BG[0]}" || true
  for _ in $(seq 50); do [ "$(arc maps)" = 0 ] && break; sleep 0.1; done
  [ "$(arc held)" = 0 ]
  # Stores through a pinned writable mapping reach the file at sync (msync), and disk.
  UZFS_NO_UFFD=1 "$MAP" --write-pattern 0x3c --sync "$F"
  pat=$(head -c 16M /dev/zero | tr '\0' '\074' | sha256sum | awk '{ print $1 }')
  [ "$(sha256sum <"$F" | awk '{ print $1 }')" = "$pat" ]
  "$ZPOOL" export np
  "$ZPOOL" import -d "$V" np
  [ "$(sha256sum <"$F" | awk '{ print $1 }')" = "$pat" ]
}

@test "mmap: the file API checks permissions and reports errors in the kernel's words" {
  # The socket and the mount in a directory every user may enter (BATS_TEST_TMPDIR is not).
  PUB=$(mktemp -d /tmp/uzfs-mmap.XXXXXX)
  chmod 755 "$PUB"
  mkvdevs "$V" 1 256M
  zfsd_start "$PUB/zfsd"
  "$ZPOOL" create -m "$PUB/pe" pe "$V/d0"
  "$ZFS" create pe/fs
  F=$PUB/pe/fs/secret
  head -c 8192 /dev/urandom >"$F"
  cp "$F" "$PUB/pe/fs/public"
  chmod 600 "$F"
  chmod 644 "$PUB/pe/fs/public"
  want=$(sha256sum <"$F" | awk '{ print $1 }')
  nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
  run nobody "$MAP" --sum "$PUB/pe/fs/public"
  [ "$status" -eq 0 ]
  [ "${output%% *}" = "$want" ]
  run nobody "$MAP" --sum "$F"
  [ "$status" -eq 1 ]
  [ "$output" = "uzfs-map: cannot open '$F': Permission denied" ]
  run nobody "$MAP" --write-pattern 1 "$PUB/pe/fs/public"
  [ "$status" -eq 1 ]
  [ "$output" = "uzfs-map: cannot open '$PUB/pe/fs/public': Permission denied" ]
  run "$MAP" --sum "$PUB/pe/fs/nonexistent"
  [ "$status" -eq 1 ]
  [ "$output" = "uzfs-map: cannot open '$PUB/pe/fs/nonexistent': No such file or directory" ]
  run "$MAP" --sum "$PUB/pe/fs"
  [ "$status" -eq 1 ]
  [ "$output" = "uzfs-map: cannot open '$PUB/pe/fs': Is a directory" ]
  run "$MAP" --sum /etc/hostname
  [ "$status" -eq 1 ]
  [ "$output" = "uzfs-map: cannot open '/etc/hostname': No such file or directory" ]
  run "$MAP" --write-pattern 300 "$F"
  [ "$status" -eq 2 ]
  [ "${lines[0]}" = "uzfs-map: invalid byte '300'" ]
  run "$MAP" --hold -1 "$F"
  [ "$status" -eq 2 ]
  [ "${lines[0]}" = "uzfs-map: invalid number of seconds '-1'" ]
  zfsd_stop
  rm -rf "$PUB"
}
