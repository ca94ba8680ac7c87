// zfsd's part of receiving an incremental replication stream (zfs send -R -i/-I): zfs-fuse
// libzfs_sendrecv.c's recv_incremental_replication (the target's tree gathered as
// gather_nvlist does, planned by PlanIncrementalReplication, the steps run through the
// destroy / rename / set operations, passes repeated while they make progress) and
// guid_to_name. A filesystem the sender promoted is promoted (kPromote). Runs on the
// receive's thread, as the rest of zfs receive does (dataset_recv.cc).
#include <cerrno>
#include <map>

#include "daemon/dataset_ops.h"
#include "libcore/base/zfs_prop.h"
#include "libcore/dmu/dmu_recv_plan.h"

namespace uzfs {

namespace {

bool Below(const std::string& name, const std::string& top) {
  return name.size() > top.size() && name.compare(0, top.size(), top) == 0 && name[top.size()] == '/';
}

}  // namespace

Result<std::vector<ReplFs>> DatasetOps::GatherLocal(const std::string& tofs,
                                                    const std::string& fromsnap, bool recursive) {
  std::string pool = tofs.substr(0, tofs.find_first_of("/@"));
  std::vector<ReplFs> out;
  UZFS_TRY(t_->With(pool, [&](Pool& p) -> Status {
    UZFS_TRY(p.DatasetProps(tofs).status());
    UZFS_ASSIGN(auto all, p.Datasets());
    std::map<std::string, uint64_t> fromguid;  // each filesystem's fromsnap guid
    for (const auto& d : all) {
      if (d.snapshot || (d.name != tofs && !(recursive && Below(d.name, tofs)))) continue;
      ReplFs f;
      f.name = d.name;
      UZFS_ASSIGN(auto snaps, p.Snapshots(d.name));
      for (const auto& row : snaps) {
        std::string shortname = row.name.substr(row.name.find('@') + 1);
        f.snaps.emplace_back(shortname, row.guid);
        if (shortname == fromsnap) fromguid[d.name] = row.guid;
      }
      // send_iterate_fs: the parent's fromsnap guid (0 for the top, or when it has none).
      if (d.name != tofs) {
        auto it = fromguid.find(d.name.substr(0, d.name.rfind('/')));
        f.parentfromsnap = it == fromguid.end() ? 0 : it->second;
      }
      UZFS_ASSIGN(std::string origin, p.Origin(d.name));
      if (!origin.empty()) {
        UZFS_ASSIGN(auto osnaps, p.Snapshots(origin.substr(0, origin.find('@'))));
        for (const auto& row : osnaps)
          if (row.name == origin) f.origin = row.guid;
      }
      out.push_back(std::move(f));
    }
    return Status::Ok();
  }));
  return out;
}

std::string DatasetOps::GuidToName(const std::string& named, uint64_t guid, bool below_only) {
  // guid_to_name: below the named target first, then the whole pool. below_only: only the
  // target and its descendants (find_ds_by_guid's dmu_objset_find from drc_top_ds).
  std::string pool = named.substr(0, named.find_first_of("/@"));
  const std::string target = below_only ? named.substr(0, named.find('@')) : named;
  std::string found;
  (void)t_->With(pool, [&](Pool& p) -> Status {
    UZFS_ASSIGN(auto all, p.Datasets());
    for (int round = 0; round < (below_only ? 1 : 2) && found.empty(); round++) {
      if (round == 0 && target.find('@') != std::string::npos) continue;
      for (const auto& d : all) {
        if (d.snapshot || (round == 0 && !Below(d.name, target) && d.name != target)) continue;
        auto snaps = p.Snapshots(d.name);
        if (!snaps.ok()) continue;
        for (const auto& row : *snaps)
          if (row.guid == guid) {
            found = row.name;
            return Status::Ok();
          }
      }
    }
    return Status::Ok();
  });
  return found;
}

bool DatasetOps::RecvIncrementalReplication(const std::string& tofs, const ReplHeaderInfo& info,
                                            bool force, bool isprefix,
                                            std::vector<std::string>* log,
                                            std::vector<std::string>* errors) {
  std::string pool = tofs.substr(0, tofs.find_first_of("/@"));
  bool needagain = false;
  for (int pass = 0; pass < 64; pass++) {  // zfs-fuse's "goto again", bounded
    if (pass) log->push_back("another pass:");
    auto local = GatherLocal(tofs, info.fromsnap, info.recursive);
    if (!local.ok()) {
      // gather_nvlist's zfs_open: its error printed, the receive's result a soft error.
      errors->push_back("cannot open '" + tofs + "': " + local.status().message());
      return true;
    }
    std::vector<std::string> notes;
    // created_before over the local tree: by the snapshots' creation txgs.
    auto txg_of = [&](uint64_t guid) -> uint64_t {
      std::string name = LocalSnapByGuid(*local, guid);
      uint64_t txg = 0;
      if (name.empty()) return 0;
      (void)t_->With(pool, [&](Pool& p) -> Status {
        UZFS_ASSIGN(auto snaps, p.Snapshots(name.substr(0, name.find('@'))));
        for (const auto& row : snaps)
          if (row.name == name) txg = row.creation_txg;
        return Status::Ok();
      });
      return txg;
    };
    // -1 when a snapshot cannot be opened: zfs_open's error names it (the local name, else
    // the sender's, where zfs-fuse's fsavl_find finds nothing).
    std::string unopened;
    auto created_before = [&](uint64_t g1, uint64_t g2) -> int {
      uint64_t t1 = txg_of(g1), t2 = txg_of(g2);
      for (uint64_t g : {t1 ? 0 : g1, t2 ? 0 : g2}) {
        if (!g || !unopened.empty()) continue;
        unopened = LocalSnapByGuid(*local, g);
        std::string snapname;
        if (const ReplFs* f = unopened.empty() ? info.FindSnap(g, &snapname) : nullptr)
          unopened = f->name + "@" + snapname;
      }
      if (!t1 || !t2) return -1;
      return t1 < t2 ? 1 : 0;
    };
    auto steps = PlanIncrementalReplication(info, *local, tofs, force, isprefix, &notes, created_before);
    for (std::string& n : notes) log->push_back(std::move(n));
    bool progress = false;
    needagain = false;
    for (const ReplStep& s : steps) {
      Status st;
      NvList args, res;
      switch (s.kind) {
        case ReplStep::kAgain:  // its snapshots are handled in the next pass
          needagain = true;
          continue;
        case ReplStep::kFail:  // recv_incremental_replication's return (-1): no more passes
          errors->push_back("cannot open '" + unopened + "': dataset does not exist");
          return true;
        case ReplStep::kPromote:  // recv_incremental_replication's ZFS_IOC_PROMOTE
          log->push_back("promoting " + s.name);
          args.AddString("name", s.name);
          if (Promote(args, &res).ok()) progress = true;
          continue;
        case ReplStep::kSetSnapProps: {  // zfs_ioctl(ZFS_IOC_SET_PROP) with errors ignored
          std::vector<std::string> ignored;
          SetReceivedProps(s.name, s.props, &ignored);
          continue;
        }
        case ReplStep::kDestroySnap:
        case ReplStep::kDestroyFs:  // recv_destroy: a snapshot's destroy deferred (v18+)
          log->push_back("attempting destroy " + s.name);
          args.AddString("name", s.name);
          if (force) args.AddBoolean("force");
          if (s.kind == ReplStep::kDestroySnap) args.AddBoolean("defer");
          st = Destroy(args, &res);
          if (st.ok() && s.kind == ReplStep::kDestroySnap &&
              t_->With(pool, [&](Pool& p) { return p.DatasetProps(s.name).status(); }).ok())
            st = Status::Error(EBUSY, "dataset is busy");  // only marked (held or cloned)
          break;
        case ReplStep::kRenameSnap:
        case ReplStep::kRenameFs:  // recv_rename
          log->push_back("attempting rename " + s.name + " to " + s.newname);
          args.AddString("name", s.name);
          args.AddString("newname", s.newname);
          if (force) args.AddBoolean("force");
          st = Rename(args, &res);
          break;
      }
      log->push_back(st.ok() ? "success" : "failed (" + std::to_string(st.code()) + ")");
      if (st.ok()) progress = true;
      else needagain = true;
    }
    if (!(needagain && progress)) break;
  }
  return needagain;
}

}  // namespace uzfs
