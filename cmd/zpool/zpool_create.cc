// zpool create (zpool_main.c zpool_do_create).
#include <dirent.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <set>

#include "cmd/zpool/zpool.h"
#include "cmd/zpool/zpool_vdev.h"
#include "libcore/base/zfs_prop.h"
#include "libzfs/vdev_spec.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zpool {

namespace {

// Adds "name=value" to props; false with OpenZFS's message when there is no '='.
bool AddProp(const std::string& kv, char opt, NvList* props, std::string* err) {
  auto eq = kv.find('=');
  if (eq == std::string::npos) {
    *err = std::string("missing '=' for -") + opt + " option";
    return false;
  }
  std::string k = kv.substr(0, eq);
  // zpool_do_create hands -O to zfs_valid_proplist, which takes "compress" for compression.
  if (opt == 'O') k = CanonicalPropName(k);
  props->AddString(k, kv.substr(eq + 1));
  return true;
}

// zpool_do_create's check before anything is created: the root dataset's mountpoint (-m,
// else /POOL; under -R's root) must be absent or an empty directory, else it says so and
// points at -m. 'none' and 'legacy' mount nothing.
bool MountpointUsable(const std::string& pool, const std::string& mountpoint,
                      const std::string& altroot) {
  if (mountpoint == "none" || mountpoint == "legacy") return true;
  std::string dir = mountpoint.empty() ? (altroot.empty() ? "/" + pool : altroot + "/" + pool)
                                       : altroot + mountpoint;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr && errno != ENOENT) {
    std::cerr << "mountpoint '" << dir << "' : " << std::strerror(errno) << "\n"
              << "use '-m' option to provide a different default\n";
    return false;
  }
  if (d == nullptr) return true;
  int count = 0;  // "." and ".." and one more: not empty
  while (count < 3 && ::readdir(d) != nullptr) count++;
  ::closedir(d);
  if (count > 2) {
    std::cerr << "mountpoint '" << dir << "' exists and is not empty\n"
              << "use '-m' option to provide a different default\n";
    return false;
  }
  return true;
}

int RunCreate(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  bool force = false, dryrun = false;
  std::string mountpoint, altroot;
  std::vector<std::string> o, O, args;
  app.add_flag("-f", force);
  app.add_flag("-n", dryrun);
  app.add_option("-m", mountpoint);
  app.add_option("-o", o)->allow_extra_args(false);
  app.add_option("-O", O)->allow_extra_args(false);
  app.add_option("-R", altroot);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  NvList props, fsprops;
  std::string err;
  for (const auto& kv : o)
    if (!AddProp(kv, 'o', &props, &err)) return UsageError(self, err);
  for (const auto& kv : O)
    if (!AddProp(kv, 'O', &fsprops, &err)) return UsageError(self, err);
  if (args.empty()) return UsageError(self, "missing pool name argument");
  if (args.size() < 2) return UsageError(self, "missing vdev specification");
  std::string pool = args[0];
  std::vector<std::string> words(args.begin() + 1, args.end());
  if (!mountpoint.empty()) {
    if (mountpoint != "none" && mountpoint != "legacy" && mountpoint[0] != '/')
      return Fail("invalid mountpoint '" + mountpoint + "': must be an absolute path, 'legacy', or 'none'");
    fsprops.AddString("mountpoint", mountpoint);
  }
  if (!altroot.empty()) {
    props.AddString("altroot", altroot);
    if (!props.Has("cachefile")) props.AddString("cachefile", "none");
  }
  std::set<std::string> imported = ImportedPools();
  vdev_spec::Options vo;
  vo.force = force;
  vo.check_replication = !force;
  vo.pool_active = [&](const std::string& name, uint64_t) { return imported.count(name) > 0; };
  auto nvroot = vdev_spec::MakeRootVdev(words, vo);
  if (!nvroot.ok()) return Fail(nvroot.status().message());
  if (Status d = vdev_spec::CheckDuplicates(*nvroot, false); !d.ok())
    return Fail("cannot create '" + pool + "': " + d.message());
  if (!MountpointUsable(pool, mountpoint, altroot)) return kExitError;
  if (dryrun) {
    std::cout << "would create '" << pool << "' with the following layout:\n\n"
              << DryRunLayout(pool, *nvroot);
    return kExitOk;
  }
  // Whole disks are labelled by zfsd (it runs as root and owns the devices from then on).
  Status s = lzc::PoolCreate(pool, *nvroot, props, fsprops, altroot, CommandLine(argc, argv));
  if (!s.ok()) {
    std::string text = libzfs::ErrorText("create", pool, s);
    if (s.message() == "name is reserved") text += "\npool name may have been omitted";
    return Fail(text);
  }
  return kExitOk;
}

}  // namespace

const Cmd kCreate = {
    "create",
    {"create [-fn] [-m mountpoint] [-o property=value]... [-O file-system-property=value]... "
     "[-R root] pool vdev..."},
    "    -f                 use devices even if they hold an exported pool, and mixed replication\n"
    "    -n                 show the layout that would be created, create nothing\n"
    "    -m mountpoint      mountpoint of the root dataset (default /pool)\n"
    "    -o property=value  set a pool property\n"
    "    -O property=value  set a property of the root dataset\n"
    "    -R root            alternate root (implies cachefile=none)\n"
    "    --help             print this message\n",
    RunCreate};

}  // namespace uzfs::zpool
