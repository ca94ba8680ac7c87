// zpool add (zpool_main.c zpool_do_add, libzfs_pool.c zpool_add): top-level vdevs join a
// pool, data vdevs or separate intent log devices ("log" before them).
#include <iostream>

#include "cmd/zpool/zpool.h"
#include "cmd/zpool/zpool_vdev.h"
#include "libzfs/libzfs.h"
#include "libzfs/vdev_spec.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zpool {

namespace {

int RunAdd(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  bool force = false, dryrun = false;
  std::vector<std::string> args;
  app.add_flag("-f", force);
  app.add_flag("-n", dryrun);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  if (args.empty()) return UsageError(self, "missing pool name argument");
  if (args.size() < 2) return UsageError(self, "missing vdev specification");
  const std::string pool = args[0];
  std::vector<std::string> words(args.begin() + 1, args.end());
  // zpool_open and zpool_get_config: the pool's vdev tree, for the replication check.
  auto st = lzc::PoolStatus(pool);
  if (!st.ok()) return Fail(libzfs::PoolErrorText("open", pool, st.status()));
  const auto* pools = st->GetNvListArray("pools");
  const NvList* cfg = pools && !pools->empty() ? (*pools)[0].GetNvList("config") : nullptr;
  const NvList* tree = cfg ? cfg->GetNvList("vdev_tree") : nullptr;
  if (!tree) return Fail("pool '" + pool + "' is unavailable");
  std::set<std::string> imported = ImportedPools();
  vdev_spec::Options vo;
  vo.force = force;
  vo.check_replication = !force;
  vo.pool_nvroot = tree;
  vo.pool_active = [&](const std::string& name, uint64_t) { return imported.count(name) > 0; };
  auto nvroot = vdev_spec::MakeRootVdev(words, vo);
  if (!nvroot.ok()) return Fail(nvroot.status().message());
  if (Status d = vdev_spec::CheckDuplicates(*nvroot, true); !d.ok())
    return Fail("cannot add to '" + pool + "': " + d.message());
  if (dryrun) {
    std::cout << "would update '" << pool << "' to the following configuration:\n"
              << AddDryRunLayout(pool, *tree, *nvroot);
    return kExitOk;
  }
  // Whole disks are labelled by zfsd, as at create.
  Status s = lzc::PoolAdd(pool, *nvroot, CommandLine(argc, argv));
  if (!s.ok()) return Fail(libzfs::ErrorText("add to", pool, s));
  return kExitOk;
}

}  // namespace

const Cmd kAdd = {"add",
                  {"add [-fn] pool vdev..."},
                  "    -f      use devices even if they hold an exported pool, and a replication "
                  "level unlike the pool's\n"
                  "    -n      show the configuration that would result, add nothing\n"
                  "    --help  print this message\n",
                  RunAdd};

}  // namespace uzfs::zpool
