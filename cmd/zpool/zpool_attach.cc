// zpool attach, zpool replace and zpool detach (zpool_main.c zpool_do_attach_or_replace /
// zpool_do_detach, libzfs_pool.c zpool_vdev_attach / zpool_vdev_detach, with their
// messages): a device joins another as a mirror side (attach) or takes its place once a
// resilver copied everything onto it (replace; without a new device, the same path: a disk
// swapped in place), and a mirror side leaves (detach). The work is zfsd's
// (libcore/pool/pool_attach.cc).
#include <iostream>

#include "cmd/zpool/zpool.h"
#include "cmd/zpool/zpool_vdev.h"
#include "libzfs/libzfs.h"
#include "libzfs/vdev_spec.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zpool {

namespace {

// zpool_open + zpool_get_config: the pool's vdev tree (a copy), or the exit code.
int PoolTree(const std::string& pool, NvList* tree) {
  auto st = lzc::PoolStatus(pool);
  if (!st.ok()) return Fail(libzfs::PoolErrorText("open", pool, st.status()));
  const auto* pools = st->GetNvListArray("pools");
  const NvList* cfg = pools && !pools->empty() ? (*pools)[0].GetNvList("config") : nullptr;
  const NvList* t = cfg ? cfg->GetNvList("vdev_tree") : nullptr;
  if (!t) return Fail("pool '" + pool + "' is unavailable");
  *tree = *t;
  return kExitOk;
}

int RunAttachOrReplace(const Cmd& self, int argc, char** argv, bool replacing) {
  CLI::App app;
  bool force = false;
  std::vector<std::string> args;
  app.add_flag("-f", force);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  if (args.empty()) return UsageError(self, "missing pool name argument");
  if (args.size() < 2) return UsageError(self, "missing <device> specification");
  if (args.size() < 3 && !replacing) return UsageError(self, "missing <new_device> specification");
  if (args.size() > 3) return UsageError(self, "too many arguments");
  const std::string pool = args[0], old_disk = args[1];
  const std::string new_disk = args.size() > 2 ? args[2] : old_disk;
  NvList tree;
  if (int rc = PoolTree(pool, &tree); rc != kExitOk) return rc;
  // make_root_vdev(zhp, force, B_FALSE, replacing, ...): the new device checked for other
  // uses (-f passes a device holding an exported pool's label; an active pool's never); an
  // in-place replacement may hold this pool's label.
  std::set<std::string> imported = ImportedPools();
  vdev_spec::Options vo;
  vo.force = force;
  vo.check_replication = false;
  const bool in_place = replacing && new_disk == old_disk;
  vo.pool_active = [&](const std::string& name, uint64_t) {
    return imported.count(name) > 0 && !(in_place && name == pool);
  };
  auto nvroot = vdev_spec::MakeRootVdev({new_disk}, vo);
  if (!nvroot.ok()) return Fail(nvroot.status().message());
  const std::string msg = replacing ? "cannot replace " + old_disk + " with " + new_disk + ": "
                                    : "cannot attach " + new_disk + " to " + old_disk + ": ";
  bool avail_spare = false;
  const NvList* tgt = libzfs::FindVdev(tree, old_disk, nullptr, &avail_spare);
  if (!tgt) return Fail(msg + "no such device in pool");
  if (avail_spare) return Fail(msg + libzfs::kIsSpare);
  const uint64_t guid = tgt->GetUint64("guid").value_or(0);
  const auto* kids = nvroot->GetNvListArray("children");
  if (!kids || kids->size() != 1) return Fail(msg + "new device must be a single disk");
  // Whole disks are labelled by zfsd, as at create and add.
  Status s = lzc::PoolAttach(pool, guid, *nvroot, replacing, CommandLine(argc, argv));
  if (s.ok()) return kExitOk;
  if (lzc::IsConnectError(s)) return Fail(s.message());
  switch (s.code()) {
    case ENOENT:
      return Fail("cannot open '" + pool + "': no such pool");
    case ENOTSUP:
      // Can't attach to or replace this type of vdev.
      if (!replacing) return Fail(msg + "can only attach to mirrors and top-level disks");
      if (s.message().find("raidz") != std::string::npos || s.message().find("log") != std::string::npos)
        return Fail(msg + s.message());
      return Fail(msg + "cannot replace a replacing device");
    case EINVAL:
      return Fail(msg + "new device must be a single disk");
    case EBUSY:
      return Fail(msg + new_disk + " is busy");
    case EOVERFLOW:
      return Fail(msg + "device is too small");
    case EDOM:
      return Fail(msg + "devices have different sector alignment");
    case ENODEV:
      return Fail(msg + "no such device in pool");
    default:
      return Fail(msg + libzfs::Reason(s));
  }
}

int RunAttach(const Cmd& self, int argc, char** argv) {
  return RunAttachOrReplace(self, argc, argv, false);
}
int RunReplace(const Cmd& self, int argc, char** argv) {
  return RunAttachOrReplace(self, argc, argv, true);
}

int RunDetach(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  std::vector<std::string> args;
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  if (args.empty()) return UsageError(self, "missing pool name argument");
  if (args.size() < 2) return UsageError(self, "missing <device> specification");
  if (args.size() > 2) return UsageError(self, "too many arguments");
  const std::string pool = args[0], path = args[1];
  NvList tree;
  if (int rc = PoolTree(pool, &tree); rc != kExitOk) return rc;
  const std::string msg = "cannot detach " + path + ": ";
  bool avail_spare = false;
  const NvList* tgt = libzfs::FindVdev(tree, path, nullptr, &avail_spare);
  if (!tgt) return Fail(msg + "no such device in pool");
  if (avail_spare) return Fail(msg + libzfs::kIsSpare);
  Status s = lzc::PoolDetach(pool, tgt->GetUint64("guid").value_or(0), CommandLine(argc, argv));
  if (s.ok()) return kExitOk;
  if (lzc::IsConnectError(s)) return Fail(s.message());
  switch (s.code()) {
    case ENOENT:
      return Fail("cannot open '" + pool + "': no such pool");
    case ENOTSUP:
      return Fail(msg + "only applicable to mirror and replacing vdevs");
    case EBUSY:  // EZFS_NOREPLICAS: there are no other replicas of this device
      return Fail(msg + "no valid replicas");
    case ENODEV:
      return Fail(msg + "no such device in pool");
    default:
      return Fail(msg + libzfs::Reason(s));
  }
}

}  // namespace

const Cmd kAttach = {"attach",
                     {"attach [-f] pool device new_device"},
                     "    -f      use new_device even if it holds an exported pool's label\n"
                     "    --help  print this message\n",
                     RunAttach};
const Cmd kDetach = {"detach", {"detach pool device"}, "    --help  print this message\n",
                     RunDetach};
const Cmd kReplace = {"replace",
                      {"replace [-f] pool device [new_device]"},
                      "    -f      use new_device even if it holds an exported pool's label\n"
                      "    --help  print this message\n",
                      RunReplace};

}  // namespace uzfs::zpool
