// zpool remove (zpool_main.c zpool_do_remove, libzfs_pool.c zpool_vdev_remove): inactive
// hot spares and separate intent log devices (pool version 19's log device removal) leave a
// pool, and so does a dax device no DAX file has extents on; pool version 23 removes no
// other kind of vdev (cache devices, which could go, are not supported by uzfs). A spare in use is found in the tree first, so it gets the "only
// inactive hot spares..." answer, as zfs-fuse's libzfs gives it.
#include "cmd/zpool/zpool.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zpool {

namespace {

constexpr uint64_t kSpaVersionHoles = 19;  // SPA_VERSION_HOLES: log device removal

int RunRemove(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  std::vector<std::string> args;
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  if (args.empty()) return UsageError(self, "missing pool name argument");
  if (args.size() < 2) return UsageError(self, "missing device");
  const std::string pool = args[0];
  auto st = lzc::PoolStatus(pool);
  if (!st.ok()) return Fail(libzfs::PoolErrorText("open", pool, st.status()));
  const auto* pools = st->GetNvListArray("pools");
  const NvList* p = pools && !pools->empty() ? &(*pools)[0] : nullptr;
  const NvList* cfg = p ? p->GetNvList("config") : nullptr;
  const NvList* tree = cfg ? cfg->GetNvList("vdev_tree") : nullptr;
  if (!tree) return Fail("cannot open '" + pool + "': no such pool");
  const uint64_t version = cfg->GetUint64("version").value_or(0);
  int rc = kExitOk;
  for (size_t i = 1; i < args.size(); i++) {
    const std::string& dev = args[i];
    const std::string prefix = "cannot remove " + dev + ": ";
    bool is_log = false, avail_spare = false;
    const NvList* v = libzfs::FindVdev(*tree, dev, &is_log, &avail_spare);
    if (!v) {
      rc = Fail(prefix + "no such device in pool");
      continue;
    }
    const std::string* type = v->GetString("type");
    const bool is_dax = type && *type == "dax";  // a top-level leaf of the dax class
    if (!is_log && !avail_spare && !is_dax) {
      rc = Fail(prefix + "only inactive hot spares, cache, top-level, or log devices can be removed");
      continue;
    }
    if (is_log && version < kSpaVersionHoles) {
      rc = Fail(prefix + "pool must be upgraded to support log removal");
      continue;
    }
    Status s = lzc::PoolRemove(pool, v->GetUint64("guid").value_or(0), CommandLine(argc, argv));
    if (s.ok()) continue;
    if (lzc::IsConnectError(s)) return Fail(s.message());
    rc = Fail(prefix + libzfs::Reason(s));
  }
  return rc;
}

}  // namespace

const Cmd kRemove = {"remove", {"remove pool device..."}, "    --help  print this message\n", RunRemove};

}  // namespace uzfs::zpool
