# Damage for the self-healing suites (load with: load ../lib/damage): garbage written with
# dd into a vdev file at a block's place, found from the DVAs our zdb prints. Offsets are
# the allocatable space's: the front labels and boot block (4 MiB) come first.

# extents POOL OBJ [DVA]: "offset size" (hex) of each level-0 block of object OBJ of the
# pool's root filesystem (not of the MOS's object OBJ, which zdb shows first), from DVA
# number DVA (default 0), read by our zdb (-dddddd: every DVA) from the exported pool's
# vdevs in $V.
extents() {
  "$ZDB" -e -p "$V" -dddddd "$1" "$2" |
    awk -v ds="$1" -v n="${3:-0}" '/^Dataset / { on = ($2 == ds) }
      on && $2 == "L0" { split($(3 + n), d, ":"); print d[2], d[3] }'
}

# smash DEV OFF SIZE: garbage over SIZE bytes (hex) at allocatable offset OFF (hex) of DEV.
smash() {
  dd if=/dev/urandom of="$1" bs=512 seek=$(((0x$2 + 4194304) / 512)) count=$((0x$3 / 512)) conv=notrunc 2>/dev/null
}

# smash_raidz DEV NCHILD OFF: garbage over one sector inside the column that the raidz
# block at DVA offset OFF (hex) has on every child: its columns start at row
# (OFF >> ashift) / NCHILD of each child, or one later; the third row is in every column.
smash_raidz() {
  local ashift
  ashift=$("$ZDB" -l "$1" | awk '$1 == "ashift:" { print $2; exit }')
  local unit=$((1 << ashift)) row=$(((0x$3 >> ashift) / $2 + 2))
  dd if=/dev/urandom of="$1" bs="$unit" seek=$((row + 4194304 / unit)) count=1 conv=notrunc 2>/dev/null
}
