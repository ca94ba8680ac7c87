// zfs create (zfs_do_create): a filesystem, with -o properties, -p for missing parents.
#include "cmd/zfs/zfs.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zfs {

static int Run(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  std::vector<std::string> args, opts;
  bool parents = false, volume = false;
  app.add_flag("-p", parents);
  app.add_option("-o", opts)->allow_extra_args(false);
  std::string vsize;
  app.add_option("-V", vsize);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  volume = !vsize.empty();
  if (args.empty()) return UsageError(self, "missing filesystem argument");
  if (args.size() > 1) return UsageError(self, "too many arguments");
  if (volume) return Fail("cannot create '" + args[0] + "': volumes are not supported by uzfs");
  NvList props;
  int rc = 0;
  if (!PropsFromOptions(self, opts, &props, &rc)) return rc;
  Status s = lzc::ZfsCreate(args[0], props, parents, CommandLine(argc, argv));
  // zfs_do_create: with -p, a dataset that exists already is success (nothing is changed,
  // its properties included), so scripts may create a path without testing for it first.
  if (parents && s.code() == EEXIST && s.message() == "dataset already exists") return kExitOk;
  if (!s.ok()) return Fail(libzfs::ErrorText("create", args[0], s));
  return kExitOk;
}

const Cmd kCreate = {"create",
                     {"create [-p] [-o property=value]... filesystem"},
                     "    -p                 create missing parent datasets\n"
                     "    -o property=value  set a property of the new filesystem\n"
                     "    --help             print this message\n",
                     Run};

}  // namespace uzfs::zfs
