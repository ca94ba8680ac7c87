#include "libcore/zio/zio_write.h"

#include <algorithm>

#include "libcore/base/checksum.h"
#include "libcore/base/compress.h"

namespace uzfs {

namespace {

bool AllZero(ByteSpan d) {
  return std::all_of(d.begin(), d.end(), [](uint8_t b) { return b == 0; });
}

}  // namespace

PreparedBlock PrepareBlock(ByteSpan data, const WriteProps& p) {
  PreparedBlock b;
  b.lsize = data.size();
  b.compress = static_cast<uint8_t>(CompressId::kOff);
  bool compressing = p.compress != static_cast<uint8_t>(CompressId::kOff) &&
                     p.compress != static_cast<uint8_t>(CompressId::kInherit);
  if (compressing && AllZero(data)) {
    b.psize = 0;  // zio_compress_data: "No compression algorithms can read from a buffer of
    return b;     // all zeros" — the block becomes a hole.
  }
  if (compressing) {
    // zio_compress_data: the result must save at least 1/8 of the block, measured in whole
    // sectors: d_len = P2ALIGN(s_len - s_len/8, SPA_MINBLOCKSIZE), accepted when c_len <= d_len.
    size_t limit = P2Align(data.size() - (data.size() >> 3), kSpaMinBlockSize);
    Bytes out(limit);
    size_t c = limit ? Compress(p.compress, data, out) : data.size();
    if (c > 0 && c <= limit) {
      uint64_t psize = P2RoundUp(c, kSpaMinBlockSize);
      if (psize < data.size()) {
        out.resize(psize, 0);
        std::fill(out.begin() + static_cast<long>(c), out.end(), 0);
        b.own = std::move(out);
        b.phys = b.own;
        b.psize = psize;
        b.compress = p.compress;
      }
    }
  }
  if (b.psize == 0) {
    b.phys = data;  // zio_write without a transform: the caller's buffer is the image
    b.psize = data.size();
  }
  ComputeChecksum(p.checksum, b.phys, false, &b.cksum);
  return b;
}

void FillBlkPtr(BlkPtr* bp, const PreparedBlock& b, const WriteProps& p, uint64_t txg) {
  for (auto& d : bp->dva) d = Dva{};
  bp->prop = 0;
  bp->set_lsize(b.lsize);
  bp->set_psize(b.hole() ? b.lsize : b.psize);
  bp->set_compress(b.compress);
  bp->set_checksum(p.checksum);
  bp->set_type(p.type);
  bp->set_level(p.level);
  bp->set_little_endian(true);
  bp->pad[0] = bp->pad[1] = 0;
  bp->phys_birth = 0;
  bp->birth = b.hole() ? 0 : txg;
  bp->fill = 0;
  bp->cksum = b.hole() ? ZioCksum{} : b.cksum;
}

Status WriteDvas(const BlkPtr& bp, const PreparedBlock& b, const TopVdevLookup& vdevs,
                 std::vector<VdevIoError>* errs) {
  for (int d = 0; d < kSpaDvas; d++) {
    const Dva& dva = bp.dva[d];
    if (dva.empty()) continue;
    Vdev* top = vdevs(dva.vdev());
    if (!top) return Status::Error(ENXIO, "write to missing top-level vdev " +
                                              std::to_string(dva.vdev()));
    uint64_t unit = 1ULL << top->ashift;
    Bytes padded;
    ByteSpan out = b.phys;
    if (b.phys.size() % unit) {
      padded.assign(P2RoundUp(b.phys.size(), unit), 0);
      std::copy(b.phys.begin(), b.phys.end(), padded.begin());
      out = padded;
    }
    UZFS_TRY(top->Write(dva.offset(), out, errs));
  }
  return Status::Ok();
}

}  // namespace uzfs
