#include "libcore/zil/zil_write.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <initializer_list>
#include <string_view>

#include "libcore/base/checksum.h"

namespace uzfs {

namespace {

constexpr bool kHostBig = std::endian::native != std::endian::little;

// A record under construction (zil_itx_create): lr_t with reclen filled in by Done().
class Rec {
 public:
  Rec(uint64_t txtype, uint64_t txg) { Words({txtype, 0, txg, 0}); }
  Rec& Words(std::initializer_list<uint64_t> ws) {
    for (uint64_t w : ws) {
      const size_t o = b_.size();
      b_.resize(o + 8);
      StoreLE64(b_.data() + o, w);
    }
    return *this;
  }
  Rec& Str(std::string_view s) {  // bcopy(name, ..., strlen(name) + 1)
    b_.insert(b_.end(), s.begin(), s.end());
    b_.push_back(0);
    return *this;
  }
  Rec& Zeros(size_t n) {
    b_.resize(b_.size() + n, 0);
    return *this;
  }
  // P2ROUNDUP_TYPED(lrsize, sizeof (uint64_t)); lrc_reclen = the rounded size.
  Bytes Done() {
    b_.resize(P2RoundUp(b_.size(), 8), 0);
    StoreLE64(b_.data() + 8, b_.size());
    return std::move(b_);
  }

 private:
  Bytes b_;
};

}  // namespace

Bytes EncodeLrCreate(uint64_t txtype, uint64_t txg, const LrCreate& c) {
  Rec r(txtype, txg);
  r.Words({c.doid, c.foid, c.mode, c.uid, c.gid, c.gen, c.crtime[0], c.crtime[1], c.rdev});
  r.Str(c.name);
  if (static_cast<uint32_t>(txtype) == kTxSymlink) r.Str(c.link);
  return r.Done();
}

Bytes EncodeLrRemove(uint64_t txtype, uint64_t txg, const LrRemove& rm) {
  return Rec(txtype, txg).Words({rm.doid}).Str(rm.name).Done();
}

Bytes EncodeLrLink(uint64_t txg, const LrLink& l) {
  return Rec(kTxLink, txg).Words({l.doid, l.link_obj}).Str(l.name).Done();
}

Bytes EncodeLrRename(uint64_t txg, const LrRename& rn) {
  return Rec(kTxRename, txg).Words({rn.sdoid, rn.tdoid}).Str(rn.src).Str(rn.tgt).Done();
}

Bytes EncodeLrTruncate(uint64_t txg, const LrTruncate& t) {
  return Rec(kTxTruncate, txg).Words({t.foid, t.offset, t.length}).Done();
}

Bytes EncodeLrSetattr(uint64_t txg, const LrSetattr& s) {
  return Rec(kTxSetattr, txg)
      .Words({s.foid, s.mask, s.mode, s.uid, s.gid, s.size, s.atime[0], s.atime[1], s.mtime[0],
              s.mtime[1]})
      .Done();
}

Bytes EncodeLrWrite(uint64_t txg, const LrWrite& w, ByteSpan data) {
  // lr_blkoff 0, BP_ZERO(&lr->lr_blkptr): a copied write carries no block pointer.
  Bytes b = Rec(kTxWrite, txg).Words({w.foid, w.offset, w.length, 0}).Zeros(kBlkPtrSize).Done();
  if (!data.empty()) AppendWriteData(&b, data);
  return b;
}

void SetLrSeq(uint8_t* rec, uint64_t seq) { StoreLE64(rec + 24, seq); }

void AppendWriteData(Bytes* lr, ByteSpan data) {
  const size_t dlen = P2RoundUp(data.size(), 8);
  // resize and memcpy: Bytes' allocator makes insert copy byte by byte.
  const size_t at = lr->size();
  lr->resize(at + dlen, 0);
  if (!data.empty()) std::memcpy(lr->data() + at, data.data(), data.size());
  StoreLE64(lr->data() + 8, LoadLE64(lr->data() + 8) + dlen);
}

Bytes BuildLogBlock(const BlkPtr& bp, const BlkPtr& next, ByteSpan records) {
  const uint64_t size = bp.lsize();
  const uint64_t nused = kZilChainSize + records.size();
  if (nused > size) return {};
  Bytes blk(size, 0);  // zil_lwb_write_start clears what is unused
  // zil_chain_t: zc_pad, zc_next_blk, zc_nused, zc_eck {zec_magic, zec_cksum}.
  constexpr size_t kNext = 8, kNused = kNext + kBlkPtrSize, kEck = kNused + 8;
  next.Encode(blk.data() + kNext);
  StoreLE64(blk.data() + kNused, nused);
  std::copy(records.begin(), records.end(), blk.begin() + kZilChainSize);
  // zio_checksum_compute (ZIO_CHECKSUM_ZILOG2): the verifier goes in zec_cksum while the
  // first P2ROUNDUP(nused, ZIL_MIN_BLKSZ) bytes are summed, the sum replaces it.
  StoreLE64(blk.data() + kEck, kZecMagic);
  for (int i = 0; i < 4; i++) StoreLE64(blk.data() + kEck + 8 + 8 * i, bp.cksum.word[i]);
  const uint64_t sum_len = std::min<uint64_t>(P2RoundUp(nused, kZilMinBlkSz), size);
  ZioCksum c;
  ComputeChecksum(static_cast<uint8_t>(ChecksumId::kZilog2), ByteSpan(blk).subspan(0, sum_len),
                  kHostBig, &c);
  for (int i = 0; i < 4; i++) StoreLE64(blk.data() + kEck + 8 + 8 * i, c.word[i]);
  return blk;
}

uint64_t LogBlockUsedBytes(ByteSpan block) {
  constexpr size_t kNused = 8 + kBlkPtrSize;
  if (block.size() < kNused + 8) return block.size();
  return std::min<uint64_t>(P2RoundUp(LoadLE64(block.data() + kNused), kZilMinBlkSz), block.size());
}

namespace {

// One TX_WRITE itx of [at, at + n) whose data is read at commit (WR_NEED_COPY until the
// commit chooses; one_block: it lies in one block, so it may become WR_INDIRECT).
void AssignWrite(ItxSink* log, uint64_t txg, uint64_t foid, uint64_t at, uint64_t n,
                 bool one_block) {
  LrWrite w;
  w.foid = foid, w.offset = at, w.length = n;
  Itx itx;
  itx.txg = txg;
  itx.foid = foid;
  itx.lr = EncodeLrWrite(txg, w, {});
  itx.need_copy = true;
  itx.one_block = one_block;
  itx.off = at;
  itx.len = n;
  log->Assign(std::move(itx));
}

}  // namespace

void LogWriteNeedCopy(ItxSink* log, uint64_t txg, uint64_t foid, uint64_t off, uint64_t len) {
  if (!log) return;
  for (uint64_t at = off, resid = len; resid > 0;) {
    const uint64_t n = resid > kZilMaxLogData ? kZilWriteSplit : resid;
    AssignWrite(log, txg, foid, at, n, /*one_block=*/false);
    at += n;
    resid -= n;
  }
}

void LogWriteBlocks(ItxSink* log, uint64_t txg, uint64_t foid, uint64_t off, uint64_t len,
                    uint64_t blksz) {
  if (!log) return;
  if (blksz == 0) return LogWriteNeedCopy(log, txg, foid, off, len);
  for (uint64_t at = off, resid = len; resid > 0;) {
    // zfs_write: nbytes = MIN(n, max_blksz - P2PHASE(woff, max_blksz)).
    const uint64_t n = std::min(resid, blksz - at % blksz);
    AssignWrite(log, txg, foid, at, n, /*one_block=*/true);
    at += n;
    resid -= n;
  }
}

void LogWriteVolume(ItxSink* log, uint64_t txg, uint64_t foid, uint64_t off, uint64_t len,
                    uint64_t blksz, uint64_t immediate) {
  if (!log) return;
  if (blksz <= immediate) return LogWriteNeedCopy(log, txg, foid, off, len);
  for (uint64_t at = off, resid = len; resid > 0;) {
    // Cut at block boundaries, as OpenZFS's zvol_log_write does (zfs-fuse's copies up to
    // ZIL_MAX_LOG_DATA past a misaligned start, so a write that begins mid-block would never
    // be logged by pointer).
    const uint64_t n = std::min(resid, blksz - at % blksz);
    if (n == blksz) {
      AssignWrite(log, txg, foid, at, n, /*one_block=*/true);
    } else {
      LogWriteNeedCopy(log, txg, foid, at, n);
    }
    at += n;
    resid -= n;
  }
}

std::vector<Itx> SplitNeedCopy(Itx itx) {
  std::vector<Itx> out;
  itx.one_block = false;
  if (itx.len <= kZilMaxLogData) {
    out.push_back(std::move(itx));
    return out;
  }
  for (uint64_t at = itx.off, resid = itx.len; resid > 0;) {
    const uint64_t n = resid > kZilMaxLogData ? kZilWriteSplit : resid;
    Itx p = itx;
    LrWrite w;
    w.foid = itx.foid, w.offset = at, w.length = n;
    p.lr = EncodeLrWrite(itx.txg, w, {});
    p.off = at;
    p.len = n;
    out.push_back(std::move(p));
    at += n;
    resid -= n;
  }
  return out;
}

void SetLrWriteBlock(Bytes* lr, uint64_t blkoff, const BlkPtr& bp) {
  // lr_write_t after lr_t: lr_foid, lr_offset, lr_length, lr_blkoff, lr_blkptr.
  StoreLE64(lr->data() + kLrSize + 24, blkoff);
  bp.Encode(lr->data() + kLrSize + 32);
}

}  // namespace uzfs
