#include "cmd/zpool/zpool_props.h"

#include <cctype>

#include "libzfs/libzfs.h"

namespace uzfs::zpool {

std::map<std::string, PropCell> FormatProps(const NvList& props, bool parsable) {
  std::map<std::string, PropCell> out;
  for (const auto& p : props.pairs()) {
    if (p.value.type != NvType::kNvList || p.value.lists.empty()) continue;
    const NvList& v = p.value.lists[0];
    PropCell c;
    c.value = v.GetString("value") ? *v.GetString("value") : "-";
    c.source = v.GetString("source") ? *v.GetString("source") : "-";
    if (!parsable && (p.name == "size" || p.name == "allocated" || p.name == "free")) {
      c.value = libzfs::NiceNum(std::stoull(c.value));
    } else if (!parsable && p.name == "capacity") {
      c.value += "%";
    }
    // zpool_get_prop_literal: a pool with feature flags (version 5000) has no version to
    // show, with -p too.
    if (p.name == "version" && !c.value.empty() &&
        c.value.find_first_not_of("0123456789") == std::string::npos && std::stoull(c.value) >= 5000)
      c.value = std::string(1, '-');  // (a literal trips a GCC 12 -Wrestrict false positive)
    out[p.name] = c;
  }
  return out;
}

std::string ListHeader(const std::string& prop) {
  if (prop == "allocated") return "ALLOC";
  if (prop == "capacity") return "CAP";
  if (prop == "expandsize") return "EXPANDSZ";
  if (prop == "fragmentation") return "FRAG";
  if (prop == "checkpoint") return "CKPOINT";
  if (prop == "dedupratio") return "DEDUP";
  std::string h = prop;
  for (auto& c : h) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return h;
}

bool RightAligned(const std::string& prop) {
  return prop == "size" || prop == "allocated" || prop == "free" || prop == "capacity" ||
         prop == "dedupratio" || prop == "expandsize" || prop == "fragmentation" ||
         prop == "checkpoint" || prop == "guid" || prop == "version" || prop == "dedupditto";
}

}  // namespace uzfs::zpool
