// Filesystems of a pool: creation (dmu_objset_create → dsl_dataset_create_sync with the
// $ORIGIN snapshot as origin, zfs_create_fs), destruction (dsl_dataset_destroy_sync), the
// sync of their objsets with the DSL's space accounting (dsl_dataset_sync, dsl_dir_diduse_space).
#include <ctime>
#include <thread>

#include "libcore/dmu/dmu.h"
#include "libcore/dmu/dmu_zfetch_run.h"
#include "libcore/dsl/dsl_dir_write.h"
#include "libcore/dsl/dsl_deleg.h"
#include "libcore/pool/pool.h"
#include "libcore/zap/zap_userused.h"
#include "libcore/pool/pool_props.h"
#include "libcore/pool/pool_run_read.h"
#include "libcore/pool/pool_sinks.h"

namespace uzfs {

namespace {

std::vector<std::string> Components(const std::string& name) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t p = name.find('/', start);
    out.push_back(name.substr(start, p == std::string::npos ? std::string::npos : p - start));
    if (p == std::string::npos) break;
    start = p + 1;
  }
  return out;
}

}  // namespace

Result<uint64_t> Pool::ResolveDir(const std::string& name) {
  std::vector<std::string> parts = Components(name);
  if (parts.empty() || parts[0] != name_) return Status::Error(ENOENT, "dataset does not exist");
  UZFS_ASSIGN(uint64_t dir, mos_zaps_->LookupInt(1, "root_dataset"));
  for (size_t i = 1; i < parts.size(); i++) {
    if (parts[i].empty()) return Status::Error(EINVAL, "empty component or misplaced '@' or '#' delimiter in name");
    UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, dir));
    auto child = mos_zaps_->LookupInt(dd.child_dir_zapobj, parts[i]);
    if (!child.ok()) return Status::Error(ENOENT, "dataset does not exist");
    dir = *child;
  }
  return dir;
}

Status Pool::ChargeDirs(uint64_t dir_obj, int64_t used, int64_t comp, int64_t uncomp) {
  bool head = true;
  for (uint64_t d = dir_obj; d;) {
    UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, d));
    dd.used_bytes += static_cast<uint64_t>(used);
    dd.compressed_bytes += static_cast<uint64_t>(comp);
    dd.uncompressed_bytes += static_cast<uint64_t>(uncomp);
    dd.used_breakdown[head ? kDdUsedHead : kDdUsedChild] += static_cast<uint64_t>(used);
    UZFS_TRY(StoreDir(*mos_, d, dd));
    d = dd.parent_obj;
    head = false;
  }
  return Status::Ok();
}

Status Pool::SyncDatasets(uint64_t txg) {
  for (auto& [ds_obj, od] : datasets_) {
    UZFS_TRY(od.zaps->Flush());
    SyncLogLocked(od, txg);
    if (!od.os->dirty()) continue;
    UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(*mos_, ds_obj));
    // Early writeback already began this txg's accounting: the sync continues it.
    std::shared_ptr<DatasetSink> sink = std::move(od.pending_sink);
    if (!sink) sink = std::make_shared<DatasetSink>(this, ds.prev_snap_txg);
    // The accounting follows the pool's version as of this sync (zpool upgrade to 15+ while
    // the dataset is open: its next sync upgrades the objset).
    od.os->policy_ref().userused = version_ >= kSpaVersionUserspace ? &ZapApplyUserUsed : nullptr;
    auto bp = od.os->Sync(*sink, txg);
    if (!bp.ok()) return failed_ = bp.status();
    if (Status s = sink->Finish(ds_obj, *bp); !s.ok()) return failed_ = s;
    od.zaps->Trim();
  }
  return Status::Ok();
}

Status Pool::CreateFilesystem(const std::string& name,
                              const std::map<std::string, std::string>& props, uint64_t creator) {
  std::lock_guard<std::mutex> l(mu_);
  return CreateHeadLocked(
      name, props, kOstZfs, [&](OpenDataset& od, uint64_t now) { return CreateZplFs(*od.os, now); }, creator);
}

Status Pool::CreateHeadLocked(const std::string& name, const std::map<std::string, std::string>& props,
                              uint64_t os_type, const std::function<Status(OpenDataset&, uint64_t now)>& init,
                              uint64_t creator) {
  if (readonly_) return Status::Error(EROFS, "pool is read-only");
  auto slash = name.rfind('/');
  if (slash == std::string::npos) return Status::Error(EEXIST, "dataset already exists");
  std::string parent = name.substr(0, slash), last = name.substr(slash + 1);
  if (last.empty() || last.size() > 255) return Status::Error(EINVAL, "invalid dataset name");
  for (char c : last)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.' && c != ':' && c != ' ')
      return Status::Error(EINVAL, std::string("invalid character '") + c + "' in name");
  auto pdir = ResolveDir(parent);
  if (!pdir.ok()) return Status::Error(ENOENT, "parent does not exist");
  if (ResolveDir(name).ok()) return Status::Error(EEXIST, "dataset already exists");
  // A volume has no children (libzfs check_parents: "parent is not a filesystem").
  {
    UZFS_ASSIGN(DslDirPhys pdd, LoadDir(*mos_, *pdir));
    UZFS_ASSIGN(uint64_t ptype, ObjsetTypeLocked(pdd.head_dataset_obj));
    if (ptype != kOstZfs) return Status::Error(EINVAL, "parent is not a filesystem");
  }
  for (auto& [k, v] : props) UZFS_TRY(CheckDaxPropLocked(k, v));
  uint64_t txg = txg_.open();
  uint64_t now = static_cast<uint64_t>(std::time(nullptr));
  UZFS_ASSIGN(uint64_t dir, CreateDir(*mos_, *mos_zaps_, *pdir, last, now));
  // Every filesystem is a clone of $ORIGIN@$ORIGIN (pool version 11 and later).
  UZFS_ASSIGN(uint64_t origin_snap, PoolOriginSnapshot(*mos_, *mos_zaps_, *ResolveDir(name_)));
  UZFS_ASSIGN(uint64_t ds_obj, CreateDataset(*mos_, *mos_zaps_, dir, origin_snap, txg, now));
  {
    UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, dir));
    for (auto& [k, v] : props) UZFS_TRY(StoreDatasetProp(*mos_zaps_, dd.props_zapobj, k, v));
  }
  if (version_ >= kSpaVersionDelegatedPerms) UZFS_TRY(DelegSetCreatePerms(*mos_, *mos_zaps_, dir, creator));
  OpenDataset od;
  UZFS_ASSIGN(ObjsetPolicy pol, PolicyOf(dir));
  ObjsetPolicy os_pol = os_type == kOstZfs ? ObjsetPolicy{} : pol;
  // User accounting (pool version 15): the writer applies it to ZPL objsets only.
  if (version_ >= kSpaVersionUserspace) os_pol.userused = &ZapApplyUserUsed;
  od.os = ObjsetWriter::Create(this, os_type, os_pol);
  od.os->set_cache(arc_, ArcObjKey{guid_, ds_obj, 0});
  od.os->set_read_error_hook([this, ds_obj](uint64_t obj, int level, uint64_t blkid) {
    LogReadError(ds_obj, obj, level, blkid);
  });
  od.zaps = std::make_unique<ZapStore>(od.os.get());
  UZFS_TRY(init(od, now));
  od.objset_id = ds_obj;
  datasets_[ds_obj] = std::move(od);
  return Status::Ok();
}

Status Pool::DestroyFilesystem(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  if (readonly_) return Status::Error(EROFS, "pool is read-only");
  if (name.find('/') == std::string::npos)
    return Status::Error(EINVAL, "operation does not apply to pools\nuse 'zfs destroy -r " + name +
                                     "' to destroy all datasets in the pool\nuse 'zpool destroy " +
                                     name + "' to destroy the pool itself");
  UZFS_ASSIGN(uint64_t dir, ResolveDir(name));
  UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, dir));
  UZFS_ASSIGN(uint64_t nchildren, mos_zaps_->Count(dd.child_dir_zapobj));
  if (nchildren) return Status::Error(EBUSY, "filesystem has children");
  uint64_t ds_obj = dd.head_dataset_obj;
  UZFS_TRY(CheckNoDaxMapsLocked(ds_obj));
  UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(*mos_, ds_obj));
  UZFS_ASSIGN(uint64_t nsnaps, mos_zaps_->Count(ds.snapnames_zapobj));
  if (nsnaps) return Status::Error(EBUSY, "filesystem has dependent snapshots");
  if (ds.num_children > 1 || ds.next_clones_obj)
    return Status::Error(EBUSY, "filesystem has dependent clones");
  uint64_t txg = txg_.open();
  // Unsynced changes are dropped with the objset; the DSL frees what is on disk.
  DropDatasetLocked(ds_obj);
  ForgetMappedLocked(ds_obj);
  if (arc_) arc_->DropSpace(guid_, ds_obj);
  ScanDsDestroyedLocked(ds_obj, 0);
  TxgBlockOps ops(this, txg);
  UZFS_ASSIGN(uint64_t origin, DestroyHeadSync(*mos_, *mos_zaps_, ops, this, dir,
                                               name.substr(name.rfind('/') + 1)));
  return origin ? DestroyDeferredOrigin(origin) : Status::Ok();
}

Result<ObjsetPolicy> Pool::PolicyOf(uint64_t dir_obj) {
  ObjsetPolicy pol;
  // dsl_prop_get_dd through FindProp: a local or received value here, else an ancestor's.
  auto get = [&](const char* name, auto&& set) -> Status {
    UZFS_ASSIGN(auto hit, FindProp(dir_obj, name, true));
    if (hit && hit->entry.int_size == 8 && hit->entry.value.size() == 1) set(hit->entry.first());
    return Status::Ok();
  };
  UZFS_TRY(get("compression", [&](uint64_t v) { pol.compress = static_cast<uint8_t>(v == 1 ? 3 : v); }));
  UZFS_TRY(get("checksum", [&](uint64_t v) { pol.checksum = static_cast<uint8_t>(v == 1 ? 7 : v); }));
  UZFS_TRY(get("copies", [&](uint64_t v) { pol.copies = static_cast<int>(v); }));
  // dmu_objset_userused_enabled: SPA_VERSION_USERSPACE (the writer adds "a ZPL objset").
  if (version_ >= kSpaVersionUserspace) pol.userused = &ZapApplyUserUsed;
  return pol;
}

Status Pool::ResolveFs(const std::string& fs, uint64_t* dir, uint64_t* ds_obj) {
  UZFS_ASSIGN(*dir, ResolveDir(fs));
  UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, *dir));
  *ds_obj = dd.head_dataset_obj;
  return Status::Ok();
}

Status Pool::ReserveLocked(uint64_t dir, uint64_t ds_obj, uint64_t bytes) {
  if (!bytes) return Status::Ok();
  uint64_t all_pending = 0;
  for (auto& [o, b] : pending_write_) all_pending += b;
  UZFS_ASSIGN(uint64_t root_dir, mos_zaps_->LookupInt(1, "root_dataset"));
  UZFS_ASSIGN(DslDirPhys rdd, LoadDir(*mos_, root_dir));
  UZFS_ASSIGN(uint64_t pool_avail, AvailableLocked(root_dir, rdd.head_dataset_obj));
  {
    // dsl_pool_adjustedsize: frees not yet reusable (deferred to the next two txgs, as the
    // rewrites of a busy txg make many) are no room for new writes.
    std::lock_guard<std::mutex> al(alloc_mu_);
    uint64_t deferred = 0;
    for (auto& g : groups_)
      if (g->is_normal())  // a log or dax device's space is no dataset's
        deferred += g->free_space() - std::min(g->free_space(), g->allocatable());
    pool_avail -= std::min(pool_avail, deferred);
  }
  if (bytes + all_pending > pool_avail) return Status::Error(ENOSPC, "out of space");
  UZFS_ASSIGN(uint64_t avail, AvailableLocked(dir, ds_obj));
  uint64_t& mine = pending_write_[ds_obj];
  if (bytes + mine > avail) return Status::Error(avail < pool_avail ? EDQUOT : ENOSPC, "out of space");
  mine += bytes;
  dirty_.Add(bytes);
  return Status::Ok();
}

Result<Pool::OpenDataset*> Pool::OpenDatasetObjsetLocked(uint64_t dir, uint64_t ds_obj) {
  auto it = datasets_.find(ds_obj);
  if (it == datasets_.end()) {
    UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(*mos_, ds_obj));
    UZFS_ASSIGN(ObjsetPolicy pol, PolicyOf(dir));
    OpenDataset od;
    UZFS_ASSIGN(od.os, ObjsetWriter::Open(this, ds.bp, pol));
    od.os->set_cache(arc_, ArcObjKey{guid_, ds_obj, 0});
    od.os->set_read_error_hook([this, ds_obj](uint64_t obj, int level, uint64_t blkid) {
      LogReadError(ds_obj, obj, level, blkid);
    });
    od.zaps = std::make_unique<ZapStore>(od.os.get());
    it = datasets_.emplace(ds_obj, std::move(od)).first;
  }
  it->second.objset_id = ds_obj;
  return &it->second;
}

Result<Pool::OpenDataset*> Pool::OpenDatasetLocked(uint64_t dir, uint64_t ds_obj) {
  UZFS_ASSIGN(OpenDataset * odp, OpenDatasetObjsetLocked(dir, ds_obj));
  OpenDataset& od = *odp;
  if (!od.zpl) {
    UZFS_ASSIGN(od.os->policy_ref(), PolicyOf(dir));
    UZFS_ASSIGN(od.zpl, ZplWriter::Open(od.os.get(), od.zaps.get()));
    UZFS_ASSIGN(auto rs, FindProp(dir, "recordsize", true));
    if (rs) od.zpl->set_recordsize(static_cast<uint32_t>(rs->entry.first()));
    UZFS_ASSIGN(auto dax, FindProp(dir, "dax", true));
    AttachDaxLocked(od, dax && dax->entry.first() == 1);
    // zfs_domount's zil_replay: what the log holds is applied before anything else runs.
    if (!readonly_) UZFS_TRY(ReplayLogLocked(od));
    UZFS_TRY(RefreshSyncModes());
  }
  return &od;
}

Status Pool::WithZpl(const std::string& fs,
                     const std::function<Status(ZplWriter&, uint64_t txg)>& fn, uint64_t reserve) {
  if (reserve) dirty_.Throttle([this] { return suspended(); });
  int retries = 0;
  for (;;) {
    bool pending = false;  // the open txg holds reservations: its sync may give space back
    bool deferred = false;  // frees wait for txgs to pass: two syncs give them back
    if (reserve) StepAsideForSync();
    Status s = [&]() -> Status {
      std::lock_guard<std::mutex> l(mu_);
      // A pool imported read-only serves lookups and reads (its mounts are read-only, so
      // nothing reaches here to change it); anything that reserves space is a change.
      if (readonly_ && reserve) return Status::Error(EROFS, "pool is read-only");
      if (!failed_.ok()) return failed_;
      uint64_t dir = 0, ds_obj = 0;
      UZFS_TRY(ResolveFs(fs, &dir, &ds_obj));
      if (Status r = ReserveLocked(dir, ds_obj, reserve); !r.ok()) {
        for (auto& [o, b] : pending_write_) pending |= b > 0;  // (a failed try leaves a 0)
        deferred = DeferredFreesLocked();
        return r;
      }
      UZFS_ASSIGN(OpenDataset * od, OpenDatasetLocked(dir, ds_obj));
      od->zpl->set_txg(txg_.open());  // the txg the log records of fn's changes name
      return fn(*od->zpl, txg_.open());
    }();
    // dsl_dir_tempreserve_space's ERESTART: space held by the open txg's own reservations
    // (rewrites whose old blocks it frees, writes already counted) or by frees deferred to
    // the next two txgs is not lost; wait for those txgs to sync (dmu_tx_wait,
    // txg_wait_synced) and try again before failing.
    if ((s.code() == ENOSPC || s.code() == EDQUOT) && ((pending && retries == 0) || (deferred && retries < 3))) {
      retries++;
      UZFS_TRY(Sync());
      continue;
    }
    if (reserve) dirty_.NoteDirty();
    return s;
  }
}

void Pool::StepAsideForSync() {
  // std::mutex is not fair: writers re-taking mu_ back to back can hold a txg's sync off
  // for seconds (a txg every few hundred writes instead of every few). A writer lets a sync
  // waiting for the lock have it first, as txg.c's quiesce stops new holds on the open txg.
  for (int i = 0; sync_waiting_.load(std::memory_order_relaxed) && i < 10000; i++)
    std::this_thread::yield();
}

std::unique_lock<std::mutex> Pool::SyncLock() {
  sync_waiting_++;
  std::unique_lock<std::mutex> l(mu_);
  sync_waiting_--;
  return l;
}

Result<Bytes> Pool::ReadFile(const std::string& fs, uint64_t obj, uint64_t off, uint64_t len,
                             const std::function<Status(ZplWriter&, uint64_t txg)>& also) {
  uint64_t want = 0;
  UZFS_ASSIGN(auto plan, ReadFilePlan(fs, obj, off, len, also, /*by_ref=*/false, &want));
  plan->out.resize(want, 0);
  return std::move(plan->out);
}

Result<std::unique_ptr<ObjsetWriter::ReadPlan>> Pool::ReadFileHeld(
    const std::string& fs, uint64_t obj, uint64_t off, uint64_t len,
    const std::function<Status(ZplWriter&, uint64_t txg)>& also, uint64_t* length) {
  return ReadFilePlan(fs, obj, off, len, also, /*by_ref=*/true, length);
}

Result<std::unique_ptr<ObjsetWriter::ReadPlan>> Pool::ReadFilePlan(
    const std::string& fs, uint64_t obj, uint64_t off, uint64_t len,
    const std::function<Status(ZplWriter&, uint64_t txg)>& also, bool by_ref, uint64_t* length) {
  for (int attempt = 0;; attempt++) {
    auto owned = std::make_unique<ObjsetWriter::ReadPlan>();
    ObjsetWriter::ReadPlan& plan = *owned;
    plan.by_ref = by_ref;
    uint64_t want = len;
    std::unique_lock<std::mutex> l(mu_);
    if (!failed_.ok()) return failed_;
    uint64_t dir = 0, ds_obj = 0;
    UZFS_TRY(ResolveFs(fs, &dir, &ds_obj));
    UZFS_ASSIGN(OpenDataset * od, OpenDatasetLocked(dir, ds_obj));
    UZFS_TRY(od->zpl->PlanRead(obj, off, &want, &plan));
    od->zpl->set_txg(txg_.open());
    if (also) UZFS_TRY(also(*od->zpl, txg_.open()));
    // dmu_zfetch: the window ahead of a sequential reader, planned with this read's lookups
    // and read on the I/O threads while this read runs and its caller consumes it.
    std::vector<std::function<void()>> fills;
    if (attempt == 0 && want) {
      // At most an eighth of the ARC's target ahead, as a mapping's read-ahead.
      uint64_t most = arc_ ? arc_->Target() / 8 : 0;
      Zfetch::Range ahead = zfetch_.Access(od->zpl->objset().CacheKey(obj), off, want, UINT64_MAX, most);
      std::vector<std::unique_ptr<ObjsetWriter::ReadPlan>> plans;
      // Blocks back to back on disk are read together (vdev_queue_aggregate); a failed fill
      // is not cached, and the demand read reports it.
      if (!ahead.empty() && od->zpl->objset().PlanPrefetch(obj, ahead.from, ahead.to, &plans).ok())
        fills = ZfetchRunFills(std::move(plans), VdevRunRead([this](uint64_t v) { return Top(v); }));
    }
    if (attempt == 0) l.unlock();
    zfetch_.Issue(std::move(fills));
    Status s = plan.Complete();
    if (!s.ok() && s.code() == ECKSUM && attempt == 0) continue;  // maybe a block reused since
    if (!s.ok()) {
      LogReadErrors(ds_obj, obj, plan.unreadable);
      return s;
    }
    *length = want;
    return owned;
  }
}

Result<std::vector<Pool::DatasetRow>> Pool::Filesystems() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<DatasetRow> out;
  std::function<Status(uint64_t, const std::string&)> walk = [&](uint64_t dir, const std::string& nm) -> Status {
    UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, dir));
    if (dd.head_dataset_obj) {
      UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(*mos_, dd.head_dataset_obj));
      DatasetRow r;
      r.name = nm;
      r.ds_obj = dd.head_dataset_obj;
      r.used = dd.used_bytes;
      r.referenced = ds.used_bytes;
      r.creation_txg = ds.creation_txg;
      r.objects = ds.bp.fill;
      out.push_back(r);
    }
    UZFS_ASSIGN(auto kids, mos_zaps_->List(dd.child_dir_zapobj));
    for (const ZapEntry& e : kids) {
      if (!e.name.empty() && e.name[0] == '$') continue;
      UZFS_TRY(walk(e.first(), nm + "/" + e.name));
    }
    return Status::Ok();
  };
  UZFS_ASSIGN(uint64_t root, mos_zaps_->LookupInt(1, "root_dataset"));
  UZFS_TRY(walk(root, name_));
  return out;
}

}  // namespace uzfs
