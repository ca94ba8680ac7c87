// zfs rename (zfs_do_rename): a filesystem anywhere in its pool (-p makes missing parents),
// a snapshot within its filesystem (-r: the same snapshot of every descendant), its new name
// given whole or short ("@new").
#include "cmd/zfs/zfs.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zfs {

static int RunRename(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  std::vector<std::string> args;
  bool parents = false, recursive = false, force = false;
  app.add_flag("-p", parents);
  app.add_flag("-r", recursive);
  app.add_flag("-f", force);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  if (args.empty()) return UsageError(self, "missing source dataset argument");
  if (args.size() < 2) return UsageError(self, "missing target dataset argument");
  if (args.size() > 2) return UsageError(self, "too many arguments");
  if (recursive && args[0].find('@') == std::string::npos)
    return UsageError(self, "-r can only be used on snapshots");
  if (parents && args[0].find('@') != std::string::npos)
    return UsageError(self, "-p cannot be used with snapshots");
  lzc::RenameFlags flags{.parents = parents, .recursive = recursive, .force = force};
  // zfs_rename: a snapshot's new name may be given short, "@new" or "new", within the same
  // filesystem; errors still name the target as given.
  std::string target = args[1];
  size_t at = args[0].find('@');
  if (at != std::string::npos && (target.find('@') == std::string::npos || target[0] == '@'))
    target = args[0].substr(0, at + 1) + (target[0] == '@' ? target.substr(1) : target);
  Status s = lzc::ZfsRename(args[0], target, flags, CommandLine(argc, argv));
  if (!s.ok()) {
    if (s.code() == ENOENT && s.message() == "dataset does not exist")
      return Fail("cannot open '" + args[0] + "': dataset does not exist");
    return Fail(libzfs::ErrorText("rename to", args[1], s));
  }
  return kExitOk;
}

const Cmd kRename = {"rename",
                     {"rename [-f] filesystem|snapshot filesystem|snapshot",
                      "rename -p [-f] filesystem filesystem", "rename -r snapshot snapshot"},
                     "    -p      create missing parent datasets\n"
                     "    -r      rename the snapshot of every descendant too\n"
                     "    -f      unmount busy filesystems forcibly\n"
                     "    --help  print this message\n",
                     RunRename};

}  // namespace uzfs::zfs
