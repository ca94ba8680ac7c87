// zfs clone (zfs_do_clone): a writable filesystem made from a snapshot.
#include "cmd/zfs/zfs.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zfs {

static int RunClone(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  std::vector<std::string> args, opts;
  bool parents = false;
  app.add_flag("-p", parents);
  app.add_option("-o", opts)->allow_extra_args(false);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  if (args.empty()) return UsageError(self, "missing source dataset argument");
  if (args.size() < 2) return UsageError(self, "missing target dataset argument");
  if (args.size() > 2) return UsageError(self, "too many arguments");
  NvList props;
  int rc = 0;
  if (!PropsFromOptions(self, opts, &props, &rc)) return rc;
  Status s = lzc::ZfsClone(args[0], args[1], props, parents, CommandLine(argc, argv));
  if (!s.ok()) {
    if (s.code() == ENOENT && s.message() == "dataset does not exist")
      return Fail("cannot open '" + args[0] + "': dataset does not exist");
    return Fail(libzfs::ErrorText("create", args[1], s));
  }
  return kExitOk;
}

const Cmd kClone = {"clone",
                    {"clone [-p] [-o property=value]... snapshot filesystem"},
                    "    -p                 create missing parent datasets\n"
                    "    -o property=value  set a property of the clone\n"
                    "    --help             print this message\n",
                    RunClone};

}  // namespace uzfs::zfs
