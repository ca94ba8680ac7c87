// zpool sync (zpool_do_sync): writes the open txg of the named pools (all by default) now.
#include "cmd/zpool/zpool.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zpool {

static int RunSync(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  std::vector<std::string> args;
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  if (args.empty()) {
    Status s = lzc::PoolSync("");
    return s.ok() ? kExitOk : Fail(lzc::IsConnectError(s) ? s.message() : "cannot sync: " + libzfs::Reason(s));
  }
  int rc = kExitOk;
  for (const std::string& p : args) {
    Status s = lzc::PoolSync(p);
    if (s.ok()) continue;
    if (lzc::IsConnectError(s)) return Fail(s.message());
    rc = Fail(libzfs::PoolErrorText("sync", p, s));
  }
  return rc;
}

const Cmd kSync = {"sync", {"sync [pool]..."}, "    --help  print this message\n", RunSync};

}  // namespace uzfs::zpool
