// The pool side of DAX files (libcore/zpl/zpl_dax.h): extents of the dax class, written and
// read in place on their device, for the ZPL of each open dataset.
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
      UZFS_TRY(MetaslabAlloc(p_->groups_, p_->dax_rotor_, [this](uint64_t id) { return p_->Top(id); },
                             kDaxExtentSize, 1, &bp, AllocClass::kDax));
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
