// zpool create -n's layout listing of an nvroot (the nvroot itself comes from
// libzfs/vdev_spec.h, OpenZFS's make_root_vdev).
#pragma once

#include <string>
#include <vector>

#include "libcore/base/nvlist.h"
#include "libcore/base/status.h"

namespace uzfs::zpool {

// zpool create -n's layout listing ("\ttank\n\t  mirror\n\t    /tmp/a\n").
std::string DryRunLayout(const std::string& pool, const NvList& nvroot);

}  // namespace uzfs::zpool
