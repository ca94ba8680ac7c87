#!/usr/bin/env bats
# zpool and zdb as an OpenZFS administrator's scripts use them: zdb finding an imported pool
# in zfsd's cache file (-U for another), zpool import -D, -a and -c, zpool history -i and -l,
# cachefile=PATH and none, create's refusal of a non-empty mountpoint, zpool list of a
# missing pool. OpenZFS's messages and exit codes. One private zfsd per test (its cache file
# $CACHE); $V/d0..d2 are free.

load ../lib/pool_helpers
load ../lib/oracle

setup() {
  V=$BATS_TEST_TMPDIR/v
  ALT=$BATS_TEST_TMPDIR/alt
  mkvdevs "$V" 3 256M
  SOCKDIR=$(mktemp -d /tmp/uzfs-zpoolcompat.XXXXXX)
  chmod 755 "$SOCKDIR"
  zfsd_start "$SOCKDIR"
  CACHE=$SOCKDIR/state/zpool.cache
}

teardown() {
  pool_suite_teardown
  rm -rf "$SOCKDIR"
}

@test "zdb finds a pool zfsd imported in its cache file (-U CACHEFILE), as OpenZFS's zdb reads zpool.cache" {
  "$ZPOOL" create -m "$ALT/tank" tank "$V/d0"
  "$ZFS" create tank/fs
  run "$ZDB" -U "$CACHE" -C tank
  [ "$status" -eq 0 ]
  [[ $output == *"MOS Configuration:"* ]]
  [[ $output == *"name: 'tank'"* ]]
  [[ $output == *"path: '$V/d0'"* ]]
  run "$ZDB" -U "$CACHE" -d tank
  [ "$status" -eq 0 ]
  [[ $output == *"Dataset tank/fs [ZPL]"* ]]
  # The same pool as -e finds it.
  [ "$("$ZDB" -U "$CACHE" -u tank | grep guid_sum)" = "$("$ZDB" -e -p "$V" -u tank | grep guid_sum)" ]
  # A pool imported with -R (cachefile=none) is in no cache file: -e is the way.
  "$ZPOOL" create -R "$ALT" p2 "$V/d1"
  expect 1 "zdb: can't open 'p2': pool is not in the cache file $CACHE; use -e: No such file or directory" "$ZDB" -U "$CACHE" -C p2
  run "$ZDB" -e -p "$V" -C p2
  [ "$status" -eq 0 ]
  expect 1 "zdb: can't open 'tank': cannot read the cache file $BATS_TEST_TMPDIR/nocache: No such file or directory" \
    "$ZDB" -U "$BATS_TEST_TMPDIR/nocache" -C tank
}

@test "zpool create -o cachefile=PATH writes PATH alone; cachefile=none keeps the pool out of every cache file" {
  local cf=$BATS_TEST_TMPDIR/tank.cache
  "$ZPOOL" create -m "$ALT/tank" -o cachefile="$cf" tank "$V/d0"
  [ -s "$cf" ]
  expect 0 "$cf" "$ZPOOL" get -H -o value cachefile tank
  run "$ZDB" -U "$cf" -C tank
  [ "$status" -eq 0 ]
  expect 1 "zdb: can't open 'tank': pool is not in the cache file $CACHE; use -e: No such file or directory" "$ZDB" -U "$CACHE" -C tank
  "$ZPOOL" create -m "$ALT/p2" -o cachefile=none p2 "$V/d1"
  expect 0 "none" "$ZPOOL" get -H -o value cachefile p2
  "$ZPOOL" create -m "$ALT/p3" p3 "$V/d2"
  expect 0 "-" "$ZPOOL" get -H -o value cachefile p3
  run "$ZDB" -U "$CACHE" -C p3
  [ "$status" -eq 0 ]
  for f in "$CACHE" "$cf"; do
    expect 1 "zdb: can't open 'p2': pool is not in the cache file $f; use -e: No such file or directory" "$ZDB" -U "$f" -C p2
  done
  expect 1 "zdb: can't open 'p3': pool is not in the cache file $cf; use -e: No such file or directory" "$ZDB" -U "$cf" -C p3
  # The file goes when no pool names it any longer (spa_config_sync).
  "$ZPOOL" set cachefile=none tank
  [ ! -e "$cf" ]
  # zfsd's next start imports the pools of its own cache file only.
  zfsd_stop
  zfsd_start "$SOCKDIR"
  expect 0 "p3" "$ZPOOL" list -H -o name
}

@test "zpool create refuses a mountpoint that exists and is not empty, before creating anything" {
  mkdir -p "$BATS_TEST_TMPDIR/full" "$ALT/tank"
  touch "$BATS_TEST_TMPDIR/full/x" "$ALT/tank/y"
  expect 1 "mountpoint '$BATS_TEST_TMPDIR/full' exists and is not empty
use '-m' option to provide a different default" "$ZPOOL" create -f -m "$BATS_TEST_TMPDIR/full" tank "$V/d0"
  # The default mountpoint, under -R's root.
  expect 1 "mountpoint '$ALT/tank' exists and is not empty
use '-m' option to provide a different default" "$ZPOOL" create -R "$ALT" tank "$V/d0"
  expect 1 "mountpoint '$V/d1' : Not a directory
use '-m' option to provide a different default" "$ZPOOL" create -m "$V/d1" tank "$V/d0"
  expect 1 "mountpoint '$BATS_TEST_TMPDIR/full' exists and is not empty
use '-m' option to provide a different default" "$ZPOOL" create -n -m "$BATS_TEST_TMPDIR/full" tank "$V/d0"
  expect 0 "no pools available" "$ZPOOL" list
  expect 1 "no pools available to import" "$ZPOOL" import -d "$V"
  # An empty directory, 'none' and 'legacy' are fine.
  rm "$ALT/tank/y"
  "$ZPOOL" create -R "$ALT" tank "$V/d0"
  "$ZPOOL" create -m none p2 "$V/d1"
  expect 0 "p2
tank" "$ZPOOL" list -H -o name
}

@test "zpool import -D lists and imports destroyed pools only; without -D they are not there" {
  "$ZPOOL" create -R "$ALT" tank "$V/d0"
  "$ZFS" create tank/fs
  echo kept >"$ALT/tank/fs/f"
  "$ZPOOL" create -R "$ALT" p2 "$V/d1"
  "$ZPOOL" destroy tank
  "$ZPOOL" export p2
  run "$ZPOOL" import -d "$V"
  [ "$status" -eq 0 ]
  [[ $output == *"   pool: p2"* ]]
  [[ $output != *"tank"* ]]
  expect 1 "cannot import 'tank': no such pool available" "$ZPOOL" import -d "$V" tank
  run "$ZPOOL" import -D -d "$V"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "   pool: tank" ]
  [ "${lines[2]}" = "  state: ONLINE (DESTROYED)" ]
  [[ $output != *"p2"* ]]
  expect 1 "cannot import 'p2': no such pool available" "$ZPOOL" import -D -d "$V" p2
  "$ZPOOL" import -D -d "$V" -R "$ALT" tank
  [ "$(cat "$ALT/tank/fs/f")" = kept ]
  expect 0 "ONLINE" "$ZPOOL" list -H -o health tank
  expect 1 "no pools available to import" "$ZPOOL" import -D -d "$V"
}

@test "zpool import -a imports every pool found (not the destroyed ones unless -D)" {
  for p in a0 a1 a2; do "$ZPOOL" create -R "$ALT" "$p" "$V/d${p#a}"; done
  "$ZPOOL" export a0
  "$ZPOOL" export a1
  "$ZPOOL" destroy a2
  run "$ZPOOL" import -a a0
  [ "$status" -eq 2 ]
  [ "${lines[0]}" = "too many arguments" ]
  "$ZPOOL" import -a -d "$V" -R "$ALT"
  expect 0 "a0
a1" "$ZPOOL" list -H -o name
  expect 1 "no pools available to import" "$ZPOOL" import -a -d "$V"
  "$ZPOOL" import -a -D -d "$V" -R "$ALT"
  expect 0 "a0
a1
a2" "$ZPOOL" list -H -o name
}

@test "zpool import -c CACHEFILE: the pools a cache file names, from the devices it names" {
  local cf=$BATS_TEST_TMPDIR/tank.cache copy=$BATS_TEST_TMPDIR/copy.cache
  "$ZPOOL" create -m "$ALT/tank" -o cachefile="$cf" tank mirror "$V/d0" "$V/d1"
  "$ZPOOL" create -m "$ALT/p2" p2 "$V/d2"
  cp "$cf" "$copy"
  # An imported pool is not found (zpool_find_import_cached skips active pools).
  expect 1 "no pools available to import" "$ZPOOL" import -c "$copy"
  "$ZPOOL" export tank
  "$ZPOOL" export p2
  [ ! -e "$cf" ]  # export takes tank out of its cache file; the copy still names it
  # zfsd's own cache file, written without pools: nothing to find (not a search of /dev).
  [ -e "$CACHE" ]
  expect 1 "no pools available to import" "$ZPOOL" import -c "$CACHE"
  # Listed: tank only (p2's device is not in the file, and -c does not search).
  run "$ZPOOL" import -c "$copy"
  [ "$status" -eq 0 ]
  [[ "$output" == *"   pool: tank"* ]]
  [[ "$output" == *"mirror-0"* ]]
  [[ "$output" != *"p2"* ]]
  expect 1 "cannot import 'p2': no such pool available" "$ZPOOL" import -c "$copy" p2
  "$ZPOOL" import -c "$copy" tank
  expect 0 "tank	ONLINE" "$ZPOOL" list -H -o name,health
  # Refusals in libzfs's and zpool_do_import's words.
  expect 1 "failed to open cache file: No such file or directory
no pools available to import" "$ZPOOL" import -c "$BATS_TEST_TMPDIR/none"
  echo garbage >"$BATS_TEST_TMPDIR/bad.cache"
  expect 1 "invalid or corrupt cache file contents: invalid or missing cache file
cannot import 'tank': no such pool available" "$ZPOOL" import -c "$BATS_TEST_TMPDIR/bad.cache" tank
  run "$ZPOOL" import -c "$copy" -d "$V"
  [ "$status" -eq 2 ]
  [ "${lines[0]}" = "-c is incompatible with -d" ]
}

@test "zpool history -l: who and where ([user root on HOST]); -i: internal events" {
  "$ZPOOL" create -R "$ALT" tank "$V/d0"
  "$ZFS" create tank/fs
  "$ZPOOL" scrub -w tank
  local host
  host=$(uname -n)
  run "$ZPOOL" history -l tank
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "History for 'tank':" ]
  [[ ${lines[1]} =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}\.[0-9]{2}:[0-9]{2}:[0-9]{2}\ zpool\ create\ -R\ $ALT\ tank\ $V/d0\ \[user\ root\ on\ $host\]$ ]]
  [[ ${lines[2]} == *" zfs create tank/fs [user root on $host]" ]]
  [[ ${lines[3]} == *" zpool scrub -w tank [user root on $host]" ]]
  [[ $output != *"[internal"* ]]
  # The scrub's end is logged in the txg that records it (as v23's dsl_pool_scrub_sync).
  "$ZPOOL" sync tank
  run "$ZPOOL" history -i tank
  [ "$status" -eq 0 ]
  [[ $output == *" [internal pool scrub txg:"*"] func=1 mintxg=0 maxtxg="* ]]
  [[ $output == *" [internal pool scrub done txg:"*"] complete=1"* ]]
  [[ $output != *"[user"* ]]
  run "$ZPOOL" history tank
  [[ $output != *"[internal"* ]]
  [ "${#lines[@]}" -eq 4 ]
  run "$ZPOOL" history -il tank
  [[ $output == *"] complete=1 [user root on $host]"* ]]
}

@test "zpool list of a missing pool prints the error alone, no header" {
  expect 1 "cannot open 'nope': no such pool" "$ZPOOL" list nope
  "$ZPOOL" create -R "$ALT" tank "$V/d0"
  expect 1 "cannot open 'nope': no such pool" "$ZPOOL" list -o name nope
  run "$ZPOOL" list -o name tank nope
  [ "$status" -eq 1 ]
  [ "$output" = "cannot open 'nope': no such pool
NAME
tank" ]
}

@test "zfs-fuse reads what uzfs records: history -il's users, hosts and internal events; a destroyed pool under import -D" {
  "$ZPOOL" create -R "$ALT" tank "$V/d0"
  "$ZPOOL" scrub -w tank
  "$ZPOOL" sync tank
  local ours theirs
  ours=$("$ZPOOL" history -il tank)
  "$ZPOOL" export tank
  "$ZPOOL" create -R "$ALT" gone "$V/d1"
  "$ZPOOL" destroy gone
  zfsd_stop
  oracle_start
  run "$ZF_ZPOOL" import -D -d "$V"
  [ "$status" -eq 0 ]
  [[ $output == *"  pool: gone"* ]]
  [[ $output == *" state: ONLINE (DESTROYED)"* ]]
  [[ $output != *"tank"* ]]
  "$ZF_ZPOOL" import -d "$V" -R "$ALT" tank
  theirs=$("$ZF_ZPOOL" history -il tank)
  oracle_stop
  # zfs-fuse's import adds its own record after ours.
  [ "$(head -n "$(wc -l <<<"$ours")" <<<"$theirs")" = "$ours" ]
  [[ $ours == *"[internal pool scrub done txg:"* ]]
}
