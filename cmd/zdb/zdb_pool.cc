// Opening the pool zdb works on, and the pool-wide dumps: -u, -C, and the order in which
// zdb prints its sections (dump_zpool: config, uberblock, metaslabs, datasets, blocks,
// history).
#include <sys/stat.h>

#include <fstream>
#include <iostream>
#include <iterator>

#include "cmd/zdb/pool_dumps.h"
#include "cmd/zdb/zdb.h"
#include "libcore/dsl/dsl.h"

namespace uzfs::zdb {

void PrintUberblock(const Uberblock& ub, int verbosity);  // zdb_label.cc

namespace {

// The leaf device paths of a cached vdev tree, those that exist (a missing device is left to
// the open to judge, as spa_open of a cached config opens what it can).
void CachedLeaves(const NvList& v, std::vector<std::string>* out) {
  if (const auto* kids = v.GetNvListArray("children")) {
    for (const NvList& k : *kids) CachedLeaves(k, out);
    return;
  }
  struct stat st;
  if (const std::string* p = v.GetString("path"); p && ::stat(p->c_str(), &st) == 0)
    out->push_back(*p);
}

// The pool as the cache file (zfsd's, or -U's) describes it: its devices are opened directly.
Result<std::unique_ptr<Spa>> OpenCached(const std::string& cachefile, const std::string& pool,
                                        const SpaOpenOptions& so) {
  std::ifstream in(cachefile, std::ios::binary);
  if (!in) return Status::Error(ENOENT, "cannot read the cache file " + cachefile);
  Bytes data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  UZFS_ASSIGN(auto nv, NvList::DecodeXdr(data));
  const NvList* cfg = nv.GetNvList(pool);
  if (!cfg) return Status::Error(ENOENT, "pool is not in the cache file " + cachefile + "; use -e");
  std::vector<std::string> devices;
  if (const NvList* t = cfg->GetNvList("vdev_tree")) CachedLeaves(*t, &devices);
  if (devices.empty()) return Status::Error(ENOENT, "no device of the pool is present");
  auto guid = cfg->GetUint64("pool_guid");
  return Spa::OpenDevices(devices, guid ? std::to_string(*guid) : pool, so);
}

}  // namespace

Result<std::unique_ptr<Spa>> OpenPool(const Options& o, const std::string& pool) {
  // A top-level vdev no label describes (a missing log device) comes from the MOS config,
  // as zfs-fuse's zdb -e (spa_import's spa_load with mosconfig) builds it.
  SpaOpenOptions so;
  so.mos_config = [](BlockReader& r, const BlkPtr& rootbp) -> Result<NvList> {
    UZFS_ASSIGN(auto dp, DslPool::Open(&r, rootbp, ""));
    return dp->MosConfig();
  };
  if (!o.e) return OpenCached(o.cachefile.empty() ? kDefaultCacheFile : o.cachefile, pool, so);
  std::vector<std::string> dirs = o.search_dirs;
  if (dirs.empty()) dirs.push_back("/dev");
  Status last = Status::Error(ENOENT, "no such pool");
  for (const std::string& dir : dirs) {
    auto spa = Spa::OpenDir(dir, pool, so);
    if (spa.ok()) return spa;
    // Keep the most informative failure: a pool that was found but could not be opened.
    if (spa.status().code() != ENOENT || last.message() == "no such pool") last = spa.status();
  }
  return last;
}

// The pool name in a target: "tank", "tank/fs", "tank@snap" -> "tank".
std::string PoolOfTarget(const std::string& target) {
  return target.substr(0, target.find_first_of("/@"));
}

int DumpPool(const Options& o) {
  const std::string& target = o.args[0];
  const std::string pool = PoolOfTarget(target);
  auto spa = OpenPool(o, pool);
  if (!spa.ok()) {
    Fatal("can't open '" + target + "': " + spa.status().ToString());
    return kExitErrors;
  }
  PoolDumper d(o, **spa);
  return d.Run(target);
}

}  // namespace uzfs::zdb
