// zpool import (zpool_do_import): without a pool, lists the pools found on the devices of the
// -d directories (default /dev); with a name or numeric id, imports that pool (optionally
// under a new name).
#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <set>

#include "cmd/zpool/zpool.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zpool {

namespace {

constexpr uint64_t kStateDestroyed = 2;  // POOL_STATE_DESTROYED of a candidate's pool_state

constexpr const char* kMsgBase = "https://openzfs.github.io/openzfs-docs/msg/";

// show_import: the header lines (status, action and the message id by state), then the
// config table as `zpool status` prints it, without the error counters.
const std::string kUnsupFeatures =
    "This pool uses the following feature(s) not supported by this system:";

void PrintCandidate(const NvList& c) {
  std::string name = *c.GetString("name");
  std::string state = c.GetString("state") ? *c.GetString("state") : "UNAVAIL";
  uint64_t hostid = c.GetUint64("hostid").value_or(0);
  bool foreign = c.GetUint64("pool_state").value_or(1) == 0 && hostid != 0 &&
                 hostid != (static_cast<uint64_t>(gethostid()) & 0xffffffffULL);
  std::cout << "   pool: " << name << "\n";
  std::cout << "     id: " << c.GetUint64("guid").value_or(0) << "\n";
  std::cout << "  state: " << state
            << (c.GetUint64("pool_state").value_or(1) == kStateDestroyed ? " (DESTROYED)" : "")
            << "\n";
  const char* msgid = nullptr;
  // zfsd's reason when the pool uses features we do not know (spa_feature.h's message): its
  // lines after the first are the features, "\tguid" each (ZPOOL_STATUS_UNSUP_FEAT_READ).
  const std::string* why = c.GetString("status");
  std::string unsup;
  if (why && why->rfind(kUnsupFeatures, 0) == 0) unsup = why->substr(std::min(why->size(), kUnsupFeatures.size() + 1));
  if (state == "UNAVAIL" && !unsup.empty()) {
    std::cout << " status: The pool uses the following feature(s) not supported on this system:\n"
              << unsup << "\n";
    std::cout << " action: The pool cannot be imported. Access the pool on a system that supports\n"
                 "\tthe required feature(s), or recreate the pool from backup.\n";
  } else if (state == "UNAVAIL") {
    std::cout << " status: One or more devices are missing from the system.\n";
    std::cout << " action: The pool cannot be imported. Attach the missing\n"
                 "\tdevices and try again.\n";
    msgid = "ZFS-8000-3C";
  } else if (state == "DEGRADED") {
    std::cout << " status: One or more devices are missing from the system.\n";
    std::cout << " action: The pool can be imported despite missing or damaged devices.  The\n"
                 "\tfault tolerance of the pool may be compromised if imported.\n";
    msgid = "ZFS-8000-2Q";
  } else if (foreign) {
    std::cout << " status: The pool was last accessed by another system.\n";
    std::cout << " action: The pool can be imported using its name or numeric identifier and\n"
                 "\tthe '-f' flag.\n";
    msgid = "ZFS-8000-EY";
  } else {
    std::cout << " action: The pool can be imported using its name or numeric identifier.\n";
  }
  if (msgid) std::cout << "   see: " << kMsgBase << msgid << "\n";
  std::cout << " config:\n\n";
  if (const NvList* tree = c.GetNvList("vdev_tree"))
    std::cout << libzfs::VdevTable(name, state, *tree, false);
}

// The -d arguments as absolute paths (zfsd resolves nothing against its own working
// directory). As libzfs_import: a missing directory is skipped; any other failure to
// resolve one is an error. *all_missing tells that nothing is left to search.
Status ResolveDirs(std::vector<std::string>* dirs, bool* all_missing) {
  std::vector<std::string> out;
  for (const std::string& d : *dirs) {
    char buf[PATH_MAX];
    if (::realpath(d.c_str(), buf) == nullptr) {
      if (errno == ENOENT) continue;
      return Status::Error(errno, "cannot resolve path '" + d + "'");
    }
    out.push_back(buf);
  }
  *all_missing = !dirs->empty() && out.empty();
  *dirs = std::move(out);
  return Status::Ok();
}

// do_import: one candidate imported (under newname when not empty); 1 on failure, reported.
int ImportOne(const NvList& c, const std::string& want, const std::string& newname, bool force,
              const NvList& props, const std::string& altroot, const std::string& history,
              bool nomount, bool missing_log, bool destroyed) {
  std::vector<std::string> devices;
  if (const NvValue* d = c.Find("devices")) devices = d->s_arr;
  auto r = lzc::PoolImport(std::to_string(c.GetUint64("guid").value_or(0)), devices, newname,
                           force, props, altroot, history, nomount, missing_log, destroyed);
  if (!r.ok()) {
    // zpool_import_props's ENOTSUP: the features on stdout, then "unsupported version or
    // feature".
    const Status& s = r.status();
    if (s.code() == ENOTSUP && s.message().rfind(kUnsupFeatures, 0) == 0) {
      std::cout << s.message() << "\n" << std::flush;
      return Fail("cannot import '" + want + "': unsupported version or feature");
    }
    return Fail(libzfs::ErrorText("import", want, s));
  }
  return kExitOk;
}

// The leaf device paths of a config's vdev tree.
void LeafPaths(const NvList& vd, std::vector<std::string>* out) {
  const auto* kids = vd.GetNvListArray("children");
  if (kids && !kids->empty()) {
    for (const NvList& k : *kids) LeafPaths(k, out);
  } else if (const std::string* path = vd.GetString("path")) {
    out->push_back(*path);
  }
}

// zpool_find_import_cached: the pools a cache file names ({name: config}), as guids, and the
// devices their configs name, which zfsd then reads (their labels are newer than the file).
// Prints libzfs's EZFS_BADCACHE message and returns false when the file is unusable.
bool ReadCacheFile(const std::string& file, std::set<uint64_t>* guids,
                   std::vector<std::string>* devices) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::cerr << "failed to open cache file: " << std::strerror(errno) << "\n";
    return false;
  }
  std::string buf((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    std::cerr << "failed to read cache file contents: invalid or missing cache file\n";
    return false;
  }
  auto raw = NvList::DecodeXdr(ByteSpan(reinterpret_cast<const uint8_t*>(buf.data()), buf.size()));
  if (!raw.ok()) {
    std::cerr << "invalid or corrupt cache file contents: invalid or missing cache file\n";
    return false;
  }
  for (const NvList::Pair& pair : raw->pairs()) {
    if (pair.value.type != NvType::kNvList || pair.value.lists.empty()) continue;
    const NvList* cfg = &pair.value.lists[0];
    if (auto g = cfg->GetUint64("pool_guid")) guids->insert(*g);
    if (const NvList* tree = cfg->GetNvList("vdev_tree")) LeafPaths(*tree, devices);
  }
  return true;
}

int RunImport(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  bool force = false, nomount = false, missing_log = false, all = false, destroyed = false;
  std::vector<std::string> dirs, o, args;
  std::string altroot, cachefile;
  app.add_flag("-a", all);
  app.add_option("-c", cachefile);
  app.add_option("-d", dirs)->allow_extra_args(false);
  app.add_flag("-D", destroyed);
  app.add_flag("-f", force);
  app.add_flag("-m", missing_log);
  app.add_flag("-N", nomount);
  app.add_option("-o", o)->allow_extra_args(false);
  app.add_option("-R", altroot);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  if (args.size() > (all ? 0 : 2)) return UsageError(self, "too many arguments");
  if (!cachefile.empty() && !dirs.empty()) return UsageError(self, "-c is incompatible with -d");
  NvList props;
  for (const auto& kv : o) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) return UsageError(self, "missing '=' for -o option");
    props.AddString(kv.substr(0, eq), kv.substr(eq + 1));
  }
  if (!altroot.empty() && !props.Has("cachefile")) props.AddString("cachefile", "none");
  bool all_missing = false;
  if (Status s = ResolveDirs(&dirs, &all_missing); !s.ok())
    return Fail(s.message() + ": " + std::strerror(s.code()));
  if (all_missing) {
    if (args.empty()) return Fail("no pools available to import");
    return Fail("cannot import '" + args[0] + "': no such pool available");
  }
  // -c: the cache file's pools only, from the devices it names (imported ones are not
  // found: zfsd leaves the devices of its pools out of a scan).
  std::set<uint64_t> cached;
  if (!cachefile.empty()) {
    std::vector<std::string> devices;
    // A file naming no device names no pool (and an empty list would mean /dev).
    if (!ReadCacheFile(cachefile, &cached, &devices) || devices.empty())
      return Fail(args.empty() ? "no pools available to import"
                               : "cannot import '" + args[0] + "': no such pool available");
    dirs = devices;
  }
  auto scan = lzc::PoolScan(dirs, destroyed);
  if (!scan.ok()) return Fail(lzc::IsConnectError(scan.status()) ? scan.status().message() : "cannot scan devices: " + libzfs::Reason(scan.status()));
  std::vector<NvList> found;
  if (const auto* ps = scan->GetNvListArray("pools"))
    for (const NvList& c : *ps)
      if (cachefile.empty() || cached.count(c.GetUint64("guid").value_or(0))) found.push_back(c);
  if (args.empty()) {
    if (found.empty()) return Fail("no pools available to import");
    if (all) {
      // -a: every pool found is imported, under its own name; a failure does not stop the
      // others.
      int rc = kExitOk;
      for (const NvList& c : found)
        rc |= ImportOne(c, *c.GetString("name"), "", force, props, altroot,
                        CommandLine(argc, argv), nomount, missing_log, destroyed);
      return rc;
    }
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
  std::string newname = args.size() == 2 ? args[1] : std::string();
  return ImportOne(*match[0], want, newname, force, props, altroot, CommandLine(argc, argv),
                   nomount, missing_log, destroyed);
}

}  // namespace

const Cmd kImport = {
    "import",
    {"import [-D] [-c cachefile|-d dir...]",
     "import [-c cachefile|-d dir...] [-DfmN] [-o property=value]... [-R root] -a",
     "import [-c cachefile|-d dir...] [-DfmN] [-o property=value]... [-R root] pool|id [newpool]"},
    "    -a                 import every pool found (with -D: every destroyed one)\n"
    "    -c cachefile       the pools of cachefile (a zpool.cache), from the devices it names,\n"
    "                       instead of searching\n"
    "    -d dir             search the devices in dir (default /dev); repeatable\n"
    "    -D                 list or import destroyed pools (only them)\n"
    "    -f                 import a pool that looks in use by another system\n"
    "    -m                 import with a missing log device: logs with blocks on it are\n"
    "                       discarded\n"
    "    -N                 import without mounting any dataset\n"
    "    -o property=value  set a pool property for the import\n"
    "    -R root            alternate root (implies cachefile=none)\n"
    "    --help             print this message\n",
    RunImport};

}  // namespace uzfs::zpool
