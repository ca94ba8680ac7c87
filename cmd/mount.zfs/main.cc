// mount.zfs: the helper mount(8) runs for `mount -t zfs DATASET DIR` (and for fstab lines of
// type zfs), after OpenZFS's cmd/mount_zfs: a filesystem whose mountpoint property is legacy
// is mounted at DIR by zfsd (a FUSE mount, as every uzfs mount), with the options of -o.
// -o remount changes a mounted filesystem's options in place (any mountpoint, as mount_zfs
// allows a remount of a non-legacy one). `mount -o remount DIR` of a uzfs mount reaches this
// helper as mount.fuse.zfs (the package's link; the mount's type is fuse.zfs), with the
// kernel's options of the mount added, which are dropped here. zfsd checks the option words (one table:
// MountTable::ParseTempOptions); this helper only drops mount(8)'s own and takes zfsutil.
// Exit codes are mount(8)'s helper codes (MOUNT_USAGE 1, MOUNT_SYSERR 2, MOUNT_BUSY 128).
// Not offered: mtab (-n is accepted: /etc/mtab is the kernel's list).
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cmd/common/cmd.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

const char* const uzfs::cmd::kProgram = "mount.zfs";

namespace {

constexpr int kMountUsage = 1, kMountSyserr = 2, kMountBusy = 0x80;

constexpr const char* kUsage = "Usage: mount.zfs [-fnsv] [-o options] dataset mountpoint\n";
constexpr const char* kHelp =
    "\n"
    "Mounts the ZFS filesystem dataset, whose mountpoint property is legacy, at the\n"
    "directory mountpoint (what mount -t zfs runs).\n"
    "\n"
    "Options:\n"
    "    -f          fake: check everything, mount nothing\n"
    "    -n          accepted for mount(8) (no mtab to write)\n"
    "    -o options  comma-separated mount options: ro, rw, atime, noatime, exec,\n"
    "                noexec, suid, nosuid, dev, nodev; remount changes a mounted\n"
    "                filesystem's options in place; zfsutil mounts a filesystem whose\n"
    "                mountpoint is not legacy; defaults and mount(8)'s own options\n"
    "                (noauto, nofail, _netdev, user, x-...) are ignored\n"
    "    -s          sloppy: ignore options that are not known\n"
    "    -v          print what is mounted\n"
    "    --help      print this message\n";

// What zfs_parse_mount_options does with one option: mark zfsutil, drop it (mount(8)'s own
// or a default), or pass it to zfsd, which knows the mount options.
enum class Opt { kPass, kZfsutil, kIgnore };
Opt Classify(const std::string& o) {
  static const char* const kIgnore[] = {"",     "defaults", "auto",  "noauto", "nofail", "_netdev",
                                        "user", "users",    "nouser", "owner", "group"};
  if (o == "zfsutil") return Opt::kZfsutil;
  for (const char* p : kIgnore)
    if (o == p) return Opt::kIgnore;
  if (o.rfind("x-", 0) == 0 || o.rfind("comment=", 0) == 0) return Opt::kIgnore;
  // What mount(8) adds to a remount from the kernel's list of a uzfs mount (a FUSE mount
  // of type fuse.zfs, whose helper mount.fuse.zfs is this program): the FUSE connection's
  // options and relatime, the kernel's atime mode (pool version 23 has no relatime).
  static const char* const kFuse[] = {"relatime", "default_permissions", "allow_other"};
  for (const char* p : kFuse)
    if (o == p) return Opt::kIgnore;
  for (const char* p : {"user_id=", "group_id=", "max_read=", "blksize=", "rootmode="})
    if (o.rfind(p, 0) == 0) return Opt::kIgnore;
  return Opt::kPass;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app;
  app.set_help_flag();
  bool help = false, fake = false, nomtab = false, sloppy = false, verbose = false;
  std::string opts;
  std::vector<std::string> args;
  app.add_flag("--help,-h", help);
  app.add_flag("-f", fake);
  app.add_flag("-n", nomtab);
  app.add_flag("-s", sloppy);
  app.add_flag("-v", verbose);
  app.add_option("-o", opts);
  app.add_option("args", args);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "mount.zfs: %s\n%s", e.what(), kUsage);
    return kMountUsage;
  }
  if (help) {
    std::printf("%s%s", kUsage, kHelp);
    return 0;
  }
  if (args.size() != 2) {
    std::fprintf(stderr, "%s\nusage: mount <dataset> <mountpoint>\n",
                 args.empty() ? "missing dataset argument"
                 : args.size() == 1 ? "missing mountpoint argument"
                                    : "too many arguments");
    return kMountUsage;
  }
  const std::string& dataset = args[0];
  char real[PATH_MAX];
  if (!realpath(args[1].c_str(), real)) {
    std::fprintf(stderr, "filesystem '%s' cannot be mounted at '%s' due to canonicalization error: %s\n",
                 dataset.c_str(), args[1].c_str(), std::strerror(errno));
    return kMountSyserr;
  }
  std::string pass;
  bool zfsutil = false;
  if (!opts.empty())
    for (const std::string& o : uzfs::cmd::SplitComma(opts)) {
      Opt c = Classify(o);
      if (c == Opt::kZfsutil) zfsutil = true;
      else if (c == Opt::kPass) pass += (pass.empty() ? "" : ",") + o;
    }
  if (verbose)
    std::printf("mount.zfs:\n  dataset:    \"%s\"\n  mountpoint: \"%s\"\n  mountopts:  \"%s\"\n",
                dataset.c_str(), real, pass.c_str());
  // -f: everything but the mount: zfsd checks the dataset and the options (not the
  // mountpoint, as mount_zfs does not for a fake mount).
  uzfs::Status s = uzfs::lzc::ZfsMountAt(dataset, pass, real, zfsutil, sloppy, fake);
  if (s.ok()) return 0;
  const std::string kBad = "unsupported mount option '";
  if (s.code() == EINVAL && s.message().rfind(kBad, 0) == 0) {
    std::fprintf(stderr,
                 "filesystem '%s' cannot be mounted due to invalid option '%s'.\n"
                 "Use the '-s' option to ignore the bad mount option.\n",
                 dataset.c_str(), s.message().substr(kBad.size(), s.message().size() - kBad.size() - 1).c_str());
    return kMountUsage;
  }
  if (uzfs::lzc::IsConnectError(s)) {
    std::fprintf(stderr, "%s\n", s.message().c_str());
    return kMountSyserr;
  }
  if (s.code() == EINVAL && s.message() == "not legacy") {
    std::fprintf(stderr,
                 "filesystem '%s' cannot be mounted using 'mount'.\n"
                 "Use 'zfs set mountpoint=%s' or 'zfs mount %s'.\n"
                 "See zfs(8) for more information.\n",
                 dataset.c_str(), "legacy", dataset.c_str());
    return kMountUsage;
  }
  if (s.code() == ENOENT) {
    std::fprintf(stderr, "filesystem '%s' cannot be mounted, unable to open the dataset\n",
                 dataset.c_str());
    return kMountUsage;
  }
  if (s.code() == EBUSY && s.message() == "filesystem already mounted") {
    std::fprintf(stderr, "filesystem '%s' is already mounted\n", dataset.c_str());
    return kMountBusy;
  }
  std::fprintf(stderr, "filesystem '%s' can not be mounted: %s\n", dataset.c_str(),
               uzfs::libzfs::Reason(s).c_str());
  return kMountUsage;
}
