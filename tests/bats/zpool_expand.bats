#!/usr/bin/env bats
# Device expansion: zpool online -e and the autoexpand property (vdev_online with
# ZFS_ONLINE_EXPAND, vdev_expand / vdev_metaslab_init). A file vdev grown with truncate gets
# new metaslabs, its asize in the config and the labels (written at the new end) raised;
# zpool list shows the new size; a mirror grows only to its smallest side. zfs-fuse imports
# the expanded pools and its zdb -bcc judges them.

load ../lib/pool_helpers
load ../lib/oracle

setup() {
  pool_vdevs_setup
}

teardown() {
  pool_suite_teardown
}

# usable BYTES [COLS]: the pool size a 1M-metaslab vdev on files of BYTES holds (labels off,
# whole metaslabs only; metaslab_shift stays what creation chose: 20 for 128M files).
usable() {
  local asize=$(($1 - (4 << 20) - (512 << 10)))
  echo $(((asize >> 20) << 20))
}

size() { "$ZPOOL" list -Hp -o size "$1"; }

# label_asize DEV: the top-level asize each of DEV's four labels holds, per zfs-fuse's
# zdb -l (one line per label; "none" where a label does not unpack).
label_asize() {
  "$ZF_ZDB" -l "$1" | awk '/^LABEL/ { if (n++) print (a ? a : "none"); a = "" }
                           /failed to unpack/ { a = "none" }
                           /^ *asize[:=]/ { sub(/.*asize[:=] */, ""); if (a == "") a = $0 }
                           END { print (a ? a : "none") }'
}

@test "online -e: a grown file vdev gets its new metaslabs, asize and labels; zpool list shows it; the data stays; zfs-fuse's zdb -bcc is clean and it imports the pool" {
  "$ZPOOL" create -m "$A/tank" tank "$V/d0"
  for i in 1 2 3; do head -c 2M /dev/urandom >"$A/tank/f$i"; done
  sums=$(cd "$A/tank" && sha256sum f*)
  [ "$(size tank)" = "$(usable $((128 << 20)))" ]
  truncate -s 256M "$V/d0"
  # autoexpand is off: a plain online leaves the new space unused.
  [ "$("$ZPOOL" get -H -o value autoexpand tank)" = off ]
  "$ZPOOL" online tank "$V/d0"
  [ "$(size tank)" = "$(usable $((128 << 20)))" ]
  run "$ZPOOL" online -e tank "$V/d0"
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  [ "$(size tank)" = "$(usable $((256 << 20)))" ]
  run "$ZPOOL" history tank
  [[ $output == *"zpool online -e tank $V/d0"* ]]
  # The new space takes data: 200M of the 251M would not fit the old 123M.
  for i in $(seq 10); do head -c 20M /dev/zero >"$A/tank/z$i"; done
  "$ZPOOL" export tank
  oracle_start
  # Every label, the two at the new end included, says the new asize.
  want=$(((256 << 20) - (4 << 20) - (512 << 10)))
  [ "$(label_asize "$V/d0" | sort -u)" = "$want" ] || { "$ZF_ZDB" -l "$V/d0" >&2; false; }
  oracle_zdb_clean "$V" tank
  run "$ZF_ZDB" -e -p "$V" -m tank
  [[ $output =~ metaslabs\ +$((want >> 20))\  ]] || { echo "$output" | head -8 >&2; false; }
  "$ZF_ZPOOL" import -d "$V" -R "$BATS_TEST_TMPDIR/zf" tank
  [ "$(cd "$BATS_TEST_TMPDIR/zf$A/tank" && sha256sum f*)" = "$sums" ]
  "$ZF_ZPOOL" export tank
  oracle_stop
  "$ZPOOL" import -d "$V" tank
  [ "$(size tank)" = "$(usable $((256 << 20)))" ]
  [ "$(cd "$A/tank" && sha256sum f*)" = "$sums" ]
}

@test "online -e of a mirror grows it to its smallest side; a raidz to its smallest column; bad input in zfs-fuse's words" {
  "$ZPOOL" create -m "$A/tank" tank mirror "$V/d0" "$V/d1" spare "$V/d2"
  truncate -s 320M "$V/d0"
  truncate -s 192M "$V/d1"
  "$ZPOOL" online -e tank "$V/d0"
  [ "$(size tank)" = "$(usable $((192 << 20)))" ]
  head -c 4M /dev/urandom >"$A/tank/f"
  # zpool_vdev_online: "cannot expand" with -e; a hot spare is refused before the daemon.
  expect 1 "cannot expand $V/nosuch: no such device in pool" "$ZPOOL" online -e tank "$V/nosuch"
  expect 1 "cannot expand $V/d2: device is reserved as a hot spare" "$ZPOOL" online -e tank "$V/d2"
  expect 1 "cannot online $V/d2: device is reserved as a hot spare" "$ZPOOL" online tank "$V/d2"
  expect 1 "cannot open 'nopool': no such pool" "$ZPOOL" online -e nopool "$V/d0"
  run "$ZPOOL" online -x tank "$V/d0"
  [ "$status" -eq 2 ]
  [[ $output == *"usage:"* ]]
  # raidz: each column counts as much as the smallest.
  truncate -s 128M "$V/r1" "$V/r2"
  "$ZPOOL" create -m "$A/rz" rz raidz "$V/d3" "$V/r1" "$V/r2"
  before=$(size rz)
  truncate -s 256M "$V/d3" "$V/r1"
  truncate -s 192M "$V/r2"
  "$ZPOOL" online -e rz "$V/r1"
  after=$(size rz)
  # raidz1 of three: the smallest column (192M) times three; metaslab_shift 21 for 3x128M.
  col=$(((192 << 20) - (4 << 20) - (512 << 10)))
  [ "$after" = $((((col & ~4095) * 3 >> 21) << 21)) ] || { echo "raidz $before -> $after" >&2; false; }
  head -c 4M /dev/urandom >"$A/rz/f"
  sum_tank=$(sha256sum <"$A/tank/f")
  sum_rz=$(sha256sum <"$A/rz/f")
  "$ZPOOL" export tank
  "$ZPOOL" export rz
  oracle_start
  oracle_zdb_clean "$V" tank
  oracle_zdb_clean "$V" rz
  "$ZF_ZPOOL" import -d "$V" -R "$BATS_TEST_TMPDIR/zf" tank
  "$ZF_ZPOOL" import -d "$V" -R "$BATS_TEST_TMPDIR/zf" rz
  [ "$(sha256sum <"$BATS_TEST_TMPDIR/zf$A/tank/f")" = "$sum_tank" ]
  [ "$(sha256sum <"$BATS_TEST_TMPDIR/zf$A/rz/f")" = "$sum_rz" ]
  "$ZF_ZPOOL" export tank
  "$ZF_ZPOOL" export rz
  oracle_stop
}

@test "autoexpand=on: online expands, and so does an import of a pool whose device grew while exported; a SIGKILL after the expansion leaves a clean pool" {
  "$ZPOOL" create -m "$A/tank" -o autoexpand=on tank "$V/d0"
  [ "$("$ZPOOL" get -H -o value,source autoexpand tank)" = "$(printf 'on\tlocal')" ]
  truncate -s 192M "$V/d0"
  "$ZPOOL" online tank "$V/d0"
  [ "$(size tank)" = "$(usable $((192 << 20)))" ]
  "$ZPOOL" export tank
  truncate -s 256M "$V/d0"
  "$ZPOOL" import -d "$V" tank
  [ "$(size tank)" = "$(usable $((256 << 20)))" ]
  head -c 8M /dev/urandom >"$A/tank/f"
  sync "$A/tank/f"
  # Off again: a grown device waits for online -e.
  "$ZPOOL" set autoexpand=off tank
  truncate -s 320M "$V/d0"
  "$ZPOOL" online tank "$V/d0"
  [ "$(size tank)" = "$(usable $((256 << 20)))" ]
  "$ZPOOL" online -e tank "$V/d0"
  [ "$(size tank)" = "$(usable $((320 << 20)))" ]
  zfsd_kill
  oracle_start
  oracle_zdb_clean "$V" tank
  oracle_stop
  zfsd_start
  "$ZPOOL" list -H -o name tank >/dev/null 2>&1 || "$ZPOOL" import -d "$V" tank
  [ "$(size tank)" = "$(usable $((320 << 20)))" ]
  [ "$(head -c 8M "$A/tank/f" | wc -c)" = $((8 << 20)) ]
}
