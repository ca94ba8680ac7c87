#include "libcore/dsl/dsl_userhold.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "libcore/dmu/dmu.h"

namespace uzfs {

namespace {

Result<DslDatasetPhys> LoadSnapshot(ObjsetWriter& mos, uint64_t ds_obj) {
  UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(mos, ds_obj));
  // dsl_dataset_is_snapshot: only snapshots have a successor.
  if (!ds.next_snap_obj) return Status::Error(EINVAL, "not a snapshot");
  return ds;
}

}  // namespace

Result<uint64_t> UserRefs(ZapStore& zaps, const DslDatasetPhys& ds) {
  if (!ds.userrefs_obj) return uint64_t{0};
  return zaps.Count(ds.userrefs_obj);
}

Status UserHoldCheck(ObjsetWriter& mos, ZapStore& zaps, uint64_t ds_obj, const std::string& tag,
                     bool temphold) {
  if (tag.size() > kMaxTagLen || (temphold && tag.size() + kMaxTagPrefixLen > kMaxTagLen))
    return Status::Error(E2BIG, "tag too long");
  UZFS_ASSIGN(DslDatasetPhys ds, LoadSnapshot(mos, ds_obj));
  if (!ds.userrefs_obj) return Status::Ok();
  UZFS_ASSIGN(auto e, zaps.Lookup(ds.userrefs_obj, tag));
  if (e) return Status::Error(EEXIST, "tag already exists on this dataset");
  return Status::Ok();
}

Status UserHoldSync(ObjsetWriter& mos, ZapStore& zaps, uint64_t ds_obj, const std::string& tag,
                    uint64_t now) {
  UZFS_ASSIGN(DslDatasetPhys ds, LoadSnapshot(mos, ds_obj));
  if (!ds.userrefs_obj) {
    // The first hold: zap_create(mos, DMU_OT_USERREFS, DMU_OT_NONE, 0, tx).
    UZFS_ASSIGN(ds.userrefs_obj, zaps.Create(kOtUserRefs));
    UZFS_TRY(StoreDataset(mos, ds_obj, ds));
  }
  return zaps.AddInt(ds.userrefs_obj, tag, now);
}

Status UserReleaseCheck(ObjsetWriter& mos, ZapStore& zaps, uint64_t ds_obj, const std::string& tag,
                        bool* destroys) {
  *destroys = false;
  UZFS_ASSIGN(DslDatasetPhys ds, LoadSnapshot(mos, ds_obj));
  auto no_tag = [] { return Status::Error(ESRCH, "no such tag on this dataset"); };
  if (!ds.userrefs_obj) return no_tag();
  UZFS_ASSIGN(auto e, zaps.Lookup(ds.userrefs_obj, tag));
  if (!e) return no_tag();
  UZFS_ASSIGN(uint64_t refs, zaps.Count(ds.userrefs_obj));
  *destroys = refs == 1 && ds.num_children == 1 && (ds.flags & kDsFlagDeferDestroy);
  return Status::Ok();
}

Status UserReleaseSync(ObjsetWriter& mos, ZapStore& zaps, uint64_t ds_obj, const std::string& tag,
                       uint64_t* left) {
  UZFS_ASSIGN(DslDatasetPhys ds, LoadSnapshot(mos, ds_obj));
  if (!ds.userrefs_obj) return Status::Error(ESRCH, "no such tag on this dataset");
  UZFS_TRY(zaps.Remove(ds.userrefs_obj, tag));
  UZFS_ASSIGN(*left, zaps.Count(ds.userrefs_obj));
  return Status::Ok();
}

Result<std::vector<SnapshotHold>> UserHolds(ObjsetWriter& mos, ZapStore& zaps, uint64_t ds_obj) {
  UZFS_ASSIGN(DslDatasetPhys ds, LoadSnapshot(mos, ds_obj));
  std::vector<SnapshotHold> out;
  if (!ds.userrefs_obj) return out;
  UZFS_ASSIGN(auto entries, zaps.List(ds.userrefs_obj));
  for (const ZapEntry& e : entries) out.push_back({e.name, e.first()});
  std::sort(out.begin(), out.end(), [](const SnapshotHold& a, const SnapshotHold& b) { return a.tag < b.tag; });
  return out;
}

namespace {

constexpr uint64_t kPoolDirectory = 1;  // DMU_POOL_DIRECTORY_OBJECT
constexpr char kTmpUserRefs[] = "tmp_userrefs";

std::string TmpHoldName(uint64_t ds_obj, const std::string& tag) {
  char hex[24];
  std::snprintf(hex, sizeof hex, "%llx-", static_cast<unsigned long long>(ds_obj));
  return hex + tag;
}

}  // namespace

Status TmpHoldAdd(ZapStore& zaps, uint64_t ds_obj, const std::string& tag, uint64_t now) {
  auto obj = zaps.LookupInt(kPoolDirectory, kTmpUserRefs);
  if (!obj.ok() && obj.status().code() != ENOENT) return obj.status();
  if (!obj.ok()) {  // dsl_pool_user_hold_create_obj (pools made before version 18)
    UZFS_ASSIGN(obj, zaps.Create(kOtUserRefs));
    UZFS_TRY(zaps.AddInt(kPoolDirectory, kTmpUserRefs, *obj));
  }
  return zaps.AddInt(*obj, TmpHoldName(ds_obj, tag), now);
}

Status TmpHoldRemove(ZapStore& zaps, uint64_t ds_obj, const std::string& tag) {
  auto obj = zaps.LookupInt(kPoolDirectory, kTmpUserRefs);
  if (!obj.ok()) return obj.status().code() == ENOENT ? Status::Ok() : obj.status();
  const std::string name = TmpHoldName(ds_obj, tag);
  UZFS_ASSIGN(auto e, zaps.Lookup(*obj, name));
  return e ? zaps.Remove(*obj, name) : Status::Ok();
}

Result<std::vector<TmpHold>> TmpHolds(ZapStore& zaps) {
  std::vector<TmpHold> out;
  auto obj = zaps.LookupInt(kPoolDirectory, kTmpUserRefs);
  if (!obj.ok()) {
    if (obj.status().code() == ENOENT) return out;
    return obj.status();
  }
  UZFS_ASSIGN(auto entries, zaps.List(*obj));
  for (const ZapEntry& e : entries) {
    // dsl_pool_clean_tmp_userrefs: the object number up to the first '-', the tag after it.
    size_t dash = e.name.find('-');
    if (dash == std::string::npos || dash == 0) continue;
    char* end = nullptr;
    uint64_t ds = std::strtoull(e.name.substr(0, dash).c_str(), &end, 16);
    if (!end || *end) continue;
    out.push_back({ds, e.name.substr(dash + 1)});
  }
  return out;
}

}  // namespace uzfs
