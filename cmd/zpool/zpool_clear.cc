// zpool clear (zpool_main.c zpool_do_clear, libzfs_pool.c zpool_clear): the error counters
// of a pool's devices, or of one device, are zeroed, and a device that was faulted or
// unavailable is opened again (vdev_clear, vdev_reopen). The rewind options (-F, -n, -X)
// of pool version 23's recovery are not offered: uzfs does not rewind pools.
#include "cmd/zpool/zpool.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zpool {

namespace {

int RunClear(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  std::vector<std::string> args;
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  if (args.empty()) return UsageError(self, "missing pool name");
  if (args.size() > 2) return UsageError(self, "too many arguments");
  const std::string pool = args[0];
  const std::string what = args.size() == 2 ? args[1] : pool;
  const std::string prefix = "cannot clear errors for " + what + ": ";
  uint64_t guid = 0;
  if (args.size() == 2) {
    // zpool_find_vdev on the pool's config.
    auto st = lzc::PoolStatus(pool);
    if (!st.ok()) return Fail(libzfs::PoolErrorText("open", pool, st.status()));
    const auto* pools = st->GetNvListArray("pools");
    const NvList* p = pools && !pools->empty() ? &(*pools)[0] : nullptr;
    const NvList* cfg = p ? p->GetNvList("config") : nullptr;
    const NvList* tree = cfg ? cfg->GetNvList("vdev_tree") : nullptr;
    if (!tree) return Fail("cannot open '" + pool + "': no such pool");
    bool avail_spare = false;
    const NvList* v = libzfs::FindVdev(*tree, args[1], nullptr, &avail_spare);
    if (!v) return Fail(prefix + "no such device in pool");
    if (avail_spare) return Fail(prefix + libzfs::kIsSpare);  // zpool_clear: EZFS_ISSPARE
    guid = v->GetUint64("guid").value_or(0);
  }
  Status s = lzc::PoolClear(pool, guid, CommandLine(argc, argv));
  if (s.ok()) return kExitOk;
  if (lzc::IsConnectError(s)) return Fail(s.message());
  if (s.code() == ENOENT) return Fail("cannot open '" + pool + "': no such pool");
  return Fail(prefix + libzfs::Reason(s));
}

}  // namespace

const Cmd kClear = {"clear", {"clear pool [device]"}, "    --help  print this message\n", RunClear};

}  // namespace uzfs::zpool
