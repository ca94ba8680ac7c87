#include "cmd/zpool/zpool_vdev.h"


namespace uzfs::zpool {

std::string DryRunLayout(const std::string& pool, const NvList& nvroot) {
  std::string out = "\t" + pool + "\n";
  const auto* tops = nvroot.GetNvListArray("children");
  if (!tops) return out;
  for (const NvList& t : *tops) {
    const std::string* type = t.GetString("type");
    if (const auto* kids = t.GetNvListArray("children")) {
      std::string name = *type == "raidz" ? "raidz" + std::to_string(t.GetUint64("nparity").value_or(1)) : *type;
      out += "\t  " + name + "\n";
      for (const NvList& k : *kids) out += "\t    " + *k.GetString("path") + "\n";
    } else {
      out += "\t  " + *t.GetString("path") + "\n";
    }
  }
  return out;
}

}  // namespace uzfs::zpool
