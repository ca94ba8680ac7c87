// zfs upgrade (zfs_do_upgrade): reports filesystem (ZPL) versions. uzfs writes ZPL version 4
// only, the newest pool version 23 knows, so there is never anything to upgrade to.
#include <iostream>

#include "cmd/zfs/zfs.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zfs {

static int RunUpgrade(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  std::vector<std::string> args;
  bool verbose = false, all = false, recursive = false;
  int64_t version = 4;
  app.add_flag("-v", verbose);
  app.add_flag("-a", all);
  app.add_flag("-r", recursive);
  app.add_option("-V", version);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  if (verbose) {
    if (all || !args.empty()) return UsageError(self, "too many arguments");
    std::cout << "The following filesystem versions are supported:\n\n"
                 "VER  DESCRIPTION\n"
                 "---  --------------------------------------------------------\n"
                 " 1   Initial ZFS filesystem version\n"
                 " 2   Enhanced directory entries\n"
                 " 3   Case insensitive and filesystem user identifier (FUID)\n"
                 " 4   userquota, groupquota properties\n\n"
                 "For more information on a particular version, including supported releases,\n"
                 "see the ZFS Administration Guide.\n\n";
    return kExitOk;
  }
  if (version != 4) return Fail("invalid version " + std::to_string(version) + ": uzfs writes version 4 only");
  std::vector<std::string> names = args;
  if (!PathsToNames(&names)) return kExitError;
  auto ds = FetchDatasets(names, recursive || all || names.empty(), -1);
  if (!ds.ok()) return FetchFailed(names, ds.status());
  std::vector<std::string> old;
  for (const Dataset& d : *ds)
    if (d.type == "filesystem" && d.Get("version") != "4") old.push_back(d.Get("version") + "   " + d.name);
  if (!all && names.empty()) {
    std::cout << "This system is currently running ZFS filesystem version 4.\n\n";
    if (old.empty()) {
      std::cout << "All filesystems are formatted with the current version.\n";
    } else {
      std::cout << "The following filesystems are out of date, and can be upgraded.  After being\n"
                   "upgraded, these filesystems (and any 'zfs send' streams generated from\n"
                   "subsequent snapshots) will no longer be accessible by older software versions.\n\n"
                   "VER  FILESYSTEM\n---  ------------\n";
      for (auto& o : old) std::cout << " " << o << "\n";
    }
    return kExitOk;
  }
  if (!old.empty()) return Fail("cannot upgrade: filesystems older than version 4 are not supported by uzfs");
  size_t n = 0;
  for (const Dataset& d : *ds) n += d.type == "filesystem";
  std::cout << "0 filesystems upgraded\n" << n << " filesystems already at this version\n";
  return kExitOk;
}

const Cmd kUpgrade = {"upgrade",
                      {"upgrade [-v]", "upgrade [-r] [-V version] -a|filesystem"},
                      "    -v          list the filesystem versions\n"
                      "    -a          every filesystem of every pool\n"
                      "    -r          descendants too\n"
                      "    -V version  the version to upgrade to (4)\n"
                      "    --help      print this message\n",
                      RunUpgrade};

}  // namespace uzfs::zfs
