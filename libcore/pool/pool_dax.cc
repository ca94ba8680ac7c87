// The pool side of DAX files (libcore/zpl/zpl_dax.h): extents of the dax class, written and
// read in place on their device, for the ZPL of each open dataset.
#include <sys/stat.h>

#include <algorithm>

#include "libcore/base/checksum.h"
#include "libcore/base/compress.h"
#include "libcore/pool/pool.h"
#include "libcore/pool/pool_sinks.h"
#include "libcore/vdev/vdev_label.h"

namespace uzfs {

static_assert(kDaxAlign == kDaxExtentSize, "dax extents are the class's alignment unit");

class Pool::DaxStoreImpl : public DaxStore {
 public:
  DaxStoreImpl(Pool* p, OpenDataset* od) : p_(p), od_(od) {}

  Result<BlkPtr> NewExtent(uint64_t txg) override {
    BlkPtr bp;
    {
      std::lock_guard<std::mutex> l(p_->alloc_mu_);
      // An extent a fence holds (Pool::FenceDaxExtents: a process zfsd no longer reaches may
      // still store into it) is skipped: kept allocated while the search goes on, so the
      // allocator moves past it, then given back in this txg as if never taken.
      std::vector<BlkPtr> fenced;
      Status got;
      for (;;) {
        bp = BlkPtr();
        got = MetaslabAlloc(p_->groups_, p_->dax_rotor_, [this](uint64_t id) { return p_->Top(id); },
                            kDaxExtentSize, 1, &bp, AllocClass::kDax);
        if (!got.ok()) break;
        std::lock_guard<std::mutex> fl(p_->dax_fence_mu_);
        if (!p_->DaxFencedLocked(bp.dva[0])) break;
        fenced.push_back(bp);
      }
      for (const BlkPtr& f : fenced) (void)MetaslabFree(p_->groups_, f, /*unalloc=*/true);
      UZFS_TRY(got);
    }
    // Every allocation and free of the class is a whole extent, and metaslabs are aligned to
    // one: extents stay aligned. Checked, as a mapping of a misaligned one would fail.
    if (bp.dva[0].offset() % kDaxExtentSize) {
      GiveBack(bp);
      return Status::Error(EIO, "dax extent at a misaligned offset");
    }
    bp.set_lsize(kDaxExtentSize);
    bp.set_psize(kDaxExtentSize);
    bp.set_checksum(static_cast<uint8_t>(ChecksumId::kOff));
    bp.set_compress(static_cast<uint8_t>(CompressId::kOff));
    bp.set_type(kOtPlainFileContents);
    bp.set_level(0);
    bp.set_little_endian(true);
    bp.birth = txg;
    bp.fill = 1;
    // Persistent memory keeps what the extent last held (another file's data): zero it.
    static const Bytes kZeros(kDaxExtentSize, 0);
    if (Status s = Write(bp, 0, kZeros); !s.ok()) {
      GiveBack(bp);
      return s;
    }
    return bp;
  }

  Status Write(const BlkPtr& bp, uint64_t off, ByteSpan data) override {
    UZFS_ASSIGN(File * f, Device(bp, off, data.size()));
    return f->WriteAtDurable(kVdevLabelStartSize + bp.dva[0].offset() + off, data);
  }

  Status Read(const BlkPtr& bp, uint64_t off, MutByteSpan out) override {
    UZFS_ASSIGN(File * f, Device(bp, off, out.size()));
    return f->ReadAt(kVdevLabelStartSize + bp.dva[0].offset() + off, out);
  }

  ObjsetSink& Sink() override {
    if (!od_->pending_sink) {
      auto ds = LoadDataset(*p_->mos_, od_->objset_id);
      od_->pending_sink = std::make_shared<DatasetSink>(p_, ds.ok() ? ds->prev_snap_txg : 0);
    }
    return *od_->pending_sink;
  }

  bool Mapped(uint64_t obj) override { return p_->dax_maps_.count({od_->objset_id, obj}) > 0; }

  Status RevokePast(uint64_t obj, uint64_t size) override {
    if (!p_->dax_revoker_)
      return Status::Error(EBUSY, "the DAX file is mapped: its extents cannot be freed");
    p_->dax_revoker_(*p_, od_->objset_id, obj, size);
    return Status::Ok();
  }

  uint64_t SharedThrough() override {
    auto ds = LoadDataset(*p_->mos_, od_->objset_id);
    // Unknown: take every extent as shared (a needless copy, never a snapshot overwritten).
    return ds.ok() ? ds->prev_snap_txg : UINT64_MAX;
  }

 private:
  // The device an extent lives on (a dax vdev is a leaf of its own).
  Result<File*> Device(const BlkPtr& bp, uint64_t off, uint64_t len) {
    if (off + len > kDaxExtentSize) return Status::Error(EINVAL, "range past the dax extent");
    Vdev* top = p_->Top(bp.dva[0].vdev());
    if (!top || !top->is_dax()) return Status::Error(ECORRUPT, "dax extent not on a dax vdev");
    File* f = top->file();
    if (!f) return Status::Error(ENXIO, "dax device " + top->path + " is unavailable");
    return f;
  }
  void GiveBack(const BlkPtr& bp) {
    std::lock_guard<std::mutex> l(p_->alloc_mu_);
    (void)MetaslabFree(p_->groups_, bp, /*unalloc=*/true);
  }
  Pool* p_;
  OpenDataset* od_;
};

Result<bool> Pool::RecvIsDaxFileLocked(OpenDataset& od, uint64_t obj) {
  UZFS_ASSIGN(const DnodePhys* dn, od.os->Dnode(obj));
  if (dn->type != kOtPlainFileContents || dn->bonustype != kOtZnode) return false;
  if (dn->bonus.size() < kZnodeFlagsOff + 8) return false;
  return (Load64(dn->bonus.data() + kZnodeFlagsOff, dn->little) & kFlagDaxFile) != 0;
}

Status Pool::RecvDaxWriteLocked(OpenDataset& od, uint64_t obj, uint64_t off, ByteSpan data) {
  // ZplWriter::DaxWritableExtent and DaxWrite over the received objset: a block the stream
  // writes goes to an extent of the dax class, the file's own (copied from one its origin
  // snapshot shares) or a new one.
  if (!od.dax) od.dax = std::make_shared<DaxStoreImpl>(this, &od);
  DaxStore& store = *od.dax;
  const uint64_t txg = txg_.open();
  for (uint64_t pos = 0; pos < data.size();) {
    const uint64_t at = off + pos, blkid = at / kDaxExtentSize, in = at % kDaxExtentSize;
    const uint64_t n = std::min<uint64_t>(kDaxExtentSize - in, data.size() - pos);
    UZFS_ASSIGN(BlkPtr bp, od.os->BlockPointer(obj, blkid));
    if (bp.is_hole() || bp.birth <= store.SharedThrough()) {
      UZFS_ASSIGN(BlkPtr fresh, store.NewExtent(txg));
      if (!bp.is_hole() && n < kDaxExtentSize) {
        Bytes copy(kDaxExtentSize);
        UZFS_TRY(store.Read(bp, 0, copy));
        UZFS_TRY(store.Write(fresh, 0, copy));
      }
      UZFS_TRY(od.os->PutBlock(obj, blkid, fresh, store.Sink(), txg));
      bp = fresh;
    }
    UZFS_TRY(store.Write(bp, in, data.subspan(pos, n)));
    pos += n;
  }
  return Status::Ok();
}

Status Pool::RecvDaxTruncateLocked(OpenDataset& od, uint64_t obj, uint64_t off) {
  // ZplWriter::DaxTruncate's order: the tail of the extent that stays zeroed, the rest freed.
  UZFS_ASSIGN(uint64_t len, od.os->Length(obj));
  const uint64_t first_free = (off + kDaxExtentSize - 1) / kDaxExtentSize;
  const uint64_t tail_end = std::min(len, first_free * kDaxExtentSize);
  if (off < tail_end) {
    UZFS_ASSIGN(BlkPtr bp, od.os->BlockPointer(obj, off / kDaxExtentSize));
    if (!bp.is_hole()) UZFS_TRY(RecvDaxWriteLocked(od, obj, off, Bytes(tail_end - off, 0)));
  }
  return od.os->FreeBlocksFrom(obj, first_free);
}

void Pool::AttachDaxLocked(OpenDataset& od, bool dax_on) {
  if (!od.dax) od.dax = std::make_shared<DaxStoreImpl>(this, &od);
  od.zpl->set_dax(od.dax.get(), dax_on);
}

bool Pool::HasDaxClassLocked() {
  std::lock_guard<std::mutex> l(alloc_mu_);
  for (auto& g : groups_)
    if (g && g->alloc_class() == AllocClass::kDax) return true;
  return false;
}

Status Pool::CheckDaxPropLocked(const std::string& prop, const std::string& value) {
  if (prop != "dax" || value != "on" || HasDaxClassLocked()) return Status::Ok();
  return Status::Error(ENOTSUP, "pool has no dax devices");
}

}  // namespace uzfs

namespace uzfs {

Status Pool::CheckNoDaxMapsLocked(uint64_t ds_obj) {
  auto it = dax_maps_.lower_bound({ds_obj, 0});
  if (it != dax_maps_.end() && it->first.first == ds_obj)
    return Status::Error(EBUSY, "dataset is busy: a DAX file of it is mapped");
  return Status::Ok();
}

Result<bool> Pool::IsDaxFile(const std::string& fs, uint64_t obj) {
  std::lock_guard<std::mutex> l(mu_);
  uint64_t dir = 0, ds_obj = 0;
  UZFS_TRY(ResolveFs(fs, &dir, &ds_obj));
  UZFS_ASSIGN(OpenDataset * od, OpenDatasetLocked(dir, ds_obj));
  UZFS_ASSIGN(ZnodePhys z, od->zpl->GetAttr(obj));
  return ZplWriter::IsDaxFile(z);
}

Result<uint64_t> Pool::HeadDirLocked(uint64_t ds_obj) {
  const Status gone = Status::Error(ENOENT, "the mapped file's dataset does not exist");
  auto ds = LoadDataset(*mos_, ds_obj);
  if (!ds.ok() || !ds->dir_obj) return gone;
  auto dd = LoadDir(*mos_, ds->dir_obj);
  if (!dd.ok() || dd->head_dataset_obj != ds_obj) return gone;
  return ds->dir_obj;
}

Result<uint64_t> Pool::HeadDatasetObj(const std::string& fs) {
  std::lock_guard<std::mutex> l(mu_);
  uint64_t dir = 0, ds_obj = 0;
  UZFS_TRY(ResolveFs(fs, &dir, &ds_obj));
  return ds_obj;
}

Result<uint64_t> Pool::DaxFileGen(uint64_t ds_obj, uint64_t obj) {
  std::lock_guard<std::mutex> l(mu_);
  UZFS_ASSIGN(uint64_t dir, HeadDirLocked(ds_obj));
  UZFS_ASSIGN(OpenDataset * od, OpenDatasetLocked(dir, ds_obj));
  UZFS_ASSIGN(ZnodePhys z, od->zpl->GetAttr(obj));
  if (!ZplWriter::IsDaxFile(z)) return Status::Error(EINVAL, "not a DAX file");
  return z.gen;
}

Result<Pool::DaxMap> Pool::MapDaxFile(const std::string& fs, uint64_t obj, uint64_t off, uint64_t len) {
  uint64_t dir = 0, ds_obj = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    UZFS_TRY(ResolveFs(fs, &dir, &ds_obj));
  }
  return MapDaxFile(ds_obj, obj, off, len);
}

Result<Pool::DaxMap> Pool::MapDaxFile(uint64_t ds_obj, uint64_t obj, uint64_t off, uint64_t len) {
  DaxMap m;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (readonly_) return Status::Error(EROFS, "pool is read-only");
    if (!failed_.ok()) return failed_;
    UZFS_ASSIGN(uint64_t dir, HeadDirLocked(ds_obj));
    UZFS_ASSIGN(m, MapDaxFileLocked(dir, ds_obj, obj, off, len));
  }
  // The extents' placement reaches disk before the client stores into them: a store
  // persisted before a crash is found again at import.
  Status s = Sync();
  if (!s.ok()) {
    UnmapDaxFile(m.ds_obj, obj);
    return s;
  }
  return m;
}

Result<Pool::DaxMap> Pool::MapDaxFileLocked(uint64_t dir, uint64_t ds_obj, uint64_t obj, uint64_t off,
                                            uint64_t len) {
  DaxMap m;
  UZFS_ASSIGN(OpenDataset * od, OpenDatasetLocked(dir, ds_obj));
  UZFS_ASSIGN(ZnodePhys z, od->zpl->GetAttr(obj));
  if (!ZplWriter::IsDaxFile(z)) return Status::Error(EINVAL, "not a DAX file");
  const uint64_t limit = (z.size + kDaxExtentSize - 1) / kDaxExtentSize * kDaxExtentSize;
  const uint64_t first = off / kDaxExtentSize;
  const uint64_t end = std::min(limit, (off + len + kDaxExtentSize - 1) / kDaxExtentSize * kDaxExtentSize);
  const uint64_t count = end > first * kDaxExtentSize ? end / kDaxExtentSize - first : 0;
  od->zpl->set_txg(txg_.open());
  UZFS_ASSIGN(auto bps, od->zpl->DaxPlace(obj, first, count));
  std::map<uint64_t, uint32_t> dev_of;  // top-level vdev id → index
  for (uint64_t i = 0; i < bps.size(); i++) {
    const uint64_t vdev = bps[i].dva[0].vdev();
    Vdev* top = Top(vdev);
    if (!top || !top->is_dax()) return Status::Error(ECORRUPT, "dax extent not on a dax vdev");
    auto [it, fresh] = dev_of.emplace(vdev, static_cast<uint32_t>(m.devices.size()));
    if (fresh) {
      m.devices.push_back(top->open_path);
      struct stat st;
      m.emulated.push_back(::stat(top->open_path.c_str(), &st) == 0 && S_ISREG(st.st_mode));
    }
    m.extents.push_back({(first + i) * kDaxExtentSize, it->second,
                         kVdevLabelStartSize + bps[i].dva[0].offset(), vdev, bps[i].dva[0].offset()});
  }
  m.ds_obj = ds_obj;
  dax_maps_[{ds_obj, obj}]++;
  return m;
}

Status Pool::CheckNoDaxMaps(const std::string& fs) {
  std::lock_guard<std::mutex> l(mu_);
  if (fs.empty()) {
    if (!dax_maps_.empty()) return Status::Error(EBUSY, "pool is busy: a DAX file is mapped");
    return Status::Ok();
  }
  uint64_t dir = 0, ds_obj = 0;
  if (!ResolveFs(fs, &dir, &ds_obj).ok()) return Status::Ok();  // the caller meets it
  return CheckNoDaxMapsLocked(ds_obj);
}

void Pool::SetDaxPaused(uint64_t ds_obj, bool paused) {
  std::lock_guard<std::mutex> l(mu_);
  if (paused) dax_paused_.insert(ds_obj);
  else dax_paused_.erase(ds_obj);
}

void Pool::FenceDaxExtents(std::vector<std::pair<uint64_t, uint64_t>> extents, std::function<bool()> held) {
  if (extents.empty()) return;
  std::lock_guard<std::mutex> l(dax_fence_mu_);
  dax_fences_.push_back({{extents.begin(), extents.end()}, std::move(held)});
}

bool Pool::DaxFencedLocked(const Dva& d) {
  std::erase_if(dax_fences_, [](const DaxFence& f) { return !f.held(); });
  for (const DaxFence& f : dax_fences_)
    if (f.extents.count({d.vdev(), d.offset()})) return true;
  return false;
}

size_t Pool::DaxFencedExtents() {
  std::lock_guard<std::mutex> l(dax_fence_mu_);
  std::erase_if(dax_fences_, [](const DaxFence& f) { return !f.held(); });
  std::set<std::pair<uint64_t, uint64_t>> all;
  for (const DaxFence& f : dax_fences_) all.insert(f.extents.begin(), f.extents.end());
  return all.size();
}

Status Pool::MoveDaxExtents(uint64_t ds_obj, uint64_t obj,
                            const std::set<std::pair<uint64_t, uint64_t>>& extents) {
  if (extents.empty()) return Status::Ok();
  {
    std::lock_guard<std::mutex> l(mu_);
    if (readonly_) return Status::Error(EROFS, "pool is read-only");
    if (!failed_.ok()) return failed_;
    UZFS_ASSIGN(uint64_t dir, HeadDirLocked(ds_obj));
    UZFS_ASSIGN(OpenDataset * od, OpenDatasetLocked(dir, ds_obj));
    UZFS_ASSIGN(ZnodePhys z, od->zpl->GetAttr(obj));
    if (!ZplWriter::IsDaxFile(z)) return Status::Error(EINVAL, "not a DAX file");
    if (!od->dax) od->dax = std::make_shared<DaxStoreImpl>(this, od);
    DaxStore& store = *od->dax;
    const uint64_t txg = txg_.open();
    Bytes copy(kDaxExtentSize);
    for (uint64_t blkid = 0; blkid * kDaxExtentSize < z.size; blkid++) {
      UZFS_ASSIGN(BlkPtr bp, od->os->BlockPointer(obj, blkid));
      if (bp.is_hole() || !extents.count({bp.dva[0].vdev(), bp.dva[0].offset()})) continue;
      // As DaxWritableExtent's copy, whatever the extent's birth: PutBlock's kill frees the
      // old one (or leaves it to a snapshot that already held it).
      UZFS_ASSIGN(BlkPtr fresh, store.NewExtent(txg));
      UZFS_TRY(store.Read(bp, 0, copy));
      UZFS_TRY(store.Write(fresh, 0, copy));
      UZFS_TRY(od->os->PutBlock(obj, blkid, fresh, store.Sink(), txg));
    }
  }
  return Sync();
}

void Pool::UnmapDaxFile(uint64_t ds_obj, uint64_t obj) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = dax_maps_.find({ds_obj, obj});
  if (it != dax_maps_.end() && --it->second == 0) dax_maps_.erase(it);
}

}  // namespace uzfs
