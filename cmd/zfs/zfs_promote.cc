// zfs promote (zfs_do_promote): a clone takes over its origin's snapshots, so the origin
// filesystem can be destroyed.
#include "cmd/zfs/zfs.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zfs {

static int RunPromote(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  std::vector<std::string> args;
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  if (args.empty()) return UsageError(self, "missing clone filesystem argument");
  if (args.size() > 1) return UsageError(self, "too many arguments");
  Status s = lzc::ZfsPromote(args[0], CommandLine(argc, argv));
  if (!s.ok()) {
    if (s.code() == ENOENT && s.message() == "dataset does not exist")
      return Fail("cannot open '" + args[0] + "': dataset does not exist");
    return Fail(libzfs::ErrorText("promote", args[0], s));
  }
  return kExitOk;
}

const Cmd kPromote = {"promote", {"promote clone-filesystem"}, "    --help  print this message\n", RunPromote};

}  // namespace uzfs::zfs
