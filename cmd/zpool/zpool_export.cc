// zpool export (zpool_do_export): syncs, marks the labels exported, releases the devices.
#include "cmd/zpool/zpool.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zpool {

static int RunExport(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  bool force = false;
  std::vector<std::string> args;
  app.add_flag("-f", force);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  if (args.empty()) return UsageError(self, "missing pool argument");
  int rc = kExitOk;
  for (const std::string& p : args) {
    Status s = lzc::PoolExport(p, force);
    if (s.ok()) continue;
    if (lzc::IsConnectError(s)) return Fail(s.message());
    rc = Fail(libzfs::PoolErrorText("export", p, s));
  }
  return rc;
}

const Cmd kExport = {"export", {"export [-f] pool..."},
                     "    -f      force the unmount of every dataset, revoke DAX mappings\n"
                     "    --help  print this message\n",
                     RunExport};

}  // namespace uzfs::zpool
