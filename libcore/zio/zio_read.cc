#include "libcore/zio/zio_read.h"

#include <algorithm>
#include <optional>

#include "libcore/base/checksum.h"
#include "libcore/base/compress.h"

namespace uzfs {

namespace {

constexpr bool kHostLittle = std::endian::native == std::endian::little;
constexpr int kMaxGangDepth = 8;  // gang trees are at most a few levels deep in practice

// ZIL blocks at v23 (zilog2): zil_chain_t {pad, next blkptr, nused, eck} at the start of the
// block; fletcher4 over nused rounded up to ZIL_MIN_BLKSZ (4K), verifier = bp->blk_cksum.
bool VerifyZilog2(const BlkPtr& bp, ByteSpan data) {
  constexpr size_t kNusedOff = 8 + kBlkPtrSize, kEckOff = kNusedOff + 8, kEckSize = 40;
  constexpr uint64_t kZilMinBlkSz = 4096;
  if (data.size() < kEckOff + kEckSize) return false;
  uint64_t magic = LoadRaw<uint64_t>(data.data() + kEckOff);
  bool swap;
  if (magic == kZecMagic) swap = false;
  else if (magic == Bswap64(kZecMagic)) swap = true;
  else return false;
  uint64_t nused = LoadRaw<uint64_t>(data.data() + kNusedOff);
  if (swap) nused = Bswap64(nused);
  if (nused > data.size()) return false;
  uint64_t size = std::min<uint64_t>(P2RoundUp(nused, kZilMinBlkSz), data.size());
  if (size < kEckOff + kEckSize) return false;
  Bytes copy(data.begin(), data.begin() + static_cast<long>(size));
  ZioCksum expected;
  for (int i = 0; i < 4; i++) {
    uint8_t* w = copy.data() + kEckOff + 8 + 8 * i;
    expected.word[i] = LoadRaw<uint64_t>(w);
    StoreRaw<uint64_t>(w, swap ? Bswap64(bp.cksum.word[i]) : bp.cksum.word[i]);
  }
  ZioCksum actual;
  if (!ComputeChecksum(static_cast<uint8_t>(ChecksumId::kFletcher4), copy, swap, &actual))
    return false;
  if (swap)
    for (auto& w : expected.word) w = Bswap64(w);
  return actual == expected;
}

class Reader {
 public:
  Reader(const TopVdevLookup& v, ReadReport* r, bool scrub) : vdevs_(v), report_(r), scrub_(scrub) {}

  Result<Bytes> Read(const BlkPtr& bp, int depth) {
    if (bp.is_hole()) return Bytes(bp.lsize(), 0);
    if (depth > kMaxGangDepth) return Status::Error(ECORRUPT, "gang tree too deep");
    uint64_t psize = bp.psize(), lsize = bp.lsize();
    if (psize > kSpaMaxLargeBlockSize || lsize > kSpaMaxLargeBlockSize)
      return Status::Error(ECORRUPT, "block size out of range");
    Status last = Status::Error(ECORRUPT, "block pointer without DVAs");
    bool any_cksum = false;
    std::optional<Bytes> good;
    Bytes good_phys;
    std::vector<std::pair<int, int>> bad;  // DVAs read that gave no verified copy, and why
    // The verified physical bytes are kept for RepairDittos only where another copy exists
    // to repair (a copy of every block read would cost a memcpy each).
    int copies = 0;
    for (const Dva& dva : bp.dva) copies += dva.asize() != 0;
    for (int d = 0; d < kSpaDvas; d++) {
      const Dva& dva = bp.dva[d];
      if (dva.asize() == 0) continue;
      size_t before = report_ ? report_->errors.size() : 0;
      Bytes phys;
      auto r = ReadDva(bp, d, depth, copies > 1 ? &phys : nullptr);
      if (r.ok()) {
        if (good) continue;
        good = std::move(r).value();
        good_phys = std::move(phys);
        if (!scrub_) break;
        continue;
      }
      any_cksum |= r.status().code() == ECKSUM;
      if (r.status().code() == ECKSUM || r.status().code() == EIO) bad.push_back({d, r.status().code()});
      last = r.status();
      if (report_ && report_->errors.size() == before)
        Record(d, dva, "", r.status().code(), r.status().message());
    }
    // A copy on a single-device top-level vdev that read but did not verify is that
    // device's checksum error, whether another copy verified or none did (the bp's DVAs are
    // a mirror's children in zio_vdev_io_start; a mirror or raidz below counted its sides).
    // Not for intent log blocks with no good copy: those reads are speculative (the
    // chain's unwritten tail, ZIO_FLAG_SPECULATIVE), never counted.
    const bool speculative = !good && (bp.checksum() == static_cast<uint8_t>(ChecksumId::kZilog) ||
                                       bp.checksum() == static_cast<uint8_t>(ChecksumId::kZilog2));
    for (auto [d, code] : bad) {
      const Dva& dva = bp.dva[d];
      Vdev* top = dva.gang() ? nullptr : vdevs_(dva.vdev());
      if (top && code == ECKSUM && top->is_leaf() && !speculative)
        top->NoteError(VdevErrKind::kChecksum, dva.offset(), dva.asize());
    }
    if (good) {
      if (report_ && !report_->errors.empty()) report_->recovered = true;
      RepairDittos(bp, bad, good_phys);
      return std::move(*good);
    }
    if (report_) report_->recovered = false;
    if (any_cksum && last.code() != ECKSUM)
      return Status::Error(ECKSUM, "no copy of the block verifies (last: " + last.ToString() + ")");
    return last;
  }

 private:
  void Record(int d, const Dva& dva, std::string device, int code, std::string what) {
    if (!report_) return;
    report_->errors.push_back({d, dva.vdev(), dva.offset(), std::move(device), code, std::move(what)});
  }
  void RecordVdevErrors(int d, const Dva& dva, const std::vector<VdevIoError>& errs) {
    for (const auto& e : errs) Record(d, dva, e.device, e.code, e.what);
  }

  // Ditto copies as a mirror of DVAs (vdev_mirror_map_init for a bp's DVAs, then
  // vdev_mirror_io_done's repair): each copy that was read and failed while another verified
  // gets the verified physical bytes written back in place, when its top-level vdev heals
  // (a pool imported writable). Gang copies are left alone (their headers differ per DVA).
  void RepairDittos(const BlkPtr& bp, const std::vector<std::pair<int, int>>& bad, const Bytes& phys) {
    if (phys.empty()) return;
    for (auto [d, code] : bad) {
      const Dva& dva = bp.dva[d];
      Vdev* top = dva.gang() ? nullptr : vdevs_(dva.vdev());
      if (!top || !top->self_heal || !top->available()) continue;
      const uint64_t unit = uint64_t{1} << (top->ashift ? top->ashift : 9);
      Bytes padded(P2RoundUp(phys.size(), unit), 0);
      std::copy(phys.begin(), phys.end(), padded.begin());
      if (top->Write(dva.offset(), padded, nullptr).ok()) top->CountRepair(padded.size());
    }
  }

  Result<Bytes> ReadDva(const BlkPtr& bp, int d, int depth, Bytes* phys_out = nullptr) {
    const Dva& dva = bp.dva[d];
    Vdev* top = vdevs_(dva.vdev());
    if (!top) return Status::Error(ENXIO, "DVA[" + std::to_string(d) + "] names vdev " +
                                              std::to_string(dva.vdev()) + ", which does not exist");
    Bytes phys;
    std::vector<VdevIoError> errs;
    if (dva.gang()) {
      UZFS_ASSIGN(phys, ReadGang(bp, d, top, depth));
    } else {
      phys.assign(bp.psize(), 0);
      BlockVerifier verify = [&bp](ByteSpan data) { return VerifyBlockChecksum(bp, data); };
      Status s = top->Read(dva.offset(), phys, &verify, &errs, scrub_);
      RecordVdevErrors(d, dva, errs);
      if (!s.ok()) return s;
      if (phys_out) *phys_out = phys;
    }
    return Decompress(bp, phys);
  }

  Result<Bytes> ReadGang(const BlkPtr& bp, int d, Vdev* top, int depth) {
    const Dva& dva = bp.dva[d];
    Bytes hdr(kSpaGangBlockSize);
    ZioCksum verifier;
    verifier.word[0] = dva.vdev();
    verifier.word[1] = dva.offset();
    verifier.word[2] = bp.physical_birth();
    BlockVerifier verify = [&verifier](ByteSpan data) {
      return VerifyEmbeddedChecksum(static_cast<uint8_t>(ChecksumId::kGangHeader), data, verifier);
    };
    std::vector<VdevIoError> errs;
    Status s = top->Read(dva.offset(), hdr, &verify, &errs, scrub_);
    RecordVdevErrors(d, dva, errs);
    if (!s.ok()) return s.Context("gang header");
    // The header is in its writer's order; the eck magic at the end says which.
    bool little = LoadLE64(hdr.data() + kSpaGangBlockSize - 40) == kZecMagic;
    Bytes out;
    out.reserve(bp.psize());
    for (int i = 0; i < 3; i++) {
      BlkPtr child = BlkPtr::Decode(hdr.data() + i * kBlkPtrSize, little);
      if (child.is_hole()) continue;
      UZFS_ASSIGN(Bytes part, Read(child, depth + 1));
      out.insert(out.end(), part.begin(), part.end());
      if (out.size() > bp.psize()) break;
    }
    if (out.size() < bp.psize())
      return Status::Error(ECORRUPT, "gang members hold less than psize");
    out.resize(bp.psize());
    return out;
  }

  Result<Bytes> Decompress(const BlkPtr& bp, Bytes& phys) {
    uint8_t c = bp.compress();
    uint64_t lsize = bp.lsize();
    if (c == static_cast<uint8_t>(CompressId::kOff) || c == static_cast<uint8_t>(CompressId::kInherit) ||
        c == static_cast<uint8_t>(CompressId::kOn)) {
      // Uncompressed blocks have lsize == psize; be lenient about the other cases.
      phys.resize(lsize, 0);
      return std::move(phys);
    }
    if (c == static_cast<uint8_t>(CompressId::kEmpty)) return Bytes(lsize, 0);
    Bytes out(lsize);
    Status s = uzfs::Decompress(c, phys, out);
    if (!s.ok()) return s.Context(std::string("decompressing ") + BpCompressName(c));
    return out;
  }

  const TopVdevLookup& vdevs_;
  ReadReport* report_;
  bool scrub_;
};

}  // namespace

bool VerifyBlockChecksum(const BlkPtr& bp, ByteSpan data) {
  uint8_t id = bp.checksum();
  if (id == static_cast<uint8_t>(ChecksumId::kOff)) return true;
  if (id == static_cast<uint8_t>(ChecksumId::kZilog2)) return VerifyZilog2(bp, data);
  if (id == static_cast<uint8_t>(ChecksumId::kZilog) || id == static_cast<uint8_t>(ChecksumId::kLabel) ||
      id == static_cast<uint8_t>(ChecksumId::kGangHeader))
    return VerifyEmbeddedChecksum(id, data, bp.cksum);
  ZioCksum actual;
  if (!ComputeChecksum(id, data, bp.little_endian() != kHostLittle, &actual)) return false;
  return actual == bp.cksum;
}

Result<Bytes> ReadBlock(const BlkPtr& bp, const TopVdevLookup& vdevs, ReadReport* report,
                        bool scrub) {
  return Reader(vdevs, report, scrub).Read(bp, 0);
}

Result<Bytes> ReadRaw(const TopVdevLookup& vdevs, uint64_t vdev, uint64_t offset, uint64_t size,
                      ReadReport* report) {
  Vdev* top = vdevs(vdev);
  if (!top) return Status::Error(ENXIO, "no vdev " + std::to_string(vdev));
  if (size == 0 || size > (16ULL << 20)) return Status::Error(EINVAL, "raw read size");
  Bytes out(size);
  std::vector<VdevIoError> errs;
  Status s = top->Read(offset, out, nullptr, &errs);
  if (report)
    for (const auto& e : errs)
      report->errors.push_back({-1, vdev, offset, e.device, e.code, e.what});
  if (!s.ok()) return s;
  return out;
}

}  // namespace uzfs
