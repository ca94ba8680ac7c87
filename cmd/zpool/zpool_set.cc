// zpool set (zpool_do_set): one property of one pool; logged in the pool's history.
#include "cmd/zpool/zpool.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zpool {

static int RunSet(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  std::vector<std::string> args;
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  if (args.empty()) return UsageError(self, "missing property=value argument");
  if (args.size() < 2) return UsageError(self, "missing pool name");
  if (args.size() > 2) return UsageError(self, "too many pool names");
  auto eq = args[0].find('=');
  if (eq == std::string::npos) return UsageError(self, "missing value in property=value argument");
  std::string prop = args[0].substr(0, eq), value = args[0].substr(eq + 1);
  Status s = lzc::PoolSet(args[1], prop, value, CommandLine(argc, argv));
  if (s.ok()) return kExitOk;
  return Fail(libzfs::PoolErrorText("set property for", args[1], s));
}

const Cmd kSet = {"set", {"set property=value pool"}, "    --help  print this message\n", RunSet};

}  // namespace uzfs::zpool
