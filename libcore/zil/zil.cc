#include "libcore/zil/zil.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "libcore/base/checksum.h"

namespace uzfs {

namespace {

constexpr size_t kLrCreateSize = kLrSize + 9 * 8;       // lr_create_t
constexpr size_t kLrAclCreateSize = kLrCreateSize + 5 * 8;  // lr_acl_create_t

// Words of a record (or any little/big-endian area), bounds-checked by the caller.
struct Words {
  const uint8_t* p;
  bool little;
  uint64_t operator[](size_t i) const { return Load64(p + 8 * i, little); }
};

// The NUL-terminated string at *off, moving *off past it; ECORRUPT when it runs past end.
Result<std::string> TakeString(ByteSpan rec, size_t* off) {
  if (*off > rec.size()) return Status::Error(ECORRUPT, "log record name past its end");
  const uint8_t* b = rec.data() + *off;
  const uint8_t* e = std::find(b, rec.data() + rec.size(), uint8_t{0});
  if (e == rec.data() + rec.size()) return Status::Error(ECORRUPT, "log record name not terminated");
  *off += static_cast<size_t>(e - b) + 1;
  return std::string(reinterpret_cast<const char*>(b), static_cast<size_t>(e - b));
}

// ZIL_XVAT_SIZE: lr_attr_t, the rest of its bitmap, then 7 words (crtime, attrs, scanstamp).
uint64_t XvatSize(uint32_t masksize) {
  return 8 + 4 * (static_cast<uint64_t>(masksize) - 1) + 7 * 8;
}

uint64_t RoundUp8(uint64_t x) { return (x + 7) & ~uint64_t{7}; }  // ZIL_ACE_LENGTH

bool IsAclType(uint32_t t) {
  return t == kTxCreateAcl || t == kTxCreateAclAttr || t == kTxMkdirAcl || t == kTxMkdirAclAttr;
}
bool IsAttrType(uint32_t t) {
  return t == kTxCreateAttr || t == kTxMkdirAttr || t == kTxCreateAclAttr || t == kTxMkdirAclAttr;
}

// lr_create_t and lr_acl_create_t, laid out as zfs_log_create writes them: the fixed part,
// xvattr (the _ATTR types), the ACEs padded to 8 (the _ACL types), FUIDs and the domain table
// (the _ACL types), the name, and for a symlink its target. The non-ACL types carry FUID
// domains only for Solaris ephemeral ids, which zfs-fuse never logs; they are not skipped.
Result<LrCreate> DecodeCreate(ByteSpan rec, bool little, uint32_t type) {
  const bool acl = IsAclType(type);
  size_t off = acl ? kLrAclCreateSize : kLrCreateSize;
  if (rec.size() < off) return Status::Error(ECORRUPT, "short create log record");
  Words w{rec.data() + kLrSize, little};
  LrCreate c;
  c.doid = w[0], c.foid = w[1], c.mode = w[2], c.uid = w[3], c.gid = w[4], c.gen = w[5];
  c.crtime[0] = w[6], c.crtime[1] = w[7], c.rdev = w[8];
  if (acl) c.aclcnt = w[9], c.domcnt = w[10], c.fuidcnt = w[11], c.acl_bytes = w[12], c.acl_flags = w[13];
  if (IsAttrType(type)) {
    if (rec.size() < off + 8) return Status::Error(ECORRUPT, "short xvattr in create log record");
    c.attr_masksize = little ? LoadLE32(rec.data() + off) : LoadBE32(rec.data() + off);
    if (c.attr_masksize == 0 || c.attr_masksize > 64)
      return Status::Error(ECORRUPT, "bad xvattr mask size in create log record");
    off += XvatSize(c.attr_masksize);
  }
  if (acl) {
    const uint64_t skip = RoundUp8(c.acl_bytes) + 8 * c.fuidcnt;
    if (c.acl_bytes > rec.size() || c.fuidcnt > rec.size() || off + skip > rec.size())
      return Status::Error(ECORRUPT, "ACL past the end of a create log record");
    off += skip;
    for (uint64_t i = 0; i < c.domcnt; i++) {
      auto dom = TakeString(rec, &off);
      if (!dom.ok()) return dom.status();
    }
  }
  auto name = TakeString(rec, &off);
  if (!name.ok()) return name.status();
  c.name = std::move(*name);
  if (type == kTxSymlink) {
    auto link = TakeString(rec, &off);
    if (!link.ok()) return link.status();
    c.link = std::move(*link);
  }
  return c;
}

}  // namespace

const char* TxTypeName(uint32_t type) {
  static const char* const kNames[kTxMaxType] = {
      "Total", "TX_CREATE", "TX_MKDIR", "TX_MKXATTR", "TX_SYMLINK", "TX_REMOVE", "TX_RMDIR",
      "TX_LINK", "TX_RENAME", "TX_WRITE", "TX_TRUNCATE", "TX_SETATTR", "TX_ACL_V0",
      "TX_ACL_ACL", "TX_CREATE_ACL", "TX_CREATE_ATTR", "TX_CREATE_ACL_ATTR", "TX_MKDIR_ACL",
      "TX_MKDIR_ATTR", "TX_MKDIR_ACL_ATTR", "TX_WRITE2"};
  return type < kTxMaxType ? kNames[type] : "TX_UNKNOWN";
}

ZilHeader ZilHeader::Decode(const uint8_t* p, bool little) {
  ZilHeader zh;
  zh.claim_txg = Load64(p, little);
  zh.replay_seq = Load64(p + 8, little);
  zh.log = BlkPtr::Decode(p + 16, little);
  zh.claim_blk_seq = Load64(p + 16 + kBlkPtrSize, little);
  zh.flags = Load64(p + 24 + kBlkPtrSize, little);
  zh.claim_lr_seq = Load64(p + 32 + kBlkPtrSize, little);
  return zh;
}

void ZilHeader::Encode(uint8_t* p) const {
  std::memset(p, 0, kZilHeaderSize);
  StoreLE64(p, claim_txg);
  StoreLE64(p + 8, replay_seq);
  log.Encode(p + 16);
  StoreLE64(p + 16 + kBlkPtrSize, claim_blk_seq);
  StoreLE64(p + 24 + kBlkPtrSize, flags);
  StoreLE64(p + 32 + kBlkPtrSize, claim_lr_seq);
}

Result<ZilHeader> ReadZilHeader(BlockReader& reader, const BlkPtr& objset_bp) {
  auto buf = reader.Read(objset_bp);
  if (!buf.ok()) return buf.status();
  if (buf->size() < kZilHeaderOffset + kZilHeaderSize)
    return Status::Error(ECORRUPT, "objset block too small for a ZIL header");
  return ZilHeader::Decode(buf->data() + kZilHeaderOffset, objset_bp.little_endian());
}

Result<LogRecord> DecodeLogRecord(ByteSpan rec, bool little) {
  if (rec.size() < kLrSize) return Status::Error(ECORRUPT, "log record shorter than lr_t");
  Words h{rec.data(), little};
  LogRecord lr;
  lr.txtype = h[0], lr.reclen = h[1], lr.txg = h[2], lr.seq = h[3];
  if (lr.reclen < kLrSize || lr.reclen > rec.size())
    return Status::Error(ECORRUPT, "log record length " + std::to_string(lr.reclen) + " out of range");
  rec = rec.subspan(0, lr.reclen);
  Words w{rec.data() + kLrSize, little};
  auto need = [&](size_t words) -> Status {
    if (rec.size() < kLrSize + 8 * words)
      return Status::Error(ECORRUPT, std::string("short ") + TxTypeName(lr.type()) + " log record");
    return Status::Ok();
  };
  size_t off;
  switch (lr.type()) {
    case kTxCreate: case kTxMkdir: case kTxMkxattr: case kTxSymlink: case kTxCreateAcl:
    case kTxCreateAttr: case kTxCreateAclAttr: case kTxMkdirAcl: case kTxMkdirAttr:
    case kTxMkdirAclAttr: {
      auto c = DecodeCreate(rec, little, lr.type());
      if (!c.ok()) return c.status();
      lr.body = std::move(*c);
      break;
    }
    case kTxRemove: case kTxRmdir: {  // lr_remove_t
      if (Status s = need(1); !s.ok()) return s;
      LrRemove r{w[0], {}};
      off = kLrSize + 8;
      auto name = TakeString(rec, &off);
      if (!name.ok()) return name.status();
      r.name = std::move(*name);
      lr.body = std::move(r);
      break;
    }
    case kTxLink: {  // lr_link_t
      if (Status s = need(2); !s.ok()) return s;
      LrLink l{w[0], w[1], {}};
      off = kLrSize + 16;
      auto name = TakeString(rec, &off);
      if (!name.ok()) return name.status();
      l.name = std::move(*name);
      lr.body = std::move(l);
      break;
    }
    case kTxRename: {  // lr_rename_t: two names
      if (Status s = need(2); !s.ok()) return s;
      LrRename r{w[0], w[1], {}, {}};
      off = kLrSize + 16;
      auto src = TakeString(rec, &off);
      if (!src.ok()) return src.status();
      auto tgt = TakeString(rec, &off);
      if (!tgt.ok()) return tgt.status();
      r.src = std::move(*src), r.tgt = std::move(*tgt);
      lr.body = std::move(r);
      break;
    }
    case kTxWrite: case kTxWrite2: {  // lr_write_t, copied data after it
      if (rec.size() < kLrWriteSize) return Status::Error(ECORRUPT, "short TX_WRITE log record");
      LrWrite wr;
      wr.foid = w[0], wr.offset = w[1], wr.length = w[2], wr.blkoff = w[3];
      wr.blkptr = BlkPtr::Decode(rec.data() + kLrSize + 32, little);
      wr.indirect = lr.reclen == kLrWriteSize;
      wr.data.assign(rec.begin() + kLrWriteSize, rec.end());
      lr.body = std::move(wr);
      break;
    }
    case kTxTruncate: {  // lr_truncate_t
      if (Status s = need(3); !s.ok()) return s;
      lr.body = LrTruncate{w[0], w[1], w[2]};
      break;
    }
    case kTxSetattr: {  // lr_setattr_t (an optional lr_attr_t follows; not decoded)
      if (Status s = need(10); !s.ok()) return s;
      lr.body = LrSetattr{w[0], w[1], w[2], w[3], w[4], w[5], {w[6], w[7]}, {w[8], w[9]}};
      break;
    }
    case kTxAclV0: {  // lr_acl_v0_t: foid, aclcnt, then ace_t entries
      if (Status s = need(2); !s.ok()) return s;
      LrAcl a;
      a.foid = w[0], a.aclcnt = w[1];
      lr.body = a;
      break;
    }
    case kTxAcl: {  // lr_acl_t
      if (Status s = need(6); !s.ok()) return s;
      lr.body = LrAcl{w[0], w[1], w[2], w[3], w[4], w[5]};
      break;
    }
    default:
      break;  // unknown type: the common part only
  }
  return lr;
}

Result<LogBlock> ReadLogBlock(BlockReader& reader, const BlkPtr& bp) {
  auto buf = reader.Read(bp);
  if (!buf.ok()) return buf.status();
  const bool little = bp.little_endian();
  const bool zilog2 = bp.checksum() == static_cast<uint8_t>(ChecksumId::kZilog2);
  if (buf->size() < kZilChainSize) return Status::Error(ECKSUM, "log block smaller than its chain");
  // zil_chain_t: at the start of a zilog2 block, at the end (zil_trailer_t) of a zilog one.
  const uint8_t* chain = zilog2 ? buf->data() : buf->data() + buf->size() - kZilChainSize;
  LogBlock lb;
  lb.next = BlkPtr::Decode(chain + 8, little);
  const uint64_t nused = Load64(chain + 8 + kBlkPtrSize, little);
  ZioCksum expect = bp.cksum;
  expect.word[kZilZcSeq]++;
  if (lb.next.is_hole() || !(lb.next.cksum == expect))
    return Status::Error(ECKSUM, "log block does not link to the next sequence number");
  if (zilog2) {
    if (nused < kZilChainSize || nused > buf->size())
      return Status::Error(ECKSUM, "log block nused out of range");
    lb.records.assign(buf->begin() + kZilChainSize, buf->begin() + static_cast<long>(nused));
  } else {
    if (nused > buf->size() - kZilChainSize) return Status::Error(ECKSUM, "log block nused out of range");
    lb.records.assign(buf->begin(), buf->begin() + static_cast<long>(nused));
  }
  return lb;
}

ZilParseResult ParseZil(BlockReader& reader, const ZilHeader& zh, const ZilBlockFn& on_block,
                        const ZilRecordFn& on_record) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  const bool claimed = zh.claim_txg != 0;
  const uint64_t claim_blk_seq = claimed ? zh.claim_blk_seq : kMax;
  // Old logs did not record the highest claimed record.
  const uint64_t claim_lr_seq = claimed && (zh.flags & kZilClaimLrSeqValid) ? zh.claim_lr_seq : kMax;
  ZilParseResult res;
  for (BlkPtr blk = zh.log; !blk.is_hole();) {
    const uint64_t blk_seq = blk.cksum.word[kZilZcSeq];
    if (blk_seq > claim_blk_seq) break;
    if (on_block) {
      if (Status s = on_block(blk); !s.ok()) {
        res.error = s;
        break;
      }
    }
    // Sequence numbers only grow along a chain; a loop would otherwise never end.
    if (blk_seq <= res.blk_seq && res.blk_count > 0) {
      res.error = Status::Error(ECORRUPT, "log block sequence numbers do not increase");
      break;
    }
    res.blk_seq = blk_seq;
    res.blk_count++;
    if (res.lr_seq == claim_lr_seq && res.blk_seq == claim_blk_seq) break;
    auto lb = ReadLogBlock(reader, blk);
    if (!lb.ok()) {
      res.error = lb.status();
      break;
    }
    const bool little = blk.little_endian();
    for (size_t off = 0; off < lb->records.size();) {
      auto lr = DecodeLogRecord(ByteSpan(lb->records).subspan(off), little);
      if (!lr.ok()) {
        res.error = lr.status();
        return res;
      }
      if (lr->seq > claim_lr_seq) return res;
      if (on_record) {
        if (Status s = on_record(*lr); !s.ok()) {
          res.error = s;
          return res;
        }
      }
      res.lr_seq = lr->seq;
      res.lr_count++;
      off += lr->reclen;
    }
    blk = lb->next;
  }
  return res;
}

Result<Bytes> ReadLogWriteData(BlockReader& reader, const LrWrite& lr) {
  if (lr.blkptr.is_hole()) return Bytes(std::max<uint64_t>(lr.blkptr.lsize(), lr.length), 0);
  return reader.Read(lr.blkptr);
}

}  // namespace uzfs
