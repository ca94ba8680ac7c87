#!/usr/bin/env bats
# zpool import, listing form (`zpool import [-d DIR]...`): on the reference pools zfs-fuse made
# (tests/lib/refpools.sh), the listing is exactly OpenZFS 2.x's — pool, id (= the pool_guid
# zfs-fuse's zdb -l reports), state, action, config and the vdev table (name column as wide
# as the deepest name, at least 10) — for single, mirror, raidz1 and raidz2; degraded and
# unavailable pools (missing devices: "cannot open"); several pools; relative -d paths and
# -d naming a device file; "no pools available to import"; usage errors; zfsd down.

load ../lib/zfsd_helpers

setup_file() {
  ensure_refpools
}

setup() {
  require_binaries
  zfsd_start
}

teardown() {
  zfsd_stop || true
  zfsd_public_cleanup
}

# vdev_rows KIND DIR [MISSING...]: "DEPTH NAME STATE" rows of KIND's vdev tree with leaves
# DIR/d0..; a leaf whose dN is listed in MISSING is UNAVAIL and named by the path zfs-fuse
# wrote into its label (the reference pool's own vdevs directory).
vdev_rows() {
  local kind=$1 dir=$2; shift 2
  local missing=" $* " n top leaves i path state bad=0
  case $kind in
    single) n=1 top= ;;
    mirror) n=2 top=mirror-0 ;;
    raidz1) n=4 top=raidz1-0 ;;
    raidz2) n=4 top=raidz2-0 ;;
  esac
  leaves=()
  for ((i = 0; i < n; i++)); do
    if [[ $missing == *" d$i "* ]]; then
      path=$(realpath "$UZFS_REFPOOLS/$kind/vdevs")/d$i state=UNAVAIL bad=$((bad + 1))
    else
      path=$dir/d$i state=ONLINE
    fi
    leaves+=("$path $state")
  done
  local parity=${kind#raidz} topstate=ONLINE
  [ "$kind" = mirror ] && parity=$((n - 1))
  [ "$kind" = single ] && parity=0
  if [ "$bad" -gt "$parity" ]; then topstate=UNAVAIL; elif [ "$bad" -gt 0 ]; then topstate=DEGRADED; fi
  if [ -z "$top" ]; then
    echo "2 ${leaves[0]}"
  else
    echo "2 $top $topstate"
    for l in "${leaves[@]}"; do echo "4 $l"; done
  fi
}

# expected_listing KIND DIR [MISSING...]: what `zpool import -d DIR` prints for KIND's pool.
expected_listing() {
  local kind=$1 dir=$2; shift 2
  local pool guid rows state width
  pool=$(cat "$UZFS_REFPOOLS/$kind/pool")
  guid=$(sed -n 's/^ *pool_guid: //p' "$UZFS_REFPOOLS/$kind/expect/l" | head -1)
  rows=$(vdev_rows "$kind" "$dir" "$@")
  state=$(awk 'NR == 1 { s = $3 } $1 == 2 { s = $3 } END { print s }' <<<"$rows")
  width=$(awk -v p="$pool" 'BEGIN { w = length(p); if (w < 10) w = 10 }
    { if ($1 + length($2) > w) w = $1 + length($2) } END { print w }' <<<"$rows")
  echo "   pool: $pool"
  echo "     id: $guid"
  echo "  state: $state"
  case $state in
    ONLINE)
      echo " action: The pool can be imported using its name or numeric identifier." ;;
    DEGRADED)
      echo " status: One or more devices are missing from the system."
      echo " action: The pool can be imported despite missing or damaged devices.  The"
      printf '\tfault tolerance of the pool may be compromised if imported.\n'
      echo "   see: https://openzfs.github.io/openzfs-docs/msg/ZFS-8000-2Q" ;;
    UNAVAIL)
      echo " status: One or more devices are missing from the system."
      echo " action: The pool cannot be imported. Attach the missing"
      printf '\tdevices and try again.\n'
      echo "   see: https://openzfs.github.io/openzfs-docs/msg/ZFS-8000-3C" ;;
  esac
  echo " config:"
  echo
  local aux=
  [ "$state" = UNAVAIL ] && aux="  insufficient replicas"
  printf '\t%-*s  %s%s\n' "$width" "$pool" "$state" "$aux"
  while read -r depth name st; do
    aux=
    if [ "$st" = UNAVAIL ]; then
      if [ "$depth" = 4 ] || [ "${name:0:1}" = / ]; then aux="  cannot open"; else aux="  insufficient replicas"; fi
    fi
    printf '\t%*s%-*s  %s%s\n' "$depth" "" "$((width - depth))" "$name" "$st" "$aux"
  done <<<"$rows"
}

# copy_vdevs KIND DEST: a sparse copy of KIND's vdevs; prints DEST's absolute path.
copy_vdevs() {
  mkdir -p "$2"
  cp --sparse=always "$UZFS_REFPOOLS/$1/vdevs"/d* "$2/"
  realpath "$2"
}

@test "zpool import -d: single, mirror, raidz1 and raidz2 listed exactly as OpenZFS does" {
  for kind in single mirror raidz1 raidz2; do
    dir=$(realpath "$UZFS_REFPOOLS/$kind/vdevs")
    zrun "$ZPOOL" import -d "$dir"
    expect_rc 0
    expect_stderr ""
    same <(expected_listing "$kind" "$dir") "$out" || { echo "($kind)" >&2; return 1; }
  done
}

@test "zpool import -d: the id is the pool_guid in zfs-fuse's labels and zdb -C" {
  refpool raidz2
  zrun "$ZPOOL" import -d "$VDEVS"
  expect_rc 0
  id=$(sed -n 's/^     id: //p' "$out")
  grep -q "^ *pool_guid: $id\$" "$EXPECT/l"
  grep -q "pool_guid: $id\$" "$EXPECT/C"
}

@test "zpool import -d: a mirror missing a side is DEGRADED, the missing leaf 'cannot open'" {
  dir=$(copy_vdevs mirror "$BATS_TEST_TMPDIR/m")
  rm "$dir/d1"
  zrun "$ZPOOL" import -d "$dir"
  expect_rc 0
  same <(expected_listing mirror "$dir" d1) "$out"
}

@test "zpool import -d: raidz1 missing one device is DEGRADED, missing two is UNAVAIL" {
  dir=$(copy_vdevs raidz1 "$BATS_TEST_TMPDIR/r")
  rm "$dir/d2"
  zrun "$ZPOOL" import -d "$dir"
  expect_rc 0
  same <(expected_listing raidz1 "$dir" d2) "$out"
  rm "$dir/d0"
  zrun "$ZPOOL" import -d "$dir"
  expect_rc 0
  same <(expected_listing raidz1 "$dir" d0 d2) "$out"
}

@test "zpool import -d: raidz2 survives two missing devices (DEGRADED)" {
  dir=$(copy_vdevs raidz2 "$BATS_TEST_TMPDIR/r2")
  rm "$dir/d1" "$dir/d3"
  zrun "$ZPOOL" import -d "$dir"
  expect_rc 0
  same <(expected_listing raidz2 "$dir" d1 d3) "$out"
}

@test "zpool import -d DIR -d DIR: several pools, one block each, separated by a blank line" {
  a=$(realpath "$UZFS_REFPOOLS/single/vdevs") b=$(realpath "$UZFS_REFPOOLS/mirror/vdevs")
  zrun "$ZPOOL" import -d "$a" -d "$b"
  expect_rc 0
  # Blocks in any order (OpenZFS's order is its own too).
  awk '/^   pool: / { n++ } { print > (FILENAME ".block" n) }' "$out"
  [ -f "$out.block1" ] && [ -f "$out.block2" ] && [ ! -f "$out.block3" ]
  [ "$(grep -c '^$' "$out")" -eq 3 ]   # one after each " config:", one between the pools
  if grep -q "pool: $(cat "$UZFS_REFPOOLS/single/pool")\$" "$out.block1"; then
    s=$out.block1 m=$out.block2
  else
    s=$out.block2 m=$out.block1
  fi
  same <(expected_listing single "$a" | sed '/^$/d') <(sed '/^$/d' "$s")
  same <(expected_listing mirror "$b" | sed '/^$/d') <(sed '/^$/d' "$m")
}

@test "zpool import -d: a relative directory is the caller's, not zfsd's" {
  cd "$UZFS_REFPOOLS/mirror"
  zrun "$ZPOOL" import -d vdevs
  expect_rc 0
  same <(expected_listing mirror "$(realpath vdevs)") "$out"
}

@test "zpool import -d FILE: a device file is searched by itself" {
  dir=$(copy_vdevs mirror "$BATS_TEST_TMPDIR/m")
  zrun "$ZPOOL" import -d "$dir/d0"
  expect_rc 0
  same <(expected_listing mirror "$dir" d1) "$out"   # d1 is not searched: missing
}

@test "zpool import: nothing found is 'no pools available to import', exit 1" {
  mkdir -p "$BATS_TEST_TMPDIR/empty"
  truncate -s 80M "$BATS_TEST_TMPDIR/empty/blank"
  zrun "$ZPOOL" import -d "$BATS_TEST_TMPDIR/empty"
  expect_rc 1
  expect_stdout ""
  expect_stderr "no pools available to import"
  zrun "$ZPOOL" import -d "$BATS_TEST_TMPDIR/does-not-exist"
  expect_rc 1
  expect_stdout ""
  expect_stderr "no pools available to import"
}

@test "zpool import: any user may list" {
  zfsd_stop
  zfsd_public_start
  dir=$(realpath "$UZFS_REFPOOLS/single/vdevs")
  zrun as_nobody "$ZPOOL" import -d "$dir"
  expect_rc 0
  same <(expected_listing single "$dir") "$out"
}

@test "zpool import: usage errors are exit 2 with the import usage on stderr" {
  usage=$'usage:\n'$("$ZPOOL" import --help | sed -n 's/^\(Usage: \|       \)zpool /\t/p')
  zrun "$ZPOOL" import -x
  expect_rc 2
  expect_stdout ""
  expect_stderr "invalid option 'x'
$usage"
  zrun "$ZPOOL" import -d
  expect_rc 2
  expect_stderr "missing argument for 'd' option
$usage"
}

@test "zpool import: zfsd down is 'cannot connect to zfsd at PATH', exit 1" {
  zfsd_stop
  export UZFS_SOCKET=$BATS_TEST_TMPDIR/gone.sock
  zrun "$ZPOOL" import -d "$UZFS_REFPOOLS/single/vdevs"
  expect_rc 1
  expect_stdout ""
  expect_stderr "cannot connect to zfsd at $UZFS_SOCKET: No such file or directory"
}
