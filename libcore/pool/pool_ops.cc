// Pool::Import (spa_import: open the devices read-write, load the MOS and the metaslabs'
// space maps), pool properties (spa_prop_get / spa_sync_props) and history (spa_history.c).
#include <sys/stat.h>

#include <algorithm>
#include <ctime>

#include "libcore/dmu/dmu_nvlist_obj.h"
#include "libcore/pool/pool.h"
#include "libcore/pool/pool_props.h"
#include "libcore/dsl/dsl.h"
#include "libcore/pool/pool_import.h"
#include "libcore/spa/space_map.h"
#include "libcore/spa/spa_feature.h"
#include "libcore/spa/spa_history.h"

namespace uzfs {

namespace {
bool IsRegularFile(const std::string& path) {
  struct stat st;
  return !path.empty() && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}
}  // namespace

Result<NvList> PoolMosConfig(BlockReader& reader, const BlkPtr& rootbp) {
  UZFS_ASSIGN(auto dp, DslPool::Open(&reader, rootbp, ""));
  return dp->MosConfig();
}

Result<std::vector<NvList>> PoolMosSpares(BlockReader& reader, const BlkPtr& rootbp) {
  UZFS_ASSIGN(auto dp, DslPool::Open(&reader, rootbp, ""));
  auto nv = dp->MosPackedNvlist("spares");
  if (!nv.ok()) {
    if (nv.status().code() == ENOENT) return std::vector<NvList>{};
    return nv.status();
  }
  const std::vector<NvList>* list = nv->GetNvListArray("spares");
  return list ? *list : std::vector<NvList>{};
}

Result<std::unique_ptr<Pool>> Pool::Import(const PoolImportSpec& spec) {
  std::unique_ptr<Pool> p(new Pool());
  p->env_ = spec.env ? spec.env : PosixEnv();
  p->arc_ = spec.arc;
  p->dax_emulation_ = spec.dax_emulation;
  SpaOpenOptions o;
  o.env = p->env_;
  o.writable = true;
  o.from_cache = spec.from_cache;
  o.mos_config = PoolMosConfig;
  UZFS_ASSIGN(p->spa_, Spa::OpenDevices(spec.devices, spec.pool, o));
  Spa& spa = *p->spa_;
  const NvList& cfg = spa.label_config();
  uint64_t state = cfg.GetUint64("state").value_or(kPoolStateActive);
  if (state == kPoolStateDestroyed && !spec.destroyed)
    return Status::Error(ENOENT, "no such pool available");
  // do_import: a pool not exported (active, or destroyed while active) may be in use by the
  // host its labels name.
  if (state != kPoolStateExported && !spec.force) {
    auto hostid = cfg.GetUint64("hostid");
    uint64_t mine = static_cast<uint64_t>(gethostid()) & 0xffffffffULL;
    if (hostid && *hostid != 0 && *hostid != mine) {
      const std::string* host = cfg.GetString("hostname");
      char hex[32];
      snprintf(hex, sizeof hex, "0x%llx", static_cast<unsigned long long>(*hostid));
      return Status::Error(EEXIST, "pool may be in use from other system, it was last accessed by " +
                                       (host ? *host : std::string("?")) + " (hostid: " + hex + ")");
    }
  }
  if (!SpaVersionSupported(spa.version()))
    return Status::Error(ENOTSUP, "pool version " + std::to_string(spa.version()) + " is not supported");
  // vdev_root_open: an unavailable top-level vdev fails the import unless it is a separate
  // log device (a log child's error does not count toward "too many errors"; the pool is
  // DEGRADED, and CheckLogsLocked below decides whether the logs can do without it).
  bool log_missing = false;
  for (uint64_t i = 0; i < spa.vdev_children(); i++) {
    const Vdev* t = spa.top(i);
    if (t && t->type != "missing" && t->is_log && !t->available()) {
      log_missing = true;
      continue;
    }
    if (!t || t->type == "missing" || !t->available())
      return Status::Error(ENXIO, "one or more devices is currently unavailable");
  }
  for (uint64_t i = 0; i < spa.vdev_children(); i++)
    if (spa.top(i)->is_dax() && !p->dax_emulation_ && IsRegularFile(spa.top(i)->open_path))
      return Status::Error(EINVAL, "'" + spa.top(i)->open_path + "' is a file emulating a "
                                   "device-DAX device; zfsd takes it only with --dax-emulation");
  p->PublishTops(p->spa_->mutable_root());
  p->name_ = spec.new_name.empty() ? spa.name() : spec.new_name;
  p->guid_ = spa.pool_guid();
  p->version_ = spa.version();
  p->altroot_ = spec.altroot;
  p->txg_.Init(spa.uberblock().txg);
  if (const std::string* c = cfg.GetString("comment")) p->comment_ = *c;
  UZFS_TRY(ValidatePoolProps(spec.props, /*at_create=*/true));
  UZFS_TRY(p->LoadExisting());
  UZFS_TRY(p->LoadSparesLocked());
  // A leaf that came up dead (FAULTED before a crash, say) may be given a spare at once: the
  // retire agent's look (ActivateSpares) need not wait for a new fault.
  if (!p->spares_.empty()) p->spare_wanted_.store(true, std::memory_order_relaxed);
  p->synced_rootbp_ = spa.uberblock().rootbp;
  UZFS_TRY(p->LoadDtlsLocked());
  UZFS_TRY(p->LoadScanLocked());
  {
    auto ro = spec.props.find("readonly");
    UZFS_TRY(p->LoadFeaturesLocked(/*writable=*/ro == spec.props.end() || ro->second != "on"));
  }
  for (auto& [k, v] : spec.props) {
    if (k == "altroot" || k == "readonly") continue;
    UZFS_TRY(p->SetPropLocked(k, v));
  }
  if (auto it = spec.props.find("readonly"); it != spec.props.end() && it->second == "on") {
    p->readonly_ = true;
    for (size_t i = 0; i < p->NumTops(); i++) p->ArmLeaves(*p->Top(i));  // no self-healing
    return p;
  }
  p->config_dirty_ = true;
  {
    // vdev_open with spa_autoexpand, then spa_config_update's vdev_expand: devices grown
    // while the pool was exported are used at once.
    UZFS_ASSIGN(PropValue ae, p->GetPropLocked("autoexpand"));
    bool grew = false;
    if (ae.value == "on" || ae.value == "1")
      for (size_t i = 0; i < p->NumTops(); i++) UZFS_TRY(p->ExpandTopLocked(*p->Top(i), &grew));
  }
  // spa_load_impl: a leaf whose DTL holds txgs (one taken offline with -t, one that was
  // faulted) and no resilver under way: SPA_ASYNC_RESILVER.
  {
    uint64_t lo, hi;
    bool scanning;
    {
      std::lock_guard<std::mutex> sl(p->scan_mu_);
      scanning = p->scan_.active();
    }
    if (!scanning && p->ResilverNeededLocked(&lo, &hi)) p->StartResilverLocked();
    // A replacement whose resilver ended before a crash let it detach the old side.
    if (!scanning) p->resilver_done_ = true;
  }
  // spa_check_logs. A pool exported cleanly has nothing in its logs to replay (every
  // record's txg synced before the export): a chain still starting on the missing device
  // (the unwritten block a log keeps in its header) is cleared without -m.
  if (log_missing)
    UZFS_TRY(p->CheckLogsLocked(spec.missing_log || state == kPoolStateExported));
  UZFS_TRY(p->ClaimLogsLocked());  // in the first txg, as spa_load's zil_claim
  UZFS_TRY(p->SyncLocked(kPoolStateActive));
  // spa_load: "Delete any inconsistent datasets" (receives a crash cut short).
  UZFS_TRY(p->DestroyInconsistent());
  // spa_load: dsl_pool_clean_tmp_userrefs (holds of a zfs send whose zfsd or client died).
  UZFS_TRY(p->ReleaseTmpHolds());
  return p;
}

Status Pool::LoadExisting() {
  ObjsetPolicy pol;
  pol.mos = true;
  UZFS_ASSIGN(mos_, ObjsetWriter::Open(spa_.get(), spa_->uberblock().rootbp, pol));
  ArmMos();
  mos_zaps_ = std::make_unique<ZapStore>(mos_.get());
  UZFS_ASSIGN(uint64_t root_dir, mos_zaps_->LookupInt(1, "root_dataset"));
  UZFS_ASSIGN(DslDirPhys rd, LoadDir(*mos_, root_dir));
  auto mosdir = mos_zaps_->LookupInt(rd.child_dir_zapobj, "$MOS");
  mos_dir_obj_ = mosdir.ok() ? *mosdir : 0;
  auto hist = mos_zaps_->LookupInt(1, "history");
  history_obj_ = hist.ok() ? *hist : 0;
  auto props = mos_zaps_->LookupInt(1, "pool_props");
  props_zap_ = props.ok() ? *props : 0;
  // The MOS config's root create_txg.
  UZFS_ASSIGN(uint64_t cobj, mos_zaps_->LookupInt(1, "config"));
  auto mc = ReadNvlistObject(*mos_, cobj);
  if (mc.ok())
    if (const NvList* t = mc->GetNvList("vdev_tree")) create_txg_ = t->GetUint64("create_txg").value_or(kTxgInitial);
  return LoadMetaslabs();
}

Status Pool::LoadMetaslabs() {
  for (uint64_t i = 0; i < spa_->vdev_children(); i++) {
    Vdev* top = spa_->top(i);
    if (top->is_hole()) {  // no space: an empty group keeps groups_ indexed by id
      groups_.push_back(std::make_unique<MetaslabGroup>(i, 0, 17, 9));
      continue;
    }
    auto g = std::make_unique<MetaslabGroup>(i, top->asize, top->metaslab_shift, top->ashift);
    g->set_class(ClassOf(*top));
    uint64_t count = g->metaslabs().size();
    if (top->metaslab_array == 0) return Status::Error(ECORRUPT, "top-level vdev without metaslab array");
    UZFS_ASSIGN(Bytes arr, mos_->Read(top->metaslab_array, 0, count * 8));
    arr.resize(count * 8, 0);
    for (uint64_t m = 0; m < count; m++) {
      uint64_t sm = LoadLE64(arr.data() + 8 * m);
      if (sm == 0) continue;
      UZFS_ASSIGN(const DnodePhys* dn, mos_->Dnode(sm));
      if (dn->bonus.size() < 24) return Status::Error(ECORRUPT, "space map header too short");
      uint64_t objsize = LoadLE64(dn->bonus.data() + 8), alloc = LoadLE64(dn->bonus.data() + 16);
      UZFS_ASSIGN(Bytes raw, mos_->Read(sm, 0, objsize));
      UZFS_ASSIGN(auto entries, DecodeSpaceMap(raw, objsize, m << top->metaslab_shift,
                                               static_cast<unsigned>(top->ashift), true));
      UZFS_TRY(g->Load(m, sm, objsize, alloc, entries));
    }
    groups_.push_back(std::move(g));
  }
  return Status::Ok();
}

// ---- properties ----

Status Pool::EnsurePropsZap() {
  if (props_zap_) return Status::Ok();
  UZFS_ASSIGN(props_zap_, mos_zaps_->Create(kOtPoolProps));
  return mos_zaps_->AddInt(1, "pool_props", props_zap_);
}

Status Pool::SetPropLocked(const std::string& name, const std::string& value) {
  if (name == "name") return Status::Error(EROFS, "property 'name' is readonly");
  const PoolPropDef* d = FindPoolProp(name);
  if (!d) return Status::Error(EINVAL, "property '" + name + "' is not a valid pool property");
  if (d->readonly) return Status::Error(EROFS, "property '" + name + "' is readonly");
  uint64_t n = 0;
  UZFS_TRY(ParsePoolPropValue(*d, value, &n));
  if (name == "altroot" || name == "readonly")
    return Status::Error(EINVAL, "property '" + name + "' can only be set during pool creation or import");
  if (name == "version") {
    if (n < version_) return Status::Error(EINVAL, "property 'version' number " + value + " is invalid.");
    if (n > 23) return Status::Error(EINVAL, "property 'version' number " + value + " is invalid.");
    version_ = n;
    config_dirty_ = true;
    return Status::Ok();
  }
  if (name == "comment") {
    std::map<std::string, std::string> one{{name, value}};
    UZFS_TRY(ValidatePoolProps(one, false));
    comment_ = value;
    config_dirty_ = true;
    return Status::Ok();
  }
  if (name == "cachefile") {
    std::map<std::string, std::string> one{{name, value}};
    UZFS_TRY(ValidatePoolProps(one, false));
    cachefile_ = value;
    cachefile_set_ = true;
    return Status::Ok();
  }
  if (name == "bootfs") {
    if (!value.empty() && value != name_)
      return Status::Error(EINVAL, "'bootfs' must be a valid dataset of this pool");
    UZFS_TRY(EnsurePropsZap());
    if (value.empty()) {
      auto r = mos_zaps_->Remove(props_zap_, "bootfs");
      return r.ok() || r.code() == ENOENT ? Status::Ok() : r;
    }
    UZFS_ASSIGN(uint64_t root_dir, mos_zaps_->LookupInt(1, "root_dataset"));
    UZFS_ASSIGN(DslDirPhys rd, LoadDir(*mos_, root_dir));
    return mos_zaps_->UpdateInt(props_zap_, "bootfs", rd.head_dataset_obj);
  }
  UZFS_TRY(EnsurePropsZap());
  return mos_zaps_->UpdateInt(props_zap_, name, n);
}

Status Pool::SetProp(const std::string& name, const std::string& value) {
  std::lock_guard<std::mutex> l(mu_);
  if (readonly_) return Status::Error(EROFS, "pool is read-only");
  return SetPropLocked(name, value);
}

Result<PropValue> Pool::GetPropLocked(const std::string& name) {
  // ZPOOL_PROP_NAME: valid and read-only, but hidden (not in "all"); scripts ask for it to
  // test whether a pool exists.
  if (name == "name") return PropValue{name_, "-"};
  const PoolPropDef* d = FindPoolProp(name);
  if (!d) return Status::Error(EINVAL, "property '" + name + "' is not a valid pool property");
  uint64_t size = 0, alloc = 0;
  std::unique_lock<std::mutex> al(alloc_mu_);
  for (auto& g : groups_) {
    if (!g->is_normal()) continue;  // spa_prop_get_config: the normal class only
    size += g->usable();
    alloc += g->allocated();
  }
  al.unlock();
  auto num = [](uint64_t v) { return PropValue{std::to_string(v), "-"}; };
  if (name == "size") return num(size);
  if (name == "allocated") return num(alloc);
  if (name == "free") return num(size - std::min(size, alloc));
  if (name == "capacity") return num(size ? alloc * 100 / size : 0);
  if (name == "guid") return num(guid_);
  if (name == "dedupratio") return PropValue{"1.00x", "-"};
  if (name == "health") {
    bool degraded = false;
    size_t n = NumTops();
    for (size_t i = 0; i < n; i++) {
      std::function<void(const Vdev&)> walk = [&](const Vdev& v) {
        // vdev_propagate_state: a DEGRADED leaf (vdev_fault's back-off) degrades the pool too.
        if (!v.available() || (v.is_leaf() && v.health.state() == LeafState::kDegraded)) degraded = true;
        for (auto& c : v.children) walk(*c);
      };
      walk(*Top(i));
    }
    return PropValue{suspended() ? "SUSPENDED" : (degraded ? "DEGRADED" : "ONLINE"), "-"};
  }
  if (name == "altroot") return PropValue{altroot_.empty() ? "-" : altroot_, altroot_.empty() ? "default" : "local"};
  // ZPOOL_PROP_READONLY is a PROP_READONLY property (it is set only by an import's -o):
  // its source is "-" whatever its value.
  if (name == "readonly") return PropValue{readonly_ ? "on" : "off", "-"};
  // A feature pool's version is the default of OpenZFS's table (zpool get prints "-").
  if (name == "version")
    return PropValue{std::to_string(version_),
                     version_ == 23 || version_ == kSpaVersionFeatures ? "default" : "local"};
  if (name == "comment") return PropValue{comment_.empty() ? "-" : comment_, comment_.empty() ? "default" : "local"};
  if (name == "cachefile") return PropValue{cachefile_set_ ? (cachefile_.empty() ? "-" : cachefile_) : "-", cachefile_set_ ? "local" : "default"};
  std::optional<ZapEntry> e;
  if (props_zap_) {
    UZFS_ASSIGN(e, mos_zaps_->Lookup(props_zap_, name));
  }
  if (!e) return PropValue{d->dflt, "default"};
  uint64_t v = e->first();
  if (name == "bootfs") return PropValue{name_, "local"};
  if (d->kind == PropKind::kIndex || d->kind == PropKind::kBool) {
    for (auto& [n, val] : d->values)
      if (val == v) return PropValue{n, "local"};
    return PropValue{std::to_string(v), "local"};
  }
  return PropValue{std::to_string(v), "local"};
}

Result<PropValue> Pool::GetProp(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  return GetPropLocked(name);
}

Result<std::vector<std::pair<std::string, PropValue>>> Pool::GetProps() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::pair<std::string, PropValue>> out;
  for (const PoolPropDef& d : PoolProps()) {
    UZFS_ASSIGN(PropValue v, GetPropLocked(d.name));
    out.emplace_back(d.name, std::move(v));
  }
  return out;
}

// ---- history ----

Status Pool::LogHistory(const std::string& command, uint64_t uid) {
  std::lock_guard<std::mutex> l(mu_);
  if (readonly_) return Status::Ok();
  NvList rec;
  rec.AddUint64("history time", static_cast<uint64_t>(std::time(nullptr)));
  rec.AddString("history command", command);
  rec.AddUint64("history who", uid);
  rec.AddString("history hostname", HostName());  // spa_history_log_sync's utsname.nodename
  pending_history_.push_back(std::move(rec));
  return Status::Ok();
}

Status Pool::LogHistoryLocked(const NvList& record) {
  if (!history_obj_) {
    UZFS_ASSIGN(history_obj_, mos_->Allocate(kOtSpaHistory, 128 * 1024, kOtSpaHistoryOffsets, 40));
    uint64_t space = 0;
    for (auto& g : groups_)
      if (g->is_normal()) space += g->usable();
    Bytes hdr(40, 0);
    StoreLE64(hdr.data() + 8, std::clamp<uint64_t>(space / 1000, 128 * 1024, 32ULL << 20));
    UZFS_TRY(mos_->SetBonus(history_obj_, hdr));
    UZFS_TRY(mos_zaps_->AddInt(1, "history", history_obj_));
  }
  UZFS_ASSIGN(Bytes hdr, mos_->Bonus(history_obj_));
  uint64_t create_len = LoadLE64(hdr.data()), max_off = LoadLE64(hdr.data() + 8),
           bof = LoadLE64(hdr.data() + 16), eof = LoadLE64(hdr.data() + 24),
           lost = LoadLE64(hdr.data() + 32);
  Bytes packed = record.EncodeXdr();
  // The length, then the record (appended: GCC 12's -Wstringop-overflow misjudged the
  // bound of a copy into a presized buffer here).
  Bytes rec(8);
  StoreLE64(rec.data(), packed.size());
  rec.insert(rec.end(), packed.begin(), packed.end());
  if (rec.size() > max_off - create_len) return Status::Ok();  // cannot ever fit: dropped
  auto phys = [&](uint64_t off) {
    return off < create_len ? off : create_len + (off - create_len) % (max_off - create_len);
  };
  // Make room: advance bof past whole records (spa_history_advance_bof).
  while (create_len && eof + rec.size() - bof > max_off - create_len + (bof < create_len ? 0 : 0)) {
    if (bof < create_len) bof = create_len;
    if (eof - bof + rec.size() <= max_off - create_len) break;
    Bytes lenb(8);
    for (int i = 0; i < 8; i++) {
      UZFS_ASSIGN(Bytes one, mos_->Read(history_obj_, phys(bof + i), 1));
      lenb[i] = one.empty() ? 0 : one[0];
    }
    bof += 8 + LoadLE64(lenb.data());
    lost++;
  }
  // Write the record byte-range by range (it may wrap).
  uint64_t pos = 0;
  while (pos < rec.size()) {
    uint64_t off = phys(eof + pos);
    uint64_t room = max_off - off;
    uint64_t n = std::min<uint64_t>(room, rec.size() - pos);
    UZFS_TRY(mos_->Write(history_obj_, off, ByteSpan(rec).subspan(pos, n)));
    pos += n;
  }
  eof += rec.size();
  if (create_len == 0) create_len = bof = eof;  // spa_history_write: the creation records stay
  StoreLE64(hdr.data(), create_len);
  StoreLE64(hdr.data() + 16, bof);
  StoreLE64(hdr.data() + 24, eof);
  StoreLE64(hdr.data() + 32, lost);
  return mos_->SetBonus(history_obj_, hdr);
}

Result<std::vector<Pool::HistoryRecord>> Pool::History() {
  std::lock_guard<std::mutex> l(mu_);
  return HistoryLocked();
}

Result<std::vector<Pool::HistoryRecord>> Pool::HistoryLocked() {
  std::vector<HistoryRecord> out;
  if (!history_obj_) return out;
  UZFS_ASSIGN(Bytes bonus, mos_->Bonus(history_obj_));
  UZFS_ASSIGN(SpaHistoryHeader h, SpaHistoryHeader::Decode(bonus));
  UZFS_ASSIGN(Bytes raw, mos_->Read(history_obj_, 0, h.max_off));
  for (const NvList& nv : SpaHistoryRecords(h, std::move(raw))) {
    HistoryRecord r;
    r.time = nv.GetUint64("history time").value_or(0);
    if (const std::string* c = nv.GetString("history command")) {
      r.command = *c;
    } else {
      r.internal = true;
      if (const std::string* s = nv.GetString("history internal str")) r.command = *s;
    }
    r.record = nv;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace uzfs
