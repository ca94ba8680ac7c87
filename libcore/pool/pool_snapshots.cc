// Snapshots of a pool's filesystems and what is built on them: zfs snapshot (a sync task run
// after the objsets are synced: dsl_dataset_snapshot_check/_sync), destroy of a snapshot
// (dsl_dataset_destroy_sync), clones (dsl_dataset_create_sync with an origin), rollback
// (zfs_ioc_rollback), rename (dsl_dir_rename_sync, dsl_dataset_snapshot_rename_sync) and
// promote (dsl_dataset_promote_sync). The DSL work itself is in libcore/dsl/dsl_dataset_write.
#include <algorithm>
#include <ctime>
#include <set>

#include "libcore/dsl/dsl_dataset_write.h"
#include "libcore/dsl/dsl_dir_write.h"
#include "libcore/dsl/dsl_deleg.h"
#include "libcore/pool/pool.h"
#include "libcore/pool/pool_props.h"
#include "libcore/pool/pool_sinks.h"

namespace uzfs {

namespace {

constexpr size_t kMaxNameLen = 256;  // MAXNAMELEN, NUL included

// zfs_namecheck.c valid_char.
bool ValidComponent(const std::string& c) {
  if (c.empty()) return false;
  for (char ch : c)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '-' && ch != '.' &&
        ch != ':' && ch != ' ')
      return false;
  return true;
}

Status BadComponent(const std::string& c) {
  if (c.empty()) return Status::Error(EINVAL, "empty component or misplaced '@' or '#' delimiter in name");
  for (char ch : c)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '-' && ch != '.' &&
        ch != ':' && ch != ' ')
      return Status::Error(EINVAL, std::string("invalid character '") + ch + "' in name");
  return Status::Ok();
}

// "fs@snap" into its two parts; EINVAL unless there is exactly one '@' and a valid snapshot
// component.
Result<std::pair<std::string, std::string>> SplitSnapshot(const std::string& name) {
  size_t at = name.find('@');
  if (at == std::string::npos || name.find('@', at + 1) != std::string::npos)
    return Status::Error(EINVAL, "invalid snapshot name '" + name + "'");
  std::string snap = name.substr(at + 1);
  if (!ValidComponent(snap)) return BadComponent(snap);
  if (name.size() >= kMaxNameLen) return Status::Error(ENAMETOOLONG, "dataset name is too long");
  return std::make_pair(name.substr(0, at), snap);
}

}  // namespace

Result<uint64_t> Pool::ResolveUserDir(const std::string& fs) {
  size_t slash = fs.find('/');
  while (slash != std::string::npos) {
    size_t next = fs.find('/', slash + 1);
    std::string c = fs.substr(slash + 1, next == std::string::npos ? std::string::npos : next - slash - 1);
    UZFS_TRY(BadComponent(c));
    slash = next;
  }
  return ResolveDir(fs);
}

Status Pool::RunSyncTasks(uint64_t txg) {
  std::vector<std::function<Status(uint64_t)>> tasks;
  tasks.swap(sync_tasks_);
  for (auto& t : tasks)
    if (Status s = t(txg); !s.ok()) return failed_ = s;
  return Status::Ok();
}

Status Pool::Snapshot(const std::vector<std::string>& names) {
  std::lock_guard<std::mutex> l(mu_);
  if (readonly_) return Status::Error(EROFS, "pool is read-only");
  if (!failed_.ok()) return failed_;
  struct Req {
    uint64_t head;
    std::string snap;
  };
  std::vector<Req> reqs;
  std::set<std::pair<uint64_t, std::string>> seen;
  for (const std::string& name : names) {
    UZFS_ASSIGN(auto parts, SplitSnapshot(name));
    auto dir = ResolveUserDir(parts.first);
    if (!dir.ok()) return dir.status();
    UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, *dir));
    UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(*mos_, dd.head_dataset_obj));
    UZFS_ASSIGN(auto existing, mos_zaps_->Lookup(ds.snapnames_zapobj, parts.second));
    if (existing || !seen.insert({dd.head_dataset_obj, parts.second}).second)
      return Status::Error(EEXIST, "dataset already exists");
    // Mapped extents change under the client's stores: no instant to capture, unless zfsd
    // paused every mapping of the dataset (its clients' stores wait; the head copies each
    // extent on its mappings' resume, the snapshot keeps the old one).
    if (!dax_paused_.count(dd.head_dataset_obj)) UZFS_TRY(CheckNoDaxMapsLocked(dd.head_dataset_obj));
    reqs.push_back({dd.head_dataset_obj, parts.second});
  }
  // One snapshot per dataset and txg (dsl_dataset_snapshot_check's EAGAIN): a filesystem
  // named again waits for the next txg.
  uint64_t now = static_cast<uint64_t>(std::time(nullptr));
  while (!reqs.empty()) {
    std::set<uint64_t> heads;
    std::vector<Req> later;
    for (const Req& r : reqs) {
      if (!heads.insert(r.head).second) {
        later.push_back(r);
        continue;
      }
      // zil_suspend: the snapshot gets the head's changes (this txg's sync writes them) and
      // an empty log; the head's log starts anew.
      UZFS_TRY(ZilDestroyLocked(r.head));
      sync_tasks_.push_back([this, r, now](uint64_t txg) -> Status {
        UZFS_ASSIGN(uint64_t snap_obj, SnapshotSync(*mos_, *mos_zaps_, r.head, r.snap, txg, now));
        ScanDsSnapshottedLocked(r.head, snap_obj);
        return Status::Ok();
      });
    }
    Status s = SyncLocked(kPoolStateActive);
    sync_tasks_.clear();
    UZFS_TRY(s);
    reqs.swap(later);
  }
  return Status::Ok();
}

Status Pool::DestroySnapshot(const std::string& name) { return DestroySnapshots({name}); }

Status Pool::DestroySnapshots(const std::vector<std::string>& names, bool defer, std::string* failed) {
  std::lock_guard<std::mutex> l(mu_);
  if (readonly_) return Status::Error(EROFS, "pool is read-only");
  if (!failed_.ok()) return failed_;
  // dsl_dataset_destroy_check (its defer case: SPA_VERSION_USERREFS).
  if (defer && version_ < kSpaVersionUserRefs) return Status::Error(ENOTSUP, "unsupported version");
  // dsl_dataset_destroy_check for every one before any is destroyed.
  std::vector<std::pair<uint64_t, std::string>> doomed;
  std::vector<uint64_t> marked;
  std::set<uint64_t> seen;
  for (const std::string& name : names) {
    auto fail = [&](int code, const char* why) {
      if (failed) *failed = name;
      return Status::Error(code, why);
    };
    UZFS_ASSIGN(auto parts, SplitSnapshot(name));
    auto dir = ResolveUserDir(parts.first);
    if (!dir.ok()) return fail(ENOENT, "dataset does not exist");
    UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, *dir));
    UZFS_ASSIGN(DslDatasetPhys head, LoadDataset(*mos_, dd.head_dataset_obj));
    auto snap = mos_zaps_->LookupInt(head.snapnames_zapobj, parts.second);
    if (!snap.ok()) return fail(ENOENT, "dataset does not exist");
    if (!seen.insert(*snap).second) continue;
    UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(*mos_, *snap));
    UZFS_ASSIGN(uint64_t holds, UserRefs(*mos_zaps_, ds));
    if (defer && (ds.num_children > 1 || holds)) {
      marked.push_back(*snap);
      continue;
    }
    if (ds.num_children > 1) return fail(EBUSY, "snapshot has dependent clones");
    if (holds || sending_.count(*snap)) return fail(EBUSY, "dataset is busy");
    doomed.emplace_back(*snap, parts.second);
  }
  for (uint64_t obj : marked) {
    UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(*mos_, obj));
    ds.flags |= kDsFlagDeferDestroy;
    UZFS_TRY(StoreDataset(*mos_, obj, ds));
  }
  uint64_t txg = txg_.open();
  TxgBlockOps ops(this, txg);
  for (auto& [obj, snapname] : doomed) {
    UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(*mos_, obj));
    ScanDsDestroyedLocked(obj, ds.next_snap_obj);
    // A failure past the checks leaves the MOS half changed: the pool stops writing.
    if (Status s = DestroySnapshotSync(*mos_, *mos_zaps_, ops, obj, snapname); !s.ok()) return failed_ = s;
  }
  return Status::Ok();
}

Status Pool::DestroyDeferredOrigin(uint64_t origin_obj) {
  UZFS_ASSIGN(DslDatasetPhys o, LoadDataset(*mos_, origin_obj));
  if (!(o.flags & kDsFlagDeferDestroy) || o.num_children > 1 || !o.next_snap_obj) return Status::Ok();
  UZFS_ASSIGN(uint64_t holds, UserRefs(*mos_zaps_, o));
  if (holds) return Status::Ok();
  UZFS_ASSIGN(std::string name, DatasetName(origin_obj));
  ScanDsDestroyedLocked(origin_obj, o.next_snap_obj);
  uint64_t txg = txg_.open();
  TxgBlockOps ops(this, txg);
  if (Status s = DestroySnapshotSync(*mos_, *mos_zaps_, ops, origin_obj, name.substr(name.find('@') + 1));
      !s.ok())
    return failed_ = s;
  return Status::Ok();
}

Status Pool::Clone(const std::string& snap, const std::string& fs,
                   const std::map<std::string, std::string>& props, uint64_t creator) {
  std::lock_guard<std::mutex> l(mu_);
  return CloneLocked(snap, fs, props, creator);
}

Status Pool::CloneLocked(const std::string& snap, const std::string& fs,
                         const std::map<std::string, std::string>& props, uint64_t creator,
                         uint64_t* ds_obj) {
  if (readonly_) return Status::Error(EROFS, "pool is read-only");
  if (!failed_.ok()) return failed_;
  if (snap.find('@') == std::string::npos) return Status::Error(EINVAL, "not a snapshot");
  UZFS_ASSIGN(auto sparts, SplitSnapshot(snap));
  UZFS_ASSIGN(uint64_t sdir, ResolveUserDir(sparts.first));
  UZFS_ASSIGN(DslDirPhys sdd, LoadDir(*mos_, sdir));
  UZFS_ASSIGN(DslDatasetPhys shead, LoadDataset(*mos_, sdd.head_dataset_obj));
  auto origin = mos_zaps_->LookupInt(shead.snapnames_zapobj, sparts.second);
  if (!origin.ok()) return Status::Error(ENOENT, "dataset does not exist");
  // The new filesystem's name, as CreateFilesystem checks it.
  auto slash = fs.rfind('/');
  if (slash == std::string::npos || fs.find('@') != std::string::npos)
    return Status::Error(EINVAL, "invalid dataset name");
  std::string parent = fs.substr(0, slash), last = fs.substr(slash + 1);
  UZFS_TRY(BadComponent(last));
  if (fs.size() >= kMaxNameLen) return Status::Error(ENAMETOOLONG, "dataset name is too long");
  auto pdir = ResolveUserDir(parent);
  if (!pdir.ok()) return Status::Error(ENOENT, "parent does not exist");
  if (ResolveUserDir(fs).ok()) return Status::Error(EEXIST, "dataset already exists");
  uint64_t txg = txg_.open();
  uint64_t now = static_cast<uint64_t>(std::time(nullptr));
  UZFS_ASSIGN(uint64_t dir, CreateDir(*mos_, *mos_zaps_, *pdir, last, now));
  UZFS_ASSIGN(uint64_t head, CreateDataset(*mos_, *mos_zaps_, dir, *origin, txg, now));
  if (ds_obj) *ds_obj = head;
  UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, dir));
  for (auto& [k, v] : props) UZFS_TRY(StoreDatasetProp(*mos_zaps_, dd.props_zapobj, k, v));
  // dsl_dataset_create_sync: the clone's creator gets the create-time permissions too.
  if (version_ >= kSpaVersionDelegatedPerms) UZFS_TRY(DelegSetCreatePerms(*mos_, *mos_zaps_, dir, creator));
  return Status::Ok();
}

Status Pool::Rollback(const std::string& fs) {
  std::lock_guard<std::mutex> l(mu_);
  if (readonly_) return Status::Error(EROFS, "pool is read-only");
  if (!failed_.ok()) return failed_;
  if (fs.find('@') != std::string::npos) return Status::Error(EINVAL, "not a filesystem");
  UZFS_ASSIGN(uint64_t dir, ResolveUserDir(fs));
  UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, dir));
  uint64_t head = dd.head_dataset_obj;
  UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(*mos_, head));
  if (ds.prev_snap_txg < kTxgInitial) return Status::Error(EINVAL, "no snapshots");
  // Mapped DAX files: only while zfsd has their mappings paused (it resumes them with the
  // rolled-back file's extents, or revokes them: FileService::WithDaxPaused).
  if (!dax_paused_.count(head)) UZFS_TRY(CheckNoDaxMapsLocked(head));
  DropDatasetLocked(head);  // the unsynced changes
  ForgetMappedLocked(head);
  if (arc_) arc_->DropSpace(guid_, head);
  uint64_t txg = txg_.open();
  TxgBlockOps ops(this, txg);
  return RollbackSync(*mos_, *mos_zaps_, ops, this, head);
}

Status Pool::Rename(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> l(mu_);
  if (readonly_) return Status::Error(EROFS, "pool is read-only");
  if (!failed_.ok()) return failed_;
  bool from_snap = from.find('@') != std::string::npos, to_snap = to.find('@') != std::string::npos;
  if (from_snap != to_snap)
    return Status::Error(EINVAL, from_snap ? "snapshots must be part of same dataset"
                                           : "a filesystem cannot be renamed to a snapshot");
  if (to.substr(0, to.find_first_of("/@")) != name_)
    return Status::Error(EXDEV, "datasets must be within same pool");
  if (from_snap) {
    UZFS_ASSIGN(auto f, SplitSnapshot(from));
    UZFS_ASSIGN(auto t, SplitSnapshot(to));
    if (f.first != t.first) return Status::Error(EINVAL, "snapshots must be part of same dataset");
    UZFS_ASSIGN(uint64_t dir, ResolveUserDir(f.first));
    UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, dir));
    return SnapshotRenameSync(*mos_zaps_, *mos_, dd.head_dataset_obj, f.second, t.second);
  }
  if (from.find('/') == std::string::npos) return Status::Error(EINVAL, "cannot rename the root dataset");
  auto slash = to.rfind('/');
  if (slash == std::string::npos) return Status::Error(EINVAL, "cannot rename to the root dataset");
  std::string last = to.substr(slash + 1);
  UZFS_TRY(BadComponent(last));
  if (to.size() >= kMaxNameLen) return Status::Error(ENAMETOOLONG, "dataset name is too long");
  UZFS_ASSIGN(uint64_t dir, ResolveUserDir(from));
  auto newparent = ResolveUserDir(to.substr(0, slash));
  if (!newparent.ok()) return Status::Error(ENOENT, "parent does not exist");
  if (ResolveUserDir(to).ok()) return Status::Error(EEXIST, "dataset already exists");
  return DirRenameSync(*mos_, *mos_zaps_, dir, from.substr(from.rfind('/') + 1), *newparent, last);
}

Status Pool::Promote(const std::string& clone) {
  std::lock_guard<std::mutex> l(mu_);
  if (readonly_) return Status::Error(EROFS, "pool is read-only");
  if (!failed_.ok()) return failed_;
  if (clone.find('@') != std::string::npos) return Status::Error(EINVAL, "not a cloned filesystem");
  UZFS_ASSIGN(uint64_t dir, ResolveUserDir(clone));
  UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, dir));
  // $ORIGIN@$ORIGIN: every filesystem descends from it without being a clone.
  UZFS_ASSIGN(uint64_t pool_origin, PoolOriginSnapshot(*mos_, *mos_zaps_, *ResolveDir(name_)));
  uint64_t txg = txg_.open();
  TxgBlockOps ops(this, txg);
  std::string conflict;
  Status s = PromoteSync(*mos_, *mos_zaps_, ops, dd.head_dataset_obj, pool_origin, &conflict);
  if (s.code() == EEXIST && !conflict.empty()) {
    // libzfs's words (zfs_promote), naming the origin's filesystem.
    UZFS_ASSIGN(std::string origin, DatasetName(dd.origin_obj));
    return Status::Error(EEXIST, "conflicting snapshot '" + conflict + "' from parent '" +
                                     origin.substr(0, origin.find('@')) + "'");
  }
  return s;
}

Result<std::string> Pool::DatasetName(uint64_t ds_obj) {
  UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(*mos_, ds_obj));
  std::string path;
  for (uint64_t d = ds.dir_obj;;) {
    UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, d));
    if (!dd.parent_obj) {
      path = name_ + path;
      break;
    }
    UZFS_ASSIGN(DslDirPhys pd, LoadDir(*mos_, dd.parent_obj));
    UZFS_ASSIGN(auto kids, mos_zaps_->List(pd.child_dir_zapobj));
    auto it = std::find_if(kids.begin(), kids.end(), [&](const ZapEntry& e) { return e.first() == d; });
    if (it == kids.end()) return Status::Error(ECORRUPT, "dir " + std::to_string(d) + " not in its parent");
    path = "/" + it->name + path;
    d = dd.parent_obj;
  }
  UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, ds.dir_obj));
  if (dd.head_dataset_obj == ds_obj) return path;
  UZFS_ASSIGN(DslDatasetPhys head, LoadDataset(*mos_, dd.head_dataset_obj));
  UZFS_ASSIGN(auto snaps, mos_zaps_->List(head.snapnames_zapobj));
  for (const ZapEntry& e : snaps)
    if (e.first() == ds_obj) return path + "@" + e.name;
  return Status::Error(ECORRUPT, "snapshot " + std::to_string(ds_obj) + " has no name");
}

Result<std::vector<Pool::SnapshotRow>> Pool::Snapshots(const std::string& fs) {
  std::lock_guard<std::mutex> l(mu_);
  if (fs.find('@') != std::string::npos) return Status::Error(EINVAL, "not a filesystem");
  UZFS_ASSIGN(uint64_t dir, ResolveUserDir(fs));
  UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, dir));
  UZFS_ASSIGN(DslDatasetPhys head, LoadDataset(*mos_, dd.head_dataset_obj));
  UZFS_ASSIGN(auto snaps, mos_zaps_->List(head.snapnames_zapobj));
  std::vector<SnapshotRow> out;
  for (const ZapEntry& e : snaps) {
    UZFS_ASSIGN(DslDatasetPhys s, LoadDataset(*mos_, e.first()));
    SnapshotRow r;
    r.name = fs + "@" + e.name;
    r.ds_obj = e.first();
    r.used = s.unique_bytes;
    r.referenced = s.used_bytes;
    r.compressed = s.compressed_bytes;
    r.uncompressed = s.uncompressed_bytes;
    r.creation_time = s.creation_time;
    r.creation_txg = s.creation_txg;
    r.guid = s.guid;
    UZFS_ASSIGN(r.userrefs, UserRefs(*mos_zaps_, s));
    if (s.next_clones_obj) {
      UZFS_ASSIGN(auto clones, mos_zaps_->List(s.next_clones_obj));
      for (const ZapEntry& c : clones) {
        UZFS_ASSIGN(std::string cn, DatasetName(c.first()));
        r.clones.push_back(cn.substr(0, cn.find('@')));
      }
      std::sort(r.clones.begin(), r.clones.end());
    }
    out.push_back(std::move(r));
  }
  std::sort(out.begin(), out.end(),
            [](const SnapshotRow& a, const SnapshotRow& b) { return a.creation_txg < b.creation_txg; });
  return out;
}

Result<std::string> Pool::Origin(const std::string& fs) {
  std::lock_guard<std::mutex> l(mu_);
  if (fs.find('@') != std::string::npos) return Status::Error(EINVAL, "not a filesystem");
  UZFS_ASSIGN(uint64_t dir, ResolveUserDir(fs));
  UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, dir));
  if (!dd.origin_obj) return std::string();
  UZFS_ASSIGN(std::string name, DatasetName(dd.origin_obj));
  if (name.find("/$") != std::string::npos) return std::string();  // $ORIGIN@$ORIGIN
  return name;
}

}  // namespace uzfs
