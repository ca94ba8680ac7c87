// zfs mount / zfs unmount (zfs_do_mount, zfs_do_unmount): zfsd serves the mounts with FUSE.
// `zfs mount` alone lists the mounted filesystems.
#include <iostream>

#include "cmd/zfs/zfs.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zfs {

static int RunMount(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  std::vector<std::string> args, opts;
  bool all = false, overlay = false, verbose = false;
  app.add_flag("-a", all);
  app.add_flag("-O", overlay);
  app.add_flag("-v", verbose);
  app.add_option("-o", opts)->allow_extra_args(false);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  // The temporary options (zfs_mount's mntopts): zfsd checks the words (one table,
  // MountTable::ParseTempOptions).
  std::string options;
  for (const std::string& o : opts)
    for (const std::string& x : SplitComma(o)) options += (options.empty() ? "" : ",") + x;
  if (args.empty() && !all) {
    auto m = lzc::ZfsMounts();
    if (!m.ok()) return Fail(lzc::IsConnectError(m.status()) ? m.status().message() : "cannot list mounts: " + libzfs::Reason(m.status()));
    for (const lzc::Mount& one : *m) std::cout << one.name << "  " << one.mountpoint << "\n";
    return kExitOk;
  }
  if (all && !args.empty()) return UsageError(self, "too many arguments");
  if (args.size() > 1) return UsageError(self, "too many arguments");
  std::vector<std::string> targets = args;
  if (all) {
    auto ds = FetchDatasets({}, true, -1);
    if (!ds.ok()) return Fail(libzfs::ErrorText("mount", "-a", ds.status()));
    SortByName(&*ds);
    for (const Dataset& d : *ds)
      if (d.type == "filesystem" && d.Get("canmount") == "on" && d.Get("mounted") == "no" &&
          d.Get("mountpoint")[0] == '/')
        targets.push_back(d.name);
  }
  int rc = kExitOk;
  for (const std::string& t : targets) {
    Status s = lzc::ZfsMount(t, options);
    if (!s.ok()) {
      if (s.code() == ENOENT && s.message() == "dataset does not exist")
        Fail("cannot open '" + t + "': dataset does not exist");
      else
        Fail(libzfs::ErrorText("mount", t, s));
      rc = kExitError;
    }
  }
  return rc;
}

static int RunUnmount(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  std::vector<std::string> args;
  bool all = false, force = false;
  app.add_flag("-a", all);
  app.add_flag("-f", force);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  if (args.empty() && !all) return UsageError(self, "missing filesystem argument");
  if (args.size() > 1 || (all && !args.empty())) return UsageError(self, "too many arguments");
  std::vector<std::string> targets = args;
  if (all) {
    auto m = lzc::ZfsMounts();
    if (!m.ok()) return Fail(libzfs::ErrorText("unmount", "-a", m.status()));
    // Children before their parents: the list is sorted by name.
    for (auto it = m->rbegin(); it != m->rend(); ++it) targets.push_back(it->name);
  }
  int rc = kExitOk;
  for (const std::string& t : targets) {
    Status s = lzc::ZfsUnmount(t, force);
    if (!s.ok()) {
      Fail(libzfs::ErrorText("unmount", t, s));
      rc = kExitError;
    }
  }
  return rc;
}

const Cmd kMount = {"mount",
                    {"mount", "mount [-Ov] [-o property[,property]...] -a|filesystem"},
                    "    -a                       every filesystem that mounts automatically\n"
                    "    -o property[,property]   options for this mount only: ro, rw, atime,\n"
                    "                             noatime, exec, noexec, suid, nosuid, dev, nodev;\n"
                    "                             remount: a mounted filesystem's, in place\n"
                    "    -O                       overlay mount (accepted, ignored)\n"
                    "    -v                       accepted for OpenZFS compatibility\n"
                    "    --help                   print this message\n",
                    RunMount};

const Cmd kUnmount = {"unmount",
                      {"unmount [-f] -a|filesystem|mountpoint"},
                      "    -a      every mounted filesystem\n"
                      "    -f      unmount even when busy (open files get errors)\n"
                      "    --help  print this message\n",
                      RunUnmount};

}  // namespace uzfs::zfs
