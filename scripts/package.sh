#!/usr/bin/env bash
# Builds the Debian package of uzfs from a build tree: scripts/package.sh [BUILD [OUTDIR]]
# (defaults build/ and BUILD/package). Configures BUILD when it has not been, builds what is
# out of date, then runs CPack's DEB generator (packaging/CMakeLists.txt: the install rules,
# the control fields, the maintainer scripts) and prints the paths of the two .debs: uzfs
# (programs, library, units, pages), then uzfs-dev (header, .so link, pkg-config file).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-${UZFS_BUILD:-build}}
out=${2:-$build/package}
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
# What the package holds (packaging/CMakeLists.txt's install rules), not the tests.
cmake --build "$build" -j"$(nproc)" --target zpool zfs zdb zinject zfsd mount.zfs arcstat \
  uzfs-map uzfs_file >/dev/null
mkdir -p "$out"
out=$(cd "$out" && pwd)
# Staging happens under $out/_CPack_Packages; CPack writes the archive itself, every file
# owned by root, so no fakeroot is needed.
cpack --config "$build/CPackConfig.cmake" -B "$out" >"$out/cpack.log" 2>&1 || {
  cat "$out/cpack.log" >&2
  exit 1
}
printf "%s\n" "$out"/uzfs_*.deb "$out"/uzfs-dev_*.deb
