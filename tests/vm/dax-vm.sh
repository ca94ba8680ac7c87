#!/usr/bin/env bash
# dax-vm.sh — boots a throwaway Linux guest (qemu, software emulation) with two emulated
# NVDIMMs kept in files of a state directory, so a test can power the guest off and boot
# another guest on the same persistent memory:
#   NVDIMM 1: a raw-mode namespace  -> /dev/pmem0, a block device for ordinary vdevs
#   NVDIMM 2: a devdax namespace, 2 MiB aligned -> /dev/daxN.M, a real device-DAX
# The namespaces are made on the first boot (when the backing files are new) and found
# again from their labels on later boots. The uzfs binaries of the build directory (zfsd,
# zpool, zfs, zdb, arcstat, uzfs-map, libuzfs_file.so) are copied into the guest with their
# shared libraries; fuse is loaded, so zfsd's FUSE mounts work.
#
# The kernel boots uncompressed through its PVH entry (qemu -kernel of the ELF vmlinux, taken
# out of Debian's bzImage once and cached): under software emulation the bzImage's own
# decompression cost about 5 s a boot.
#
# usage: tests/vm/dax-vm.sh -s STATE_DIR [-c DIR] [-b FILE]... [-p MiB] [-d MiB] [-t SECONDS] GUEST_SCRIPT
#        tests/vm/dax-vm.sh -F     (only fetch the kernel, modules and busybox into the cache)
#   -s DIR   state directory: pmem.img, dax.img (the NVDIMMs), devices (last boot's names)
#   -c DIR   keep the initramfs's common part (busybox, modules, binaries and their libraries)
#            in DIR and use it again while the files it was made from are unchanged (keyed by
#            their sha1sums); the boot's own part (/init, the guest script) is a second cpio
#            archive after it. Without -c the whole initramfs is made for every boot.
#   -b FILE  copy FILE (and the shared libraries it links) into the guest's /bin; repeatable
#   -p N     size of the raw (pmem) NVDIMM in MiB, first boot only (default 512)
#   -d N     size of the devdax NVDIMM in MiB, first boot only (default 512)
#   -t N     give up on a guest still running after N seconds (default 300)
#   GUEST_SCRIPT runs as root (busybox sh) in the guest, in /tmp, with PATH holding the
#   uzfs binaries and UZFS_VM_PMEM=/dev/pmem0, UZFS_VM_DAX=/dev/daxN.M set.
# output: the guest script's output (console noise stripped), preceded by the lines
#   "uzfs-vm: pmem=/dev/pmem0" and "uzfs-vm: dax=/dev/daxN.M" (also written to DIR/devices).
# exit status: the guest script's own (-F: 0 when the cache is ready, 125 when not); 100 if the guest script powered the guest off
#   itself (poweroff -f: a power cut) before returning; 125 if the guest did not boot, did
#   not find its devices, or timed out (the console is then printed on stderr).
# environment: UZFS_BUILD (build dir, default build/), UZFS_VM_CACHE (kernel, modules and
#   busybox, fetched once with apt-get download; default /var/cache/uzfs-vm).
# needs: qemu-system-x86, ndctl, busybox-static, cpio, xz-utils (else the bzImage boots as
#   it is, slower), and apt sources that have Debian's
#   linux-image-amd64 (scripts/deps.sh installs the packages). Run as root is not required.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${UZFS_BUILD:-$root/build}
cache=${UZFS_VM_CACHE:-/var/cache/uzfs-vm}
state= irdc= pmem_mb=512 dax_mb=512 tmo=300 extra=() fetch_only=0
while getopts "Fs:c:b:p:d:t:" o; do
  case $o in
    s) state=$OPTARG ;; c) irdc=$OPTARG ;; b) extra+=("$OPTARG") ;; p) pmem_mb=$OPTARG ;;
    d) dax_mb=$OPTARG ;; t) tmo=$OPTARG ;; F) fetch_only=1 ;; *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ "$fetch_only" = 0 ]; then
  guest_script=${1:?usage: dax-vm.sh -s STATE_DIR [options] GUEST_SCRIPT}
  [ -n "$state" ] || { echo "dax-vm: -s STATE_DIR is required" >&2; exit 2; }
fi
command -v qemu-system-x86_64 >/dev/null || { echo "dax-vm: qemu-system-x86_64 missing" >&2; exit 125; }
command -v ndctl >/dev/null || { echo "dax-vm: ndctl missing" >&2; exit 125; }

# --- kernel, modules, busybox: fetched once -------------------------------------------
mods=(drivers/nvdimm/libnvdimm drivers/acpi/nfit/nfit drivers/nvdimm/nd_btt
      drivers/nvdimm/nd_pmem drivers/dax/device_dax drivers/dax/dax_pmem fs/fuse/fuse)
if [ ! -f "$cache/ready" ]; then
  mkdir -p "$cache"
  dl=$(mktemp -d)
  (
    cd "$dl"
    kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
           awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
    [ -n "$kpkg" ] || { echo "dax-vm: no linux-image-amd64 in the apt sources" >&2; exit 1; }
    apt-get download "$kpkg" busybox-static >/dev/null 2>&1 ||
      { echo "dax-vm: apt-get download $kpkg busybox-static failed" >&2; exit 1; }
    dpkg -x linux-image-[0-9]*.deb k
    dpkg -x busybox-static_*.deb bb
    kv=$(ls k/lib/modules)
    rm -rf "$cache/mods"; mkdir -p "$cache/mods"
    cp k/boot/vmlinuz-* "$cache/vmlinuz"
    cp bb/bin/busybox "$cache/busybox"
    for m in "${mods[@]}"; do cp "k/lib/modules/$kv/kernel/$m.ko" "$cache/mods/"; done
    echo "$kpkg" >"$cache/ready"
  ) || { rm -rf "$dl"; exit 125; }
  rm -rf "$dl"
fi
# The ELF vmlinux inside the bzImage (an xz stream after the setup code), for the PVH entry.
if [ ! -s "$cache/vmlinux" ]; then
  off=$(LC_ALL=C grep -abo -m1 $'\xfd7zXZ\x00' "$cache/vmlinuz" | head -1 | cut -d: -f1 || true)
  # (xz stops at the stream's end: tail's SIGPIPE then is no failure)
  if [ -n "$off" ] && { tail -c +$((off + 1)) "$cache/vmlinuz" || true; } |
       xz -dc --single-stream >"$cache/vmlinux.$$" 2>/dev/null &&
     [ "$(head -c 4 "$cache/vmlinux.$$" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
    mv "$cache/vmlinux.$$" "$cache/vmlinux"
  else
    rm -f "$cache/vmlinux.$$"  # not xz or no ELF inside: boot the bzImage as it is
  fi
fi
kernel=$cache/vmlinuz
[ -s "$cache/vmlinux" ] && kernel=$cache/vmlinux
[ "$fetch_only" = 0 ] || exit 0

# --- the initramfs -------------------------------------------------------------------
# Two cpio archives, one after the other (the kernel unpacks both): the common part, which
# -c keeps, and this boot's /init and guest script.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bins=("$(command -v ndctl)")
for b in daemon/zfsd cmd/zpool/zpool cmd/zfs/zfs cmd/zdb/zdb cmd/arcstat/arcstat \
         cmd/uzfs-map/uzfs-map; do
  [ -x "$build/$b" ] && bins+=("$build/$b")
done
for b in fusermount3; do command -v "$b" >/dev/null && bins+=("$(command -v "$b")"); done
libs=()
for l in "$build"/libzfs/libuzfs_file.so*; do [ -e "$l" ] && libs+=("$l"); done
# make_base OUT: the common part into the cpio archive OUT.
make_base() {
  local ird=$work/ird b l
  mkdir -p "$ird"/{bin,lib,lib64,proc,sys,dev,tmp,run,mods,etc}
  cp "$cache/busybox" "$ird/bin/busybox"
  for a in $("$cache/busybox" --list); do [ -e "$ird/bin/$a" ] || ln -s busybox "$ird/bin/$a"; done
  cp "$cache"/mods/*.ko "$ird/mods/"
  # each binary into /bin (debug info stripped), with the shared libraries it needs
  for b in "${bins[@]}" "${extra[@]}"; do
    rm -f "$ird/bin/$(basename "$b")"
    strip --strip-debug -o "$ird/bin/$(basename "$b")" "$b" 2>/dev/null || cp "$b" "$ird/bin/"
    for l in $(ldd "$b" 2>/dev/null | awk '/=>/ && $3 ~ /^\// { print $3 }'); do
      [ -e "$ird/lib/$(basename "$l")" ] || cp -L "$l" "$ird/lib/"
    done
  done
  for l in "${libs[@]}"; do cp -L "$l" "$ird/lib/"; done
  cp -L /lib64/ld-linux-x86-64.so.2 "$ird/lib64/"
  echo "root:x:0:0:root:/tmp:/bin/sh" >"$ird/etc/passwd"
  echo "root:x:0:" >"$ird/etc/group"
  touch "$ird/etc/mtab"
  (cd "$ird" && find . | cpio -o -H newc 2>/dev/null >"$1")
}
if [ -n "$irdc" ]; then
  key=$( { printf '%s\n' "${bins[@]}" "${extra[@]}" "${libs[@]}"
           sha1sum "$cache/busybox" "$cache"/mods/*.ko "${bins[@]}" "${extra[@]}" "${libs[@]}"; } |
         sha1sum | cut -c1-16)
  base=$irdc/initrd-base.$key
  if [ ! -s "$base" ]; then
    mkdir -p "$irdc"
    make_base "$base.$$"
    mv "$base.$$" "$base"
  fi
else
  base=$work/base
  make_base "$base"
fi
own=$work/own
mkdir -p "$own"
cp "$guest_script" "$own/guest.sh"

fresh=0
mkdir -p "$state"
if [ ! -f "$state/pmem.img" ] || [ ! -f "$state/dax.img" ]; then
  rm -f "$state/pmem.img" "$state/dax.img"
  truncate -s "${pmem_mb}M" "$state/pmem.img"
  truncate -s "${dax_mb}M" "$state/dax.img"
  fresh=1
fi
pmem_mb=$(( $(stat -c %s "$state/pmem.img") / 1048576 ))
dax_mb=$(( $(stat -c %s "$state/dax.img") / 1048576 ))

cat >"$own/init" <<INIT
#!/bin/sh
export PATH=/bin LD_LIBRARY_PATH=/lib HOME=/tmp
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp; mount -t tmpfs run /run
ln -sf /proc/mounts /etc/mtab 2>/dev/null
for m in libnvdimm nfit nd_btt nd_pmem device_dax dax_pmem fuse; do insmod /mods/\$m.ko; done
[ -c /dev/fuse ] || mknod /dev/fuse c 10 229
if [ $fresh = 1 ]; then
  # first boot: labels, then one namespace per NVDIMM (the regions follow the NVDIMMs)
  ndctl disable-region all >/dev/null 2>&1
  ndctl init-labels -f all >/dev/null 2>&1
  ndctl enable-region all >/dev/null 2>&1
  ndctl create-namespace -r region0 -m raw >/dev/null || echo "VM-ERROR raw namespace"
  ndctl create-namespace -r region1 -m devdax -a 2M >/dev/null || echo "VM-ERROR devdax namespace"
fi
i=0
while [ \$i -lt 50 ] && { [ ! -b /dev/pmem0 ] || ! ls /dev/dax*.* >/dev/null 2>&1; }; do
  sleep 0.1; i=\$((i + 1))
done
export UZFS_VM_PMEM=/dev/pmem0 UZFS_VM_DAX=\$(ls -d /dev/dax*.* 2>/dev/null | head -1)
echo "VM-DEV pmem=\$( [ -b /dev/pmem0 ] && echo /dev/pmem0) dax=\$UZFS_VM_DAX"
cd /tmp
echo "GUEST-BEGIN"
sh /guest.sh
echo "GUEST-EXIT \$?"
poweroff -f
INIT
chmod +x "$own/init"
(cd "$own" && find . | cpio -o -H newc 2>/dev/null >"$work/own.cpio")
cat "$base" "$work/own.cpio" >"$work/initrd"

# --- boot ----------------------------------------------------------------------------
console=$work/console
t0=$(date +%s.%N)
rc=0
timeout "$tmo" qemu-system-x86_64 -accel tcg -M pc,nvdimm=on -cpu max -smp 2 \
  -m 1G,slots=4,maxmem=$((1024 + pmem_mb + dax_mb + 512))M \
  -object memory-backend-file,id=pm0,share=on,mem-path="$state/pmem.img",size="${pmem_mb}M",align=16M \
  -device nvdimm,id=nv0,memdev=pm0,label-size=128K \
  -object memory-backend-file,id=pm1,share=on,mem-path="$state/dax.img",size="${dax_mb}M",align=16M \
  -device nvdimm,id=nv1,memdev=pm1,label-size=128K \
  -nic none -kernel "$kernel" -initrd "$work/initrd" \
  -append "console=ttyS0 quiet loglevel=1 panic=-1" -nographic -no-reboot \
  </dev/null >"$console" 2>&1 || rc=$?
t1=$(date +%s.%N)
sed -i -e 's/\x1b\[[0-9;?]*[a-zA-Z]//g' -e 's/\r$//' -e 's/^.*\(VM-DEV \|GUEST-BEGIN$\)/\1/' "$console"
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')

fail() {
  echo "dax-vm: $* (${secs}s); console:" >&2
  cat "$console" >&2
  exit 125
}
[ "$rc" -ne 124 ] || fail "guest still running after ${tmo}s"
dev=$(grep -o -m1 'VM-DEV .*' "$console" || true)
[ -n "$dev" ] || fail "the guest did not boot"
pmem=$(sed -n 's/.* pmem=\([^ ]*\).*/\1/p' <<<"$dev")
dax=$(sed -n 's/.* dax=\([^ ]*\).*/\1/p' <<<"$dev")
[ -n "$pmem" ] && [ -n "$dax" ] && ! grep -q '^VM-ERROR' "$console" ||
  fail "the guest lacks its devices ($dev)"
printf 'pmem=%s\ndax=%s\n' "$pmem" "$dax" >"$state/devices"
echo "uzfs-vm: pmem=$pmem"
echo "uzfs-vm: dax=$dax"
sed -n '/^GUEST-BEGIN$/,$p' "$console" | sed -e '1d' -e '/^GUEST-EXIT [0-9]*$/,$d' |
  grep -v -E '^\[ *[0-9]+\.[0-9]+\] (reboot|ACPI|sysrq)' || true
echo "uzfs-vm: ${secs}s" >&2
ex=$(sed -n 's/^GUEST-EXIT \([0-9]*\)$/\1/p' "$console" | tail -1)
if [ -z "$ex" ]; then
  grep -q '^GUEST-BEGIN$' "$console" || fail "the guest script did not start"
  echo "uzfs-vm: powered off by the guest script"
  exit 100
fi
exit "$ex"
