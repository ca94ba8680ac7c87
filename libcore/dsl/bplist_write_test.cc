// bplists as bplist_enqueue writes them (header sums, fill and checksum cleared, the 16-byte
// pre-v15 header), and the dsl_dir space helpers, on an in-memory MOS.
#include "libcore/dsl/bplist_write.h"

#include <gtest/gtest.h>

#include "libcore/dsl/dsl_write.h"

namespace uzfs {
namespace {

BlkPtr MakeBp(uint64_t offset, uint64_t lsize, uint64_t psize, uint8_t type, int level,
              uint64_t birth) {
  BlkPtr bp;
  bp.dva[0].Set(0, offset, psize);
  bp.set_lsize(lsize);
  bp.set_psize(psize);
  bp.set_type(type);
  bp.set_level(level);
  bp.set_checksum(7);
  bp.set_compress(2);
  bp.set_little_endian(true);
  bp.birth = birth;
  bp.fill = 9;
  bp.cksum.word[0] = 0x1234;
  return bp;
}

class BplistTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ObjsetPolicy pol;
    pol.mos = true;
    mos_ = ObjsetWriter::Create(nullptr, kOstMeta, pol);
  }
  std::unique_ptr<ObjsetWriter> mos_;
};

TEST_F(BplistTest, AppendKeepsHeaderSumsAndClearsFillAndChecksum) {
  auto obj = CreateBplist(*mos_);
  ASSERT_TRUE(obj.ok());
  auto h0 = LoadBplist(*mos_, *obj);
  ASSERT_TRUE(h0.ok());
  EXPECT_EQ(0u, h0->entries);
  EXPECT_TRUE(h0->havecomp);
  std::vector<BlkPtr> bps = {
      MakeBp(0x1000, 131072, 131072, kOtPlainFileContents, 0, 10),  // data: ucsize = lsize
      MakeBp(0x30000, 16384, 4096, kOtDnode, 0, 11),                // metadata: ucsize = psize
      MakeBp(0x40000, 16384, 1024, kOtPlainFileContents, 1, 12),    // indirect: psize
  };
  bps[2].prop |= 1ULL << 62;  // dedup: its checksum is kept
  // Enough entries to cross into the bplist's second 128K block.
  std::vector<BlkPtr> many;
  std::vector<uint64_t> dsize;
  for (int i = 0; i < 1100; i++) {
    many.push_back(bps[i % 3]);
    dsize.push_back(bps[i % 3].psize());
  }
  ASSERT_TRUE(BplistAppend(*mos_, *obj, many, dsize).ok());
  ASSERT_TRUE(BplistAppend(*mos_, *obj, {bps[0]}, {131072}).ok());
  auto h = LoadBplist(*mos_, *obj);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(1101u, h->entries);
  uint64_t bytes = 368 * 131072 + 367 * 4096 + 366 * 1024;
  EXPECT_EQ(bytes, h->bytes);
  EXPECT_EQ(bytes, h->comp);
  EXPECT_EQ(bytes, h->uncomp);  // data here is uncompressed; metadata and indirects count psize
  auto all = BplistEntries(*mos_, *obj);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(1101u, all->size());
  EXPECT_EQ(0u, (*all)[0].fill);
  EXPECT_EQ(0u, (*all)[0].cksum.word[0]);
  EXPECT_EQ(0x1234u, (*all)[2].cksum.word[0]);
  EXPECT_EQ(bps[1].dva[0], (*all)[1000].dva[0]);
  EXPECT_EQ(10u, (*all)[1100].birth);
  auto range = BplistSpaceBirthrange(*mos_, *obj, 10, 11, [](const BlkPtr& b) { return b.psize(); });
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(4096u * 367, *range);
  EXPECT_EQ(EINVAL, BplistAppend(*mos_, *obj, {BlkPtr{}}, {0}).code());
}

TEST_F(BplistTest, UcsizeIsLsizeForDataOnly) {
  EXPECT_EQ(131072u, BpUcsize(MakeBp(0, 131072, 4096, kOtPlainFileContents, 0, 5)));
  EXPECT_EQ(4096u, BpUcsize(MakeBp(0, 16384, 4096, kOtDnode, 0, 5)));
  EXPECT_EQ(1024u, BpUcsize(MakeBp(0, 16384, 1024, kOtPlainFileContents, 2, 5)));
}

TEST_F(BplistTest, VersionZeroHeaderSumsFromTheEntries) {
  auto obj = mos_->Allocate(kOtBplist, 131072, kOtBplistHdr, 16);
  ASSERT_TRUE(obj.ok());
  BlkPtr data = MakeBp(0x1000, 131072, 8192, kOtPlainFileContents, 0, 7);
  ASSERT_TRUE(BplistAppend(*mos_, *obj, {data, data}, {8192, 8192}).ok());
  auto bonus = mos_->Bonus(*obj);
  ASSERT_TRUE(bonus.ok());
  EXPECT_EQ(16u, bonus->size());
  auto h = LoadBplist(*mos_, *obj);
  ASSERT_TRUE(h.ok());
  EXPECT_FALSE(h->havecomp);
  EXPECT_EQ(2u, h->entries);
  EXPECT_EQ(16384u, h->bytes);
  EXPECT_EQ(16384u, h->comp);
  EXPECT_EQ(262144u, h->uncomp);
}

TEST_F(BplistTest, DirSpaceGoesUpAsChild) {
  ZapStore zaps(mos_.get());
  auto root = CreateDir(*mos_, zaps, 0, "", 1);
  auto mid = CreateDir(*mos_, zaps, *root, "mid", 1);
  auto leaf = CreateDir(*mos_, zaps, *mid, "leaf", 1);
  ASSERT_TRUE(leaf.ok());
  ASSERT_TRUE(DirDidUseSpace(*mos_, *leaf, kDdUsedHead, 1000, 500, 2000).ok());
  ASSERT_TRUE(DirTransferSpace(*mos_, *leaf, 300, kDdUsedHead, kDdUsedSnap).ok());
  ASSERT_TRUE(DirDidUseSpace(*mos_, *leaf, kDdUsedSnap, -100, -50, -200).ok());
  auto l = LoadDir(*mos_, *leaf);
  auto m = LoadDir(*mos_, *mid);
  auto r = LoadDir(*mos_, *root);
  EXPECT_EQ(900u, l->used_bytes);
  EXPECT_EQ(700u, l->used_breakdown[kDdUsedHead]);
  EXPECT_EQ(200u, l->used_breakdown[kDdUsedSnap]);
  for (const DslDirPhys* d : {&*m, &*r}) {
    EXPECT_EQ(900u, d->used_bytes);
    EXPECT_EQ(450u, d->compressed_bytes);
    EXPECT_EQ(1800u, d->uncompressed_bytes);
    EXPECT_EQ(900u, d->used_breakdown[kDdUsedChild]);
    EXPECT_EQ(0u, d->used_breakdown[kDdUsedHead] + d->used_breakdown[kDdUsedSnap]);
  }
}

}  // namespace
}  // namespace uzfs
