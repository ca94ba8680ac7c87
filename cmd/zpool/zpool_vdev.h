// The vdev specification of `zpool create` (OpenZFS cmd/zpool/zpool_vdev.c make_root_vdev):
// turns "mirror /tmp/a /tmp/b raidz2 sdc sdd sde sdf" into the nvroot zfsd takes, with
// OpenZFS's checks and messages: devices that do not exist or are neither block devices nor
// regular files, too few devices for mirror/raidz, the same device twice, devices that hold
// another pool's label, mismatched replication levels (overridable with -f).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "libcore/base/nvlist.h"
#include "libcore/base/status.h"

namespace uzfs::zpool {

struct VdevSpecResult {
  NvList nvroot;
  // Errors printed as OpenZFS prints them (the whole text, several lines possible).
  std::string error;
  bool usage_error = false;  // print usage after the error (exit 2)
};

// imported = names of pools zfsd has imported (a label of one of them is "active").
VdevSpecResult MakeRootVdev(const std::vector<std::string>& words, bool force,
                            const std::set<std::string>& imported);

// zpool create -n's layout listing ("\ttank\n\t  mirror\n\t    /tmp/a\n").
std::string DryRunLayout(const std::string& pool, const NvList& nvroot);

}  // namespace uzfs::zpool
