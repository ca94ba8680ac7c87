// zfs rollback (zfs_do_rollback): a filesystem back to its latest snapshot; -r destroys the
// later snapshots first so an older one becomes the latest.
#include "cmd/zfs/zfs.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zfs {

static int RunRollback(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  std::vector<std::string> args;
  bool recursive = false, dependents = false, force = false;
  app.add_flag("-r", recursive);
  app.add_flag("-R", dependents);
  app.add_flag("-f", force);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  if (args.empty()) return UsageError(self, "missing dataset argument");
  if (args.size() > 1) return UsageError(self, "too many arguments");
  if (args[0].find('@') == std::string::npos)
    return Fail("cannot open '" + args[0] + "': operation not applicable to datasets of this type");
  Status s = lzc::ZfsRollback(args[0], recursive || dependents, CommandLine(argc, argv));
  if (!s.ok()) {
    if (s.code() == ENOENT && s.message() == "dataset does not exist")
      return Fail("cannot open '" + args[0] + "': dataset does not exist");
    return Fail(libzfs::ErrorText("rollback to", args[0], s));
  }
  return kExitOk;
}

const Cmd kRollback = {"rollback",
                       {"rollback [-rRf] snapshot"},
                       "    -r      destroy later snapshots first\n"
                       "    -R      like -r (and their clones)\n"
                       "    -f      accepted for OpenZFS compatibility\n"
                       "    --help  print this message\n",
                       RunRollback};

}  // namespace uzfs::zfs
