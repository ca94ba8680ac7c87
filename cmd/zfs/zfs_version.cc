// zfs version: the userland and daemon versions, as OpenZFS prints zfs-X and zfs-kmod-X.
#include "cmd/zfs/zfs.h"

namespace uzfs::zfs {

const Cmd kVersion = {"version", {"version"}, "        --help  print this message\n", RunVersion};

}  // namespace uzfs::zfs
