// Feature flags of an imported pool (OpenZFS zfeature.c: spa_feature_create_zap_objects,
// feature_enable_sync, feature_sync, spa_feature_incr/decr; spa.c spa_ld_check_features;
// spa_misc.c spa_activate_mos_feature). The table and the rules are spa_feature.h's; this
// file keeps the three MOS ZAPs, the refcounts and the label's list. Every change is made
// under the pool lock in the open txg and written by its sync, as every MOS change here is
// (the ZAPs through mos_zaps_, the labels' features_for_read and version through the config
// the sync writes because config_dirty_ is set). docs/ondisk-v23.md section 11.
#include "libcore/pool/pool.h"
#include "libcore/spa/spa_feature.h"

namespace uzfs {

uint64_t Pool::version() {
  std::lock_guard<std::mutex> l(mu_);
  return version_;
}

bool Pool::FeatureActive(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  const SpaFeatureInfo* f = FindSpaFeature(name);
  auto it = feature_refcount_.find(f ? f->guid : name);
  return it != feature_refcount_.end() && it->second > 0;
}

std::map<std::string, uint64_t> Pool::Features() {
  std::lock_guard<std::mutex> l(mu_);
  return feature_refcount_;
}

Status Pool::UpgradeToFeaturesLocked() {
  if (version_ >= kSpaVersionFeatures) return Status::Ok();
  // spa_feature_create_zap_objects: linked from the object directory, in the txg that makes
  // the pool version 5000 (at create: txg 4; later: the next txg, as spa_sync_version's
  // upgrade does).
  UZFS_ASSIGN(feat_for_read_obj_, mos_zaps_->Create(kOtnZapMetadata));
  UZFS_TRY(mos_zaps_->AddInt(1, kFeaturesForRead, feat_for_read_obj_));
  UZFS_ASSIGN(feat_for_write_obj_, mos_zaps_->Create(kOtnZapMetadata));
  UZFS_TRY(mos_zaps_->AddInt(1, kFeaturesForWrite, feat_for_write_obj_));
  UZFS_ASSIGN(feat_desc_obj_, mos_zaps_->Create(kOtnZapMetadata));
  UZFS_TRY(mos_zaps_->AddInt(1, kFeatureDescriptions, feat_desc_obj_));
  version_ = kSpaVersionFeatures;
  config_dirty_ = true;  // labels, uberblock and MOS config say 5000 from this txg on
  return Status::Ok();
}

Status Pool::FeatureSyncLocked(const std::string& guid, bool for_write, bool mos,
                               uint64_t refcount) {
  // feature_sync: the refcount in its ZAP; an active MOS feature in the label's list, one
  // going inactive out of it (spa_activate_mos_feature / spa_deactivate_mos_feature).
  UZFS_TRY(mos_zaps_->UpdateInt(for_write ? feat_for_write_obj_ : feat_for_read_obj_, guid, refcount));
  feature_refcount_[guid] = refcount;
  bool listed = label_features_.count(guid) > 0;
  if (refcount == 0 && listed) {
    label_features_.erase(guid);
    config_dirty_ = true;
  } else if (refcount > 0 && mos && !listed) {
    label_features_.insert(guid);
    config_dirty_ = true;
  }
  return Status::Ok();
}

Status Pool::EnableFeatureLocked(const std::string& guid, const std::string& description,
                                 bool for_write, bool mos) {
  UZFS_TRY(UpgradeToFeaturesLocked());
  if (feature_refcount_.count(guid)) return Status::Ok();  // already enabled
  // feature_enable_sync: the description, then the refcount 0 (enabled, not active).
  UZFS_TRY(mos_zaps_->UpdateString(feat_desc_obj_, guid, description));
  return FeatureSyncLocked(guid, for_write, mos, 0);
}

Status Pool::ActivateFeatureLocked(const std::string& name) {
  const SpaFeatureInfo* f = FindSpaFeature(name);
  if (!f) return Status::Error(EINVAL, "feature '" + name + "' unsupported");
  if (readonly_) return Status::Error(EROFS, "pool is read-only");
  UZFS_TRY(EnableFeatureLocked(f->guid, f->description, f->readonly_compat, f->mos));
  if (feature_refcount_[f->guid] > 0) return Status::Ok();
  return FeatureSyncLocked(f->guid, f->readonly_compat, f->mos, 1);
}

Status Pool::ActivateFeature(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  return ActivateFeatureLocked(name);
}

Status Pool::IncrFeature(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  const SpaFeatureInfo* f = FindSpaFeature(name);
  if (!f) return Status::Error(EINVAL, "feature '" + name + "' unsupported");
  if (readonly_) return Status::Error(EROFS, "pool is read-only");
  UZFS_TRY(EnableFeatureLocked(f->guid, f->description, f->readonly_compat, f->mos));
  return FeatureSyncLocked(f->guid, f->readonly_compat, f->mos, feature_refcount_[f->guid] + 1);
}

Status Pool::DecrFeature(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  const SpaFeatureInfo* f = FindSpaFeature(name);
  if (!f) return Status::Error(EINVAL, "feature '" + name + "' unsupported");
  if (readonly_) return Status::Error(EROFS, "pool is read-only");
  auto it = feature_refcount_.find(f->guid);
  if (it == feature_refcount_.end() || it->second == 0)
    return Status::Error(EINVAL, "feature '" + name + "' is not active");
  return FeatureSyncLocked(f->guid, f->readonly_compat, f->mos, it->second - 1);
}

Status Pool::ZhackFeature(const std::string& guid, const std::string& description,
                          bool for_write, bool mos, uint64_t refcount) {
  std::lock_guard<std::mutex> l(mu_);
  if (readonly_) return Status::Error(EROFS, "pool is read-only");
  UZFS_TRY(EnableFeatureLocked(guid, description, for_write, mos));
  return FeatureSyncLocked(guid, for_write, mos, refcount);
}

Status Pool::LoadFeaturesLocked(bool writable) {
  feature_refcount_.clear();
  label_features_.clear();
  if (version_ < kSpaVersionFeatures) return Status::Ok();
  // The label's list as Spa read it (spa_ld_select_uberblock already refused unknown names).
  if (const NvList* lf = spa_->label_config().GetNvList(kFeaturesForRead))
    for (const NvList::Pair& p : lf->pairs()) label_features_.insert(p.name);
  // spa_ld_check_features: the three ZAPs must be there.
  auto dir = [&](const char* name, uint64_t* obj) -> Status {
    auto r = mos_zaps_->LookupInt(1, name);
    if (!r.ok())
      return Status::Error(ECORRUPT, std::string("pool version 5000 without '") + name +
                                         "' in the object directory");
    *obj = *r;
    return Status::Ok();
  };
  UZFS_TRY(dir(kFeaturesForRead, &feat_for_read_obj_));
  UZFS_TRY(dir(kFeaturesForWrite, &feat_for_write_obj_));
  UZFS_TRY(dir(kFeatureDescriptions, &feat_desc_obj_));
  std::map<std::string, uint64_t> for_read, for_write;
  std::map<std::string, std::string> desc;
  UZFS_ASSIGN(auto r, mos_zaps_->List(feat_for_read_obj_));
  for (const ZapEntry& e : r) for_read[e.name] = e.first();
  UZFS_ASSIGN(auto w, mos_zaps_->List(feat_for_write_obj_));
  for (const ZapEntry& e : w) for_write[e.name] = e.first();
  UZFS_ASSIGN(auto d, mos_zaps_->List(feat_desc_obj_));
  for (const ZapEntry& e : d) {
    std::string s;
    for (uint64_t c : e.value) {
      if (c == 0) break;
      s.push_back(static_cast<char>(c));
    }
    desc[e.name] = s;
  }
  // Unknown active features: those for reading refuse the pool; those for writing refuse
  // a read-write import (OpenZFS then offers readonly=on).
  std::vector<UnsupportedFeature> unsup = UnsupportedMosFeatures(for_read, desc);
  bool read_missing = !unsup.empty();
  if (writable) {
    auto uw = UnsupportedMosFeatures(for_write, desc);
    unsup.insert(unsup.end(), uw.begin(), uw.end());
  }
  if (!unsup.empty()) {
    Status s = UnsupportedFeaturesError(unsup);
    if (!read_missing)
      return Status::Error(s.code(), s.message() +
                                         "\nAll unsupported features are only required for writing to the pool."
                                         "\nThe pool can be imported using '-o readonly=on'.");
    return s;
  }
  feature_refcount_ = for_read;
  feature_refcount_.insert(for_write.begin(), for_write.end());
  return Status::Ok();
}

}  // namespace uzfs
