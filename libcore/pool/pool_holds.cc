// User holds on snapshots (pool version 18): zfs hold, zfs release and zfs holds
// (zfs-fuse dsl_dataset.c dsl_dataset_user_hold, dsl_dataset_user_release,
// dsl_dataset_get_holds). v23 runs each as one sync task group over the snapshots found
// (all checks, then all changes); here, as every DSL change of this pool, the checks and then
// the changes run under the pool lock in the open txg, which the caller (zfsd) syncs before it
// answers. The DSL work itself is in libcore/dsl/dsl_userhold.
#include <algorithm>
#include <ctime>

#include "libcore/dsl/dsl_dataset_write.h"
#include "libcore/pool/pool.h"
#include "libcore/pool/pool_sinks.h"

namespace uzfs {

namespace {

constexpr uint64_t kLogUserHold = 38, kLogUserRelease = 39;  // history_internal_events_t

// zfs_namecheck.c valid_char over a snapshot's short name (snapshot_namecheck).
bool ValidSnapName(const std::string& s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == ':' ||
           c == ' ';
  });
}

}  // namespace

Status Pool::HoldTargetsLocked(const std::string& fs, const std::string& snap, bool recursive,
                               std::vector<std::pair<std::string, uint64_t>>* out, std::string* failed) {
  *failed = fs;
  // zfs_ioc_hold / zfs_ioc_release: snapshot_namecheck, EINVAL (libzfs: EZFS_BADTYPE).
  if (!ValidSnapName(snap) || fs.size() + 1 + snap.size() >= 256)
    return Status::Error(EINVAL, "operation not applicable to datasets of this type");
  auto top = ResolveUserDir(fs);
  if (!top.ok()) return Status::Error(ENOENT, "dataset does not exist");
  // dmu_objset_find(DS_FIND_CHILDREN): each dir's children (by name here) before the dir.
  std::function<Status(uint64_t, const std::string&)> walk = [&](uint64_t dir, const std::string& name) -> Status {
    UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, dir));
    if (recursive) {
      UZFS_ASSIGN(auto kids, mos_zaps_->List(dd.child_dir_zapobj));
      std::sort(kids.begin(), kids.end(), [](const ZapEntry& a, const ZapEntry& b) { return a.name < b.name; });
      for (const ZapEntry& k : kids)
        if (!k.name.empty() && k.name[0] != '$') UZFS_TRY(walk(k.first(), name + "/" + k.name));
    }
    UZFS_ASSIGN(DslDatasetPhys head, LoadDataset(*mos_, dd.head_dataset_obj));
    auto s = mos_zaps_->LookupInt(head.snapnames_zapobj, snap);
    if (s.ok()) {
      out->emplace_back(name, *s);
    } else if (!recursive) {
      *failed = name;
      return Status::Error(ENOENT, "dataset does not exist");
    }
    return Status::Ok();
  };
  UZFS_TRY(walk(*top, fs));
  if (out->empty()) return Status::Error(ENOENT, "dataset does not exist");  // !ha->gotone
  return Status::Ok();
}

Status Pool::UserHold(const std::string& fs, const std::string& snap, const std::string& tag,
                      bool recursive, std::string* failed, bool temphold) {
  std::lock_guard<std::mutex> l(mu_);
  *failed = fs;
  if (readonly_) return Status::Error(EROFS, "pool is read-only");
  if (!failed_.ok()) return failed_;
  std::vector<std::pair<std::string, uint64_t>> targets;
  UZFS_TRY(HoldTargetsLocked(fs, snap, recursive, &targets, failed));
  // dsl_dataset_user_hold_check for every snapshot before any hold is taken.
  for (const auto& [name, obj] : targets) {
    *failed = name;
    if (version_ < kSpaVersionUserRefs) return Status::Error(ENOTSUP, "pool must be upgraded");
    UZFS_TRY(UserHoldCheck(*mos_, *mos_zaps_, obj, tag, temphold));
  }
  uint64_t txg = txg_.open();
  uint64_t now = static_cast<uint64_t>(std::time(nullptr));
  for (const auto& [name, obj] : targets) {
    // A failure past the checks leaves the MOS half changed: the pool stops writing.
    if (Status s = UserHoldSync(*mos_, *mos_zaps_, obj, tag, now); !s.ok()) return failed_ = s;
    if (temphold)
      if (Status s = TmpHoldAdd(*mos_zaps_, obj, tag, now); !s.ok()) return failed_ = s;
    LogInternalLocked(kLogUserHold, txg,
                      "<" + tag + "> temp = " + (temphold ? "1" : "0") + " dataset = " + std::to_string(obj));
  }
  return Status::Ok();
}

Status Pool::UserRelease(const std::string& fs, const std::string& snap, const std::string& tag,
                         bool recursive, std::string* failed) {
  std::lock_guard<std::mutex> l(mu_);
  *failed = fs;
  if (readonly_) return Status::Error(EROFS, "pool is read-only");
  if (!failed_.ok()) return failed_;
  std::vector<std::pair<std::string, uint64_t>> targets;
  UZFS_TRY(HoldTargetsLocked(fs, snap, recursive, &targets, failed));
  std::vector<bool> destroys;
  for (const auto& [name, obj] : targets) {
    *failed = name;
    // dsl_dataset_release_might_destroy (open context, ESRCH) before the sync task's check.
    bool d = false;
    UZFS_TRY(UserReleaseCheck(*mos_, *mos_zaps_, obj, tag, &d));
    if (version_ < kSpaVersionUserRefs) return Status::Error(ENOTSUP, "pool must be upgraded");
    destroys.push_back(d);
  }
  uint64_t txg = txg_.open();
  TxgBlockOps ops(this, txg);
  for (size_t i = 0; i < targets.size(); i++) {
    uint64_t obj = targets[i].second, left = 0;
    // dsl_dataset_user_release_sync: a temporary hold leaves the pool's list first.
    if (Status s = TmpHoldRemove(*mos_zaps_, obj, tag); !s.ok()) return failed_ = s;
    if (Status s = UserReleaseSync(*mos_, *mos_zaps_, obj, tag, &left); !s.ok()) return failed_ = s;
    LogInternalLocked(kLogUserRelease, txg,
                      "<" + tag + "> " + std::to_string(left) + " dataset = " + std::to_string(obj));
    if (!destroys[i]) continue;
    // dsl_dataset_user_release_sync: the last hold of a snapshot zfs destroy -d marked.
    UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(*mos_, obj));
    ScanDsDestroyedLocked(obj, ds.next_snap_obj);
    if (Status s = DestroySnapshotSync(*mos_, *mos_zaps_, ops, obj, snap); !s.ok()) return failed_ = s;
  }
  return Status::Ok();
}

Status Pool::ReleaseTmpHolds() {
  if (readonly_) return Status::Ok();
  std::vector<std::pair<std::string, std::string>> holds;  // "fs@snap", tag
  {
    std::lock_guard<std::mutex> l(mu_);
    if (version_ < kSpaVersionUserRefs) return Status::Ok();
    UZFS_ASSIGN(auto list, TmpHolds(*mos_zaps_));
    for (const TmpHold& h : list) {
      // dsl_dataset_user_release_tmp: the snapshot's name from its object.
      auto name = DatasetName(h.ds_obj);
      if (name.ok() && name->find('@') != std::string::npos) holds.emplace_back(*name, h.tag);
    }
  }
  for (const auto& [name, tag] : holds) {
    const size_t at = name.find('@');
    std::string failed;
    // As spa_load, which ignores dsl_dataset_user_release_tmp's result: the hold stays.
    (void)UserRelease(name.substr(0, at), name.substr(at + 1), tag, false, &failed);
  }
  return holds.empty() ? Status::Ok() : Sync();
}

Result<std::vector<SnapshotHold>> Pool::UserHolds(const std::string& snapshot) {
  std::lock_guard<std::mutex> l(mu_);
  if (snapshot.find('@') == std::string::npos)
    return Status::Error(EINVAL, "operation not applicable to datasets of this type");
  auto ref = ResolveDataset(snapshot);
  if (!ref.ok()) return Status::Error(ENOENT, "dataset does not exist");
  return uzfs::UserHolds(*mos_, *mos_zaps_, ref->ds);
}

}  // namespace uzfs
