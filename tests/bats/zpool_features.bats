#!/usr/bin/env bats
# Pool version 5000 and feature flags (docs/ondisk-v23.md section 11): a pool with
# com.uzfs:dax active is refused by zfs-fuse (a v23 system) cleanly, by version, while its
# daemon stays up; ours imports it, zpool get version prints "-", our zdb shows version 5000
# and features_for_read. The pools are made by tests/featpool's uzfs_featpool (test-only:
# features through the library, before zpool has a way to ask for them); pools without
# features are zpool_interop.bats's.

load ../lib/pool_helpers
load ../lib/oracle

FEATPOOL=$UZFS_BUILD/tests/featpool/uzfs_featpool

setup() {
  V=$BATS_TEST_TMPDIR/vdevs
  [ -x "$FEATPOOL" ] || { echo "not built: $FEATPOOL" >&2; return 1; }
}

teardown() {
  zfsd_stop || true
  oracle_stop 2>/dev/null || true
}

# zf_refuses POOL: zfs-fuse's zpool lists POOL under import -d as a pool of a newer version,
# refuses to import it (non-zero, no crash), and its daemon still answers afterwards.
zf_refuses() {
  oracle_start
  run "$ZF_ZPOOL" import -d "$V"
  echo "zfs-fuse zpool import -d: $status: $output"
  [[ $output == *"pool: $1"* ]]
  [[ $output == *"incompatible version"* ]]
  run "$ZF_ZPOOL" import -d "$V" "$1"
  echo "zfs-fuse zpool import -d $1: $status: $output"
  [ "$status" -ne 0 ] && [ "$status" -lt 128 ]
  [[ $output == *"cannot import '$1': pool is formatted using a newer ZFS version"* ]]
  pgrep -x zfs-fuse >/dev/null
  run "$ZF_ZPOOL" list -H -o name
  [ "$status" -eq 0 ]
  [[ $output != *"$1"* ]]
  oracle_stop
}

@test "features: zfs-fuse refuses a pool made with com.uzfs:dax, and stays up" {
  mkvdevs "$V" 1
  "$FEATPOOL" create fp com.uzfs:dax "$V/d0"
  zf_refuses fp
}

@test "features: a v23 pool upgraded by activating dax: zfs-fuse refuses it, we import it" {
  mkvdevs "$V" 2
  zfsd_start
  "$ZPOOL" create u23 "$V/d0" "$V/d1"
  [ "$("$ZPOOL" get -H -o value version u23)" = 23 ]
  "$ZPOOL" export u23
  "$FEATPOOL" activate u23 dax "$V/d0" "$V/d1"
  zf_refuses u23
  "$ZPOOL" import -d "$V" u23
  # zpool_get_prop_literal: no version number for a feature pool, with -p too.
  [ "$("$ZPOOL" get -H -o value,source version u23)" = "$(printf -- '-\tdefault')" ]
  [ "$("$ZPOOL" get -Hp -o value version u23)" = - ]
  [ "$("$ZPOOL" list -H -o name,version u23)" = "$(printf 'u23\t-')" ]
  run "$ZPOOL" status u23
  [ "$status" -eq 0 ]
  [[ $output != *feature* ]]
  "$ZPOOL" export u23
  [ "$("$ZDB" -l "$V/d1" | grep -c '^    version: 5000$')" -eq 4 ]
}

@test "features: our zdb shows version 5000 and features_for_read, and checks the pool clean" {
  mkvdevs "$V" 1
  "$FEATPOOL" create fp dax "$V/d0"
  run "$ZDB" -l "$V/d0"
  [ "$status" -eq 0 ]
  [[ $output == *"    version: 5000"* ]]
  [[ $output == *"$(printf '    features_for_read:\n        com.uzfs:dax\n')"* ]]
  run "$ZDB" -e -p "$V" -C fp
  [ "$status" -eq 0 ]
  [[ $output == *"        version: 5000"* ]]
  [[ $output == *"$(printf '        features_for_read:\n            com.uzfs:dax')"* ]]
  run "$ZDB" -e -p "$V" -u fp
  [ "$status" -eq 0 ]
  [[ $output == *"version = 5000"* ]]
  run "$ZDB" -e -p "$V" -bcc fp
  echo "$output"
  [ "$status" -eq 0 ]
  [[ $output == *"No leaks"* ]]
}
