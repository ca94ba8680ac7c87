// zfs inherit (zfs_do_inherit): clears a local setting so the value is inherited (or the
// default; a received value is hidden too); -r on every descendant too; -S reverts to the
// received value instead.
#include "cmd/zfs/zfs.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zfs {

static int RunInherit(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  std::vector<std::string> args;
  bool recursive = false, received = false;
  app.add_flag("-r", recursive);
  app.add_flag("-S", received);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  if (args.empty()) return UsageError(self, "missing property argument");
  if (args.size() < 2) return UsageError(self, "missing dataset argument");
  // zfs_do_inherit: zfs_name_to_prop takes "rdonly" for readonly.
  const std::string prop = Canonical(args[0]);
  if (!ValidPropName(prop) || prop == "name") return UsageError(self, "invalid property '" + args[0] + "'");
  // zfs_do_inherit: a value that zfs receive cannot have given.
  if (received && (prop == "volsize" || prop == "version"))
    return Fail("'" + prop + "' property cannot be reverted to a received value");
  int rc = kExitOk;
  for (size_t i = 1; i < args.size(); i++) {
    Status s = lzc::ZfsInherit(args[i], prop, recursive, received, CommandLine(argc, argv));
    if (!s.ok()) {
      if (s.code() == ENOENT && s.message() == "dataset does not exist")
        Fail("cannot open '" + args[i] + "': dataset does not exist");
      else
        Fail(libzfs::ErrorText("inherit " + args[0] + " for", args[i], s));
      rc = kExitError;
    }
  }
  return rc;
}

const Cmd kInherit = {"inherit",
                      {"inherit [-rS] property filesystem|snapshot..."},
                      "    -r      on every descendant filesystem too\n"
                      "    -S      revert to the received value, if any\n"
                      "    --help  print this message\n",
                      RunInherit};

}  // namespace uzfs::zfs
