// Received properties (pool version 22, SPA_VERSION_RECVD_PROPS; see pool.h): zfs-fuse
// zfs_ioctl.c's zfs_ioc_recv property handling (dsl_prop_get_received as the original
// properties, props_reduce, clear_received_props, dsl_prop_set_hasrecvd, then
// zfs_set_prop_nvlist with ZPROP_SRC_RECEIVED) and the space properties' accounting that
// dsl_dir_set_quota_sync / dsl_dir_set_reservation_sync / dsl_dataset_set_reservation_sync
// derive from the effective value.
#include <cerrno>
#include <map>

#include "libcore/dsl/dsl_dataset_write.h"
#include "libcore/pool/pool.h"
#include "libcore/pool/pool_props.h"

namespace uzfs {

Status Pool::ApplySpacePropLocked(uint64_t dir, uint64_t ds_obj, const std::string& prop, uint64_t old) {
  UZFS_ASSIGN(auto hit, FindProp(dir, prop, false));
  const uint64_t now = hit ? hit->entry.first() : 0;
  if (prop == "quota") {
    UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, dir));
    dd.quota = now;
    return StoreDir(*mos_, dir, dd);
  }
  if (prop == "reservation") return ReservationChanged(*mos_, dir, now);
  if (prop == "refreservation") return RefreservationChanged(*mos_, ds_obj, old, now);
  return Status::Ok();
}

Status Pool::ReceiveProps(const std::string& name,
                          const std::vector<std::pair<std::string, std::string>>& props,
                          std::vector<std::pair<std::string, Status>>* errors) {
  bool first = false;
  std::map<std::string, ZapEntry> orig;  // what the stream's properties replace
  {
    std::lock_guard<std::mutex> l(mu_);
    if (readonly_) return Status::Error(EROFS, "pool is read-only");
    UZFS_ASSIGN(DsRef ref, ResolveDataset(name));
    if (version_ >= kSpaVersionRecvdProps && !ref.snapshot) {
      UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, ref.dir));
      UZFS_ASSIGN(auto has, mos_zaps_->Lookup(dd.props_zapobj, "$hasrecvd"));
      first = !has;
      // dsl_prop_get_received: the received values, or before the first receive with
      // properties the local ones (which that receive clears).
      UZFS_ASSIGN(auto es, mos_zaps_->List(dd.props_zapobj));
      for (const ZapEntry& e : es) {
        size_t dollar = e.name.find('$');
        if (first && dollar == std::string::npos) orig[e.name] = e;
        if (!first && dollar != std::string::npos && dollar > 0 && e.name.substr(dollar) == "$recvd")
          orig[e.name.substr(0, dollar)] = e;
      }
    }
  }
  std::vector<std::pair<std::string, std::string>> todo;
  for (const auto& [p, v] : props) {
    // props_reduce: a received value that does not change is neither cleared nor set again.
    auto it = orig.find(p);
    if (!first && it != orig.end()) {
      DatasetPropValue enc;
      if (EncodeDatasetProp(p, v, &enc).ok()) {
        const ZapEntry& e = it->second;
        std::string s;
        for (uint64_t c : e.value)
          if (c) s.push_back(static_cast<char>(c));
        bool same = enc.is_string ? e.int_size == 1 && s == enc.str
                                  : e.int_size == 8 && e.value.size() == 1 && e.first() == enc.num;
        if (same) {
          orig.erase(it);
          continue;
        }
      }
    }
    if (!first) orig.erase(p);  // replaced by the new value, not cleared first
    todo.emplace_back(p, v);
  }
  if (version_ >= kSpaVersionRecvdProps && name.find('@') == std::string::npos) {
    // clear_received_props: the local values on the first receive, else the received ones.
    for (const auto& entry : orig) {
      const std::string& p = entry.first;
      if (first) {
        (void)InheritDatasetProp(name, p, true);
        continue;
      }
      std::lock_guard<std::mutex> l(mu_);
      UZFS_ASSIGN(DsRef ref, ResolveDataset(name));
      UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, ref.dir));
      UZFS_ASSIGN(auto hit, FindProp(ref.dir, p, false));
      const uint64_t old = hit ? hit->entry.first() : 0;
      Status s = mos_zaps_->Remove(dd.props_zapobj, p + "$recvd");
      if (!s.ok() && s.code() != ENOENT) return s;
      if (p == "quota" || p == "reservation" || p == "refreservation")
        UZFS_TRY(ApplySpacePropLocked(ref.dir, ref.ds, p, old));
    }
    std::lock_guard<std::mutex> l(mu_);  // dsl_prop_set_hasrecvd
    UZFS_ASSIGN(DsRef ref, ResolveDataset(name));
    UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, ref.dir));
    UZFS_TRY(mos_zaps_->UpdateInt(dd.props_zapobj, "$hasrecvd", 0));
    UZFS_TRY(RefreshPolicies());
  }
  for (const auto& [p, v] : todo) {
    Status s = SetDatasetProp(name, p, v, true);
    if (!s.ok()) errors->emplace_back(p, s);
  }
  return Status::Ok();
}

Result<bool> Pool::HasRecvdProps(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  UZFS_ASSIGN(DsRef ref, ResolveDataset(name));
  if (version_ < kSpaVersionRecvdProps || ref.snapshot) return false;
  UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, ref.dir));
  UZFS_ASSIGN(auto has, mos_zaps_->Lookup(dd.props_zapobj, "$hasrecvd"));
  return has.has_value();
}

Status Pool::UnsetHasRecvd(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  if (readonly_) return Status::Error(EROFS, "pool is read-only");
  UZFS_ASSIGN(DsRef ref, ResolveDataset(name));
  if (version_ < kSpaVersionRecvdProps || ref.snapshot) return Status::Ok();
  UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, ref.dir));
  Status s = mos_zaps_->Remove(dd.props_zapobj, "$hasrecvd");
  if (!s.ok() && s.code() != ENOENT) return s;
  return RefreshPolicies();
}

}  // namespace uzfs
