// The intent log read side on log chains built here byte by byte, as zfs_log.c and
// zil_lwb_write_start lay them out; blocks are verified by the real checksum code
// (VerifyBlockChecksum), so a block with a wrong verifier fails as it would on disk.
#include "libcore/zil/zil.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>

#include "libcore/base/checksum.h"
#include "libcore/zio/zio_read.h"

namespace uzfs {
namespace {

// Blocks by DVA offset, read back only when they verify against the reading bp.
class FakeReader : public BlockReader {
 public:
  Result<Bytes> Read(const BlkPtr& bp, ReadReport*) override {
    reads++;
    auto it = blocks.find(bp.dva[0].offset());
    if (it == blocks.end()) return Status::Error(EIO, "no block");
    if (!VerifyBlockChecksum(bp, it->second)) return Status::Error(ECKSUM, "checksum");
    return it->second;
  }
  std::map<uint64_t, Bytes> blocks;
  int reads = 0;
};

// Record builder: 64-bit words and NUL-terminated strings, padded to 8 like zil_itx_create.
struct Rec {
  Bytes b;
  Rec(uint64_t txtype, uint64_t txg, uint64_t seq) { Words({txtype, 0, txg, seq}); }
  Rec& Words(std::initializer_list<uint64_t> ws) {
    for (uint64_t w : ws) {
      size_t o = b.size();
      b.resize(o + 8);
      StoreLE64(b.data() + o, w);
    }
    return *this;
  }
  Rec& Str(const std::string& s) {
    b.insert(b.end(), s.begin(), s.end());
    b.push_back(0);
    return *this;
  }
  Rec& Raw(const Bytes& d) {
    b.insert(b.end(), d.begin(), d.end());
    return *this;
  }
  Bytes Done() {
    b.resize((b.size() + 7) & ~size_t{7});
    StoreLE64(b.data() + 8, b.size());
    return b;
  }
};

constexpr uint64_t kGuid0 = 0xdb828ed2658452ebULL, kGuid1 = 0x1b6d08c938a69d70ULL, kOs = 0x1e;

BlkPtr LogBp(uint64_t offset, uint64_t seq, uint64_t birth, uint8_t cksum = 9) {
  BlkPtr bp;
  bp.dva[0].Set(0, offset, 4096);
  bp.set_lsize(4096);
  bp.set_psize(4096);
  bp.set_checksum(cksum);
  bp.set_type(9);  // DMU_OT_INTENT_LOG
  bp.set_little_endian(true);
  bp.birth = birth;
  bp.cksum = ZioCksum{{kGuid0, kGuid1, kOs, seq}};
  return bp;
}

// A zilog2 block: zil_chain_t first, records after it, fletcher4 over nused rounded to 4K
// with the bp's verifier in zc_eck (zio_checksum_compute for embedded checksums).
Bytes Zilog2Block(const BlkPtr& bp, const BlkPtr& next, const std::vector<Bytes>& recs) {
  Bytes blk(4096, 0xa5);  // stale bytes past nused are not covered by the checksum
  size_t off = kZilChainSize;
  for (const Bytes& r : recs) {
    std::memcpy(blk.data() + off, r.data(), r.size());
    off += r.size();
  }
  std::memset(blk.data(), 0, kZilChainSize);
  next.Encode(blk.data() + 8);
  StoreLE64(blk.data() + 8 + kBlkPtrSize, off);
  uint8_t* eck = blk.data() + 8 + kBlkPtrSize + 8;
  StoreLE64(eck, kZecMagic);
  for (int i = 0; i < 4; i++) StoreLE64(eck + 8 + 8 * i, bp.cksum.word[i]);
  ZioCksum c;
  EXPECT_TRUE(ComputeChecksum(static_cast<uint8_t>(ChecksumId::kFletcher4),
                              ByteSpan(blk).subspan(0, 4096), false, &c));
  for (int i = 0; i < 4; i++) StoreLE64(eck + 8 + 8 * i, c.word[i]);
  return blk;
}

// An old zilog block: records first, zil_trailer_t at the end, fletcher2 over all of it.
Bytes ZilogBlock(const BlkPtr& bp, const BlkPtr& next, const std::vector<Bytes>& recs) {
  Bytes blk(4096, 0);
  size_t off = 0;
  for (const Bytes& r : recs) {
    std::memcpy(blk.data() + off, r.data(), r.size());
    off += r.size();
  }
  uint8_t* chain = blk.data() + blk.size() - kZilChainSize;
  next.Encode(chain + 8);
  StoreLE64(chain + 8 + kBlkPtrSize, off);
  SetEmbeddedChecksum(static_cast<uint8_t>(ChecksumId::kZilog), blk, bp.cksum);
  return blk;
}

ZilHeader Header(const BlkPtr& first) {
  ZilHeader zh;
  zh.log = first;
  return zh;
}

TEST(ZilRecord, CreateSymlinkWriteSetattr) {
  auto create = DecodeLogRecord(Rec(kTxCreate, 10, 1).Words({5, 7, 0100600, 0, 0, 10, 1700000000, 5, 0})
                                    .Str("big").Done(), true);
  ASSERT_TRUE(create.ok()) << create.status().ToString();
  EXPECT_EQ(create->reclen, 112u);
  EXPECT_EQ(create->txg, 10u);
  const auto& c = std::get<LrCreate>(create->body);
  EXPECT_EQ(c.doid, 5u);
  EXPECT_EQ(c.foid, 7u);
  EXPECT_EQ(c.mode, 0100600u);
  EXPECT_EQ(c.crtime[0], 1700000000u);
  EXPECT_EQ(c.name, "big");

  auto sym = DecodeLogRecord(Rec(kTxSymlink | kTxCi, 10, 4).Words({3, 8, 0120777, 0, 0, 10, 0, 0, 0})
                                 .Str("link").Str("small").Done(), true);
  ASSERT_TRUE(sym.ok());
  EXPECT_TRUE(sym->ci());
  EXPECT_EQ(sym->type(), kTxSymlink);
  EXPECT_EQ(std::get<LrCreate>(sym->body).name, "link");
  EXPECT_EQ(std::get<LrCreate>(sym->body).link, "small");

  Bytes rec = Rec(kTxWrite, 10, 2).Words({7, 0x20000, 0x10d40, 0}).Done();
  BlkPtr data = LogBp(0x7a000, 0, 10, 7);
  rec.resize(kLrWriteSize);
  data.Encode(rec.data() + kLrSize + 32);
  StoreLE64(rec.data() + 8, rec.size());
  auto wr = DecodeLogRecord(rec, true);
  ASSERT_TRUE(wr.ok());
  const auto& w = std::get<LrWrite>(wr->body);
  EXPECT_TRUE(w.indirect);
  EXPECT_EQ(w.offset, 0x20000u);
  EXPECT_EQ(w.length, 0x10d40u);
  EXPECT_EQ(w.blkptr, data);

  auto copied = DecodeLogRecord(Rec(kTxWrite, 11, 3).Words({6, 0, 5, 0}).Raw(Bytes(128, 0))
                                    .Raw({'h', 'e', 'l', 'l', 'o'}).Done(), true);
  ASSERT_TRUE(copied.ok());
  const auto& cw = std::get<LrWrite>(copied->body);
  EXPECT_FALSE(cw.indirect);
  ASSERT_GE(cw.data.size(), 5u);
  EXPECT_EQ(std::string(cw.data.begin(), cw.data.begin() + 5), "hello");

  auto sa = DecodeLogRecord(Rec(kTxSetattr, 10, 8).Words({6, kAtMode | kAtSize, 0100600, 1, 2, 50, 3, 4, 5, 6})
                                .Done(), true);
  ASSERT_TRUE(sa.ok());
  const auto& s = std::get<LrSetattr>(sa->body);
  EXPECT_EQ(s.mask, kAtMode | kAtSize);
  EXPECT_EQ(s.size, 50u);
  EXPECT_EQ(s.atime[1], 4u);
  EXPECT_EQ(s.mtime[0], 5u);
}

TEST(ZilRecord, RemoveLinkRenameTruncateAcl) {
  auto rm = DecodeLogRecord(Rec(kTxRmdir, 9, 1).Words({3}).Str("gone").Done(), true);
  ASSERT_TRUE(rm.ok());
  EXPECT_EQ(std::get<LrRemove>(rm->body).name, "gone");
  auto ln = DecodeLogRecord(Rec(kTxLink, 9, 2).Words({3, 6}).Str("hard").Done(), true);
  ASSERT_TRUE(ln.ok());
  EXPECT_EQ(ln->reclen, 56u);
  EXPECT_EQ(std::get<LrLink>(ln->body).link_obj, 6u);
  auto mv = DecodeLogRecord(Rec(kTxRename, 9, 3).Words({3, 5}).Str("hard").Str("hard2").Done(), true);
  ASSERT_TRUE(mv.ok());
  EXPECT_EQ(std::get<LrRename>(mv->body).tdoid, 5u);
  EXPECT_EQ(std::get<LrRename>(mv->body).src, "hard");
  EXPECT_EQ(std::get<LrRename>(mv->body).tgt, "hard2");
  auto tr = DecodeLogRecord(Rec(kTxTruncate, 9, 4).Words({6, 0x32, 0}).Done(), true);
  ASSERT_TRUE(tr.ok());
  EXPECT_EQ(std::get<LrTruncate>(tr->body).offset, 0x32u);
  auto acl = DecodeLogRecord(Rec(kTxAcl, 9, 5).Words({6, 3, 0, 0, 36, 0}).Raw(Bytes(40, 0)).Done(), true);
  ASSERT_TRUE(acl.ok());
  EXPECT_EQ(std::get<LrAcl>(acl->body).aclcnt, 3u);
  EXPECT_EQ(std::get<LrAcl>(acl->body).acl_bytes, 36u);
}

TEST(ZilRecord, CreateAttrAndAclFindTheName) {
  // TX_CREATE_ATTR: lr_attr_t with a 1-word bitmap, 7 words, then the name.
  Rec a(kTxCreateAttr, 9, 1);
  a.Words({4, 9, 0100644, 0, 0, 9, 0, 0, 0});
  a.Words({1});  // lr_attr_masksize 1, bitmap 0
  a.Words({0, 0, 0, 0, 0, 0, 0});
  auto attr = DecodeLogRecord(a.Str("attrfile").Done(), true);
  ASSERT_TRUE(attr.ok()) << attr.status().ToString();
  EXPECT_EQ(std::get<LrCreate>(attr->body).attr_masksize, 1u);
  EXPECT_EQ(std::get<LrCreate>(attr->body).name, "attrfile");
  // TX_MKDIR_ACL: lr_acl_create_t, 12 bytes of ACEs padded to 16, one FUID, one domain.
  Rec m(kTxMkdirAcl, 9, 2);
  m.Words({4, 10, 040755, 0, 0, 9, 0, 0, 0, /*aclcnt*/ 1, /*domcnt*/ 1, /*fuidcnt*/ 1, /*bytes*/ 12, 0});
  m.Raw(Bytes(16, 0)).Words({0x100000001ULL}).Str("S-1-5-21");
  auto mk = DecodeLogRecord(m.Str("adir").Done(), true);
  ASSERT_TRUE(mk.ok()) << mk.status().ToString();
  EXPECT_EQ(std::get<LrCreate>(mk->body).name, "adir");
  EXPECT_EQ(std::get<LrCreate>(mk->body).fuidcnt, 1u);
}

TEST(ZilRecord, BigEndianAndMalformed) {
  Bytes le = Rec(kTxLink, 9, 2).Words({3, 6}).Str("hard").Done();
  Bytes be = le;
  for (size_t i = 0; i < 5; i++)  // the five words before the name
    for (int j = 0; j < 4; j++) std::swap(be[8 * i + j], be[8 * i + 7 - j]);
  auto ln = DecodeLogRecord(be, false);
  ASSERT_TRUE(ln.ok());
  EXPECT_EQ(ln->seq, 2u);
  EXPECT_EQ(std::get<LrLink>(ln->body).name, "hard");

  Bytes bad = le;
  StoreLE64(bad.data() + 8, 4096);  // reclen past the buffer
  EXPECT_EQ(DecodeLogRecord(bad, true).status().code(), ECORRUPT);
  StoreLE64(bad.data() + 8, 16);    // shorter than lr_t
  EXPECT_EQ(DecodeLogRecord(bad, true).status().code(), ECORRUPT);
  Bytes noterm = Rec(kTxRemove, 9, 1).Words({3}).Done();
  noterm.resize(48, 'x');
  StoreLE64(noterm.data() + 8, 48);
  EXPECT_EQ(DecodeLogRecord(noterm, true).status().code(), ECORRUPT);
  EXPECT_EQ(DecodeLogRecord(Rec(kTxTruncate, 9, 1).Words({6}).Done(), true).status().code(), ECORRUPT);
  auto unknown = DecodeLogRecord(Rec(77, 9, 1).Words({1, 2}).Done(), true);
  ASSERT_TRUE(unknown.ok());
  EXPECT_TRUE(std::holds_alternative<std::monostate>(unknown->body));
  EXPECT_STREQ(TxTypeName(77), "TX_UNKNOWN");
  EXPECT_STREQ(TxTypeName(kTxAcl), "TX_ACL_ACL");
}

TEST(ZilHeaderTest, DecodesEveryField) {
  uint8_t p[kZilHeaderSize] = {};
  StoreLE64(p, 12);
  StoreLE64(p + 8, 3);
  LogBp(0x58000, 1, 9).Encode(p + 16);
  StoreLE64(p + 16 + kBlkPtrSize, 4);
  StoreLE64(p + 24 + kBlkPtrSize, kZilClaimLrSeqValid);
  StoreLE64(p + 32 + kBlkPtrSize, 9);
  ZilHeader zh = ZilHeader::Decode(p, true);
  EXPECT_EQ(zh.claim_txg, 12u);
  EXPECT_EQ(zh.replay_seq, 3u);
  EXPECT_EQ(zh.log, LogBp(0x58000, 1, 9));
  EXPECT_EQ(zh.claim_blk_seq, 4u);
  EXPECT_EQ(zh.flags, kZilClaimLrSeqValid);
  EXPECT_EQ(zh.claim_lr_seq, 9u);
}

// Three zilog2 blocks, the third linking to a block never written: the walk visits four
// block pointers (as zdb prints "Block seqno 4") and every record, and ends with the read
// error of the last.
TEST(ZilParse, WalksAChainToItsUnwrittenEnd) {
  FakeReader r;
  BlkPtr b1 = LogBp(0x58000, 1, 9), b2 = LogBp(0x9a000, 2, 10), b3 = LogBp(0xbb000, 3, 10),
         b4 = LogBp(0xbc000, 4, 10);
  r.blocks[0x58000] = Zilog2Block(b1, b2, {Rec(kTxCreate, 10, 1).Words({5, 7, 0100600, 0, 0, 10, 0, 0, 0}).Str("big").Done(),
                                           Rec(kTxTruncate, 10, 2).Words({7, 0, 0}).Done()});
  r.blocks[0x9a000] = Zilog2Block(b2, b3, {Rec(kTxLink, 10, 3).Words({3, 6}).Str("hard").Done()});
  r.blocks[0xbb000] = Zilog2Block(b3, b4, {Rec(kTxRemove, 10, 4).Words({3}).Str("x").Done()});
  r.blocks[0xbc000] = Bytes(4096, 0x5a);  // stale: its checksum fails
  std::vector<uint64_t> blocks, seqs;
  std::vector<uint32_t> types;
  auto res = ParseZil(r, Header(b1), [&](const BlkPtr& bp) {
    blocks.push_back(bp.cksum.word[kZilZcSeq]);
    return Status::Ok();
  }, [&](const LogRecord& lr) {
    seqs.push_back(lr.seq);
    types.push_back(lr.type());
    return Status::Ok();
  });
  EXPECT_EQ(blocks, (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(seqs, (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(types, (std::vector<uint32_t>{kTxCreate, kTxTruncate, kTxLink, kTxRemove}));
  EXPECT_EQ(res.error.code(), ECKSUM);
  EXPECT_EQ(res.blk_count, 4u);
  EXPECT_EQ(res.lr_count, 4u);
  EXPECT_EQ(res.lr_seq, 4u);
}

TEST(ZilParse, StopsAtABadLinkAndAtTheClaimedLimits) {
  FakeReader r;
  BlkPtr b1 = LogBp(0x1000, 1, 9), b2 = LogBp(0x2000, 2, 9), b3 = LogBp(0x3000, 3, 9);
  BlkPtr wrong = LogBp(0x2000, 5, 9);  // next block's verifier is not seq + 1
  r.blocks[0x1000] = Zilog2Block(b1, wrong, {Rec(kTxTruncate, 9, 1).Words({7, 0, 0}).Done()});
  int recs = 0;
  auto res = ParseZil(r, Header(b1), {}, [&](const LogRecord&) { recs++; return Status::Ok(); });
  EXPECT_EQ(res.error.code(), ECKSUM);
  EXPECT_EQ(recs, 0);  // the block is rejected whole, as zil_read_log_block does

  r.blocks[0x1000] = Zilog2Block(b1, b2, {Rec(kTxTruncate, 9, 1).Words({7, 0, 0}).Done(),
                                          Rec(kTxTruncate, 9, 2).Words({7, 0, 0}).Done()});
  r.blocks[0x2000] = Zilog2Block(b2, b3, {Rec(kTxTruncate, 9, 3).Words({7, 0, 0}).Done()});
  ZilHeader zh = Header(b1);
  zh.claim_txg = 11;
  zh.claim_blk_seq = 2;
  zh.claim_lr_seq = 2;
  zh.flags = kZilClaimLrSeqValid;
  std::vector<uint64_t> seqs;
  res = ParseZil(r, zh, {}, [&](const LogRecord& lr) { seqs.push_back(lr.seq); return Status::Ok(); });
  EXPECT_TRUE(res.error.ok()) << res.error.ToString();
  EXPECT_EQ(seqs, (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(res.blk_seq, 2u);
  // Without ZIL_CLAIM_LR_SEQ_VALID only the block limit holds.
  zh.flags = 0;
  seqs.clear();
  res = ParseZil(r, zh, {}, [&](const LogRecord& lr) { seqs.push_back(lr.seq); return Status::Ok(); });
  EXPECT_EQ(seqs, (std::vector<uint64_t>{1, 2, 3}));
  // A callback error ends the walk and is returned.
  res = ParseZil(r, Header(b1), {}, [&](const LogRecord&) { return Status::Error(EINTR, "stop"); });
  EXPECT_EQ(res.error.code(), EINTR);
}

TEST(ZilParse, OldZilogBlocksWithATrailer) {
  FakeReader r;
  BlkPtr b1 = LogBp(0x1000, 1, 5, 5), b2 = LogBp(0x2000, 2, 5, 5);
  r.blocks[0x1000] = ZilogBlock(b1, b2, {Rec(kTxRename, 5, 1).Words({3, 4}).Str("a").Str("b").Done()});
  auto lb = ReadLogBlock(r, b1);
  ASSERT_TRUE(lb.ok()) << lb.status().ToString();
  EXPECT_EQ(lb->next, b2);
  std::vector<std::string> names;
  auto res = ParseZil(r, Header(b1), {}, [&](const LogRecord& lr) {
    names.push_back(std::get<LrRename>(lr.body).tgt);
    return Status::Ok();
  });
  EXPECT_EQ(names, (std::vector<std::string>{"b"}));
  EXPECT_EQ(res.error.code(), EIO);  // b2 was never written
  // Flipping a byte of the block breaks its embedded checksum.
  r.blocks[0x1000][17] ^= 1;
  EXPECT_EQ(ReadLogBlock(r, b1).status().code(), ECKSUM);
}

TEST(ZilParse, EmptyLogAndWriteData) {
  FakeReader r;
  auto res = ParseZil(r, ZilHeader{}, [](const BlkPtr&) { return Status::Error(EINVAL); }, {});
  EXPECT_TRUE(res.error.ok());
  EXPECT_EQ(res.blk_count, 0u);
  EXPECT_EQ(r.reads, 0);
  LrWrite hole;
  hole.length = 100;
  auto z = ReadLogWriteData(r, hole);
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(z->size(), 512u);  // max(lsize of a hole bp (512), length)
}

}  // namespace
}  // namespace uzfs
