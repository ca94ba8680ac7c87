// The write side's layouts against the read side: every encoder round-trips through
// DecodeLogRecord, a chain built by BuildLogBlock is walked by ParseZil with the blocks
// verified by the real checksum code, and the bytes of records sit where zil.h's structs
// put them.
#include "libcore/zil/zil_write.h"

#include <gtest/gtest.h>

#include <map>

#include "libcore/base/checksum.h"
#include "libcore/zio/zio_read.h"

namespace uzfs {
namespace {

// Blocks by DVA offset, handed out only when they verify against the reading bp.
class MemReader : public BlockReader {
 public:
  Result<Bytes> Read(const BlkPtr& bp, ReadReport*) override {
    auto it = blocks.find(bp.dva[0].offset());
    if (it == blocks.end()) return Status::Error(EIO, "no block");
    if (!VerifyBlockChecksum(bp, it->second)) return Status::Error(ECKSUM, "checksum");
    return it->second;
  }
  std::map<uint64_t, Bytes> blocks;
};

constexpr uint64_t kGuid0 = 0x1122334455667788ULL, kGuid1 = 0x99aabbccddeeff00ULL, kOs = 0x36;

BlkPtr LogBp(uint64_t offset, uint64_t seq, uint64_t size = 4096) {
  BlkPtr bp;
  bp.dva[0].Set(0, offset, size);
  bp.set_lsize(size);
  bp.set_psize(size);
  bp.set_checksum(static_cast<uint8_t>(ChecksumId::kZilog2));
  bp.set_type(9);  // DMU_OT_INTENT_LOG
  bp.set_little_endian(true);
  bp.birth = 7;
  bp.cksum = ZioCksum{{kGuid0, kGuid1, kOs, seq}};
  return bp;
}

LogRecord Decode(const Bytes& rec) {
  auto lr = DecodeLogRecord(rec, true);
  EXPECT_TRUE(lr.ok()) << lr.status().ToString();
  return lr.ok() ? *lr : LogRecord{};
}

TEST(ZilWrite, CreateRoundTripsAndSitsAtItsOffsets) {
  LrCreate c;
  c.doid = 4, c.foid = 9, c.mode = 0100644, c.uid = 1000, c.gid = 100, c.gen = 12;
  c.crtime[0] = 1700000000, c.crtime[1] = 123, c.rdev = 0;
  c.name = "hello.txt";
  Bytes b = EncodeLrCreate(kTxCreate, 12, c);
  // lr_create_t is 104 bytes; "hello.txt\0" makes 114, rounded to 120.
  ASSERT_EQ(b.size(), 120u);
  EXPECT_EQ(LoadLE64(b.data()), uint64_t{kTxCreate});  // lrc_txtype
  EXPECT_EQ(LoadLE64(b.data() + 8), 120u);             // lrc_reclen
  EXPECT_EQ(LoadLE64(b.data() + 16), 12u);             // lrc_txg
  EXPECT_EQ(LoadLE64(b.data() + 24), 0u);              // lrc_seq
  EXPECT_EQ(LoadLE64(b.data() + 32), 4u);              // lr_doid
  EXPECT_EQ(LoadLE64(b.data() + 40), 9u);              // lr_foid
  EXPECT_EQ(LoadLE64(b.data() + 48), 0100644u);        // lr_mode
  EXPECT_EQ(LoadLE64(b.data() + 56), 1000u);           // lr_uid
  EXPECT_EQ(LoadLE64(b.data() + 64), 100u);            // lr_gid
  EXPECT_EQ(LoadLE64(b.data() + 72), 12u);             // lr_gen
  EXPECT_EQ(LoadLE64(b.data() + 80), 1700000000u);     // lr_crtime[0]
  EXPECT_EQ(LoadLE64(b.data() + 88), 123u);            // lr_crtime[1]
  EXPECT_EQ(LoadLE64(b.data() + 96), 0u);              // lr_rdev
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(b.data() + 104)), "hello.txt");
  for (size_t i = 113; i < 120; i++) EXPECT_EQ(b[i], 0) << i;

  LogRecord lr = Decode(b);
  EXPECT_EQ(lr.type(), kTxCreate);
  EXPECT_EQ(lr.txg, 12u);
  const auto& d = std::get<LrCreate>(lr.body);
  EXPECT_EQ(d.doid, 4u);
  EXPECT_EQ(d.foid, 9u);
  EXPECT_EQ(d.mode, 0100644u);
  EXPECT_EQ(d.uid, 1000u);
  EXPECT_EQ(d.gid, 100u);
  EXPECT_EQ(d.gen, 12u);
  EXPECT_EQ(d.crtime[0], 1700000000u);
  EXPECT_EQ(d.crtime[1], 123u);
  EXPECT_EQ(d.name, "hello.txt");

  // A name filling the record to a multiple of 8 still gets its NUL (and 7 zeros more).
  c.name = "12345678";
  EXPECT_EQ(EncodeLrCreate(kTxMkdir, 12, c).size(), 104u + 16u);
  c.mode = 020644, c.rdev = 0x0801;
  auto nod = Decode(EncodeLrCreate(kTxCreate, 3, c));
  EXPECT_EQ(std::get<LrCreate>(nod.body).rdev, 0x0801u);
  EXPECT_EQ(std::get<LrCreate>(nod.body).name, "12345678");

  LrCreate s;
  s.doid = 4, s.foid = 10, s.mode = 0120777, s.gen = 13;
  s.name = "ln";
  s.link = "target/of/the/link";
  Bytes sb = EncodeLrCreate(kTxSymlink, 13, s);
  EXPECT_EQ(sb.size(), P2RoundUp(104 + 3 + 19, 8));
  LogRecord sl = Decode(sb);
  EXPECT_EQ(sl.type(), kTxSymlink);
  EXPECT_EQ(std::get<LrCreate>(sl.body).name, "ln");
  EXPECT_EQ(std::get<LrCreate>(sl.body).link, "target/of/the/link");
  EXPECT_EQ(std::get<LrCreate>(sl.body).mode, 0120777u);
}

TEST(ZilWrite, NamespaceRecordsRoundTrip) {
  LogRecord rm = Decode(EncodeLrRemove(kTxRemove, 5, {4, "gone"}));
  EXPECT_EQ(rm.type(), kTxRemove);
  EXPECT_EQ(rm.reclen, 48u);  // 40 + "gone\0" rounded
  EXPECT_EQ(std::get<LrRemove>(rm.body).doid, 4u);
  EXPECT_EQ(std::get<LrRemove>(rm.body).name, "gone");
  LogRecord rd = Decode(EncodeLrRemove(kTxRmdir, 5, {4, "dir"}));
  EXPECT_EQ(rd.type(), kTxRmdir);
  EXPECT_EQ(std::get<LrRemove>(rd.body).name, "dir");

  Bytes lb = EncodeLrLink(6, {4, 9, "hard"});
  EXPECT_EQ(LoadLE64(lb.data() + 32), 4u);  // lr_doid
  EXPECT_EQ(LoadLE64(lb.data() + 40), 9u);  // lr_link_obj
  LogRecord ln = Decode(lb);
  EXPECT_EQ(ln.type(), kTxLink);
  EXPECT_EQ(ln.reclen, 56u);
  EXPECT_EQ(std::get<LrLink>(ln.body).link_obj, 9u);
  EXPECT_EQ(std::get<LrLink>(ln.body).name, "hard");

  Bytes rb = EncodeLrRename(7, {4, 5, "a", "bb"});
  EXPECT_EQ(rb.size(), 56u);  // 48 + "a\0bb\0" rounded
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(rb.data() + 48)), "a");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(rb.data() + 50)), "bb");
  LogRecord mv = Decode(rb);
  EXPECT_EQ(mv.type(), kTxRename);
  EXPECT_EQ(std::get<LrRename>(mv.body).sdoid, 4u);
  EXPECT_EQ(std::get<LrRename>(mv.body).tdoid, 5u);
  EXPECT_EQ(std::get<LrRename>(mv.body).src, "a");
  EXPECT_EQ(std::get<LrRename>(mv.body).tgt, "bb");
}

TEST(ZilWrite, TruncateSetattrRoundTrip) {
  LogRecord tr = Decode(EncodeLrTruncate(8, {9, 100, 0}));
  EXPECT_EQ(tr.type(), kTxTruncate);
  EXPECT_EQ(tr.reclen, 56u);
  EXPECT_EQ(std::get<LrTruncate>(tr.body).foid, 9u);
  EXPECT_EQ(std::get<LrTruncate>(tr.body).offset, 100u);
  EXPECT_EQ(std::get<LrTruncate>(tr.body).length, 0u);

  LrSetattr s{9, kAtMode | kAtSize | kAtMtime, 0100600, 0, 0, 4096, {0, 0}, {11, 22}};
  Bytes sb = EncodeLrSetattr(8, s);
  EXPECT_EQ(sb.size(), 112u);
  EXPECT_EQ(LoadLE64(sb.data() + 40), kAtMode | kAtSize | kAtMtime);  // lr_mask
  EXPECT_EQ(LoadLE64(sb.data() + 72), 4096u);                         // lr_size
  EXPECT_EQ(LoadLE64(sb.data() + 96), 11u);                           // lr_mtime[0]
  LogRecord sa = Decode(sb);
  const auto& d = std::get<LrSetattr>(sa.body);
  EXPECT_EQ(d.foid, 9u);
  EXPECT_EQ(d.mask, kAtMode | kAtSize | kAtMtime);
  EXPECT_EQ(d.mode, 0100600u);
  EXPECT_EQ(d.size, 4096u);
  EXPECT_EQ(d.mtime[0], 11u);
  EXPECT_EQ(d.mtime[1], 22u);
}

TEST(ZilWrite, WriteCopiedAndNeedCopy) {
  Bytes data(13);
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<uint8_t>('a' + i);
  Bytes b = EncodeLrWrite(9, {9, 4096, 13, 0, {}, false, {}}, data);
  ASSERT_EQ(b.size(), kLrWriteSize + 16);
  EXPECT_EQ(LoadLE64(b.data() + 8), kLrWriteSize + 16);
  EXPECT_EQ(LoadLE64(b.data() + 32), 9u);     // lr_foid
  EXPECT_EQ(LoadLE64(b.data() + 40), 4096u);  // lr_offset
  EXPECT_EQ(LoadLE64(b.data() + 48), 13u);    // lr_length
  EXPECT_EQ(LoadLE64(b.data() + 56), 0u);     // lr_blkoff
  for (size_t i = 64; i < kLrWriteSize; i++) ASSERT_EQ(b[i], 0) << i;  // lr_blkptr zeroed
  EXPECT_EQ(b[kLrWriteSize], 'a');
  EXPECT_EQ(b[kLrWriteSize + 12], 'm');
  EXPECT_EQ(b[kLrWriteSize + 13], 0);
  LogRecord lr = Decode(b);
  const auto& w = std::get<LrWrite>(lr.body);
  EXPECT_FALSE(w.indirect);
  EXPECT_EQ(w.offset, 4096u);
  EXPECT_EQ(w.length, 13u);
  ASSERT_EQ(w.data.size(), 16u);
  EXPECT_TRUE(std::equal(data.begin(), data.end(), w.data.begin()));

  // WR_NEED_COPY: the fixed part, then the commit appends the data and numbers it.
  Bytes nc = EncodeLrWrite(9, {9, 0, 13, 0, {}, false, {}}, {});
  EXPECT_EQ(nc.size(), kLrWriteSize);
  EXPECT_EQ(LoadLE64(nc.data() + 8), kLrWriteSize);
  AppendWriteData(&nc, data);
  SetLrSeq(nc.data(), 42);
  LogRecord ncr = Decode(nc);
  EXPECT_EQ(ncr.reclen, kLrWriteSize + 16);
  EXPECT_EQ(ncr.seq, 42u);
  EXPECT_FALSE(std::get<LrWrite>(ncr.body).indirect);
  EXPECT_TRUE(std::equal(data.begin(), data.end(), std::get<LrWrite>(ncr.body).data.begin()));
  EXPECT_EQ(kZilMaxLogData, 130696u);
}

// Three blocks built here and the fourth allocated but never written: ParseZil visits the
// four block pointers and every record in order, and stops at the fourth's failed read.
struct CollectItx : ItxSink {
  std::vector<Itx> itxs;
  void Assign(Itx itx) override { itxs.push_back(std::move(itx)); }
  void Unlogged(uint64_t) override {}
};

// zfs_log_write / zvol_log_write: WR_NEED_COPY records of the object, cut in 64K pieces while
// more is left than one log block holds.
TEST(ZilWrite, LogWriteNeedCopyCutsLongWrites) {
  CollectItx log;
  LogWriteNeedCopy(&log, 9, 1, 4096, 200000);
  ASSERT_EQ(3u, log.itxs.size());  // 65536, 65536, then 68928 (<= kZilMaxLogData)
  EXPECT_EQ(68928u, log.itxs[2].len);
  uint64_t at = 4096;
  for (const Itx& itx : log.itxs) {
    EXPECT_EQ(9u, itx.txg);
    EXPECT_EQ(1u, itx.foid);
    EXPECT_TRUE(itx.need_copy);
    EXPECT_EQ(at, itx.off);
    auto rec = DecodeLogRecord(ByteSpan(itx.lr), /*little=*/true);
    ASSERT_TRUE(rec.ok()) << rec.status().ToString();
    EXPECT_EQ(static_cast<uint32_t>(kTxWrite), rec->type());
    const auto* w = std::get_if<LrWrite>(&rec->body);
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(at, w->offset);
    EXPECT_EQ(itx.len, w->length);
    at += itx.len;
  }
  EXPECT_EQ(4096u + 200000, at);
  LogWriteNeedCopy(nullptr, 9, 1, 0, 10);  // no log: nothing, no crash
}

// zfs_write's chunks (zfs_log_write per chunk): cut at the block boundaries, each a
// WR_INDIRECT candidate; one falling back to a copy is cut in 64K pieces when it must be;
// the record naming a block decodes as indirect with its blkoff and pointer.
TEST(ZilWrite, LogWriteBlocksCutsAtBlocksAndRecordsNameTheirBlock) {
  CollectItx log;
  LogWriteBlocks(&log, 9, 1, 10000, 300000, 131072);
  ASSERT_EQ(3u, log.itxs.size());
  EXPECT_EQ(10000u, log.itxs[0].off);
  EXPECT_EQ(131072u - 10000, log.itxs[0].len);
  EXPECT_EQ(131072u, log.itxs[1].off);
  EXPECT_EQ(131072u, log.itxs[1].len);
  EXPECT_EQ(262144u, log.itxs[2].off);
  EXPECT_EQ(10000u + 300000 - 262144, log.itxs[2].len);
  for (const Itx& itx : log.itxs) EXPECT_TRUE(itx.one_block && itx.need_copy);
  auto pieces = SplitNeedCopy(log.itxs[1]);
  ASSERT_EQ(2u, pieces.size());  // 131072 > kZilMaxLogData
  EXPECT_EQ(131072u + 65536, pieces[1].off);
  EXPECT_FALSE(pieces[1].one_block);
  auto rec = DecodeLogRecord(ByteSpan(pieces[1].lr), true);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(131072u + 65536, std::get<LrWrite>(rec->body).offset);
  EXPECT_EQ(1u, SplitNeedCopy(log.itxs[2]).size());
  Bytes lr = log.itxs[0].lr;
  BlkPtr bp = LogBp(0x80000, 0, 131072);
  bp.birth = 12;
  SetLrWriteBlock(&lr, 10000, bp);
  rec = DecodeLogRecord(ByteSpan(lr), true);
  ASSERT_TRUE(rec.ok());
  const LrWrite& w = std::get<LrWrite>(rec->body);
  EXPECT_TRUE(w.indirect);
  EXPECT_EQ(10000u, w.blkoff);
  EXPECT_EQ(10000u, w.offset);
  EXPECT_EQ(bp.dva[0].offset(), w.blkptr.dva[0].offset());
  EXPECT_EQ(12u, w.blkptr.birth);
}

TEST(ZilWrite, BuildLogBlockChainIsWalkedByParseZil) {
  MemReader r;
  BlkPtr b1 = LogBp(0x10000, 1), b2 = LogBp(0x20000, 2, 12288), b3 = LogBp(0x40000, 3),
         b4 = LogBp(0x50000, 4);
  auto seq = [](Bytes rec, uint64_t s) {
    SetLrSeq(rec.data(), s);
    return rec;
  };
  auto cat = [](std::initializer_list<Bytes> rs) {
    Bytes out;
    for (const Bytes& x : rs) out.insert(out.end(), x.begin(), x.end());
    return out;
  };
  LrCreate c;
  c.doid = 4, c.foid = 9, c.mode = 0100644, c.gen = 7, c.name = "f";
  Bytes big(6000, 0x5c);  // a copied write that pushes nused of block 2 past 4K
  Bytes recs1 = cat({seq(EncodeLrCreate(kTxCreate, 7, c), 1), seq(EncodeLrTruncate(7, {9, 0, 0}), 2)});
  Bytes recs2 = cat({seq(EncodeLrWrite(7, {9, 0, big.size(), 0, {}, false, {}}, big), 3)});
  Bytes recs3 = cat({seq(EncodeLrLink(7, {4, 9, "g"}), 4), seq(EncodeLrRemove(kTxRemove, 7, {4, "f"}), 5)});
  r.blocks[0x10000] = BuildLogBlock(b1, b2, recs1);
  r.blocks[0x20000] = BuildLogBlock(b2, b3, recs2);
  r.blocks[0x40000] = BuildLogBlock(b3, b4, recs3);
  ASSERT_EQ(r.blocks[0x10000].size(), 4096u);
  ASSERT_EQ(r.blocks[0x20000].size(), 12288u);
  // What must be written: the checksummed part, nused rounded up to 4K.
  EXPECT_EQ(LogBlockUsedBytes(r.blocks[0x10000]), 4096u);
  EXPECT_EQ(LogBlockUsedBytes(r.blocks[0x20000]), 8192u);
  // zil_chain_t at offset 0: zc_pad 0, zc_next_blk, zc_nused, zc_eck.zec_magic.
  const Bytes& blk1 = r.blocks[0x10000];
  EXPECT_EQ(LoadLE64(blk1.data()), 0u);
  EXPECT_EQ(BlkPtr::Decode(blk1.data() + 8, true), b2);
  EXPECT_EQ(LoadLE64(blk1.data() + 136), kZilChainSize + recs1.size());
  EXPECT_EQ(LoadLE64(blk1.data() + 144), kZecMagic);
  EXPECT_TRUE(std::equal(recs1.begin(), recs1.end(), blk1.begin() + kZilChainSize));
  for (size_t i = kZilChainSize + recs1.size(); i < blk1.size(); i++) ASSERT_EQ(blk1[i], 0) << i;

  std::vector<uint64_t> blocks, seqs;
  std::vector<uint32_t> types;
  auto res = ParseZil(r, ZilHeader{0, 0, b1}, [&](const BlkPtr& bp) {
    blocks.push_back(bp.cksum.word[kZilZcSeq]);
    return Status::Ok();
  }, [&](const LogRecord& lr) {
    seqs.push_back(lr.seq);
    types.push_back(lr.type());
    return Status::Ok();
  });
  EXPECT_EQ(blocks, (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(seqs, (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(types, (std::vector<uint32_t>{kTxCreate, kTxTruncate, kTxWrite, kTxLink, kTxRemove}));
  EXPECT_EQ(res.error.code(), EIO);  // the unwritten fourth
  EXPECT_EQ(res.blk_count, 4u);
  EXPECT_EQ(res.lr_count, 5u);

  // The checksum covers nused rounded up to 4K: bytes past it may change, bytes in it not.
  auto lb = ReadLogBlock(r, b2);
  ASSERT_TRUE(lb.ok()) << lb.status().ToString();
  EXPECT_EQ(lb->records, recs2);
  r.blocks[0x20000][12287] ^= 1;
  EXPECT_TRUE(ReadLogBlock(r, b2).ok());
  std::fill(r.blocks[0x20000].begin() + 8192, r.blocks[0x20000].end(), 0xee);  // never written
  EXPECT_TRUE(ReadLogBlock(r, b2).ok());
  r.blocks[0x20000][8000] ^= 1;
  EXPECT_EQ(ReadLogBlock(r, b2).status().code(), ECKSUM);
  // A block read with another verifier (a stale block of an older chain) fails.
  BlkPtr other = b1;
  other.cksum.word[kZilZcGuid0] ^= 1;
  EXPECT_EQ(ReadLogBlock(r, other).status().code(), ECKSUM);
  // Records that do not fit give no block.
  EXPECT_TRUE(BuildLogBlock(b1, b2, Bytes(4096 - kZilChainSize + 8, 0)).empty());
  EXPECT_EQ(BuildLogBlock(b1, b2, Bytes(4096 - kZilChainSize, 0)).size(), 4096u);
}

}  // namespace
}  // namespace uzfs
