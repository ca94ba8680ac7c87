// zpool destroy (zpool_do_destroy): marks every label destroyed and drops the pool.
#include "cmd/zpool/zpool.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zpool {

static int RunDestroy(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  bool force = false;
  std::vector<std::string> args;
  app.add_flag("-f", force);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  if (args.empty()) return UsageError(self, "missing pool argument");
  if (args.size() > 1) return UsageError(self, "too many arguments");
  Status s = lzc::PoolDestroy(args[0], force);
  return s.ok() ? kExitOk : Fail(libzfs::PoolErrorText("destroy", args[0], s));
}

const Cmd kDestroy = {"destroy", {"destroy [-f] pool"},
                      "    -f      force the unmount of every dataset, revoke DAX mappings\n"
                      "    --help  print this message\n",
                      RunDestroy};

}  // namespace uzfs::zpool
