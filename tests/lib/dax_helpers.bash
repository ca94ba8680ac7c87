# Helpers of the DAX tests (zpool_dax.bats, zpool_dax_revoke.bats): a pool "tank" on the
# vdevs in $V, zfsd with --dax-emulation.

# The pool most DAX tests start from: tank on $V/d0 with $V/p0 as its dax class, mounted at
# $MNT, and tank/pm a dax=on filesystem.
dax_pool() {
  "$ZPOOL" create -o cachefile=none -m "$MNT" tank "$V/d0" dax "$V/p0"
  "$ZFS" create -o dax=on tank/pm
}

# sha256 of a file's contents, the digest alone.
dax_sum() { sha256sum <"$1" | cut -d' ' -f1; }

# Our zdb walks every block of the exported pool: no leak, no error (zfs-fuse cannot judge
# a version 5000 pool).
dax_zdb_clean() {
  "$ZPOOL" export tank
  run "$ZDB" -e -p "$V" -bcc tank
  [[ "$output" == *"No leaks (block sum matches space maps exactly)"* ]] || { echo "$output"; false; }
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  "$ZPOOL" import -d "$V" tank
}

# tests/lib/map_client.py through libzfs's file API.
client() { python3 "$UZFS_ROOT/tests/lib/map_client.py" "$UZFS_BUILD/libzfs/libuzfs_file.so" "$@"; }

# Waits up to 10 s for file $1 to exist.
wait_file() {
  for _ in $(seq 100); do [ -e "$1" ] && return 0; sleep 0.1; done
  return 1
}

# The bytes allocated on dax device $1 of tank (zpool list -v's fourth line).
dax_alloc() { "$ZPOOL" list -Hpv -o name,allocated tank | sed -n 4p | cut -f2; }
