// Opening the pool zdb works on, and the pool-wide dumps: -u, -C, and the order in which
// zdb prints its sections (dump_zpool: config, uberblock, metaslabs, datasets, blocks,
// history).
#include <iostream>

#include "cmd/zdb/pool_dumps.h"
#include "cmd/zdb/zdb.h"
#include "libcore/dsl/dsl.h"

namespace uzfs::zdb {

void PrintUberblock(const Uberblock& ub, int verbosity);  // zdb_label.cc

Result<std::unique_ptr<Spa>> OpenPool(const Options& o, const std::string& pool) {
  if (!o.e) {
    // There is no cache file of imported pools yet (zfsd keeps one later); zdb reads
    // devices itself, so it needs to be told where to look.
    return Status::Error(ENOENT, "pool is not in a cache file; use -e [-p DIR]");
  }
  std::vector<std::string> dirs = o.search_dirs;
  if (dirs.empty()) dirs.push_back("/dev");
  Status last = Status::Error(ENOENT, "no such pool");
  // A top-level vdev no label describes (a missing log device) comes from the MOS config,
  // as zfs-fuse's zdb -e (spa_import's spa_load with mosconfig) builds it.
  SpaOpenOptions so;
  so.mos_config = [](BlockReader& r, const BlkPtr& rootbp) -> Result<NvList> {
    UZFS_ASSIGN(auto dp, DslPool::Open(&r, rootbp, ""));
    return dp->MosConfig();
  };
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
