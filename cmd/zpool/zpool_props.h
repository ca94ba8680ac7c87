// Shared by zpool list/get/status: the property values the daemon returns, formatted as
// OpenZFS prints them (sizes with zfs_nicenum unless -p, capacity with '%').
#pragma once

#include <map>
#include <string>

#include "libcore/base/nvlist.h"

namespace uzfs::zpool {

struct PropCell {
  std::string value;
  std::string source;
};

// props = the daemon's {name: {value, source}}; parsable = -p.
std::map<std::string, PropCell> FormatProps(const NvList& props, bool parsable);
// Column header of a property in `zpool list` ("ALLOC" for allocated, "CAP" for capacity).
std::string ListHeader(const std::string& prop);
// Whether the column is right-aligned (numbers).
bool RightAligned(const std::string& prop);

}  // namespace uzfs::zpool
