#!/usr/bin/env bash
# Installs every Debian 12 package the build, the demo and the tests need. Idempotent and
# quiet when everything is present. Must run as root (apt-get).
set -euo pipefail
pkgs=(
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  libcli11-dev libspdlog-dev libfmt-dev libblkid-dev libudev-dev libfdisk-dev fdisk liburing-dev libfuse3-dev fuse3
  libpmem2-dev libpmem-dev libsystemd-dev libssl-dev zlib1g-dev libgtest-dev libgmock-dev
  bats parallel mandoc bash-completion zfs-fuse util-linux procps xxd e2fsprogs coreutils bsdextrautils
  qemu-system-x86 ndctl busybox-static cpio xz-utils
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # zfs-fuse's postinst starts its daemon; keep the package's service from running, tests
  # start and stop it themselves.
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi
