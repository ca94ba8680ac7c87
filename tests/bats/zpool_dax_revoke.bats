#!/usr/bin/env bats
# DAX mappings against what changes a dataset under them (zfsd --dax-emulation, regular files
# standing in for device-DAX): a rename of the mapped dataset or of a parent (mappings are
# known by the dataset's object, so a later snapshot, rollback or destroy -f still reaches
# them), zfs receive of DAX files and of an incremental into a dataset with mapped files
# (paused around the swap, resumed on the received extents, SIGBUS for a file the stream
# removed), and the fence on the extents of a client zfsd no longer reaches (not handed to
# new files until its process exits), which outlives an export of the pool and zfsd itself
# (the fence book beside the socket); a shrink under a shared mmap(2) through the mount (the
# pages past the end dropped, as on a local file system). zpool_dax.bats has the rest.

load ../lib/pool_helpers
load ../lib/dax_helpers

setup() {
  V=$(mktemp -d /tmp/zdax.XXXXXX)
  chmod 755 "$V"
  mkvdevs "$V" 1
  truncate -s 128M "$V/p0"
  MNT=$BATS_TEST_TMPDIR/mnt
  T=$BATS_TEST_TMPDIR
  ZFSD_EXTRA_ARGS=--dax-emulation
  zfsd_start
  EMPTY=$(sha256sum </dev/null | cut -d' ' -f1)
}

teardown() {
  cd /
  [ -z "${mapper:-}" ] || kill -KILL "$mapper" 2>/dev/null || true
  zfsd_stop || true
  dead_mounts_clear
  rm -rf "$V"
}

# Maps file $1 writable in the background (pid in $mapper); `go` makes it print the sha256
# of its first $2 bytes, then read the page after them (SIGBUS when the file lost them).
map_bg() {
  rm -f "$T/ready" "$T/go"
  client dax-cut "$1" "$T/ready" "$T/go" "$2" >"$T/out" &
  mapper=$!
  wait_file "$T/ready"
}

# Maps file $1 writable whole in the background and holds it (pid in $mapper); the
# mapping's address and size in $addr and $size (for stores through /proc/PID/mem).
hold_bg() {
  rm -f "$T/ready"
  # python itself, not `client` (a function, so a subshell): $mapper is the process that maps.
  python3 "$UZFS_ROOT/tests/lib/map_client.py" "$UZFS_BUILD/libzfs/libuzfs_file.so" \
    dax-hold "$1" "$T/ready" "$T/go" &
  mapper=$!
  wait_file "$T/ready"
  read -r addr size <"$T/ready"
}

# Lets the mapper go; its exit status in $st.
map_go() {
  touch "$T/go"
  st=0
  wait "$mapper" || st=$?
  mapper=
  cat "$T/out"
}

@test "dax=on: a mapping lives through zfs rename of its dataset and of a parent; snapshot, rollback and destroy -f under the new names reach it" {
  "$ZPOOL" create -o cachefile=none -m "$MNT" tank "$V/d0" dax "$V/p0"
  "$ZFS" create tank/a
  "$ZFS" create -o dax=on tank/a/pm
  F=$MNT/a/pm/f
  head -c $((2 << 20)) /dev/urandom >"$F"
  want=$(dax_sum "$F")
  "$ZFS" snapshot tank/a/pm@s
  head -c $((3 << 20)) /dev/urandom >>"$F"
  map_bg "$F" $((2 << 20))
  "$ZFS" rename tank/a/pm tank/a/pm2
  "$ZFS" rename tank/a tank/b
  F=$MNT/b/pm2/f
  # Paused and resumed under the new name, not refused as busy.
  "$ZFS" snapshot tank/b/pm2@t
  "$ZFS" snapshot -r tank/b@r
  "$ZFS" rollback -r tank/b/pm2@s
  [ "$(stat -c %s "$F")" = $((2 << 20)) ]
  map_go
  [ "$st" -eq 135 ]  # SIGBUS past the snapshot's 2 MiB; the bytes before them the snapshot's
  [ "$(sed -n 1p "$T/out")" = "$want" ]

  map_bg "$F" 0
  "$ZFS" rename tank/b/pm2 tank/pm3
  expect 1 "cannot destroy 'tank/pm3': dataset is busy: a DAX file of it is mapped" "$ZFS" destroy -r tank/pm3
  "$ZFS" destroy -r -f tank/pm3
  map_go
  [ "$st" -eq 135 ] && [ "$(cat "$T/out")" = "$EMPTY" ]
  "$ZPOOL" sync tank
  [ "$(dax_alloc)" = 0 ]
  dax_zdb_clean
}

@test "dax=on: zfs receive puts a DAX file's data on the dax class; an incremental into a dataset with mapped files resumes them on the received bytes, SIGBUS where the file went" {
  "$ZPOOL" create -o cachefile=none -m "$MNT" tank "$V/d0" dax "$V/p0"
  "$ZFS" create -o dax=on tank/src
  head -c $((3 << 20)) /dev/urandom >"$MNT/src/f"
  head -c $((1 << 20)) /dev/urandom >"$MNT/src/g"
  "$ZFS" snapshot tank/src@s1
  "$ZFS" send tank/src@s1 >"$T/full"
  "$ZFS" receive tank/dst <"$T/full"
  [ "$(dax_sum "$MNT/dst/f")" = "$(dax_sum "$MNT/src/f")" ]
  [ "$(dax_sum "$MNT/dst/g")" = "$(dax_sum "$MNT/src/g")" ]
  # src's 2 + 1 extents and dst's own copies: nothing of the files on the normal class.
  "$ZPOOL" sync tank
  [ "$(dax_alloc)" = $((12 << 20)) ]
  # f rewritten in place (its object and generation stay), g removed.
  head -c $((3 << 20)) /dev/urandom | dd of="$MNT/src/f" conv=notrunc status=none
  rm "$MNT/src/g"
  "$ZFS" snapshot tank/src@s2
  "$ZFS" send -i s1 tank/src@s2 >"$T/incr"
  want=$(head -c $((1 << 20)) "$MNT/src/f" | sha256sum | cut -d' ' -f1)
  map_bg "$MNT/dst/f" $((1 << 20))
  fmapper=$mapper
  rm -f "$T/ready"
  client dax-cut "$MNT/dst/g" "$T/ready" "$T/go" 0 >"$T/out-g" &
  gmapper=$!
  wait_file "$T/ready"
  # A mapping's extents are copies the snapshot does not share: modified, as after a write.
  "$ZFS" receive -F tank/dst <"$T/incr"
  [ "$(dax_sum "$MNT/dst/f")" = "$(dax_sum "$MNT/src/f")" ]
  [ ! -e "$MNT/dst/g" ]
  mapper=$fmapper
  map_go
  [ "$st" -eq 0 ]  # the received bytes, the next page readable (f is 3 MiB)
  [ "$(sed -n 1p "$T/out")" = "$want" ]
  st=0
  wait "$gmapper" || st=$?
  [ "$st" -eq 135 ] && [ "$(sed -n 1p "$T/out-g")" = "$EMPTY" ]
  [ "$("$ZFS" list -H -o name -t snapshot -r tank/dst | tr '\n' ' ')" = "tank/dst@s1 tank/dst@s2 " ]
  dax_zdb_clean
  [ "$(dax_sum "$MNT/dst/f")" = "$(dax_sum "$MNT/src/f")" ]
}

@test "dax=on: the extents of a client severed for not answering are not handed to new files until its process exits" {
  fence_start
  fence_check  # its truncate severs the stopped client after 5 s
}

# fence_dev: tank on a 64 MiB dax device of $n extents, tank/pm dax=on.
fence_dev() {
  truncate -s 64M "$V/p1"
  "$ZPOOL" create -o cachefile=none -m "$MNT" tank "$V/d0" dax "$V/p1"
  "$ZFS" create -o dax=on tank/pm
  n=$(($("$ZPOOL" list -Hpv -o name,size tank | sed -n 4p | cut -f2) >> 21))
  [ "$n" -ge 6 ]
}

# fence_start: tank on a 64 MiB dax device of $n extents, f of 5 MiB (3 extents) on tank/pm,
# mapped whole by a stopped client ($mapper: python itself, the process that holds the map).
fence_start() {
  fence_dev
  F=$MNT/pm/f G=$MNT/pm/g
  head -c $((5 << 20)) /dev/urandom >"$F"
  rm -f "$T/ready"
  python3 "$UZFS_ROOT/tests/lib/map_client.py" "$UZFS_BUILD/libzfs/libuzfs_file.so" \
    dax-cut "$F" "$T/ready" "$T/go" 0 >"$T/out" &
  mapper=$!
  wait_file "$T/ready"
  kill -STOP "$mapper"
}

# fence_check [K]: f cut to 1 MiB leaves K extents (default 2: those the cut frees) that
# the client may still store into free but fenced: while it lives n - K extents do not fit,
# n - K - 1 do; once it is killed n - 1 fit; zdb -bcc clean.
fence_check() {
  local k=${1:-2}
  truncate -s $((1 << 20)) "$F"
  "$ZPOOL" sync tank
  "$ZPOOL" sync tank
  "$ZPOOL" sync tank
  [ "$(dax_alloc)" = $((2 << 20)) ]
  run dd if=/dev/urandom of="$G" bs=2M count=$((n - k)) iflag=fullblock status=none
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"No space left on device"* ]]
  rm "$G"
  "$ZPOOL" sync tank
  "$ZPOOL" sync tank
  "$ZPOOL" sync tank
  dd if=/dev/urandom of="$G" bs=2M count=$((n - k - 1)) iflag=fullblock status=none
  rm "$G"
  kill -KILL "$mapper"
  wait "$mapper" || true
  mapper=
  "$ZPOOL" sync tank
  "$ZPOOL" sync tank
  "$ZPOOL" sync tank
  dd if=/dev/urandom of="$G" bs=2M count=$((n - 1)) iflag=fullblock status=none
  "$ZPOOL" sync tank
  [ "$(dax_alloc)" = $((n << 21)) ]
  dax_zdb_clean
}

@test "dax=on: a mapped client's extents stay fenced across a SIGKILL of zfsd and a new import, until its process exits" {
  fence_start
  # On file beside the socket before the mapping was handed out.
  [ -s "$UZFS_SOCKET.dax-fences" ]
  zfsd_kill
  zfsd_start
  "$ZPOOL" import -d "$V" tank
  fence_check
}

@test "dax=on: the extents of a client severed by zpool export -f stay fenced after the pool is imported again" {
  fence_start
  "$ZPOOL" export -f tank  # the stopped client does not answer: severed after 5 s
  # Before the export f moved off the three extents the client maps: all stay fenced.
  "$ZPOOL" import -d "$V" tank
  fence_check 3
}

@test "dax=on: a writer severed by zfs snapshot cannot change the snapshot: the file moves to copies, the old extents stay the client's alone" {
  dax_pool
  F=$MNT/pm/f
  head -c $((4 << 20)) /dev/urandom >"$F"
  want=$(dax_sum "$F")
  hold_bg "$F"
  [ "$size" = $((4 << 20)) ]
  kill -STOP "$mapper"
  "$ZFS" snapshot tank/pm@s  # the stopped client does not answer the pause: severed after 5 s
  # The severed client stores into every byte it maps: through /proc/PID/mem, so that its
  # library, stopped, cannot drop the mapping first (the kernel's mapping is what it stores
  # through, whatever zfsd does).
  python3 -c 'import sys; pid, addr, size = map(int, sys.argv[1:])
f = open(f"/proc/{pid}/mem", "r+b", buffering=0); f.seek(addr); f.write(b"\xab" * size)' \
    "$mapper" "$addr" "$size"
  # Its stores reached the device (the extents it had mapped)...
  python3 -c 'import sys; sys.exit(0 if b"\xab" * (2 << 20) in open(sys.argv[1], "rb").read() else 1)' "$V/p0"
  # ...but neither the snapshot nor the file, which moved to copies before the snapshot.
  [ "$(dax_sum "$MNT/pm/.zfs/snapshot/s/f")" = "$want" ]
  [ "$(dax_sum "$F")" = "$want" ]
  # Allocated: the file's 2 copies, which the snapshot shares; the 2 the client holds are
  # free on disk, only fenced while it lives.
  "$ZPOOL" sync tank
  [ "$(dax_alloc)" = $((4 << 20)) ]
  kill -KILL "$mapper"
  wait "$mapper" || true
  mapper=
  dax_zdb_clean
  [ "$(dax_sum "$MNT/pm/.zfs/snapshot/s/f")" = "$want" ]
  [ "$(dax_sum "$F")" = "$want" ]
}

@test "dax=on: a shrink under a shared mmap(2) through the mount drops the pages past the end, as a local file system: their stores never land, the freed extents go to another file untouched, SIGBUS past the end" {
  fence_dev
  F=$MNT/pm/f G=$MNT/pm/g
  cut=$(((1 << 20) + 100))
  want=$(head -c $cut /dev/zero | tr '\0' B | sha256sum | cut -d' ' -f1)
  gsum=$(head -c $(((n - 1) << 21)) /dev/zero | tr '\0' G | sha256sum | cut -d' ' -f1)
  MAP=$UZFS_BUILD/cmd/uzfs-map/uzfs-map
  for how in ftruncate mount; do
    head -c $((3 << 20)) /dev/zero | tr '\0' A >"$F"
    rm -f "$T/ready" "$T/go"
    # Stores into every page of the file through the mount (all dirty in the kernel's cache).
    CUT=$cut python3 - "$F" "$T/ready" "$T/go" >"$T/out" <<'PY' &
import hashlib, mmap, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, 3 << 20, mmap.MAP_SHARED)
m[:] = b'B' * (3 << 20)
open(sys.argv[2], 'w').close()
while not os.path.exists(sys.argv[3]):
    time.sleep(0.02)
m.flush()
print(hashlib.sha256(m[:int(os.environ['CUT'])]).hexdigest(), flush=True)
print(m[2 << 20], flush=True)  # a page past the end: SIGBUS
PY
    mapper=$!
    wait_file "$T/ready"
    if [ $how = mount ]; then truncate -s $cut "$F"; else client truncate "$F" $cut; fi
    [ "$(stat -c %s "$F")" = $cut ]
    if [ $how = ftruncate ]; then
      # The extents f lost go to g, which fills the device but for f's one (through the
      # mount the kernel drops the pages itself).
      "$ZPOOL" sync tank; "$ZPOOL" sync tank; "$ZPOOL" sync tank
      truncate -s $(((n - 1) << 21)) "$G"
      "$MAP" --write-pattern 0x47 --persist "$G"  # G, through a mapping: every extent placed
    fi
    touch "$T/go"
    st=0
    wait "$mapper" || st=$?
    mapper=
    cat "$T/out"
    [ "$st" -eq 135 ]  # SIGBUS (128 + 7)
    [ "$(sed -n 1p "$T/out")" = "$want" ]
    [ "$(stat -c %s "$F")" = $cut ]
    [ "$(dax_sum "$F")" = "$want" ]
    [ $how = mount ] && break
    [ "$("$MAP" --sum "$G")" = "$gsum  $G" ]
    rm "$G"
    "$ZPOOL" sync tank; "$ZPOOL" sync tank; "$ZPOOL" sync tank
  done
  dax_zdb_clean
  [ "$(dax_sum "$F")" = "$want" ]
}

@test "dax=on: a writer severed by a truncate cannot change a later snapshot: the snapshot moves the file off the extents the client still maps" {
  dax_pool
  F=$MNT/pm/f
  head -c $((4 << 20)) /dev/urandom >"$F"
  hold_bg "$F"
  kill -STOP "$mapper"
  # The stopped client does not answer the cut: severed after 5 s, its extents fenced; the
  # first one stays the file's.
  client truncate "$F" $((2 << 20))
  want=$(dax_sum "$F")
  "$ZFS" snapshot -r tank@s  # from the parent: the file moves first all the same
  python3 -c 'import sys; pid, addr, size = map(int, sys.argv[1:])
f = open(f"/proc/{pid}/mem", "r+b", buffering=0); f.seek(addr); f.write(b"\xab" * size)' \
    "$mapper" "$addr" $((2 << 20))
  python3 -c 'import sys; sys.exit(0 if b"\xab" * (2 << 20) in open(sys.argv[1], "rb").read() else 1)' "$V/p0"
  [ "$(dax_sum "$MNT/pm/.zfs/snapshot/s/f")" = "$want" ]
  [ "$(dax_sum "$F")" = "$want" ]
  kill -KILL "$mapper"
  wait "$mapper" || true
  mapper=
  dax_zdb_clean
  [ "$(dax_sum "$MNT/pm/.zfs/snapshot/s/f")" = "$want" ]
}

@test "dax=on: a SIGKILL of zfsd while a client stores and persists records into a mapping: the pool imports, the file holds records 1..N with no gap past what was persisted, zdb -bcc clean" {
  dax_pool
  F=$MNT/pm/f
  truncate -s 4M "$F"
  "$ZPOOL" sync tank
  rm -f "$T/ready" "$T/stop"
  client counter "$F" "$T/ready" "$T/stop" >"$T/out" &
  mapper=$!
  wait_file "$T/ready"  # records 1..1024 persisted
  sleep 0.3
  zfsd_kill
  # Its library sees zfsd gone and makes the mapping inaccessible (uzfs/file.h): SIGSEGV.
  st=0
  wait "$mapper" || st=$?
  mapper=
  [ "$st" -eq 139 ]
  zfsd_start
  "$ZPOOL" import -d "$V" tank
  [ "$(stat -c %s "$F")" = $((4 << 20)) ]
  k=$(client prefix "$F")  # fails on a gap: a record missing before a later one
  echo "records 1..$k"
  [ "$k" -ge 1024 ]
  dax_zdb_clean
}
