// The persistent error log (zfs-fuse spa_errlog.c): the blocks a scrub found without a good
// copy, by bookmark, kept in two SPA error log ZAPs of the MOS named by the object directory's
// "errlog_last" (what the last finished scrub found, and errors since) and "errlog_scrub"
// (what the scrub under way found so far); each entry is named
// "objset:object:level:blkid" in hex with an empty string as its value. When a scrub ends
// (finished or stopped) the scrub's log replaces the last one (spa_errlog_rotate), so
// repaired or rewritten files leave the list. zpool status counts the entries and, with -v,
// names the files (zpool_get_errlog, zfs_obj_to_path). File blocks that ordinary reads
// (FUSE, libzfs, mapped-file faults) find without a good copy are logged too (spa_log_error),
// and so are the indirect and dnode blocks of a filesystem they fail on (the DMU's read
// error hook). An entry of objset 0 (the MOS) is listed as "<metadata>:<0xobject>", one of
// an object with no path (object 0: a dnode block) as "dataset:<0xobject>".
#include <cinttypes>
#include <cstdio>

#include "libcore/pool/pool.h"
#include "libcore/zpl/zpl.h"

namespace uzfs {

namespace {

std::string ErrName(const Pool::ErrKey& k) {
  char b[96];
  snprintf(b, sizeof b, "%" PRIx64 ":%" PRIx64 ":%" PRIx64 ":%" PRIx64, std::get<0>(k),
           std::get<1>(k), static_cast<uint64_t>(std::get<2>(k)), std::get<3>(k));
  return b;
}

bool ParseErrName(const std::string& s, Pool::ErrKey* k) {
  unsigned long long a, b, c, d;
  if (sscanf(s.c_str(), "%llx:%llx:%llx:%llx", &a, &b, &c, &d) != 4) return false;
  *k = {a, b, static_cast<int64_t>(c), d};
  return true;
}

}  // namespace

void Pool::LogScanError(const ScanBookmark& zb) {
  std::lock_guard<std::mutex> sl(scan_mu_);
  errlist_scrub_.insert({zb.objset, zb.object, zb.level, zb.blkid});
}

// spa_log_error for a logical read: into the scrub's list while a scrub runs or its end
// awaits the rotation (spa_scrub_active || spa_scrub_finished), else the last one.
void Pool::LogReadErrors(uint64_t ds_obj, uint64_t obj, const std::vector<uint64_t>& blkids) {
  if (blkids.empty() || readonly_) return;
  std::lock_guard<std::mutex> sl(scan_mu_);
  auto& list = scan_.active() || errlog_rotate_ ? errlist_scrub_ : errlist_last_;
  for (uint64_t b : blkids) list.insert({ds_obj, obj, 0, b});
}

void Pool::LogReadError(uint64_t ds_obj, uint64_t obj, int64_t level, uint64_t blkid) {
  if (readonly_) return;
  std::lock_guard<std::mutex> sl(scan_mu_);
  auto& list = scan_.active() || errlog_rotate_ ? errlist_scrub_ : errlist_last_;
  list.insert({ds_obj, obj, level, blkid});
}

void Pool::ArmMos() {
  if (readonly_) return;
  // The MOS's reads ask zinject's handlers with this pool's guid (objset 0).
  mos_->set_cache(nullptr, ArcObjKey{guid_, 0, 0});
  mos_->set_read_error_hook([this](uint64_t obj, int level, uint64_t blkid) {
    std::lock_guard<std::mutex> l(mos_err_mu_);
    mos_errs_.insert({0, obj, level, blkid});
  });
}

void Pool::TakeMosErrors() {
  std::lock_guard<std::mutex> l(mos_err_mu_);
  if (mos_errs_.empty()) return;
  auto& list = scan_.active() || errlog_rotate_ ? errlist_scrub_ : errlist_last_;
  list.insert(mos_errs_.begin(), mos_errs_.end());
  mos_errs_.clear();
}

Status Pool::LoadErrlogLocked() {
  auto last = mos_zaps_->LookupInt(1, "errlog_last");
  auto scrub = mos_zaps_->LookupInt(1, "errlog_scrub");
  errlog_last_obj_ = last.ok() ? *last : 0;
  errlog_scrub_obj_ = scrub.ok() ? *scrub : 0;
  return Status::Ok();
}

// spa_errlog_sync.
Status Pool::ErrlogSyncLocked() {
  std::set<ErrKey> last, scrub;
  bool rotate;
  {
    std::lock_guard<std::mutex> sl(scan_mu_);
    TakeMosErrors();
    if (errlist_last_.empty() && errlist_scrub_.empty() && !errlog_rotate_) return Status::Ok();
    last.swap(errlist_last_);
    scrub.swap(errlist_scrub_);
    rotate = errlog_rotate_;
    errlog_rotate_ = false;
  }
  auto sync_list = [&](std::set<ErrKey>& list, uint64_t* obj) -> Status {
    if (list.empty()) return Status::Ok();
    if (*obj == 0) {
      UZFS_ASSIGN(*obj, mos_zaps_->Create(kOtErrorLog));
    }
    for (const ErrKey& k : list) UZFS_TRY(mos_zaps_->Update(*obj, ErrName(k), 1, {0}));
    list.clear();
    return Status::Ok();
  };
  UZFS_TRY(sync_list(last, &errlog_last_obj_));
  if (rotate) {
    if (errlog_last_obj_) {
      UZFS_TRY(mos_->FreeObject(errlog_last_obj_));
      mos_zaps_->Drop(errlog_last_obj_);
    }
    errlog_last_obj_ = errlog_scrub_obj_;
    errlog_scrub_obj_ = 0;
    UZFS_TRY(sync_list(scrub, &errlog_last_obj_));
  }
  UZFS_TRY(sync_list(scrub, &errlog_scrub_obj_));
  UZFS_TRY(mos_zaps_->UpdateInt(1, "errlog_last", errlog_last_obj_));
  UZFS_TRY(mos_zaps_->UpdateInt(1, "errlog_scrub", errlog_scrub_obj_));
  return Status::Ok();
}

std::set<Pool::ErrKey> Pool::ErrorKeysLocked() {
  std::set<ErrKey> all;
  // A scrub that ended and whose end the next txg writes: its log already stands for the last.
  bool rotating;
  {
    std::lock_guard<std::mutex> sl(scan_mu_);
    rotating = errlog_rotate_ || (scan_action_ == ScanAction::kRemove && scan_disk_.active());
  }
  for (uint64_t obj : {rotating ? 0 : errlog_last_obj_, errlog_scrub_obj_}) {
    if (!obj) continue;
    auto entries = mos_zaps_->List(obj);
    if (!entries.ok()) continue;
    for (const ZapEntry& e : *entries) {
      ErrKey k;
      if (ParseErrName(e.name, &k)) all.insert(k);
    }
  }
  std::lock_guard<std::mutex> sl(scan_mu_);
  TakeMosErrors();
  all.insert(errlist_last_.begin(), errlist_last_.end());
  all.insert(errlist_scrub_.begin(), errlist_scrub_.end());
  return all;
}

uint64_t Pool::error_count() {
  std::lock_guard<std::mutex> l(mu_);
  return ErrorKeysLocked().size();
}

Result<std::vector<Pool::DataError>> Pool::ErrorLog() {
  std::lock_guard<std::mutex> l(mu_);
  // zpool_get_errlog: one line per object, whatever its blocks.
  std::set<std::pair<uint64_t, uint64_t>> objects;
  for (const ErrKey& k : ErrorKeysLocked()) objects.insert({std::get<0>(k), std::get<1>(k)});
  std::vector<DataError> out;
  std::unique_ptr<DslPool> dp;
  for (auto [objset, object] : objects) {
    DataError e;
    e.objset = objset;
    e.object = object;
    if (objset == 0) {
      e.dataset = "<metadata>";
      out.push_back(std::move(e));
      continue;
    }
    auto name = DatasetName(objset);
    if (name.ok()) e.dataset = *name;
    if (!dp) {
      auto d = DslPool::Open(this, synced_rootbp_, name_);
      if (d.ok()) dp = std::move(d).value();
    }
    if (dp && name.ok()) {
      auto ds = dp->Dataset(objset);
      auto os = ds.ok() ? ObjSet::Open(this, ds->bp) : Result<std::unique_ptr<ObjSet>>(ds.status());
      auto zpl = os.ok() ? Zpl::Open(**os) : Result<std::unique_ptr<Zpl>>(os.status());
      if (zpl.ok()) {
        auto path = (*zpl)->ObjToPath(object);
        if (path.ok()) e.path = *path;
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace uzfs
