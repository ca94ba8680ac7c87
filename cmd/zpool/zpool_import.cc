// zpool import (zpool_do_import): without a pool, lists the pools found on the devices of the
// -d directories (default /dev); with a name or numeric id, imports that pool (optionally
// under a new name).
#include <iostream>

#include "cmd/zpool/zpool.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zpool {

namespace {

void PrintCandidate(const NvList& c) {
  std::string name = *c.GetString("name");
  std::string state = c.GetString("state") ? *c.GetString("state") : "UNAVAIL";
  std::cout << "   pool: " << name << "\n";
  std::cout << "     id: " << c.GetUint64("guid").value_or(0) << "\n";
  std::cout << "  state: " << state << "\n";
  if (state == "UNAVAIL") {
    std::cout << " status: One or more devices are missing from the system.\n";
    std::cout << " action: The pool cannot be imported. Attach the missing\n"
                 "\tdevices and try again.\n";
  } else if (c.GetUint64("pool_state").value_or(1) == 0 &&
             c.GetUint64("hostid").value_or(0) != 0 &&
             c.GetUint64("hostid").value_or(0) != (static_cast<uint64_t>(gethostid()) & 0xffffffffULL)) {
    std::cout << " status: The pool was last accessed by another system.\n";
    std::cout << " action: The pool can be imported using its name or numeric identifier and\n"
                 "\tthe '-f' flag.\n";
  } else {
    std::cout << " action: The pool can be imported using its name or numeric identifier.\n";
  }
  std::cout << " config:\n\n";
  if (const NvList* tree = c.GetNvList("vdev_tree"))
    std::cout << libzfs::VdevTable(name, state, *tree, false);
}

int Run(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  bool force = false, nomount = false;
  std::vector<std::string> dirs, o, args;
  std::string altroot;
  app.add_option("-d", dirs)->allow_extra_args(false);
  app.add_flag("-f", force);
  app.add_flag("-N", nomount);
  app.add_option("-o", o)->allow_extra_args(false);
  app.add_option("-R", altroot);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  if (args.size() > 2) return UsageError(self, "too many arguments");
  NvList props;
  for (const auto& kv : o) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) return UsageError(self, "missing '=' for -o option");
    props.AddString(kv.substr(0, eq), kv.substr(eq + 1));
  }
  if (!altroot.empty() && !props.Has("cachefile")) props.AddString("cachefile", "none");
  auto scan = lzc::PoolScan(dirs);
  if (!scan.ok()) return Fail(lzc::IsConnectError(scan.status()) ? scan.status().message() : "cannot scan devices: " + libzfs::Reason(scan.status()));
  std::vector<NvList> found;
  if (const auto* ps = scan->GetNvListArray("pools")) found = *ps;
  if (args.empty()) {
    if (found.empty()) return Fail("no pools available to import");
    for (size_t i = 0; i < found.size(); i++) {
      if (i) std::cout << "\n";
      PrintCandidate(found[i]);
    }
    return kExitOk;
  }
  const std::string& want = args[0];
  std::string target = args.size() == 2 ? args[1] : want;
  if (auto l = lzc::PoolList(); l.ok())
    if (const auto* ps = l->GetNvListArray("pools"))
      for (const NvList& p : *ps)
        if (*p.GetString("name") == target)
          return Fail("cannot import '" + want + "': a pool with that name already exists\n"
                      "use the form 'zpool import <pool | id> <newpool>' to give it a new name");
  std::vector<const NvList*> match;
  for (const NvList& c : found)
    if (*c.GetString("name") == want || std::to_string(c.GetUint64("guid").value_or(0)) == want)
      match.push_back(&c);
  if (match.empty()) return Fail("cannot import '" + want + "': no such pool available");
  if (match.size() > 1)
    return Fail("cannot import '" + want + "': more than one matching pool\nimport by numeric ID instead");
  const NvList& c = *match[0];
  std::vector<std::string> devices;
  if (const NvValue* d = c.Find("devices")) devices = d->s_arr;
  std::string newname = args.size() == 2 ? args[1] : std::string();
  auto r = lzc::PoolImport(std::to_string(c.GetUint64("guid").value_or(0)), devices, newname,
                           force, props, altroot, CommandLine(argc, argv));
  if (!r.ok()) return Fail(libzfs::ErrorText("import", want, r.status()));
  (void)nomount;  // datasets are not mounted by zfsd yet: -N changes nothing today
  return kExitOk;
}

}  // namespace

const Cmd kImport = {
    "import",
    {"import [-d dir]...", "import [-d dir]... [-fN] [-o property=value]... [-R root] pool|id [newpool]"},
    "    -d dir             search the devices in dir (default /dev); repeatable\n"
    "    -f                 import a pool that looks in use by another system\n"
    "    -N                 import without mounting any dataset\n"
    "    -o property=value  set a pool property for the import\n"
    "    -R root            alternate root (implies cachefile=none)\n"
    "    --help             print this message\n",
    Run};

}  // namespace uzfs::zpool
