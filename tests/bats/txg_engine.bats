#!/usr/bin/env bats
# The txg engine under load, judged by zfs-fuse: fsx writers, a creator/renamer, a libzfs
# mapper, readers and a streaming rewriter run at once through the FUSE mount while `zpool
# sync` closes txgs back to back and a small dirty bound (zfsd --dirty-max 8M) keeps early
# writeback and the throttle busy. Every model check passes, the files read back the same
# after our own export/import, and zfs-fuse's zdb -bcc finds no leak and no checksum error.

load ../lib/pool_helpers
load ../lib/oracle

setup() {
  V=$BATS_TEST_TMPDIR/v
  ALT=$BATS_TEST_TMPDIR/alt
  mkvdevs "$V" 2 768M
  ZFSD_EXTRA_ARGS="--dirty-max 8M" zfsd_start
  FSX=$UZFS_BUILD/tests/fsx/uzfs_fsx
  MAP=$UZFS_BUILD/cmd/uzfs-map/uzfs-map
}

teardown() {
  cd /
  [ -n "${SYNCER:-}" ] && kill "$SYNCER" 2>/dev/null
  zfsd_stop || true
  dead_mounts_clear
  oracle_stop 2>/dev/null || true
}

# sha256 of every regular file under DIR, as "hash  relative/path" lines, sorted.
hashes() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum); }

@test "txg engine: writers, mappers, creates and renames beside back-to-back syncs; zdb -bcc clean" {
  "$ZPOOL" create -m "$ALT/tp" tp mirror "$V/d0" "$V/d1"
  "$ZFS" create -o compression=lzjb tp/c
  M=$ALT/tp
  # txgs closed back to back for the whole run
  ( while :; do "$ZPOOL" sync tp >/dev/null 2>&1; done ) &
  SYNCER=$!
  pids=()
  for i in 1 2 3; do
    "$FSX" "$M/fsx$i" --ops 3000 --seed "$i" --maxlen $((6 << 20)) --maxop $((512 << 10)) --quiet \
      >"$BATS_TEST_TMPDIR/fsx$i.log" 2>&1 &
    pids+=($!)
  done
  "$FSX" "$M/c/fsx4" --ops 3000 --seed 4 --maxlen $((6 << 20)) --maxop $((512 << 10)) --quiet \
    >"$BATS_TEST_TMPDIR/fsx4.log" 2>&1 &
  pids+=($!)
  # creates and renames with a model of the directory: names and contents checked at the end
  python3 - "$M/c/dir" >"$BATS_TEST_TMPDIR/names.log" 2>&1 <<'PY' &
import os, sys, random
d = sys.argv[1]; os.makedirs(d + "/a"); os.makedirs(d + "/b")
rng = random.Random(5); model = {}
for i in range(1500):
    p = "%s/%s/n%d" % (d, rng.choice("ab"), i)
    data = os.urandom(rng.randrange(1, 20000))
    with open(p, "wb") as f: f.write(data)
    model[p] = data
    if i % 3 == 0:
        q = "%s/%s/m%d" % (d, rng.choice("ab"), i)
        os.rename(p, q); model[q] = model.pop(p)
    if i % 7 == 0:
        victim = rng.choice(sorted(model)); os.unlink(victim); del model[victim]
have = {os.path.join(r, n) for r, _, ns in os.walk(d) for n in ns}
assert have == set(model), "listing differs: %d vs %d" % (len(have), len(model))
for p, data in model.items():
    assert open(p, "rb").read() == data, p
print("names ok", len(model))
PY
  pids+=($!)
  # a streaming rewriter: 48 MiB overwritten in place three times (early writeback meets
  # blocks changed under it), each pass checked by a reader
  ( for pass in 1 2 3; do
      head -c $((48 << 20)) /dev/urandom >"$BATS_TEST_TMPDIR/stream.$pass"
      dd if="$BATS_TEST_TMPDIR/stream.$pass" of="$M/stream" bs=1M conv=notrunc status=none || exit 1
      cmp "$BATS_TEST_TMPDIR/stream.$pass" "$M/stream" || exit 1
    done ) &
  pids+=($!)
  # a libzfs mapper storing patterns into a mapped file while txgs close
  ( truncate -s 16M "$M/mapped"
    for b in 17 34 51 68; do
      "$MAP" --write-pattern "$b" "$M/mapped" || exit 1
      want=$(head -c $((16 << 20)) /dev/zero | tr '\0' "\\$(printf %o "$b")" | sha256sum | cut -d' ' -f1)
      [ "$(sha256sum <"$M/mapped" | cut -d' ' -f1)" = "$want" ] || {
        echo "mapped pass $b differs:" >&2
        head -c $((16 << 20)) /dev/zero | tr '\0' "\\$(printf %o "$b")" | cmp - "$M/mapped" >&2
        exit 1; }
    done ) &
  pids+=($!)
  failed=0
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  kill "$SYNCER"; wait "$SYNCER" 2>/dev/null || true; SYNCER=
  if [ $failed -ne 0 ]; then
    tail -n 30 "$BATS_TEST_TMPDIR"/fsx*.log "$BATS_TEST_TMPDIR/names.log" >&2
    return 1
  fi
  grep -q "names ok" "$BATS_TEST_TMPDIR/names.log"
  hashes "$M" >"$BATS_TEST_TMPDIR/before"
  # our own export and import: the same bytes from disk
  "$ZPOOL" export tp
  "$ZPOOL" import -d "$V" tp
  hashes "$M" >"$BATS_TEST_TMPDIR/after"
  diff "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
  "$ZPOOL" export tp
  oracle_start
  oracle_zdb_clean "$V" tp
  oracle_stop
}

@test "txg engine: a writer at the dirty bound is slowed, not failed, and zfsd's memory stays bounded" {
  zfsd_stop
  ZFSD_EXTRA_ARGS="--dirty-max 16M --arc-max 64M" zfsd_start
  "$ZPOOL" create -m "$ALT/tb" tb "$V/d0"
  # 4x (ARC bound + dirty bound) written in one go
  python3 - "$ALT/tb/big" $((320 << 20)) "$ZFSD_PID" <<'PY'
import os, sys
path, total, pid = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def rss():
    for line in open("/proc/%s/status" % pid):
        if line.startswith("VmRSS:"): return int(line.split()[1]) * 1024
base = rss(); peak = base
buf = os.urandom(1 << 20)
with open(path, "wb") as f:
    for i in range(total >> 20):
        f.write(buf)
        peak = max(peak, rss())
    f.flush(); os.fsync(f.fileno())
grow = (peak - base) >> 20
print("rss grew by %d MiB" % grow)
# the dirty data (16M) and early writeback's images of it, FUSE buffers and threads
assert grow <= 96, "zfsd grew by %d MiB" % grow
PY
  [ "$(stat -c %s "$ALT/tb/big")" -eq $((320 << 20)) ]
  "$ZPOOL" export tb
}
