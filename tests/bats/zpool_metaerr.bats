#!/usr/bin/env bats
# Permanent errors in metadata (spa_errlog.c, zpool_main.c print_error_log): a block that is
# not file data (an indirect block of a file, a dnode block, a MOS object's block) that a
# read or a scrub finds without a good copy goes into the error log, and zpool status -v
# names it as zfs-fuse does: the file when the object has a path, "dataset:<0xOBJ>" when it
# has none (the meta-dnode, object 0), "<metadata>:<0xOBJ>" for the MOS. The errors are put
# there with zinject -t data -l 1, -t dnode and the MOS types (-t mosdir, ...); zfs-fuse
# reads the same log from our pool.

load ../lib/pool_helpers
load ../lib/oracle

ZINJECT=$UZFS_BUILD/cmd/zinject/zinject

setup() {
  pool_vdevs_setup
  "$ZPOOL" create -m "$A/tank" tank "$V/d0"
  M=$A/tank
}

teardown() {
  "$ZINJECT" -c all >/dev/null 2>&1 || true
  pool_suite_teardown
}

# errors POOL: the lines zpool status -v lists under "errors:" (indent stripped).
errors() {
  "$ZPOOL" status -v "$1" | awk '/^errors: Permanent/ { on = 1; next } on && NF { sub(/^ +/, ""); print }'
}

# scrub_wait POOL: a scrub, waited for (zpool scrub -w).
scrub_wait() {
  "$ZPOOL" scrub -w "$1"
}

@test "an indirect block of a file (zinject -t data -l 1): a read fails, the error log names the file; a scrub records it too; cleared and scrubbed, the log empties" {
  head -c 4M /dev/urandom >"$M/f"
  echo small >"$M/g"
  sum=$(sha256sum <"$M/f")
  "$ZPOOL" export tank
  "$ZPOOL" import -d "$V" tank
  run "$ZINJECT" -t data -l 1 "$M/f"
  [ "$status" -eq 0 ]
  [ "${lines[3]}" = "  type: data" ]
  [ "${lines[4]}" = " level: 1" ]
  run "$ZINJECT"
  [[ $output =~ tank\ +[0-9]+\ +$(stat -c %i "$M/f")\ +data\ +1\ +all ]]
  # Every data block hangs off the failed indirect block: the read fails as a whole.
  run dd if="$M/f" of=/dev/null bs=128K iflag=direct status=none
  [ "$status" -ne 0 ]
  [[ $output == *"Input/output error"* ]]
  [ "$(cat "$M/g")" = small ]
  [ "$(errors tank)" = "$M/f" ]
  [[ $("$ZPOOL" status tank) == *"errors: 1 data errors, use '-v' for a list"* ]]
  # A scrub's own read of the indirect block fails too: its log (which replaces the last
  # one when it ends) holds the file again.
  scrub_wait tank
  [ "$(errors tank)" = "$M/f" ]
  [[ $("$ZPOOL" status tank) == *"with 1 errors"* ]] || { "$ZPOOL" status tank >&2; false; }
  "$ZINJECT" -c all
  [ "$(sha256sum <"$M/f")" = "$sum" ]
  scrub_wait tank
  [[ $("$ZPOOL" status -v tank) == *"errors: No known data errors"* ]]
}

@test "a dnode block (zinject -t dnode): a scrub records it as 'tank:<0x0>' (the meta-dnode); zfs-fuse reads the same log" {
  # Objects past the first dnode block (32 dnodes of 512 bytes), so that block is the only
  # one a lookup of the file reads.
  for i in $(seq 40); do echo "$i" >"$M/a$i"; done
  echo victim >"$M/v"
  obj=$(stat -c %i "$M/v")
  [ "$obj" -ge 32 ]
  run "$ZINJECT" -t dnode -r 0 "$M/v"
  [ "$status" -eq 1 ]
  [ "$output" = "range cannot be specified when type is 'dnode'" ]
  # A scrub: its read of the dnode block fails.
  "$ZPOOL" export tank
  "$ZPOOL" import -d "$V" tank
  run "$ZINJECT" -t dnode "$M/v"
  [ "$status" -eq 0 ]
  [ "${lines[2]}" = "object: 0" ]
  [ "${lines[3]}" = "  type: dnode" ]
  [ "${lines[5]}" = " range: [$((obj * 512)), $((obj * 512 + 511))]" ]
  id=$("$ZINJECT" | awk '$5 == "dnode" { print $1 }')
  [ -n "$id" ]
  scrub_wait tank
  [ "$(errors tank)" = "tank:<0x0>" ] || { "$ZPOOL" status -v tank >&2; false; }
  "$ZINJECT" -c "$id"
  [ "$(cat "$M/v")" = victim ]
  "$ZPOOL" export tank
  # zfs-fuse lists the same entry from the log we wrote.
  oracle_start
  oracle_zdb_clean "$V" tank
  "$ZF_ZPOOL" import -d "$V" -R "$BATS_TEST_TMPDIR/zf" tank
  run "$ZF_ZPOOL" status -v tank
  [[ $output == *"tank:<0x0>"* ]] || { echo "$output" >&2; false; }
  "$ZF_ZPOOL" export tank
  oracle_stop
  # Scrubbed again without the handler, the log empties.
  "$ZPOOL" import -d "$V" tank
  scrub_wait tank
  [ -z "$(errors tank)" ]
}

@test "MOS blocks (zinject -t config, spacemap): a scrub records '<metadata>:<0xOBJ>'; the listing; bad input in zinject's words" {
  echo x >"$M/f"
  run "$ZINJECT" -t mosdir tank
  [ "$status" -eq 0 ]
  [ "${lines[1]}" = "  pool: tank" ]
  [ "${lines[2]}" = "objset: 0" ]
  [ "${lines[4]}" = "  type: mosdir" ]
  "$ZINJECT" -q -t config tank >/dev/null
  "$ZINJECT" -q -t spacemap tank >/dev/null
  run "$ZINJECT"
  [[ $output =~ tank\ +0\ +0\ +mosdir\ +0\ +all ]]
  [[ $output =~ tank\ +0\ +0\ +config\ +0\ +all ]]
  [[ $output =~ tank\ +0\ +0\ +spacemap\ +0\ +all ]]
  scrub_wait tank
  # The config object, written before the scrub began, is read by it and fails (the object
  # directory is rewritten by every txg, the scrub's own among them, so a scrub never reads
  # it: it is born after the scrub's last txg).
  got=$(errors tank)
  [ -n "$got" ] || { "$ZPOOL" status -v tank >&2; false; }
  while read -r e; do [[ $e =~ ^\<metadata\>:\<0x[0-9a-f]+\>$ ]]; done <<<"$got"
  "$ZINJECT" -c all
  scrub_wait tank
  [ -z "$(errors tank)" ]
  # Bad input.
  run "$ZINJECT" -t mosdir nopool
  [ "$status" -eq 1 ]
  [ "$output" = "cannot open 'nopool': no such pool" ]
  run "$ZINJECT" -t spacemap -e nxio tank
  [ "$status" -eq 1 ]
  [ "$output" = "data error type must be 'checksum' or 'io'" ]
  run "$ZINJECT" -t mos -r 0 tank
  [ "$status" -eq 2 ]
  [ "${lines[0]}" = "-r and -l are meaningless with -t mos" ]
  run "$ZINJECT" -t label tank
  [ "$status" -eq 1 ]
  [ "$output" = "injection into 'label' objects is not supported" ]
  run "$ZINJECT" -t errlog
  [ "$status" -eq 2 ]
  [ "${lines[0]}" = "missing object" ]
  run "$ZINJECT" -t data -l x "$M/f"
  [ "$status" -eq 1 ]
  [ "${lines[0]}" = "invalid level 'x': must be an integer" ]
}
