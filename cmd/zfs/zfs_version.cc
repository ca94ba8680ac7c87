// zfs version: the userland and daemon versions, as OpenZFS prints zfs-X and zfs-kmod-X.
#include <iostream>

#include "cmd/zfs/zfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zfs {

static int Run(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  std::vector<std::string> args;
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  if (!args.empty()) return UsageError(self, "too many arguments");
  std::cout << "uzfs-" UZFS_VERSION "\n";
  auto v = lzc::Version();
  if (!v.ok()) return Fail(v.status().message());
  const std::string* dv = v->GetString("version");
  std::cout << (dv ? *dv : "zfsd-?") << "\n";
  return kExitOk;
}

const Cmd kVersion = {"version", {"version"}, "        --help  print this message\n", Run};

}  // namespace uzfs::zfs
