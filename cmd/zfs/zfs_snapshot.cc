// zfs snapshot (zfs_do_snapshot): snapshots taken together in one txg; -r also of every
// descendant filesystem.
#include "cmd/zfs/zfs.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zfs {

static int RunSnapshot(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  std::vector<std::string> args, opts;
  bool recursive = false;
  app.add_flag("-r", recursive);
  app.add_option("-o", opts)->allow_extra_args(false);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  if (args.empty()) return UsageError(self, "missing snapshot argument");
  NvList props;
  int rc = 0;
  if (!PropsFromOptions(self, opts, &props, &rc)) return rc;
  for (const std::string& a : args)
    if (a.find('@') == std::string::npos)
      return Fail("cannot create snapshot '" + a + "': missing '@' delimiter in snapshot name");
  Status s = lzc::ZfsSnapshot(args, recursive, props, CommandLine(argc, argv));
  if (!s.ok()) {
    std::string name = args[0];
    std::string msg = s.message();
    // The daemon names the snapshot at fault as "NAME: reason" when several were asked for.
    if (auto p = msg.find(": "); args.size() > 1 && p != std::string::npos && msg.find('@') < p) {
      name = msg.substr(0, p);
      return Fail("cannot create snapshot '" + name + "': " + msg.substr(p + 2));
    }
    return Fail(libzfs::ErrorText("create snapshot", name, s));
  }
  return kExitOk;
}

const Cmd kSnapshot = {"snapshot",
                       {"snapshot [-r] [-o property=value]... filesystem@snapname..."},
                       "    -r                 of every descendant filesystem too\n"
                       "    -o property=value  set a user property of the snapshot\n"
                       "    --help             print this message\n",
                       RunSnapshot};

}  // namespace uzfs::zfs
