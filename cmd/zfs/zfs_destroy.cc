// zfs destroy (zfs_do_destroy): a filesystem or snapshot; -r with its descendants, -R with
// dependent clones too; -n -v say what would go; -d marks a held or cloned snapshot for
// deferred destroy (pool version 18).
#include <iostream>

#include "cmd/zfs/zfs.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zfs {

static int RunDestroy(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  std::vector<std::string> args;
  bool recursive = false, dependents = false, force = false, dryrun = false, verbose = false,
       parsable = false, defer = false;
  app.add_flag("-r", recursive);
  app.add_flag("-R", dependents);
  app.add_flag("-f", force);
  app.add_flag("-n", dryrun);
  app.add_flag("-v", verbose);
  app.add_flag("-p", parsable);
  app.add_flag("-d", defer);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  if (args.empty()) return UsageError(self, "missing dataset argument");
  if (args.size() > 1) return UsageError(self, "too many arguments");
  // -d opens the dataset as a snapshot (ZFS_TYPE_SNAPSHOT): a filesystem is the wrong type.
  if (defer && args[0].find('@') == std::string::npos) {
    auto d = FetchDatasets({args[0]}, false, -1);
    if (!d.ok()) return FetchFailed({args[0]}, d.status());
    return Fail("cannot open '" + args[0] + "': operation not applicable to datasets of this type");
  }
  lzc::DestroyFlags flags{.recursive = recursive,
                          .dependents = dependents,
                          .force = force,
                          .dryrun = dryrun,
                          .defer = defer};
  auto r = lzc::ZfsDestroy(args[0], flags, CommandLine(argc, argv));
  if (!r.ok()) {
    std::string failed = args[0];
    Status s = lzc::TakeFailedName(r.status(), &failed);
    Fail(libzfs::ErrorText("destroy", failed, s));
    // zfs_destroy_snaps failed: nothing of -r fs@snap went.
    if (recursive && args[0].find('@') != std::string::npos &&
        (failed != args[0] || r.status().message().find('\t') != std::string::npos ||
         (s.code() == ENOENT && !lzc::IsConnectError(s))))
      std::cerr << "no snapshots destroyed\n";
    return kExitError;
  }
  if (verbose || parsable)
    for (const std::string& n : *r) {
      if (parsable)
        std::cout << "destroy\t" << n << "\n";
      else
        std::cout << (dryrun ? "would destroy " : "will destroy ") << n << "\n";
    }
  return kExitOk;
}

const Cmd kDestroy = {"destroy",
                      {"destroy [-fnpRrv] filesystem", "destroy [-dnpRrv] snapshot"},
                      "    -r      destroy every descendant too (filesystems and snapshots)\n"
                      "    -R      like -r, and dependent clones\n"
                      "    -f      unmount busy filesystems forcibly, revoke DAX mappings\n"
                      "    -n      destroy nothing (with -v: say what would be destroyed)\n"
                      "    -v      print each dataset destroyed\n"
                      "    -p      machine-parsable -v output\n"
                      "    -d      mark a held or cloned snapshot for deferred destroy\n"
                      "    --help  print this message\n",
                      RunDestroy};

}  // namespace uzfs::zfs
