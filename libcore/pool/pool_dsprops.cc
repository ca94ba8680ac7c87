// Dataset properties and listing: what `zfs list` and `zfs get` show, and `zfs set` /
// `zfs inherit` (zfs-fuse dsl_prop.c dsl_prop_get_all / dsl_prop_set, dsl_dataset.c
// dsl_dataset_stats / dsl_dataset_space, dsl_dir.c dsl_dir_stats / dsl_dir_space_available /
// dsl_dir_set_quota, dsl_pool.c dsl_pool_adjustedsize).
//
// A property is set on a dataset when its DSL dir's props ZAP holds it (local), or holds
// "prop$recvd" (received by zfs receive, pool version 22+) and no "prop$inherit" entry
// (zfs inherit on a dataset with received properties) hides that; an inheritable one not
// set there takes the value of the nearest ancestor that sets it, else its default.
// Snapshots keep their own user properties in the dataset's props object (ds_props_obj).
#include <algorithm>
#include <climits>
#include <cstdio>
#include <functional>
#include <set>

#include "libcore/dsl/dsl_dataset_write.h"
#include "libcore/pool/pool.h"
#include "libcore/pool/pool_props.h"

namespace uzfs {

namespace {

std::string Ratio(uint64_t comp, uint64_t uncomp) {
  uint64_t r = comp == 0 ? 100 : uncomp * 100 / comp;
  char buf[32];
  snprintf(buf, sizeof buf, "%llu.%02llu", static_cast<unsigned long long>(r / 100),
           static_cast<unsigned long long>(r % 100));
  return buf;
}

std::string ZapString(const ZapEntry& e) {
  std::string s;
  for (uint64_t c : e.value) {
    if (c == 0) break;
    s.push_back(static_cast<char>(c));
  }
  return s;
}

// zfs_nicenum of a volume block size (a power of two from 512 to 128K): "512", "8K".
std::string NiceBytes(uint64_t bs) {
  return bs >= 1024 ? std::to_string(bs >> 10) + "K" : std::to_string(bs);
}

}  // namespace

Result<Pool::DsRef> Pool::ResolveDataset(const std::string& name) {
  DsRef r;
  auto at = name.find('@');
  std::string fs = name.substr(0, at);
  UZFS_ASSIGN(r.dir, ResolveDir(fs));
  UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, r.dir));
  r.ds = dd.head_dataset_obj;
  if (at == std::string::npos) return r;
  std::string snap = name.substr(at + 1);
  if (snap.empty() || snap.find('@') != std::string::npos)
    return Status::Error(EINVAL, "empty component or misplaced '@' or '#' delimiter in name");
  UZFS_ASSIGN(DslDatasetPhys head, LoadDataset(*mos_, r.ds));
  auto s = mos_zaps_->LookupInt(head.snapnames_zapobj, snap);
  if (!s.ok()) return Status::Error(ENOENT, "dataset does not exist");
  r.ds = *s;
  r.snapshot = true;
  return r;
}

Result<std::string> Pool::DirName(uint64_t dir) {
  std::string out;
  for (uint64_t d = dir;;) {
    UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, d));
    if (!dd.parent_obj) return out.empty() ? name_ : name_ + "/" + out;
    UZFS_ASSIGN(DslDirPhys parent, LoadDir(*mos_, dd.parent_obj));
    UZFS_ASSIGN(auto kids, mos_zaps_->List(parent.child_dir_zapobj));
    std::string me;
    for (const ZapEntry& e : kids)
      if (e.first() == d) me = e.name;
    if (me.empty()) return Status::Error(ECORRUPT, "dsl_dir " + std::to_string(d) + " not in its parent");
    out = out.empty() ? me : me + "/" + out;
    d = dd.parent_obj;
  }
}

Result<std::optional<Pool::PropHit>> Pool::FindProp(uint64_t dir, const std::string& prop,
                                                     bool inherit) {
  for (uint64_t d = dir; d;) {
    UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, d));
    if (dd.props_zapobj) {
      UZFS_ASSIGN(auto e, mos_zaps_->Lookup(dd.props_zapobj, prop));
      if (e) return std::optional<PropHit>(PropHit{*e, d, false});
      UZFS_ASSIGN(auto hide, mos_zaps_->Lookup(dd.props_zapobj, prop + "$inherit"));
      if (!hide) {
        UZFS_ASSIGN(auto r, mos_zaps_->Lookup(dd.props_zapobj, prop + "$recvd"));
        if (r) return std::optional<PropHit>(PropHit{*r, d, true});
      }
    }
    if (!inherit) break;
    d = dd.parent_obj;
  }
  return std::optional<PropHit>();
}

uint64_t Pool::DspaceLocked() {
  uint64_t total = 0;
  for (size_t i = 0; i < groups_.size(); i++) {
    if (!groups_[i]->is_normal()) continue;  // spa_get_dspace: the normal class only
    Vdev* top = Top(i);
    uint64_t ratio = top ? (1ULL << 17) / (top->PsizeToAsize(1ULL << 17) >> 9) : 512;
    total += (groups_[i]->usable() >> 9) * ratio;
  }
  return total;
}

Result<uint64_t> Pool::AvailableLocked(uint64_t dir, uint64_t ds_obj) {
  // dsl_dir_space_available(dd, NULL, 0, TRUE), recursively from the root dir.
  std::function<Result<uint64_t>(uint64_t)> dir_avail = [&](uint64_t d) -> Result<uint64_t> {
    UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, d));
    uint64_t parentspace = UINT64_MAX, quota = UINT64_MAX;
    if (dd.parent_obj) {
      UZFS_ASSIGN(parentspace, dir_avail(dd.parent_obj));
    }
    if (dd.quota) quota = dd.quota;
    uint64_t used = dd.used_bytes;
    if (!dd.parent_obj) {
      // dsl_pool_adjustedsize: 1/64 of the pool, at least 32 MiB, is kept back.
      uint64_t space = DspaceLocked();
      uint64_t resv = std::max<uint64_t>(space >> 6, kSpaMinDevSize >> 1);
      quota = std::min(quota, space > resv ? space - resv : 0);
    }
    if (dd.reserved > used && parentspace != UINT64_MAX) parentspace += dd.reserved - used;
    return used > quota ? 0 : std::min(parentspace, quota - used);
  };
  UZFS_ASSIGN(uint64_t avail, dir_avail(dir));
  // dsl_dataset_space: refreservation and refquota.
  UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(*mos_, ds_obj));
  UZFS_ASSIGN(auto refres, FindProp(dir, "refreservation", false));
  if (refres && refres->entry.first() > ds.unique_bytes) avail += refres->entry.first() - ds.unique_bytes;
  UZFS_ASSIGN(auto refq, FindProp(dir, "refquota", false));
  if (refq && refq->entry.first()) {
    uint64_t q = refq->entry.first();
    avail = ds.used_bytes < q ? std::min(avail, q - ds.used_bytes) : 0;
  }
  return avail;
}

Result<std::vector<Pool::DsEntry>> Pool::Datasets(bool hidden) {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<DsEntry> out;
  std::function<Status(uint64_t, const std::string&)> walk = [&](uint64_t dir, const std::string& nm) -> Status {
    UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, dir));
    if (dd.head_dataset_obj) {
      UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(*mos_, dd.head_dataset_obj));
      UZFS_ASSIGN(uint64_t os_type, ObjsetTypeLocked(dd.head_dataset_obj));
      const bool vol = os_type == kOstZvol;
      out.push_back(DsEntry{nm, false, ds.creation_txg, vol});
      std::vector<DsEntry> snaps;
      UZFS_ASSIGN(auto names, mos_zaps_->List(ds.snapnames_zapobj));
      for (const ZapEntry& e : names) {
        UZFS_ASSIGN(DslDatasetPhys s, LoadDataset(*mos_, e.first()));
        snaps.push_back(DsEntry{nm + "@" + e.name, true, s.creation_txg, vol});
      }
      std::sort(snaps.begin(), snaps.end(),
                [](const DsEntry& a, const DsEntry& b) { return a.createtxg < b.createtxg; });
      out.insert(out.end(), snaps.begin(), snaps.end());
    }
    UZFS_ASSIGN(auto kids, mos_zaps_->List(dd.child_dir_zapobj));
    std::sort(kids.begin(), kids.end(), [](const ZapEntry& a, const ZapEntry& b) { return a.name < b.name; });
    for (const ZapEntry& e : kids) {
      if (!e.name.empty() && e.name[0] == '$') continue;
      if (!hidden && e.name.find('%') != std::string::npos) continue;
      UZFS_TRY(walk(e.first(), nm + "/" + e.name));
    }
    return Status::Ok();
  };
  UZFS_ASSIGN(uint64_t root, mos_zaps_->LookupInt(1, "root_dataset"));
  UZFS_TRY(walk(root, name_));
  return out;
}

Result<std::vector<Pool::DsProp>> Pool::DatasetProps(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  UZFS_ASSIGN(DsRef ref, ResolveDataset(name));
  UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, ref.dir));
  UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(*mos_, ref.ds));
  std::string fsname = name.substr(0, name.find('@'));
  UZFS_ASSIGN(uint64_t os_type, ObjsetTypeLocked(ref.ds));
  const bool volume = os_type == kOstZvol;
  const uint8_t type = ref.snapshot ? kDsSnapshot : volume ? kDsVolume : kDsFilesystem;
  // zvol_get_stats: a volume's size and block size.
  ZvolStats zv;
  // (A volume's snapshot shows neither, as zfs-fuse's zfs get has it.)
  if (volume && !ref.snapshot) {
    UZFS_ASSIGN(OpenDataset * od, OpenVolumeLocked(fsname));
    UZFS_ASSIGN(zv, ZvolGetStats(*od->os, *od->zaps));
  }
  std::vector<DsProp> out;
  auto source_of = [&](const PropHit& h) -> Result<std::string> {
    if (h.dir == ref.dir && !ref.snapshot) return std::string(h.received ? "received" : "local");
    UZFS_ASSIGN(std::string who, DirName(h.dir));
    return "inherited from " + who;
  };
  // zfs_prop_get_recvd: the value received on the dataset itself ("-" for none).
  const uint64_t own_props = ref.snapshot ? ds.props_obj : dd.props_zapobj;
  auto received_of = [&](const DatasetPropDef& d) -> Result<std::string> {
    if (!own_props) return std::string("-");
    UZFS_ASSIGN(auto r, mos_zaps_->Lookup(own_props, std::string(d.name) + "$recvd"));
    if (!r) return std::string("-");
    if (d.kind == PropKind::kString) return ZapString(*r);
    if (d.kind == PropKind::kIndex) return IndexName(d, r->first());
    return std::to_string(r->first());
  };
  for (const DatasetPropDef& d : DatasetPropDefs()) {
    if (!(d.types & type)) continue;
    DsProp p{d.name, "", "-"};
    std::string n = d.name;
    if (n == "type") {
      p.value = ref.snapshot ? "snapshot" : volume ? "volume" : "filesystem";
    } else if (n == "volsize") {
      p.value = std::to_string(zv.volsize);
      p.source = "local";
    } else if (n == "volblocksize") {
      p.value = std::to_string(zv.volblocksize);
    } else if (n == "creation") {
      p.value = std::to_string(ds.creation_time);
    } else if (n == "used") {
      p.value = std::to_string(ref.snapshot ? ds.unique_bytes : dd.used_bytes);
    } else if (n == "available") {
      UZFS_ASSIGN(uint64_t a, AvailableLocked(ref.dir, ref.ds));
      p.value = std::to_string(a);
    } else if (n == "referenced") {
      p.value = std::to_string(ds.used_bytes);
    } else if (n == "compressratio") {
      p.value = ref.snapshot ? Ratio(ds.compressed_bytes, ds.uncompressed_bytes)
                             : Ratio(dd.compressed_bytes, dd.uncompressed_bytes);
    } else if (n == "mounted") {
      p.value = "no";
    } else if (n == "origin") {
      // dsl_dir_is_clone: a clone of anything but $ORIGIN@$ORIGIN.
      if (!dd.origin_obj) continue;
      UZFS_ASSIGN(DslDatasetPhys o, LoadDataset(*mos_, dd.origin_obj));
      UZFS_ASSIGN(std::string odir, DirName(o.dir_obj));
      if (odir.find("/$ORIGIN") != std::string::npos) continue;
      UZFS_ASSIGN(DslDirPhys od, LoadDir(*mos_, o.dir_obj));
      UZFS_ASSIGN(DslDatasetPhys ohead, LoadDataset(*mos_, od.head_dataset_obj));
      UZFS_ASSIGN(auto snaps, mos_zaps_->List(ohead.snapnames_zapobj));
      for (const ZapEntry& e : snaps)
        if (e.first() == dd.origin_obj) p.value = odir + "@" + e.name;
      if (p.value.empty()) continue;
    } else if (n == "createtxg") {
      p.value = std::to_string(ds.creation_txg);
    } else if (n == "guid") {
      p.value = std::to_string(ds.guid);
    } else if (n == "version") {
      p.value = "4";
    } else if (n == "utf8only") {
      p.value = "off";
    } else if (n == "normalization") {
      p.value = "none";
    } else if (n == "casesensitivity") {
      p.value = "sensitive";
    } else if (n == "usedbysnapshots") {
      p.value = std::to_string(dd.used_breakdown[kDdUsedSnap]);
    } else if (n == "usedbydataset") {
      p.value = std::to_string(dd.used_breakdown[kDdUsedHead]);
    } else if (n == "usedbychildren") {
      p.value = std::to_string(dd.used_breakdown[kDdUsedChild] + dd.used_breakdown[kDdUsedChildRsrv]);
    } else if (n == "usedbyrefreservation") {
      p.value = std::to_string(dd.used_breakdown[kDdUsedRefrsrv]);
    } else if (n == "defer_destroy") {  // dsl_dataset_stats: DS_IS_DEFER_DESTROY
      p.value = (ds.flags & kDsFlagDeferDestroy) ? "on" : "off";
    } else if (n == "userrefs") {  // ds_userrefs: the holds (dsl_userhold.h)
      UZFS_ASSIGN(uint64_t refs, UserRefs(*mos_zaps_, ds));
      p.value = std::to_string(refs);
    } else if (n == "mountpoint") {
      UZFS_ASSIGN(auto hit, FindProp(ref.dir, n, true));
      std::string base, suffix;
      if (hit) {
        base = ZapString(hit->entry);
        UZFS_ASSIGN(p.source, source_of(*hit));
        UZFS_ASSIGN(std::string setter, DirName(hit->dir));
        suffix = fsname.substr(setter.size());  // "" or "/a/b"
      } else {
        base = "/";
        suffix = fsname;
        p.source = "default";
        if (!suffix.empty() && suffix[0] != '/') suffix = "/" + suffix;
      }
      if (base == "none" || base == "legacy") {
        p.value = base;
      } else {
        std::string path = base == "/" ? suffix : base + suffix;
        if (path.empty()) path = "/";
        if (!altroot_.empty()) path = path == "/" ? altroot_ : altroot_ + path;
        p.value = path;
      }
    } else if (n == "quota" || n == "reservation") {
      p.value = std::to_string(n == "quota" ? dd.quota : dd.reserved);
      UZFS_ASSIGN(auto hit, FindProp(ref.dir, n, false));
      p.source = !hit ? "default" : hit->received ? "received" : "local";
    } else {
      // Stored properties: set here, inherited (when they inherit) or the default.
      UZFS_ASSIGN(auto hit, FindProp(ref.dir, n, d.inherit));
      if (!hit) {
        p.value = d.dflt;
        p.source = "default";
      } else {
        UZFS_ASSIGN(p.source, source_of(*hit));
        if (d.kind == PropKind::kString)
          p.value = ZapString(hit->entry);
        else if (d.kind == PropKind::kIndex)
          p.value = IndexName(d, hit->entry.first());
        else
          p.value = std::to_string(hit->entry.first());
      }
    }
    if (p.source != "-") {
      UZFS_ASSIGN(p.received, received_of(d));
    }
    out.push_back(std::move(p));
  }
  // User properties: the snapshot's own, then the nearest setting along the dir chain; at
  // each, the local value, else the received one unless "$inherit" hides it.
  std::map<std::string, DsProp> user;
  std::map<std::string, std::string> own_recvd;  // the user properties received here
  auto scan = [&](uint64_t zapobj, const PropHit& where) -> Status {
    if (!zapobj) return Status::Ok();
    UZFS_ASSIGN(auto es, mos_zaps_->List(zapobj));
    std::map<std::string, std::string> local, recvd;
    std::set<std::string> hidden;
    for (const ZapEntry& e : es) {
      size_t dollar = e.name.find('$');
      std::string base = e.name.substr(0, dollar);
      if (!IsUserProp(base)) continue;
      if (dollar == std::string::npos) local[base] = ZapString(e);
      else if (e.name.substr(dollar) == "$recvd") recvd[base] = ZapString(e);
      else if (e.name.substr(dollar) == "$inherit") hidden.insert(base);
      if (where.dir == ref.dir && zapobj == own_props && dollar != std::string::npos &&
          e.name.substr(dollar) == "$recvd")
        own_recvd[base] = ZapString(e);
    }
    for (auto& [n, v] : local)
      if (!user.count(n)) {
        PropHit h = where;
        UZFS_ASSIGN(std::string src, source_of(h));
        user[n] = DsProp{n, v, src};
      }
    for (auto& [n, v] : recvd)
      if (!user.count(n) && !hidden.count(n)) {
        PropHit h = where;
        h.received = true;
        UZFS_ASSIGN(std::string src, source_of(h));
        user[n] = DsProp{n, v, src};
      }
    return Status::Ok();
  };
  if (ref.snapshot && ds.props_obj) {
    // A snapshot's own: "local" or "received" (source_of calls them inherited otherwise).
    UZFS_ASSIGN(auto own, mos_zaps_->List(ds.props_obj));
    std::set<std::string> hidden;
    for (const ZapEntry& e : own) {
      size_t dollar = e.name.find('$');
      std::string base = e.name.substr(0, dollar);
      if (IsUserProp(base) && dollar != std::string::npos && e.name.substr(dollar) == "$inherit") hidden.insert(base);
    }
    for (const ZapEntry& e : own) {
      size_t dollar = e.name.find('$');
      std::string base = e.name.substr(0, dollar);
      if (!IsUserProp(base)) continue;
      if (dollar == std::string::npos) user[base] = DsProp{base, ZapString(e), "local"};
      else if (e.name.substr(dollar) == "$recvd") own_recvd[base] = ZapString(e);
    }
    for (auto& [n, v] : own_recvd)
      if (!user.count(n) && !hidden.count(n)) user[n] = DsProp{n, v, "received"};
  }
  for (uint64_t d = ref.dir; d;) {
    UZFS_ASSIGN(DslDirPhys x, LoadDir(*mos_, d));
    PropHit here;
    here.dir = d;
    UZFS_TRY(scan(x.props_zapobj, here));
    d = x.parent_obj;
  }
  for (auto& [k, v] : user) {
    if (auto it = own_recvd.find(k); it != own_recvd.end()) v.received = it->second;
    out.push_back(v);
  }
  return out;
}

Status Pool::RefreshPolicies() {
  for (auto& [ds_obj, od] : datasets_) {
    UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(*mos_, ds_obj));
    UZFS_ASSIGN(od.os->policy_ref(), PolicyOf(ds.dir_obj));
    if (od.zpl) {
      UZFS_ASSIGN(auto rs, FindProp(ds.dir_obj, "recordsize", true));
      od.zpl->set_recordsize(rs ? static_cast<uint32_t>(rs->entry.first()) : 128 * 1024);
      UZFS_ASSIGN(auto dax, FindProp(ds.dir_obj, "dax", true));
      AttachDaxLocked(od, dax && dax->entry.first() == 1);
    }
  }
  return RefreshSyncModes();
}

Status Pool::RefreshSyncModes() {
  bool always = false;
  for (auto& [ds_obj, od] : datasets_) {
    UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(*mos_, ds_obj));
    UZFS_ASSIGN(auto hit, FindProp(ds.dir_obj, "sync", true));
    od.sync_mode = hit ? hit->entry.first() : kSyncStandard;
    UZFS_ASSIGN(auto bias, FindProp(ds.dir_obj, "logbias", true));
    od.logbias_throughput = bias && bias->entry.first() == 1;
    always |= od.sync_mode == kSyncAlways;
  }
  any_sync_always_ = always;
  return Status::Ok();
}

Status Pool::SetDatasetProp(const std::string& name, const std::string& prop,
                            const std::string& value, bool received) {
  std::lock_guard<std::mutex> l(mu_);
  if (readonly_) return Status::Error(EROFS, "pool is read-only");
  if (!failed_.ok()) return failed_;
  UZFS_ASSIGN(DsRef ref, ResolveDataset(name));
  DatasetPropValue v;
  UZFS_TRY(EncodeDatasetProp(prop, value, &v));
  // dsl_prop_set_sync: before SPA_VERSION_RECVD_PROPS a received value is a local one.
  if (version_ < kSpaVersionRecvdProps) received = false;
  const std::string key = received ? prop + "$recvd" : prop;
  auto unhide = [&](uint64_t zap) -> Status {  // a local value drops "prop$inherit"
    if (received) return Status::Ok();
    Status s = mos_zaps_->Remove(zap, prop + "$inherit");
    return s.ok() || s.code() == ENOENT ? Status::Ok() : s;
  };
  if (ref.snapshot) {
    if (!IsUserProp(prop)) return Status::Error(EINVAL, "this property can not be modified for snapshots");
    UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(*mos_, ref.ds));
    if (!ds.props_obj) {
      UZFS_ASSIGN(ds.props_obj, mos_zaps_->Create(kOtDslProps));
      UZFS_TRY(StoreDataset(*mos_, ref.ds, ds));
    }
    UZFS_TRY(unhide(ds.props_obj));
    return mos_zaps_->UpdateString(ds.props_obj, key, v.str);
  }
  // zfs_valid_proplist: zfs_prop_valid_for_type.
  UZFS_ASSIGN(uint64_t os_type, ObjsetTypeLocked(ref.ds));
  const bool volume = os_type == kOstZvol;
  if (const DatasetPropDef* d = FindDatasetProp(prop); d && !(d->types & (volume ? kDsVolume : kDsFilesystem)))
    return Status::Error(EINVAL, "'" + prop + "' does not apply to datasets of this type");
  if (prop == "volsize") {
    // zvol_set_volsize: the size lives in the volume's ZAP; libzfs's checks first.
    UZFS_ASSIGN(OpenDataset * od, OpenVolumeLocked(name));
    UZFS_ASSIGN(ZvolStats st, ZvolGetStats(*od->os, *od->zaps));
    if (v.num % st.volblocksize)
      return Status::Error(EINVAL, "'volsize' must be a multiple of volume block size (" +
                                       NiceBytes(st.volblocksize) + ")");
    if (v.num == 0) return Status::Error(EINVAL, "'volsize' cannot be zero");
    UZFS_ASSIGN(auto ro, FindProp(ref.dir, "readonly", true));
    if (ro && ro->entry.first()) return Status::Error(EROFS, "volume is read-only");
    return ZvolSetSize(*od->os, *od->zaps, v.num);
  }
  UZFS_TRY(CheckDaxPropLocked(prop, value));
  UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, ref.dir));
  const uint64_t props = dd.props_zapobj;
  auto store = [&]() -> Status {
    if (v.is_string) return mos_zaps_->UpdateString(props, key, v.str);
    return mos_zaps_->UpdateInt(props, key, v.num);
  };
  auto clear = [&]() -> Status {
    Status s = mos_zaps_->Remove(props, key);
    return s.ok() || s.code() == ENOENT ? Status::Ok() : s;
  };
  UZFS_TRY(unhide(props));
  if (received) {
    // A local value stays in force: the received one is only kept beneath it.
    UZFS_ASSIGN(auto local, mos_zaps_->Lookup(props, prop));
    if (local) return (prop == "quota" || prop == "refquota" || prop == "reservation" ||
                       prop == "refreservation") && !v.num ? clear() : store();
  }
  if (prop == "quota") {
    if (v.num && (v.num < dd.used_bytes || v.num < dd.reserved))
      return Status::Error(ENOSPC, "size is less than current used or reserved space");
    dd.quota = v.num;
    UZFS_TRY(StoreDir(*mos_, ref.dir, dd));
    return v.num ? store() : clear();
  }
  if (prop == "refquota") {
    UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(*mos_, ref.ds));
    if (v.num && v.num < ds.used_bytes)
      return Status::Error(ENOSPC, "size is less than current used or reserved space");
    return v.num ? store() : clear();
  }
  if (prop == "reservation" || prop == "refreservation") {
    // dsl_dir_set_reservation_check / dsl_dataset_set_reservation_check: what the
    // reservation adds must be available; then the accounting of the ancestors
    // (DD_USED_CHILD_RSRV) or of the dir (DD_USED_REFRSRV) follows.
    UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(*mos_, ref.ds));
    UZFS_ASSIGN(auto cur, FindProp(ref.dir, prop, false));
    uint64_t old = prop == "reservation" ? dd.reserved : (cur ? cur->entry.first() : 0);
    uint64_t used = prop == "reservation" ? dd.used_bytes : ds.unique_bytes;
    uint64_t before = std::max(used, old), after = std::max(used, v.num);
    if (after > before) {
      UZFS_ASSIGN(uint64_t avail, AvailableLocked(ref.dir, ref.ds));
      if (after - before > avail) return Status::Error(ENOSPC, "size is greater than available space");
    }
    if (dd.quota && v.num > dd.quota)
      return Status::Error(ENOSPC, "size is greater than available space");
    UZFS_TRY(v.num ? store() : clear());
    if (prop == "reservation") return ReservationChanged(*mos_, ref.dir, v.num);
    return RefreservationChanged(*mos_, ref.ds, old, v.num);
  }
  if (prop == "canmount" || prop == "version") return store();
  UZFS_TRY(store());
  return RefreshPolicies();
}

Status Pool::InheritDatasetProp(const std::string& name, const std::string& prop, bool revert) {
  std::lock_guard<std::mutex> l(mu_);
  if (readonly_) return Status::Error(EROFS, "pool is read-only");
  if (!failed_.ok()) return failed_;
  UZFS_ASSIGN(DsRef ref, ResolveDataset(name));
  uint64_t props = 0;
  if (IsUserProp(prop)) {
    if (ref.snapshot) {
      UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(*mos_, ref.ds));
      props = ds.props_obj;
    }
  } else {
    const DatasetPropDef* d = FindDatasetProp(prop);
    if (!d) return Status::Error(EINVAL, "invalid property '" + prop + "'");
    if (d->readonly) return Status::Error(EINVAL, "'" + prop + "' property is read-only");
    if (!d->inherit && !revert)
      return Status::Error(EINVAL, "'" + prop + "' property cannot be inherited");
    if (revert && (prop == "volsize" || prop == "version"))
      return Status::Error(EINVAL, "'" + prop + "' property cannot be reverted to a received value");
    if (ref.snapshot) return Status::Error(EINVAL, "this property can not be modified for snapshots");
  }
  if (!ref.snapshot) {
    UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, ref.dir));
    props = dd.props_zapobj;
  }
  if (!props) return RefreshPolicies();
  const bool space = prop == "quota" || prop == "reservation" || prop == "refreservation";
  uint64_t old = 0;
  if (space && !ref.snapshot) {
    UZFS_ASSIGN(auto hit, FindProp(ref.dir, prop, false));
    old = hit ? hit->entry.first() : 0;
  }
  for (const std::string& k : {prop, prop + "$inherit"}) {
    if (k != prop && !revert) continue;
    Status s = mos_zaps_->Remove(props, k);
    if (!s.ok() && s.code() != ENOENT) return s;
  }
  // dsl_prop_set_sync's ZPROP_SRC_INHERITED: a dataset with received properties hides its
  // received value behind an explicit inherit entry (zfs inherit -S takes it away).
  if (!revert && version_ >= kSpaVersionRecvdProps) {
    UZFS_ASSIGN(auto has, mos_zaps_->Lookup(props, "$hasrecvd"));
    if (has) UZFS_TRY(mos_zaps_->UpdateInt(props, prop + "$inherit", 0));
  }
  if (space && !ref.snapshot) UZFS_TRY(ApplySpacePropLocked(ref.dir, ref.ds, prop, old));
  return RefreshPolicies();
}

}  // namespace uzfs
