// zpool version: the userland and daemon versions, as OpenZFS prints zfs-X and zfs-kmod-X.
#include "cmd/zpool/zpool.h"

namespace uzfs::zpool {

const Cmd kVersion = {"version", {"version"}, "        --help  print this message\n", RunVersion};

}  // namespace uzfs::zpool
