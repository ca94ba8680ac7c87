// The data path of DAX files (zpl_dax.h): writes and reads go to the extents on the dax
// class through the pool's DaxStore, in place; the DMU only keeps their block pointers.
#include <algorithm>

#include "libcore/zpl/zpl_write.h"

namespace uzfs {

Status ZplWriter::DaxCheck() const {
  if (!dax_) return Status::Error(ENXIO, "the file's data lives on a dax device the pool lacks");
  return Status::Ok();
}

Result<BlkPtr> ZplWriter::DaxWritableExtent(uint64_t obj, uint64_t blkid) {
  UZFS_ASSIGN(BlkPtr bp, os_->BlockPointer(obj, blkid));
  if (!bp.is_hole() && bp.birth > dax_->SharedThrough()) return bp;  // ours alone: in place
  UZFS_ASSIGN(BlkPtr fresh, dax_->NewExtent(txg_));
  if (!bp.is_hole()) {
    // A snapshot holds the extent: the head goes on with a copy (the snapshot keeps the old
    // one, which PutBlock's kill hands to the deadlist).
    Bytes copy(kDaxExtentSize);
    UZFS_TRY(dax_->Read(bp, 0, copy));
    UZFS_TRY(dax_->Write(fresh, 0, copy));
  }
  UZFS_TRY(os_->PutBlock(obj, blkid, fresh, dax_->Sink(), txg_));
  return fresh;
}

Status ZplWriter::DaxWrite(uint64_t obj, uint64_t off, ByteSpan data) {
  UZFS_TRY(DaxCheck());
  for (uint64_t pos = 0; pos < data.size();) {
    const uint64_t at = off + pos, blkid = at / kDaxExtentSize, in = at % kDaxExtentSize;
    const uint64_t n = std::min<uint64_t>(kDaxExtentSize - in, data.size() - pos);
    UZFS_ASSIGN(BlkPtr bp, DaxWritableExtent(obj, blkid));
    UZFS_TRY(dax_->Write(bp, in, data.subspan(pos, n)));
    pos += n;
  }
  // The data is durable; where it lives is not until the txg syncs.
  if (log_) log_->Unlogged(txg_);
  return Status::Ok();
}

Status ZplWriter::DaxRead(uint64_t obj, uint64_t off, MutByteSpan out) {
  UZFS_TRY(DaxCheck());
  for (uint64_t pos = 0; pos < out.size();) {
    const uint64_t at = off + pos, blkid = at / kDaxExtentSize, in = at % kDaxExtentSize;
    const uint64_t n = std::min<uint64_t>(kDaxExtentSize - in, out.size() - pos);
    UZFS_ASSIGN(BlkPtr bp, os_->BlockPointer(obj, blkid));
    if (bp.is_hole())
      std::fill_n(out.begin() + static_cast<long>(pos), n, 0);
    else
      UZFS_TRY(dax_->Read(bp, in, out.subspan(pos, n)));
    pos += n;
  }
  return Status::Ok();
}

Status ZplWriter::DaxZero(uint64_t obj, uint64_t off, uint64_t len) {
  UZFS_TRY(DaxCheck());
  static const Bytes kZeros(kDaxExtentSize, 0);
  for (uint64_t pos = 0; pos < len;) {
    const uint64_t at = off + pos, blkid = at / kDaxExtentSize, in = at % kDaxExtentSize;
    const uint64_t n = std::min<uint64_t>(kDaxExtentSize - in, len - pos);
    UZFS_ASSIGN(BlkPtr bp, os_->BlockPointer(obj, blkid));
    if (!bp.is_hole()) {
      UZFS_ASSIGN(bp, DaxWritableExtent(obj, blkid));
      UZFS_TRY(dax_->Write(bp, in, ByteSpan(kZeros.data(), n)));
    }
    pos += n;
  }
  if (log_) log_->Unlogged(txg_);
  return Status::Ok();
}

Result<std::vector<BlkPtr>> ZplWriter::DaxPlace(uint64_t obj, uint64_t first, uint64_t count) {
  UZFS_TRY(DaxCheck());
  UZFS_ASSIGN(ZnodePhys z, GetAttr(obj));
  if (!IsDaxFile(z)) return Status::Error(EINVAL, "not a DAX file");
  std::vector<BlkPtr> out;
  for (uint64_t b = first; b < first + count; b++) {
    UZFS_ASSIGN(BlkPtr bp, DaxWritableExtent(obj, b));
    out.push_back(bp);
  }
  if (log_ && count) log_->Unlogged(txg_);
  return out;
}

Status ZplWriter::DaxTruncate(uint64_t obj, uint64_t old_size, uint64_t size) {
  UZFS_TRY(DaxCheck());
  // Mapped: the clients lose the pages past the new end first (their accesses there raise
  // SIGBUS, as past the end of any file), then the extents go.
  if (dax_->Mapped(obj)) UZFS_TRY(dax_->RevokePast(obj, size));
  const uint64_t first_free = (size + kDaxExtentSize - 1) / kDaxExtentSize;
  // The tail of the extent that stays: a later extension must read zeros there.
  const uint64_t tail_end = std::min(old_size, first_free * kDaxExtentSize);
  if (size < tail_end) UZFS_TRY(DaxZero(obj, size, tail_end - size));
  UZFS_TRY(os_->FreeBlocksFrom(obj, first_free));
  if (log_) log_->Unlogged(txg_);
  return Status::Ok();
}

}  // namespace uzfs
