// Registration of zfsd's daemon and pool operations (the model for other ops_*.cc files).
#include "daemon/ops_pool.h"

#include <dirent.h>
#include <sys/stat.h>

#include <set>

#include "daemon/args.h"
#include "libcore/pool/pool_import.h"
#include "libcore/spa/spa.h"
#include "libcore/vdev/disk.h"
#include "libzfs/proto.h"

namespace uzfs {

namespace {

using proto::OpId;

uint64_t Id(OpId id) { return static_cast<uint64_t>(id); }

OpDef Def(OpId id, Perm perm, std::vector<ArgSpec> args, OpHandler h) {
  OpDef d;
  d.id = Id(id);
  d.name = proto::OpName(id);
  d.perm = perm;
  d.args = std::move(args);
  d.handler = std::move(h);
  return d;
}

// zpool import's device scan: every block device, device-DAX (a character device named
// dax*) and regular file directly in the directories (default /dev), as libzfs_import
// does; a path naming a device or file itself is taken as it is (OpenZFS 2.x's `zpool import -d FILE`). The client sends absolute paths
// (zfsd's working directory is not the caller's). Leaves of pools already imported are
// skipped by the caller.
std::vector<std::string> ScanDevices(const std::vector<std::string>& dirs) {
  std::vector<std::string> out;
  for (const std::string& d : dirs) {
    struct stat dst;
    if (::stat(d.c_str(), &dst) == 0 && (S_ISBLK(dst.st_mode) || S_ISREG(dst.st_mode) || S_ISCHR(dst.st_mode))) {
      out.push_back(d);
      continue;
    }
    DIR* dp = ::opendir(d.c_str());
    if (!dp) continue;
    while (dirent* e = ::readdir(dp)) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      std::string path = d + "/" + name;
      struct stat st;
      if (::stat(path.c_str(), &st) != 0) continue;
      const bool dax = S_ISCHR(st.st_mode) && name.rfind("dax", 0) == 0;
      if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode) && !dax) continue;
      if (S_ISREG(st.st_mode) && st.st_size < static_cast<off_t>(kSpaMinDevSize)) continue;
      out.push_back(path);
    }
    ::closedir(dp);
  }
  return out;
}

}  // namespace

void RegisterPoolOps(Registry& reg, PoolTable* table, MountTable* mounts) {
  auto ops = std::make_shared<PoolOps>(table, mounts);
  const NvType S = NvType::kString, B = NvType::kBooleanValue,
               N = NvType::kNvList, SA = NvType::kStringArray;
  reg.Add(Def(OpId::kPing, Perm::kRead, {}, [](const Caller&, const NvList&, NvList*) { return Status::Ok(); }));
  reg.Add(Def(OpId::kVersion, Perm::kRead, {}, [](const Caller&, const NvList&, NvList* r) {
    r->AddString("version", "zfsd-" UZFS_VERSION);
    r->AddUint64("spa_version", 23);
    r->AddUint64("zpl_version", 4);
    return Status::Ok();
  }));
  reg.Add(Def(OpId::kPoolScan, Perm::kRead, {{"dirs", SA}, {"destroyed", B}}, [table](const Caller&, const NvList& a, NvList* r) {
    std::vector<std::string> dirs;
    if (const NvValue* v = a.Find("dirs"); v && !v->s_arr.empty()) dirs = v->s_arr;
    bool destroyed = Flag(a, "destroyed");
    std::set<std::string> busy;
    for (const std::string& n : table->Names())
      (void)table->With(n, [&](Pool& p) {
        for (auto& d : p.devices()) busy.insert(d);
        return Status::Ok();
      });
    // Without -d: every block device udev knows (libzfs_import's default), else /dev.
    std::vector<std::string> candidates;
    if (dirs.empty()) {
      auto all = disk::ListBlockDevices();
      if (all.empty()) {
        candidates = ScanDevices({"/dev"});
      } else {
        candidates = all;
        for (const std::string& d : ScanDevices({"/dev"}))  // device-DAX: no block device
          if (d.rfind("/dev/dax", 0) == 0) candidates.push_back(d);
      }
    } else {
      candidates = ScanDevices(dirs);
    }
    std::vector<std::string> devs;
    for (auto& d : candidates)
      if (!busy.count(d)) devs.push_back(d);
    std::vector<NvList> pools;
    for (const PoolCandidate& c : Spa::ScanDevices(devs)) {
      // zpool import -D lists destroyed pools only, zpool import the others.
      if ((c.state == kPoolStateDestroyed) != destroyed) continue;
      NvList one;
      one.AddString("name", c.name);
      one.AddUint64("guid", c.pool_guid);
      one.AddUint64("txg", c.txg);
      one.AddUint64("pool_state", c.state);
      one.AddUint64("hostid", c.hostid);
      one.AddString("hostname", c.hostname);
      one.AddStringArray("devices", c.devices);
      SpaOpenOptions so;
      so.mos_config = PoolMosConfig;  // a missing log device from the MOS config (spa_load)
      auto spa = Spa::OpenDevices(c.devices, std::to_string(c.pool_guid), so);
      if (spa.ok()) {
        // The pool's state is its worst top-level vdev's: a degraded mirror makes a
        // DEGRADED pool, an unavailable top-level vdev an UNAVAIL one.
        const Vdev& root = (*spa)->root();
        std::vector<NvList> tops;
        std::string state = "ONLINE";
        for (const auto& t : root.children) {
          tops.push_back(VdevStatusTree(*t));
          const std::string* ts = tops.back().GetString("state");
          // vdev_propagate_state: an unavailable log device only degrades the root.
          if (ts && *ts == "UNAVAIL" && !t->is_log) state = "UNAVAIL";
          else if (ts && *ts == "UNAVAIL" && state == "ONLINE") state = "DEGRADED";
          else if (ts && *ts == "DEGRADED" && state == "ONLINE") state = "DEGRADED";
        }
        NvList tree;
        tree.AddString("type", "root");
        tree.AddNvListArray("children", std::move(tops));
        // spa_tryimport's spa_add_spares: the hot spares the MOS lists (names only: the
        // listing gives them no state).
        auto spares = PoolMosSpares(**spa, (*spa)->uberblock().rootbp);
        if (spares.ok() && !spares->empty()) tree.AddNvListArray("spares", std::move(*spares));
        one.AddNvList("vdev_tree", std::move(tree));
        one.AddString("state", state);
      } else {
        one.AddString("state", "UNAVAIL");
        one.AddString("status", spa.status().message());
      }
      pools.push_back(std::move(one));
    }
    r->AddNvListArray("pools", std::move(pools));
    return Status::Ok();
  }));
  // zpool events: a batch after the caller's cursor (ZFS_IOC_EVENTS_NEXT, without its wait:
  // operations run one at a time, so a follower polls).
  reg.Add(Def(OpId::kPoolEvents, Perm::kRead, {{"after", NvType::kUint64}},
              [table](const Caller&, const NvList& a, NvList* r) {
    constexpr size_t kBatch = 64;
    EventLog::Batch b = table->events().Next(a.GetUint64("after").value_or(0), kBatch);
    r->AddNvListArray("events", std::move(b.events));
    r->AddUint64("dropped", b.dropped);
    r->AddUint64("last", b.last);
    return Status::Ok();
  }));
  reg.Add(Def(OpId::kPoolEventsClear, Perm::kRoot, {}, [table](const Caller&, const NvList&, NvList* r) {
    r->AddUint64("cleared", table->events().Clear());
    return Status::Ok();
  }));
  auto op = [&](OpId id, Perm perm, std::vector<ArgSpec> args, Status (PoolOps::*fn)(const NvList&, NvList*)) {
    reg.Add(Def(id, perm, std::move(args), [ops, fn](const Caller&, const NvList& a, NvList* r) {
      return ((*ops).*fn)(a, r);
    }));
  };
  op(OpId::kPoolCreate, Perm::kRoot,
     {{"name", S, true}, {"nvroot", N, true}, {"props", N}, {"fsprops", N}, {"altroot", S}, {"history", S}},
     &PoolOps::Create);
  op(OpId::kPoolImport, Perm::kRoot,
     {{"pool", S, true}, {"devices", SA, true}, {"newname", S}, {"force", B}, {"props", N},
      {"altroot", S}, {"nomount", B}, {"history", S}, {"missing_log", B}, {"destroyed", B}},
     &PoolOps::Import);
  op(OpId::kPoolExport, Perm::kRoot, {{"name", S, true}, {"force", B}}, &PoolOps::Export);
  op(OpId::kPoolDestroy, Perm::kRoot, {{"name", S, true}, {"force", B}}, &PoolOps::Destroy);
  op(OpId::kPoolList, Perm::kRead, {}, &PoolOps::List);
  op(OpId::kPoolStatus, Perm::kRead, {{"name", S}}, &PoolOps::StatusOf);
  op(OpId::kPoolGet, Perm::kRead, {{"name", S, true}, {"props", SA}}, &PoolOps::Get);
  op(OpId::kPoolSet, Perm::kRoot, {{"name", S, true}, {"property", S, true}, {"value", S, true}, {"history", S}},
     &PoolOps::Set);
  op(OpId::kPoolHistory, Perm::kRead, {{"name", S, true}}, &PoolOps::History);
  op(OpId::kPoolSync, Perm::kRoot, {{"name", S}}, &PoolOps::Sync);
  op(OpId::kPoolAdd, Perm::kRoot, {{"name", S, true}, {"nvroot", N, true}, {"history", S}},
     &PoolOps::Add);
  op(OpId::kPoolRemove, Perm::kRoot,
     {{"name", S, true}, {"guid", NvType::kUint64, true}, {"history", S}}, &PoolOps::Remove);
  op(OpId::kPoolInject, Perm::kRoot,
     {{"action", S, true}, {"name", S}, {"guid", NvType::kUint64}, {"error", NvType::kUint64},
      {"iotype", NvType::kUint64}, {"freq", NvType::kUint64}, {"id", NvType::kUint64},
      {"object", NvType::kUint64}, {"start", NvType::kUint64}, {"end", NvType::kUint64},
      {"flush_arc", NvType::kUint64}, {"type", S}, {"level", NvType::kUint64},
      {"objset", NvType::kUint64}, {"blkid", NvType::kUint64}, {"labels", NvType::kUint64}},
     &PoolOps::Inject);
  op(OpId::kPoolScrub, Perm::kRoot,
     {{"name", S, true}, {"stop", B}, {"history", S}}, &PoolOps::Scrub);
  op(OpId::kPoolVdevState, Perm::kRoot,
     {{"name", S, true}, {"guid", NvType::kUint64, true}, {"action", S, true}, {"temporary", B},
      {"expand", B},
      {"history", S}},
     &PoolOps::VdevState);
  op(OpId::kPoolAttach, Perm::kRoot,
     {{"name", S, true}, {"guid", NvType::kUint64, true}, {"nvroot", N, true}, {"replacing", B},
      {"history", S}},
     &PoolOps::Attach);
  op(OpId::kPoolDetach, Perm::kRoot,
     {{"name", S, true}, {"guid", NvType::kUint64, true}, {"history", S}}, &PoolOps::Detach);
  op(OpId::kPoolClear, Perm::kRoot,
     {{"name", S, true}, {"guid", NvType::kUint64}, {"history", S}}, &PoolOps::Clear);
}

}  // namespace uzfs
