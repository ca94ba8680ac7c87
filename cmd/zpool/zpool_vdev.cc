#include "cmd/zpool/zpool_vdev.h"

#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zpool {

namespace {

bool Flag(const NvList& v, const char* key) { return v.GetUint64(key).value_or(0) != 0; }

// zpool_vdev_name(..., verbose = B_FALSE).
std::string PlainName(const NvList& v) {
  if (v.GetString("path")) return libzfs::VdevName(v);
  const std::string* type = v.GetString("type");
  std::string t = type ? *type : "?";
  if (t == "raidz") t += std::to_string(v.GetUint64("nparity").value_or(1));
  return t;
}

bool HasClass(const NvList& nv, const std::string& cls) {
  if (const auto* kids = nv.GetNvListArray("children"))
    for (const NvList& k : *kids)
      if (libzfs::VdevClass(k) == cls) return true;
  return false;
}

}  // namespace

std::string VdevTree(const std::string* name, const NvList& nv, int indent, const std::string& cls) {
  std::string out;
  if (name) out += "\t" + std::string(static_cast<size_t>(indent), ' ') + *name + "\n";
  const auto* kids = nv.GetNvListArray("children");
  if (!kids) return out;
  for (const NvList& k : *kids) {
    const std::string* type = k.GetString("type");
    if (Flag(k, "is_hole") || (type && *type == "hole")) continue;
    if (libzfs::VdevClass(k) != cls) continue;
    const std::string n = PlainName(k);
    out += VdevTree(&n, k, indent + 2, {});
  }
  return out;
}

std::string DryRunLayout(const std::string& pool, const NvList& nvroot) {
  std::string out = VdevTree(&pool, nvroot, 0, {});
  for (const std::string cls : {"logs", "dax"})
    if (HasClass(nvroot, cls)) out += VdevTree(&cls, nvroot, 0, cls);
  return out;
}

std::string AddDryRunLayout(const std::string& pool, const NvList& pool_tree, const NvList& nvroot) {
  std::string out = VdevTree(&pool, pool_tree, 0, {}) + VdevTree(nullptr, nvroot, 0, {});
  for (const std::string cls : {"logs", "dax"}) {
    if (HasClass(pool_tree, cls))
      out += VdevTree(&cls, pool_tree, 0, cls) + VdevTree(nullptr, nvroot, 0, cls);
    else if (HasClass(nvroot, cls))
      out += VdevTree(&cls, nvroot, 0, cls);
  }
  return out;
}

std::set<std::string> ImportedPools() {
  std::set<std::string> out;
  auto l = lzc::PoolList();
  if (!l.ok()) return out;
  if (const auto* pools = l->GetNvListArray("pools"))
    for (const NvList& p : *pools)
      if (const std::string* n = p.GetString("name")) out.insert(*n);
  return out;
}

}  // namespace uzfs::zpool
