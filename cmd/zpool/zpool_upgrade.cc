// zpool upgrade (zpool_do_upgrade, upgrade_one, upgrade_list_*), for what uzfs writes: a pool
// stays at legacy version 23 (zfs-fuse's) until it gets a dax vdev, which makes it a feature
// flags pool (version 5000, zpool-features(7)); so the upgrade of a legacy pool goes to 23
// (or -V N), and a feature flags pool has every feature uzfs supports enabled. The messages
// are OpenZFS's where the case is OpenZFS's.
#include <cstdio>
#include <iostream>

#include "cmd/zpool/zpool.h"
#include "libcore/spa/spa_feature.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zpool {

namespace {

// The legacy versions uzfs reads and writes (zpool_do_upgrade's -v list, up to 23).
const char* const kLegacy[] = {
    "Initial ZFS version", "Ditto blocks (replicated metadata)", "Hot spares and double parity RAID-Z",
    "zpool history", "Compression using the gzip algorithm", "bootfs pool property",
    "Separate intent log devices", "Delegated administration",
    "refquota and refreservation properties", "Cache devices", "Improved scrub performance",
    "Snapshot properties", "snapused property", "passthrough-x aclinherit",
    "user/group space accounting", "stmf property support", "Triple-parity RAID-Z",
    "Snapshot user holds", "Log device removal", "Compression using zle (zero-length encoding)",
    "Deduplication", "Received properties", "Slim ZIL"};

void ShowVersions() {
  std::cout << "The following features are supported:\n\n"
            << "FEAT DESCRIPTION\n"
            << "-------------------------------------------------------------\n";
  for (const SpaFeatureInfo& f : SpaFeatureTable()) {
    std::printf("%-37s%s\n", f.name, f.readonly_compat ? " (read-only compatible)" : "");
    std::printf("     %s\n", f.description);
  }
  std::printf("\nThe following legacy versions are also supported:\n\n"
              "VER  DESCRIPTION\n"
              "---  --------------------------------------------------------\n");
  for (size_t i = 0; i < std::size(kLegacy); i++)
    std::printf(" %-3zu %s\n", i + 1, kLegacy[i]);
  std::printf("\nFor more information on a particular version, including supported releases,\n"
              "see the ZFS Administration Guide.\n\n");
  std::fflush(stdout);
}

// The pool's version number (5000 for feature flags), as zfsd reports the property.
Result<uint64_t> PoolVersion(const std::string& pool) {
  UZFS_ASSIGN(NvList r, lzc::PoolGet(pool, {"version"}));
  if (const auto* list = r.GetNvListArray("props"))
    for (const NvList& one : *list)
      if (const std::string* v = one.GetString("value"); v && *one.GetString("property") == "version")
        return std::strtoull(v->c_str(), nullptr, 10);
  return Status::Error(EINVAL, "no version");
}

Result<std::vector<std::string>> AllPools() {
  std::vector<std::string> out;
  UZFS_ASSIGN(NvList l, lzc::PoolList());
  if (const auto* ps = l.GetNvListArray("pools"))
    for (const NvList& x : *ps) out.push_back(*x.GetString("name"));
  return out;
}

int ConnectOr(const Status& s, const std::string& verb, const std::string& pool) {
  return Fail(lzc::IsConnectError(s) ? s.message() : libzfs::PoolErrorText(verb, pool, s));
}

// upgrade_one. *changed: the pool was upgraded (for -a's summary).
int UpgradeOne(const std::string& pool, uint64_t target, bool explicit_target,
               const std::string& history, bool* changed) {
  auto v = PoolVersion(pool);
  if (!v.ok()) return ConnectOr(v.status(), "open", pool);
  uint64_t cur = *v;
  if (cur >= kSpaVersionFeatures && target >= kSpaVersionLegacy && !explicit_target) {
    std::printf("Pool '%s' already has all supported and requested features enabled.\n", pool.c_str());
    return kExitOk;
  }
  if (cur > target) {
    std::printf("Pool '%s' is already formatted using more current version '%llu'.\n\n",
                pool.c_str(), static_cast<unsigned long long>(cur));
    return kExitOk;
  }
  if (cur == target) {
    if (cur >= kSpaVersionFeatures)
      std::printf("Pool '%s' already has all supported and requested features enabled.\n", pool.c_str());
    else
      std::printf("Pool '%s' is already formatted using version %llu.\n\n", pool.c_str(),
                  static_cast<unsigned long long>(cur));
    return kExitOk;
  }
  if (target >= kSpaVersionFeatures) {
    std::fflush(stdout);
    return Fail("cannot upgrade '" + pool + "': uzfs formats a pool using feature flags only "
                "when it gets a dax vdev (see zpool-features(7))");
  }
  Status s = lzc::PoolSet(pool, "version", std::to_string(target), history);
  if (!s.ok()) {
    std::fflush(stdout);
    return ConnectOr(s, "upgrade", pool);
  }
  *changed = true;
  std::printf("Successfully upgraded '%s' from version %llu to version %llu.\n\n", pool.c_str(),
              static_cast<unsigned long long>(cur), static_cast<unsigned long long>(target));
  return kExitOk;
}

int RunUpgrade(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  bool all = false, show = false;
  std::string vopt;
  std::vector<std::string> args;
  app.add_flag("-a", all);
  app.add_flag("-v", show);
  app.add_option("-V", vopt);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  uint64_t target = kSpaVersionLegacy;
  bool explicit_target = !vopt.empty();
  if (explicit_target) {
    char* end = nullptr;
    unsigned long long n = std::strtoull(vopt.c_str(), &end, 10);
    if (vopt.empty() || *end || !SpaVersionSupported(n))
      return UsageError(self, "invalid version '" + vopt + "'");
    target = n;
    if (!all && args.empty()) return UsageError(self, "-V option is incompatible with other arguments");
  }
  if (show && (all || !args.empty()))
    return UsageError(self, "-v option is incompatible with other arguments");
  if (all && !args.empty()) return UsageError(self, "-a option should not be used along with a pool name");

  std::cout << "This system supports ZFS pool feature flags.\n\n" << std::flush;
  if (show) {
    ShowVersions();
    return kExitOk;
  }
  const std::string history = CommandLine(argc, argv);
  if (all || !args.empty()) {
    std::vector<std::string> pools = args;
    if (all) {
      auto l = AllPools();
      if (!l.ok()) return Fail(lzc::IsConnectError(l.status()) ? l.status().message() : libzfs::Reason(l.status()));
      pools = *l;
    }
    int rc = kExitOk;
    bool changed = false;
    for (const std::string& p : pools) {
      if (all) {
        // upgrade_cb: only what is below the target changes; the rest is not mentioned.
        auto v = PoolVersion(p);
        if (!v.ok()) {
          rc = ConnectOr(v.status(), "open", p);
          continue;
        }
        if (*v >= target) continue;
      }
      if (int r = UpgradeOne(p, target, explicit_target, history, &changed); r != kExitOk) rc = r;
    }
    if (all && !changed && rc == kExitOk)
      std::printf("All pools are already formatted with version %llu or higher.\n",
                  static_cast<unsigned long long>(target));
    std::fflush(stdout);
    return rc;
  }
  // No arguments: the pools an upgrade would change (upgrade_list_older_cb).
  auto l = AllPools();
  if (!l.ok()) return Fail(lzc::IsConnectError(l.status()) ? l.status().message() : libzfs::Reason(l.status()));
  bool first = true;
  for (const std::string& p : *l) {
    auto v = PoolVersion(p);
    if (!v.ok()) continue;
    if (*v >= kSpaVersionLegacy) continue;
    if (first) {
      std::printf("The following pools are formatted with legacy version numbers older than\n"
                  "%llu and can be upgraded to version %llu (uzfs formats a pool using feature\n"
                  "flags only when it gets a dax vdev: see zpool-features(7)).\n\n"
                  "VER  POOL\n---  ------------\n",
                  static_cast<unsigned long long>(kSpaVersionLegacy),
                  static_cast<unsigned long long>(kSpaVersionLegacy));
      first = false;
    }
    std::printf("%2llu   %s\n", static_cast<unsigned long long>(*v), p.c_str());
  }
  if (first)
    std::printf("All pools are formatted using version %llu or feature flags.\n\n",
                static_cast<unsigned long long>(kSpaVersionLegacy));
  else
    std::printf("\nUse 'zpool upgrade -v' for a list of available legacy versions.\n");
  std::printf("Every feature flags pool has all supported and requested features enabled.\n");
  std::fflush(stdout);
  return kExitOk;
}

}  // namespace

const Cmd kUpgrade = {"upgrade",
                      {"upgrade", "upgrade -v", "upgrade [-V version] <-a | pool ...>"},
                      "    -a          upgrade every pool\n"
                      "    -v          list the features and legacy versions supported\n"
                      "    -V version  upgrade to this legacy version (default 23)\n"
                      "    --help      print this message\n",
                      RunUpgrade};

}  // namespace uzfs::zpool
