// What zpool create and zpool add share beside the nvroot itself (which comes from
// libzfs/vdev_spec.h, OpenZFS's make_root_vdev): the layout listings of -n and the pools an
// in-use check must know.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "libcore/base/nvlist.h"
#include "libcore/base/status.h"

namespace uzfs::zpool {

// print_vdev_tree: "\t" + indent + name (when given), then the top-level vdevs of nv of the
// class cls (libzfs::VdevClass: "", "logs" or "dax"), indented 2 more, their children 2 more again. Names as zpool_vdev_name
// gives them without ids ("mirror", "raidz2", a leaf's path less "/dev/"); holes are left out.
std::string VdevTree(const std::string* name, const NvList& nv, int indent, const std::string& cls);

// zpool create -n's layout listing: the pool's vdevs, then "logs" and the log devices when
// there are any, then "dax" and the dax devices ("\ttank\n\t  mirror\n\t    /tmp/a\n...").
std::string DryRunLayout(const std::string& pool, const NvList& nvroot);

// zpool add -n's: the pool's current vdevs and the new ones, then the logs (the pool's and
// the new, or the new alone), then the dax devices alike.
std::string AddDryRunLayout(const std::string& pool, const NvList& pool_tree, const NvList& nvroot);

// The names of the pools zfsd has imported (empty when it cannot say).
std::set<std::string> ImportedPools();

}  // namespace uzfs::zpool
