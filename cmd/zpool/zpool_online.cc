// zpool offline and zpool online (zpool_main.c zpool_do_offline / zpool_do_online,
// libzfs_pool.c zpool_vdev_offline / zpool_vdev_online): a leaf device is taken out of
// service (for good, or with -t until the next import) and brought back, the blocks it
// missed then copied to it by a resilver (pool_vdev_state.cc). online -e
// (ZFS_ONLINE_EXPAND) grows the device's top-level vdev to what its devices now hold.
#include <iostream>

#include "cmd/zpool/zpool.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zpool {

namespace {

// zpool_find_vdev on the pool's config: the device's guid, 0 when the pool has none by
// that name; *err set when the pool itself cannot be read.
uint64_t FindGuid(const std::string& pool, const std::string& dev, int* err, bool* avail_spare) {
  *err = kExitOk;
  auto st = lzc::PoolStatus(pool);
  if (!st.ok()) {
    *err = Fail(lzc::IsConnectError(st.status()) ? st.status().message()
                                                 : "cannot open '" + pool + "': no such pool");
    return 0;
  }
  const auto* pools = st->GetNvListArray("pools");
  const NvList* p = pools && !pools->empty() ? &(*pools)[0] : nullptr;
  const NvList* cfg = p ? p->GetNvList("config") : nullptr;
  const NvList* tree = cfg ? cfg->GetNvList("vdev_tree") : nullptr;
  if (!tree) {
    *err = Fail("cannot open '" + pool + "': no such pool");
    return 0;
  }
  const NvList* v = libzfs::FindVdev(*tree, dev, nullptr, avail_spare);
  return v ? v->GetUint64("guid").value_or(0) : 0;
}

int RunState(const Cmd& self, int argc, char** argv, bool online) {
  CLI::App app;
  bool temporary = false, expand = false;
  std::vector<std::string> args;
  if (!online) app.add_flag("-t", temporary);
  if (online) app.add_flag("-e", expand);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  if (args.empty()) return UsageError(self, "missing pool name");
  if (args.size() < 2) return UsageError(self, "missing device name");
  const std::string pool = args[0];
  const std::string verb = online ? "online" : "offline";
  int rc = kExitOk;
  for (size_t i = 1; i < args.size(); i++) {
    // zpool_vdev_online: "cannot expand" with ZFS_ONLINE_EXPAND.
    const std::string prefix = "cannot " + (expand ? std::string("expand") : verb) + " " + args[i] + ": ";
    int err = 0;
    bool avail_spare = false;
    const uint64_t guid = FindGuid(pool, args[i], &err, &avail_spare);
    if (err) return err;
    if (!guid) {
      rc = Fail(prefix + "no such device in pool");
      continue;
    }
    if (avail_spare) {  // zpool_vdev_online / _offline: EZFS_ISSPARE
      rc = Fail(prefix + libzfs::kIsSpare);
      continue;
    }
    auto r = lzc::PoolVdevState(pool, guid, verb, temporary, CommandLine(argc, argv), expand);
    if (r.ok()) {
      if (online && r->GetUint64("faulted").value_or(0)) {
        const std::string* st = r->GetString("state");
        std::cout << "warning: device '" << args[i] << "' onlined, but remains in faulted state\n"
                  << (st && *st == "FAULTED" ? "use 'zpool clear' to restore a faulted device\n"
                                             : "use 'zpool replace' to replace devices that are no longer present\n");
      }
      continue;
    }
    const Status& s = r.status();
    if (lzc::IsConnectError(s)) return Fail(s.message());
    if (s.code() == ENOENT) return Fail("cannot open '" + pool + "': no such pool");
    // zpool_vdev_offline: EBUSY is EZFS_NOREPLICAS; ENODEV EZFS_NODEVICE.
    if (s.code() == EBUSY) rc = Fail(prefix + "no valid replicas");
    else if (s.code() == ENODEV) rc = Fail(prefix + "no such device in pool");
    else rc = Fail(prefix + libzfs::Reason(s));
  }
  return rc;
}

int RunOffline(const Cmd& self, int argc, char** argv) { return RunState(self, argc, argv, false); }
int RunOnline(const Cmd& self, int argc, char** argv) { return RunState(self, argc, argv, true); }

}  // namespace

const Cmd kOffline = {"offline",
                      {"offline [-t] pool device ..."},
                      "    -t      temporary: the device comes back online at the next import\n"
                      "    --help  print this message\n",
                      RunOffline};
const Cmd kOnline = {"online",
                     {"online [-e] pool device ..."},
                     "    -e      expand the device to use all available space\n"
                     "    --help  print this message\n",
                     RunOnline};

}  // namespace uzfs::zpool
