// zpool status (zpool_do_status): pool state, why it is not healthy ("status:", "action:",
// "see:" as zpool_get_status picks them), the scrub's progress or result ("scan:"), the vdev
// table with each device's READ, WRITE and CKSUM error counters, the data errors of the error log (-v: the damaged files); -x only
// pools that are unhealthy or have errors; -j JSON.
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <functional>
#include <iostream>

#include "cmd/zpool/zpool.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zpool {

namespace {

std::string J(const std::string& s) { return libzfs::JsonString(s); }

std::string JsonVdev(const NvList& v) {
  std::string o = "{\"name\": " + J(libzfs::VdevName(v)) + ", \"vdev_type\": " +
                  J(v.GetString("type") ? *v.GetString("type") : "") + ", \"guid\": " +
                  J(std::to_string(v.GetUint64("guid").value_or(0))) + ", \"state\": " +
                  J(v.GetString("state") ? *v.GetString("state") : "") +
                  ", \"read_errors\": " + J(std::to_string(v.GetUint64("read_errors").value_or(0))) +
                  ", \"write_errors\": " + J(std::to_string(v.GetUint64("write_errors").value_or(0))) +
                  ", \"checksum_errors\": " +
                  J(std::to_string(v.GetUint64("checksum_errors").value_or(0)));
  if (const auto* kids = v.GetNvListArray("children")) {
    o += ", \"vdevs\": {";
    for (size_t i = 0; i < kids->size(); i++)
      o += (i ? ", " : "") + J(libzfs::VdevName((*kids)[i])) + ": " + JsonVdev((*kids)[i]);
    o += "}";
  }
  return o + "}";
}

// zpool_get_status's reasons a pool that is not suspended can have, most serious first
// (libzfs_status.c check_status).
enum class Reason {
  kOk, kFaultedDev, kMissingDev, kCorruptLabel, kCorruptData, kFailingDev, kOfflineDev,
  kRemovedDev, kResilvering
};

Reason CheckStatus(const NvList& tree, uint64_t nerr, bool resilvering) {
  bool faulted = false, missing = false, unavail = false, errors = false, offline = false,
       removed = false;
  std::function<void(const NvList&)> walk = [&](const NvList& v) {
    const std::string* st = v.GetString("state");
    const auto* kids = v.GetNvListArray("children");
    const bool leaf = !kids || kids->empty();
    if (st && *st == "FAULTED") faulted = true;                  // vdev_faulted
    if (st && *st == "UNAVAIL" && leaf) missing = true;          // vdev_missing: "cannot open"
    if (st && *st == "OFFLINE") offline = true;                  // vdev_offlined
    if (st && *st == "REMOVED") removed = true;                  // vdev_removed
    if (st && *st != "ONLINE" && *st != "OFFLINE" && *st != "DEGRADED" && *st != "REMOVED")
      unavail = true;
    errors |= v.GetUint64("read_errors").value_or(0) || v.GetUint64("write_errors").value_or(0) ||
              v.GetUint64("checksum_errors").value_or(0);        // vdev_errors
    if (kids)
      for (const NvList& k : *kids) walk(k);
  };
  if (const auto* tops = tree.GetNvListArray("children"))
    for (const NvList& t : *tops) walk(t);
  if (faulted) return Reason::kFaultedDev;
  if (missing) return Reason::kMissingDev;
  if (unavail) return Reason::kCorruptLabel;
  if (nerr) return Reason::kCorruptData;  // permanent errors in the error log
  if (errors) return Reason::kFailingDev;
  if (offline) return Reason::kOfflineDev;
  if (removed) return Reason::kRemovedDev;
  if (resilvering) return Reason::kResilvering;
  return Reason::kOk;
}

// status_callback's "status:" and "action:" paragraphs (zfs-fuse's words, pool version 23;
// OpenZFS's are the same) and the message id of the "see:" line (OpenZFS's address, as
// zpool import prints it).
void PrintReason(Reason r) {
  const char* msgid = nullptr;
  switch (r) {
    case Reason::kOk: return;
    case Reason::kFaultedDev:
      std::cout << "status: One or more devices are faulted in response to persistent errors.\n"
                   "\tSufficient replicas exist for the pool to continue functioning in a\n"
                   "\tdegraded state.\n"
                   "action: Replace the faulted device, or use 'zpool clear' to mark the device\n"
                   "\trepaired.\n";
      break;
    case Reason::kMissingDev:
      std::cout << "status: One or more devices could not be opened.  Sufficient replicas exist for\n"
                   "\tthe pool to continue functioning in a degraded state.\n"
                   "action: Attach the missing device and online it using 'zpool online'.\n";
      msgid = "ZFS-8000-2Q";
      break;
    case Reason::kCorruptLabel:
      std::cout << "status: One or more devices could not be used because the label is missing or\n"
                   "\tinvalid.  Sufficient replicas exist for the pool to continue\n"
                   "\tfunctioning in a degraded state.\n";
      break;
    case Reason::kCorruptData:
      std::cout << "status: One or more devices has experienced an error resulting in data\n"
                   "\tcorruption.  Applications may be affected.\n"
                   "action: Restore the file in question if possible.  Otherwise restore the\n"
                   "\tentire pool from backup.\n";
      msgid = "ZFS-8000-8A";
      break;
    case Reason::kOfflineDev:
      std::cout << "status: One or more devices has been taken offline by the administrator.\n"
                   "\tSufficient replicas exist for the pool to continue functioning in a\n"
                   "\tdegraded state.\n"
                   "action: Online the device using 'zpool online' or replace the device with\n"
                   "\t'zpool replace'.\n";
      break;
    case Reason::kRemovedDev:
      std::cout << "status: One or more devices has been removed by the administrator.\n"
                   "\tSufficient replicas exist for the pool to continue functioning in a\n"
                   "\tdegraded state.\n"
                   "action: Online the device using 'zpool online' or replace the device with\n"
                   "\t'zpool replace'.\n";
      break;
    case Reason::kResilvering:
      std::cout << "status: One or more devices is currently being resilvered.  The pool will\n"
                   "\tcontinue to function, possibly in a degraded state.\n"
                   "action: Wait for the resilver to complete.\n";
      break;
    case Reason::kFailingDev:
      std::cout << "status: One or more devices has experienced an unrecoverable error.  An\n"
                   "\tattempt was made to correct the error.  Applications are unaffected.\n"
                   "action: Determine if the device needs to be replaced, and clear the errors\n"
                   "\tusing 'zpool clear' or replace the device with 'zpool replace'.\n";
      msgid = "ZFS-8000-9P";
      break;
  }
  if (msgid) std::cout << "   see: https://openzfs.github.io/openzfs-docs/msg/" << msgid << "\n";
}

// zfs_nicebytes: "0B", "512B", "1.50K", "4.00G".
std::string NiceBytes(uint64_t n) { return n < 1024 ? std::to_string(n) + "B" : libzfs::NiceNum(n); }

// secs_to_dhms.
std::string Dhms(uint64_t t) {
  char b[64];
  const uint64_t d = t / 86400, h = t / 3600 % 24, m = t / 60 % 60, s = t % 60;
  if (d) snprintf(b, sizeof b, "%llu days %02llu:%02llu:%02llu", (unsigned long long)d,
                  (unsigned long long)h, (unsigned long long)m, (unsigned long long)s);
  else snprintf(b, sizeof b, "%02llu:%02llu:%02llu", (unsigned long long)h,
                (unsigned long long)m, (unsigned long long)s);
  return b;
}

std::string Ctime(uint64_t t) {
  time_t tt = static_cast<time_t>(t);
  char b[64];
  return ctime_r(&tt, b) ? std::string(b) : std::string("?\n");
}

// print_scan_scrub_resilver_status (OpenZFS 2.x's "scan:" lines; pool version 23 issues
// each block as it scans it, so "issued" is "scanned").
void PrintScan(const NvList& pool) {
  const NvList* sc = pool.GetNvList("scan");
  if (!sc) return;
  auto u = [&](const char* k) { return sc->GetUint64(k).value_or(0); };
  const std::string state = sc->GetString("state") ? *sc->GetString("state") : "";
  const bool resilver = sc->GetString("function") && *sc->GetString("function") == "resilver";
  const char* func = resilver ? "resilver" : "scrub";
  std::cout << "  scan: ";
  if (state == "finished") {
    std::cout << (resilver ? "resilvered " : "scrub repaired ") << NiceBytes(u("processed")) << " in "
              << Dhms(u("end_time") - u("start_time")) << " with " << u("errors") << " errors on "
              << Ctime(u("end_time"));
    return;
  }
  if (state == "canceled") {
    std::cout << func << " canceled on " << Ctime(u("end_time"));
    return;
  }
  std::cout << func << " in progress since " << Ctime(u("start_time"));
  const uint64_t examined = u("examined"), total = std::max<uint64_t>(u("to_examine"), 1);
  uint64_t elapsed = static_cast<uint64_t>(std::time(nullptr)) - u("pass_start");
  if (elapsed == 0) elapsed = 1;
  const uint64_t rate = u("pass_examined") / elapsed;
  std::cout << "\t" << NiceBytes(examined) << " / " << NiceBytes(u("to_examine")) << " scanned";
  if (rate > 0) std::cout << " at " << NiceBytes(rate) << "/s";
  std::cout << ", " << NiceBytes(examined) << " / " << NiceBytes(u("to_examine")) << " issued";
  if (rate > 0) std::cout << " at " << NiceBytes(rate) << "/s";
  char pct[32];
  snprintf(pct, sizeof pct, "%.2f", 100.0 * static_cast<double>(examined) / static_cast<double>(total));
  std::cout << "\n\t" << NiceBytes(u("processed")) << (resilver ? " resilvered, " : " repaired, ")
            << pct << "% done";
  if (total >= examined && rate >= 10 * 1024 * 1024 && examined > 0)
    std::cout << ", " << Dhms((total - examined) / rate) << " to go\n";
  else
    std::cout << ", no estimated completion time\n";
}

std::string Health(const NvList& pool) {
  const NvList* props = pool.GetNvList("props");
  const NvList* h = props ? props->GetNvList("health") : nullptr;
  return h && h->GetString("value") ? *h->GetString("value") : "UNKNOWN";
}

int RunStatus(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  bool x = false, v = false, j = false;
  std::vector<std::string> args;
  app.add_flag("-x", x);
  app.add_flag("-v", v);
  app.add_flag("-j", j);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  std::vector<NvList> pools;
  int rc = kExitOk;
  if (args.empty()) {
    auto r = lzc::PoolStatus("");
    if (!r.ok()) return Fail(lzc::IsConnectError(r.status()) ? r.status().message() : libzfs::Reason(r.status()));
    if (const auto* ps = r->GetNvListArray("pools")) pools = *ps;
  } else {
    for (const auto& name : args) {
      auto r = lzc::PoolStatus(name);
      if (!r.ok()) {
        if (lzc::IsConnectError(r.status())) return Fail(r.status().message());
        rc = Fail("cannot open '" + name + "': no such pool");
        continue;
      }
      if (const auto* ps = r->GetNvListArray("pools")) pools.insert(pools.end(), ps->begin(), ps->end());
    }
  }
  if (j) {
    std::cout << "{\"output_version\": {\"command\": \"zpool status\", \"vers_major\": 0, \"vers_minor\": 1}, \"pools\": {";
    for (size_t i = 0; i < pools.size(); i++) {
      const NvList& p = pools[i];
      const NvList& tree = *p.GetNvList("config")->GetNvList("vdev_tree");
      NvList root = tree;
      root.AddString("state", Health(p));
      std::string name = *p.GetString("name");
      std::cout << (i ? ", " : "") << J(name) << ": {\"name\": " << J(name)
                << ", \"state\": " << J(Health(p)) << ", \"pool_guid\": "
                << J(std::to_string(p.GetNvList("config")->GetUint64("pool_guid").value_or(0)))
                << ", \"spa_version\": \"23\", \"zpl_version\": \"4\", \"vdevs\": {" << J(name)
                << ": " << JsonVdev(root) << "}, \"error_count\": "
                << J(std::to_string(p.GetUint64("error_count").value_or(0))) << "}";
    }
    std::cout << "}}\n";
    return rc;
  }
  if (pools.empty() && args.empty()) {
    std::cout << "no pools available\n";
    return rc;
  }
  bool printed = false;
  for (const NvList& p : pools) {
    std::string health = Health(p);
    const NvList& tree = *p.GetNvList("config")->GetNvList("vdev_tree");
    const uint64_t nerr = p.GetUint64("error_count").value_or(0);
    const NvList* scan = p.GetNvList("scan");
    const bool resilvering = scan && scan->GetString("function") &&
                             *scan->GetString("function") == "resilver" &&
                             scan->GetString("state") && *scan->GetString("state") == "scanning";
    const Reason reason = CheckStatus(tree, nerr, resilvering);
    if (x && health == "ONLINE" && reason == Reason::kOk) {
      // status_callback: a pool named on the command line is answered for by name.
      if (!args.empty()) std::cout << "pool '" << *p.GetString("name") << "' is healthy\n";
      continue;
    }
    if (printed) std::cout << "\n";
    printed = true;
    std::cout << "  pool: " << *p.GetString("name") << "\n";
    std::cout << " state: " << health << "\n";
    if (health == "SUSPENDED")
      std::cout << "status: One or more devices are faulted in response to IO failures.\n";
    else
      PrintReason(reason);
    PrintScan(p);
    std::cout << "config:\n\n";
    std::cout << libzfs::VdevTable(*p.GetString("name"), health, tree, true);
    // The error log (print_error_log).
    if (nerr == 0) {
      std::cout << "\nerrors: No known data errors\n";
    } else if (!v) {
      std::cout << "\nerrors: " << nerr << " data errors, use '-v' for a list\n";
    } else {
      std::cout << "\nerrors: Permanent errors have been detected in the following files:\n\n";
      if (const NvValue* e = p.Find("errors"); e && e->type == NvType::kStringArray)
        for (const std::string& name : e->s_arr) std::cout << "        " << name << "\n";
    }
  }
  if (x && !printed && args.empty()) std::cout << "all pools are healthy\n";
  return rc;
}

}  // namespace

const Cmd kStatus = {"status",
                     {"status [-jvx] [pool]..."},
                     "    -j      JSON output (OpenZFS 2.3's layout)\n"
                     "    -v      verbose data error information\n"
                     "    -x      only pools with errors or otherwise unavailable\n"
                     "    --help  print this message\n",
                     RunStatus};

}  // namespace uzfs::zpool
