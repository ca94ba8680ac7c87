// Test support: an in-memory pool for ObjsetWriter tests (zap, zvol). Blocks live in a
// std::map keyed by a fake DVA offset; a rewrite of a block born in the same txg keeps its
// DVAs (as BlockWriter does); killed blocks are erased, so a read of one fails (EIO).
#pragma once

#include <algorithm>
#include <map>

#include "libcore/base/compress.h"
#include "libcore/dmu/dmu_write.h"

namespace uzfs::test {

class FakePool : public ObjsetSink, public BlockReader {
 public:
  Result<BlkPtr> WriteBlock(ByteSpan data, const WriteProps& p, uint64_t txg,
                            const BlkPtr* old) override {
    PreparedBlock b = PrepareBlock(data, p);
    BlkPtr bp;
    FillBlkPtr(&bp, b, p, txg);
    if (b.hole()) return bp;
    int copies = std::clamp(p.copies, 1, kSpaDvas);
    if (old && old->birth == txg && !old->is_hole() && old->psize() == b.psize &&
        old->ndvas() == copies) {
      for (int d = 0; d < kSpaDvas; d++) bp.dva[d] = old->dva[d];
    } else {
      for (int d = 0; d < copies; d++) {
        bp.dva[d].Set(0, next_, b.psize);
        next_ += P2RoundUp(b.psize, 512);
      }
    }
    for (int d = 0; d < copies; d++) blocks_[bp.dva[d].offset()] = Bytes(b.phys.begin(), b.phys.end());
    return bp;
  }
  void Born(const BlkPtr&, uint64_t) override {}
  void Kill(const BlkPtr& bp, uint64_t) override {
    for (const Dva& d : bp.dva)
      if (!d.empty()) blocks_.erase(d.offset());
  }
  uint64_t Dsize(const BlkPtr& bp) override {
    uint64_t s = 0;
    for (const Dva& d : bp.dva) s += d.asize();
    return s;
  }
  Result<Bytes> Read(const BlkPtr& bp, ReadReport* = nullptr) override {
    if (bp.is_hole()) return Bytes(bp.lsize(), 0);
    auto it = blocks_.find(bp.dva[0].offset());
    if (it == blocks_.end()) return Status::Error(EIO, "read of a freed block " + bp.ToString());
    if (!VerifyBlockChecksum(bp, it->second)) return Status::Error(ECKSUM, bp.ToString());
    if (bp.compress() == static_cast<uint8_t>(CompressId::kOff)) return it->second;
    Bytes out(bp.lsize());
    UZFS_TRY(Decompress(bp.compress(), it->second, out));
    return out;
  }
  // Blocks held (killed ones are gone).
  size_t live() const { return blocks_.size(); }

 private:
  std::map<uint64_t, Bytes> blocks_;
  uint64_t next_ = 1 << 20;
};

}  // namespace uzfs::test
