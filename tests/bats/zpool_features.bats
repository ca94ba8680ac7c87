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
  # The three feature ZAPs (DMU_OTN_ZAP_METADATA, named "zap" as OpenZFS's zdb does).
  run "$ZDB" -e -p "$V" -dddd fp
  [ "$status" -eq 0 ]
  [[ $output == *$'		features_for_read = '* ]]
  [[ $output == *$'		features_for_write = '* ]]
  [[ $output == *$'		feature_descriptions = '* ]]
  [[ $output == *"  zap"$'
'*$'		com.uzfs:dax = 1 
'* ]]
  run "$ZDB" -e -p "$V" -bcc fp
  echo "$output"
  [ "$status" -eq 0 ]
  [[ $output == *"No leaks"* ]]
}

@test "features: zpool upgrade: -v lists dax, a feature pool has every feature, legacy pools go to 23" {
  mkvdevs "$V" 3
  "$FEATPOOL" create fp dax "$V/d0"
  zfsd_start
  "$ZPOOL" import -d "$V" fp
  "$ZPOOL" create u23 "$V/d1"
  hdr=$'This system supports ZFS pool feature flags.\n'
  run "$ZPOOL" upgrade fp
  [ "$status" -eq 0 ]
  [ "$output" = "$hdr"$'\n'"Pool 'fp' already has all supported and requested features enabled." ]
  run "$ZPOOL" upgrade u23
  [ "$status" -eq 0 ]
  [ "$output" = "$hdr"$'\n'"Pool 'u23' is already formatted using version 23." ]
  run "$ZPOOL" upgrade
  [ "$status" -eq 0 ]
  [ "$output" = "$hdr"$'\nAll pools are formatted using version 23 or feature flags.\n\nEvery feature flags pool has all supported and requested features enabled.' ]
  run "$ZPOOL" upgrade -v
  [ "$status" -eq 0 ]
  [[ $output == *$'\ndax '*$'\n     Files of dax=on datasets live on device-DAX (persistent memory) vdevs.\n'* ]]
  [[ $output == *$'\n 23  Slim ZIL\n'* ]]
  [[ $output != *" 24 "* ]]
  # uzfs creates no pool older than 23: zfs-fuse makes one.
  oracle_start
  "$ZF_ZPOOL" create -o version=20 old "$V/d2"
  "$ZF_ZPOOL" export old
  oracle_stop
  "$ZPOOL" import -d "$V" old
  run "$ZPOOL" upgrade
  [[ $output == *$'VER  POOL\n---  ------------\n20   old\n'* ]]
  run "$ZPOOL" upgrade -V 5000 u23
  [ "$status" -eq 1 ]
  [[ $output == *"cannot upgrade 'u23': uzfs formats a pool using feature flags only when it gets a dax vdev"* ]]
  run "$ZPOOL" upgrade -a
  [ "$status" -eq 0 ]
  [ "$output" = "$hdr"$'\n'"Successfully upgraded 'old' from version 20 to version 23." ]
  [ "$("$ZPOOL" get -H -o value version old)" = 23 ]
  run "$ZPOOL" upgrade -a
  [ "$output" = "$hdr"$'\nAll pools are already formatted with version 23 or higher.' ]
  run "$ZPOOL" upgrade -v fp
  [ "$status" -eq 2 ]
  [[ $output == *"-v option is incompatible with other arguments"* ]]
}

@test "features: our zpool refuses pools using features it does not know, in OpenZFS's words" {
  mkvdevs "$V" 2
  # fa: an unknown feature in the labels (refused before the MOS is read: no description);
  # fb: one only in the MOS's features_for_read (refused with its description).
  "$FEATPOOL" create fa dax "$V/d0"
  "$FEATPOOL" zhack fa com.example:future "$V/d0"
  "$FEATPOOL" create fb dax "$V/d1"
  "$FEATPOOL" zhack fb com.example:mosonly+mos=no "$V/d1"
  zfsd_start
  run "$ZPOOL" import -d "$V"
  [ "$status" -eq 0 ]
  [[ $output == *$'   pool: fa\n'*$'\n  state: UNAVAIL\n status: The pool uses the following feature(s) not supported on this system:\n\tcom.example:future\n action: The pool cannot be imported. Access the pool on a system that supports\n\tthe required feature(s), or recreate the pool from backup.\n config:'* ]]
  for p in fa fb; do
    run bash -c "'$ZPOOL' import -d '$V' $p 2>'$BATS_TEST_TMPDIR/err'"
    [ "$status" -eq 1 ]
    [ "$(cat "$BATS_TEST_TMPDIR/err")" = "cannot import '$p': unsupported version or feature" ]
    case $p in
      fa) [ "$output" = $'This pool uses the following feature(s) not supported by this system:\n\tcom.example:future' ] ;;
      fb) [ "$output" = $'This pool uses the following feature(s) not supported by this system:\n\tcom.example:mosonly (A feature from elsewhere.)' ] ;;
    esac
  done
  run "$ZPOOL" list -H -o name
  [ -z "$output" ]
}
