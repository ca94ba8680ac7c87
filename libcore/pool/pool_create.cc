// Pool::Create: the vdev tree from the nvroot, clean labels, the MOS with the DSL skeleton
// (dsl_pool_create), the root dataset's empty ZPL v4 filesystem (zfs_create_fs), and the
// first txg (TXG_INITIAL = 4) synced before returning, as spa_create does.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <ctime>
#include <set>

#include "libcore/base/checksum.h"
#include "libcore/base/compress.h"
#include "libcore/base/dax.h"
#include "libcore/pool/pool.h"
#include "libcore/zap/zap_userused.h"
#include "libcore/pool/pool_props.h"
#include "libcore/pool/pool_sinks.h"
#include "libcore/spa/spa_feature.h"
#include "libcore/vdev/disk.h"
#include "libcore/vdev/vdev_label.h"
#include "libcore/zpl/zpl_write.h"

namespace uzfs {

namespace {

constexpr uint64_t kSpaHistoryMin = 128 * 1024, kSpaHistoryMax = 32ULL << 20;

struct LeafInfo {
  std::unique_ptr<File> file;
  uint64_t asize = 0;
};

}  // namespace

Status Pool::CreateZplFs(ObjsetWriter& os, uint64_t now) {
  (void)now;
  ZapStore zaps(&os);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ZplWriter::CreateFs(os, zaps, txg_.open(),
                             ZTime{static_cast<uint64_t>(ts.tv_sec), static_cast<uint64_t>(ts.tv_nsec)});
}

Status Pool::CreateSkeleton(uint64_t now, const std::map<std::string, std::string>& fs_props) {
  ObjsetWriter& mos = *mos_;
  ZapStore& zaps = *mos_zaps_;
  UZFS_TRY(zaps.CreateAt(1, kOtObjectDirectory));
  // dsl_pool_create: the root dir, $MOS, $ORIGIN with its snapshot, the root dataset.
  UZFS_ASSIGN(uint64_t root_dir, CreateDir(mos, zaps, 0, "", now));
  UZFS_TRY(zaps.AddInt(1, "root_dataset", root_dir));
  UZFS_ASSIGN(mos_dir_obj_, CreateDir(mos, zaps, root_dir, "$MOS", now));
  UZFS_ASSIGN(uint64_t origin_dir, CreateDir(mos, zaps, root_dir, "$ORIGIN", now));
  UZFS_ASSIGN(uint64_t origin_ds, CreateDataset(mos, zaps, origin_dir, 0, 1, now));
  // dsl_dataset_snapshot_sync of $ORIGIN@$ORIGIN: the snapshot takes the head's deadlist,
  // the head gets a new one.
  UZFS_ASSIGN(uint64_t snap, mos.Allocate(kOtDslDataset, 512, kOtDslDataset, kDslDatasetPhysSize));
  {
    UZFS_ASSIGN(DslDatasetPhys head, LoadDataset(mos, origin_ds));
    DslDatasetPhys s;
    s.dir_obj = origin_dir;
    s.next_snap_obj = origin_ds;
    s.num_children = 1;
    s.creation_time = now;
    s.creation_txg = 1;
    s.deadlist_obj = head.deadlist_obj;
    s.fsid_guid = NewFsidGuid();
    s.guid = NewGuid();
    s.flags = kDsFlagUniqueAccurate;
    s.bp = head.bp;
    UZFS_TRY(StoreDataset(mos, snap, s));
    head.prev_snap_obj = snap;
    head.prev_snap_txg = 1;
    UZFS_ASSIGN(head.deadlist_obj, CreateBplist(mos));
    UZFS_TRY(StoreDataset(mos, origin_ds, head));
    UZFS_TRY(zaps.AddInt(head.snapnames_zapobj, "$ORIGIN", snap));
  }
  UZFS_ASSIGN(uint64_t root_ds, CreateDataset(mos, zaps, root_dir, snap, 1, now));
  // Pool objects: config, sync_bplist, history; "deflate" for raidz-aware accounting.
  UZFS_TRY(zaps.AddInt(1, "deflate", 1));
  UZFS_ASSIGN(uint64_t config, mos.Allocate(kOtPackedNvlist, 16384, kOtPackedNvlistSize, 8));
  UZFS_TRY(zaps.AddInt(1, "config", config));
  UZFS_ASSIGN(uint64_t sync_bplist, CreateBplist(mos, 16384));
  UZFS_TRY(mos.SetChecksumCompress(sync_bplist, 0, static_cast<uint8_t>(CompressId::kOff)));
  UZFS_TRY(zaps.AddInt(1, "sync_bplist", sync_bplist));
  UZFS_ASSIGN(history_obj_, mos.Allocate(kOtSpaHistory, 128 * 1024, kOtSpaHistoryOffsets, 40));
  {
    uint64_t space = 0;
    for (auto& g : groups_)
      if (g->is_normal()) space += g->usable();
    uint64_t max_off = std::clamp<uint64_t>(space / 1000, kSpaHistoryMin, kSpaHistoryMax);
    Bytes hdr(40, 0);
    StoreLE64(hdr.data() + 8, max_off);
    UZFS_TRY(mos.SetBonus(history_obj_, hdr));
  }
  UZFS_TRY(zaps.AddInt(1, "history", history_obj_));
  // Metaslab arrays (vdev_metaslab_init), one per top-level vdev.
  for (size_t i = 0; i < root_->children.size(); i++) {
    UZFS_ASSIGN(uint64_t arr, mos.Allocate(kOtObjectArray, 512, 0, 0));
    root_->children[i]->metaslab_array = arr;
  }
  // Root dataset properties (-O).
  {
    UZFS_ASSIGN(DslDirPhys dd, LoadDir(mos, root_dir));
    for (auto& [k, v] : fs_props) UZFS_TRY(StoreDatasetProp(zaps, dd.props_zapobj, k, v));
  }
  // The root dataset's objset: an empty ZPL filesystem.
  {
    ObjsetPolicy pol;
    if (version_ >= kSpaVersionUserspace) pol.userused = &ZapApplyUserUsed;
    auto os = ObjsetWriter::Create(this, kOstZfs, pol);
    UZFS_TRY(CreateZplFs(*os, now));
    UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(mos, root_ds));
    DatasetSink sink(this, ds.prev_snap_txg);
    UZFS_ASSIGN(BlkPtr bp, os->Sync(sink, kTxgInitial));
    UZFS_TRY(sink.Finish(root_ds, bp));
  }
  return Status::Ok();
}

Status Pool::CheckDaxDevice(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return Status::Error(errno, "cannot open '" + path + "': " + std::strerror(errno));
  if (S_ISREG(st.st_mode)) {
    if (dax_emulation_) return Status::Ok();
    return Status::Error(EINVAL, "cannot use '" + path + "': not a device-DAX character device"
                                 " (zfsd emulates one on a file only with --dax-emulation)");
  }
  if (!S_ISCHR(st.st_mode))
    return Status::Error(EINVAL, "cannot use '" + path + "': not a device-DAX character device");
  auto info = dax::ProbeDax(path);
  if (!info.ok())
    return Status::Error(EINVAL, "cannot use '" + path + "': not a device-DAX character device");
  // Extents are kDaxAlign apart from the front labels' end: a coarser alignment (1 GiB
  // devices) could not map them.
  if (kDaxAlign % info->align)
    return Status::Error(EINVAL, "cannot use '" + path + "': its alignment (" +
                                     std::to_string(info->align) + " bytes) is coarser than 2M");
  if (int pid = 0; dax::DaxMappedElsewhere(*info, &pid))
    return Status::Error(EBUSY, "cannot use '" + path + "': mapped by process " + std::to_string(pid));
  return Status::Ok();
}

Status Pool::OpenNewTops(const std::vector<NvList>& tops, uint64_t ashift, uint64_t txg,
                         const std::string& too_small,
                         std::map<uint64_t, std::unique_ptr<File>>* files,
                         std::vector<NvList>* configs) {
  std::set<std::string> seen;
  for (const NvList& t : tops) {
    NvList top = t;
    const std::string* type = top.GetString("type");
    if (!type) return Status::Error(EINVAL, "vdev without type");
    std::vector<NvList> leaves;
    bool interior = *type == "mirror" || *type == "raidz";
    if (interior) {
      const auto* kids = top.GetNvListArray("children");
      if (!kids || kids->empty()) return Status::Error(EINVAL, *type + " without devices");
      leaves = *kids;
    } else if (*type == "file" || *type == "disk" || *type == "dax") {
      leaves.push_back(top);
    } else {
      return Status::Error(EINVAL, "unsupported vdev type '" + *type + "'");
    }
    uint64_t min_asize = UINT64_MAX;
    uint64_t cid = 0;
    for (NvList& leaf : leaves) {
      const std::string* path = leaf.GetString("path");
      if (!path || path->empty() || (*path)[0] != '/')
        return Status::Error(EINVAL, "vdev path must be absolute");
      if (leaf.GetUint64("whole_disk").value_or(0) && env_ == PosixEnv()) {
        // zpool_label_disk: a whole disk gets a GPT; the pool uses its partition 1.
        UZFS_ASSIGN(std::string part, disk::LabelWholeDisk(*path));
        leaf.AddString("path", part);
        path = leaf.GetString("path");
      }
      if (!seen.insert(*path).second)
        return Status::Error(EINVAL, *path + " is specified more than once");
      if (*type == "dax") UZFS_TRY(CheckDaxDevice(*path));
      struct stat st;
      bool blk = stat(path->c_str(), &st) == 0 && S_ISBLK(st.st_mode);
      // Block devices and files alike bypass the host's page cache where its file system does
      // direct I/O at this ashift (the ARC is the one cache); the page cache otherwise.
      OpenOptions oo;
      oo.write = true;
      oo.direct = true;
      oo.direct_min_io = 1ULL << ashift;
      oo.exclusive = blk;
      auto f = env_->Open(*path, oo);
      if (!f.ok()) return Status::Error(f.status().code(), "cannot open '" + *path + "': " + f.status().message());
      UZFS_ASSIGN(uint64_t size, (*f)->Size());
      if (size < kSpaMinDevSize) return Status::Error(EOVERFLOW, too_small);
      uint64_t psize = P2Align(size, kVdevLabelSize);
      uint64_t asize = psize - kVdevLabelStartSize - kVdevLabelEndSize;
      min_asize = std::min(min_asize, asize);
      uint64_t g = NewGuid();
      if (*type == "dax") {
        // Extents of dax=on files are aligned to the device's alignment from the start of
        // its allocatable space (4 MiB in, after the front labels: kDaxAlign divides it);
        // the labels stay where every leaf has them.
        asize = P2Align(asize, kDaxAlign);
        min_asize = asize;
      }
      leaf.AddString("type", *type == "dax" ? "dax" : blk ? "disk" : "file");
      leaf.AddUint64("id", interior ? cid++ : 0);
      leaf.AddUint64("guid", g);
      leaf.AddUint64("create_txg", txg);
      UZFS_TRY(ClearLabels(**f, psize));
      (*files)[g] = std::move(f).value();
    }
    uint64_t asize = *type == "raidz" ? min_asize * leaves.size() : min_asize;
    NvList cfg;
    if (interior) {
      cfg.AddString("type", *type);
      if (*type == "raidz") {
        uint64_t np = top.GetUint64("nparity").value_or(1);
        if (np < 1 || np > 3 || leaves.size() <= np)
          return Status::Error(EINVAL, "invalid vdev specification: raidz" + std::to_string(np) +
                                           " requires at least " + std::to_string(np + 1) + " devices");
        cfg.AddUint64("nparity", np);
      }
      if (*type == "mirror" && leaves.size() < 2)
        return Status::Error(EINVAL, "invalid vdev specification: mirror requires at least 2 devices");
      cfg.AddNvListArray("children", leaves);
      cfg.AddUint64("guid", NewGuid());
    } else {
      cfg = leaves[0];
    }
    cfg.AddUint64("ashift", ashift);
    cfg.AddUint64("asize", asize);
    // A dax device's metaslabs hold whole extents: at least kDaxAlign each.
    cfg.AddUint64("metaslab_shift", *type == "dax" ? std::max<uint64_t>(MetaslabGroup::MetaslabShiftFor(asize), kDaxAlignShift)
                                                   : MetaslabGroup::MetaslabShiftFor(asize));
    cfg.AddUint64("metaslab_array", 0);
    cfg.AddUint64("create_txg", txg);
    cfg.AddUint64("is_log", top.GetUint64("is_log").value_or(0));
    configs->push_back(std::move(cfg));
  }
  return Status::Ok();
}

Result<std::unique_ptr<Pool>> Pool::Create(const PoolCreateSpec& spec) {
  std::unique_ptr<Pool> p(new Pool());
  UZFS_TRY(p->InitNew(spec));
  return p;
}

Status Pool::InitNew(const PoolCreateSpec& spec) {
  env_ = spec.env ? spec.env : PosixEnv();
  arc_ = spec.arc;
  dax_emulation_ = spec.dax_emulation;
  name_ = spec.name;
  altroot_ = spec.altroot;
  guid_ = NewGuid();
  create_txg_ = kTxgInitial;
  txg_.Init(kTxgInitial - 1);
  uint64_t ashift = 12;
  if (auto it = spec.props.find("ashift"); it != spec.props.end()) {
    char* end = nullptr;
    unsigned long v = std::strtoul(it->second.c_str(), &end, 10);
    if (!end || *end || v < 9 || v > 17) return Status::Error(EINVAL, "property 'ashift' must be a number between 9 and 17");
    ashift = v;
  }
  UZFS_TRY(ValidatePoolProps(spec.props, /*at_create=*/true));
  for (const std::string& f : spec.features)
    if (!FindSpaFeature(f)) return Status::Error(EINVAL, "feature '" + f + "' unsupported");
  const std::vector<NvList>* tops = spec.nvroot.GetNvListArray("children");
  if (!tops || tops->empty()) return Status::Error(EINVAL, "invalid vdev specification: no devices");
  std::map<uint64_t, std::unique_ptr<File>> files;  // guid → device
  std::vector<NvList> configs;
  UZFS_TRY(OpenNewTops(*tops, ashift, kTxgInitial,
                       "one or more devices is less than the minimum size (64M)", &files, &configs));
  std::vector<std::unique_ptr<Vdev>> vtops;
  uint64_t id = 0;
  for (NvList& cfg : configs) {
    cfg.AddUint64("id", id++);
    LeafOpener opener = [&](uint64_t g, const std::string&) -> std::unique_ptr<File> {
      auto it = files.find(g);
      if (it == files.end()) return nullptr;
      return std::move(it->second);
    };
    UZFS_ASSIGN(auto v, BuildVdevTree(cfg, opener));
    groups_.push_back(std::make_unique<MetaslabGroup>(v->id, v->asize, v->metaslab_shift, v->ashift));
    groups_.back()->set_class(ClassOf(*v));
    vtops.push_back(std::move(v));
  }
  root_ = MakeRootVdev(guid_, std::move(vtops));
  PublishTops(root_.get());
  ObjsetPolicy mos_pol;
  mos_pol.mos = true;
  mos_pol.compress = static_cast<uint8_t>(CompressId::kLzjb);
  mos_ = ObjsetWriter::Create(this, kOstMeta, mos_pol);
  ArmMos();
  mos_zaps_ = std::make_unique<ZapStore>(mos_.get());
  uint64_t now = static_cast<uint64_t>(std::time(nullptr));
  for (auto& [k, v] : spec.fs_props) UZFS_TRY(CheckDaxPropLocked(k, v));
  UZFS_TRY(CreateSkeleton(now, spec.fs_props));
  for (auto& [k, v] : spec.props) {
    if (k == "ashift" || k == "altroot") continue;
    UZFS_TRY(SetPropLocked(k, v));
  }
  // Features active from txg 4 (spa_create's spa_feature_create_zap_objects and
  // feature_enable_sync): the pool is version 5000 from its first uberblock. A dax vdev
  // brings com.uzfs:dax.
  for (const std::string& f : spec.features) UZFS_TRY(ActivateFeatureLocked(f));
  for (size_t i = 0; i < NumTops(); i++)
    if (Top(i)->is_dax()) UZFS_TRY(ActivateFeatureLocked(kFeatureDax));
  // spa_create: the spares after the tree (spa_validate_aux, spa_load_spares).
  if (const std::vector<NvList>* sp = spec.nvroot.GetNvListArray("spares")) UZFS_TRY(AddSparesLocked(*sp));
  config_dirty_ = true;
  return SyncLocked(kPoolStateActive);
}

}  // namespace uzfs
