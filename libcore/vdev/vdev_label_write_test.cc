// Label write side: what WriteLabelConfig / WriteUberblock put on a device reads back through
// ReadDeviceLabels (all 4 labels, ring slot = txg mod slots), and ClearLabels leaves no label.
#include <gtest/gtest.h>

#include <set>

#include "libcore/vdev/vdev_label.h"

namespace uzfs {
namespace {

// Not a multiple of 256K: the end labels sit at the rounded-down size.
constexpr uint64_t kDevSize = (12ULL << 20) + 100 * 1024;
constexpr uint64_t kPsize = 12ULL << 20;

NvList Config(uint64_t ashift, uint64_t txg) {
  NvList tree;
  tree.AddString("type", "file");
  tree.AddUint64("id", 0);
  tree.AddUint64("guid", 0xabcdef);
  tree.AddString("path", "/dev/x");
  tree.AddUint64("ashift", ashift);
  tree.AddUint64("asize", kPsize - kVdevLabelStartSize - kVdevLabelEndSize);
  NvList nv;
  nv.AddUint64("version", 23);
  nv.AddString("name", "tank");
  nv.AddUint64("state", 0);
  nv.AddUint64("txg", txg);
  nv.AddUint64("pool_guid", 0x1234);
  nv.AddUint64("top_guid", 0xabcdef);
  nv.AddUint64("guid", 0xabcdef);
  nv.AddNvList("vdev_tree", tree);
  return nv;
}

Uberblock Ub(uint64_t txg) {
  Uberblock ub;
  ub.magic = kUberblockMagic;
  ub.version = 23;
  ub.txg = txg;
  ub.guid_sum = 0x1234 + 0xabcdef;
  ub.timestamp = 1700000000 + txg;
  ub.rootbp.dva[0].word[0] = 1024 >> 9;  // vdev 0, asize 1K (Dva::Set lives above this layer)
  ub.rootbp.dva[0].word[1] = (txg << 12) >> 9;
  ub.rootbp.set_lsize(2048);
  ub.rootbp.set_psize(1024);
  ub.rootbp.birth = txg;
  ub.rootbp.fill = 30 + txg;
  ub.rootbp.cksum.word[2] = txg * 3;
  return ub;
}

class LabelWriteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = NewMemEnv();
    auto f = env_->Open("/dev/x", OpenOptions{.write = true, .create = true});
    ASSERT_TRUE(f.ok());
    file_ = std::move(f).value();
    // Garbage everywhere first: the writes must not depend on a zeroed device.
    Bytes junk(kDevSize);
    for (size_t i = 0; i < junk.size(); i++) junk[i] = static_cast<uint8_t>(i * 7 + 3);
    ASSERT_TRUE(file_->WriteAt(0, junk).ok());
  }
  DeviceLabels Read(uint64_t hint = 0) {
    auto r = ReadDeviceLabels(*file_, hint);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : DeviceLabels{};
  }
  std::unique_ptr<Env> env_;
  std::unique_ptr<File> file_;
};

TEST_F(LabelWriteTest, ConfigAndUberblockReadBackFromAllFourLabels) {
  for (uint64_t ashift : {9u, 12u, 13u, 17u}) {
    ASSERT_TRUE(ClearLabels(*file_, kPsize).ok());
    NvList cfg = Config(ashift, 37);
    ASSERT_TRUE(WriteLabelConfig(*file_, kPsize, cfg, kAllLabels).ok());
    Uberblock ub = Ub(37);
    ASSERT_TRUE(WriteUberblock(*file_, kPsize, ub, ashift, kAllLabels).ok());
    DeviceLabels dl = Read();
    EXPECT_EQ(dl.size, kDevSize);
    EXPECT_EQ(dl.psize, kPsize);
    int shift = UberblockShift(ashift);
    EXPECT_EQ(shift, std::clamp<int>(static_cast<int>(ashift), 10, 17));
    uint64_t slots = kUberblockRingSize >> shift;
    for (int l = 0; l < kVdevLabels; l++) {
      const LabelRead& lr = dl.labels[static_cast<size_t>(l)];
      ASSERT_TRUE(lr.status.ok()) << "ashift " << ashift << " label " << l << ": "
                                  << lr.status.ToString();
      EXPECT_EQ(lr.offset, VdevLabelOffset(kPsize, l));
      EXPECT_TRUE(lr.config == cfg) << lr.config.Dump();
      ASSERT_EQ(lr.uberblocks.size(), 1u) << "ashift " << ashift << " label " << l;
      const Uberblock& got = lr.uberblocks[0];
      EXPECT_EQ(got.txg, 37u);
      EXPECT_EQ(got.version, 23u);
      EXPECT_EQ(got.guid_sum, ub.guid_sum);
      EXPECT_EQ(got.timestamp, ub.timestamp);
      EXPECT_EQ(got.rootbp, ub.rootbp);
      EXPECT_FALSE(got.byteswapped);
      EXPECT_EQ(got.label, l);
      EXPECT_EQ(got.slot, static_cast<int>(37 % slots)) << "ashift " << ashift;
      EXPECT_EQ(got.slot_shift, shift);
      EXPECT_EQ(got.offset, VdevLabelOffset(kPsize, l) + kUberblockRingOffset +
                                ((37 % slots) << shift));
    }
    ASSERT_NE(dl.config(), nullptr);
    EXPECT_TRUE(*dl.config() == cfg);
  }
}

TEST_F(LabelWriteTest, RingKeepsTheNewestTxgsAndBestComesFirst) {
  ASSERT_TRUE(ClearLabels(*file_, kPsize).ok());
  ASSERT_TRUE(WriteLabelConfig(*file_, kPsize, Config(9, 4), kAllLabels).ok());
  for (uint64_t txg = 4; txg <= 300; txg++)
    ASSERT_TRUE(WriteUberblock(*file_, kPsize, Ub(txg), 9, kAllLabels).ok());
  DeviceLabels dl = Read();
  for (const LabelRead& lr : dl.labels) {
    ASSERT_EQ(lr.uberblocks.size(), 128u);  // 128K ring of 1K slots
    std::set<uint64_t> txgs;
    for (const Uberblock& u : lr.uberblocks) {
      txgs.insert(u.txg);
      EXPECT_EQ(static_cast<uint64_t>(u.slot), u.txg % 128);
      EXPECT_EQ(u.rootbp, Ub(u.txg).rootbp);
    }
    EXPECT_EQ(*txgs.begin(), 300u - 127);
    EXPECT_EQ(*txgs.rbegin(), 300u);
  }
  auto all = dl.AllUberblocks();
  ASSERT_EQ(all.size(), 4u * 128);
  EXPECT_EQ(all.front().txg, 300u);
  for (size_t i = 1; i < all.size(); i++) EXPECT_FALSE(UberblockBetter(all[i], all[i - 1]));
}

TEST_F(LabelWriteTest, LabelSetsAreWrittenSeparately) {
  ASSERT_TRUE(ClearLabels(*file_, kPsize).ok());
  ASSERT_TRUE(WriteLabelConfig(*file_, kPsize, Config(9, 8), kEvenLabels).ok());
  ASSERT_TRUE(WriteUberblock(*file_, kPsize, Ub(8), 9, kOddLabels).ok());
  DeviceLabels dl = Read(9);
  for (int l = 0; l < kVdevLabels; l++) {
    const LabelRead& lr = dl.labels[static_cast<size_t>(l)];
    EXPECT_EQ(lr.status.ok(), l % 2 == 0) << l;
    EXPECT_EQ(lr.uberblocks.size(), l % 2 == 1 ? 1u : 0u) << l;
  }
  // Now the odd labels get a newer config: each label holds its own.
  ASSERT_TRUE(WriteLabelConfig(*file_, kPsize, Config(9, 9), kOddLabels).ok());
  dl = Read(9);
  for (int l = 0; l < kVdevLabels; l++)
    EXPECT_EQ(dl.labels[static_cast<size_t>(l)].config.GetUint64("txg"),
              std::optional<uint64_t>(l % 2 ? 9 : 8));
}

TEST_F(LabelWriteTest, DamagedLabelIsReportedOthersStillRead) {
  ASSERT_TRUE(ClearLabels(*file_, kPsize).ok());
  NvList cfg = Config(12, 20);
  ASSERT_TRUE(WriteLabelConfig(*file_, kPsize, cfg, kAllLabels).ok());
  ASSERT_TRUE(WriteUberblock(*file_, kPsize, Ub(20), 12, kAllLabels).ok());
  // One byte of label 2's vdev_phys, one byte of label 3's uberblock slot.
  uint8_t x = 0xff;
  ASSERT_TRUE(file_->WriteAt(VdevLabelOffset(kPsize, 2) + kVdevPhysOffset + 40, ByteSpan(&x, 1)).ok());
  uint64_t slot3 = VdevLabelOffset(kPsize, 3) + kUberblockRingOffset + ((20 % 32) << 12);
  ASSERT_TRUE(file_->WriteAt(slot3 + 50, ByteSpan(&x, 1)).ok());
  DeviceLabels dl = Read();
  EXPECT_TRUE(dl.labels[0].status.ok());
  EXPECT_TRUE(dl.labels[1].status.ok());
  EXPECT_EQ(dl.labels[2].status.code(), ECKSUM);
  EXPECT_TRUE(dl.labels[3].status.ok());
  EXPECT_EQ(dl.labels[2].uberblocks.size(), 1u);
  EXPECT_EQ(dl.labels[3].uberblocks.size(), 0u);
  EXPECT_EQ(dl.AllUberblocks().size(), 3u);
}

TEST_F(LabelWriteTest, ClearLabelsLeavesNoValidLabel) {
  ASSERT_TRUE(WriteLabelConfig(*file_, kPsize, Config(9, 5), kAllLabels).ok());
  for (uint64_t txg = 5; txg < 20; txg++)
    ASSERT_TRUE(WriteUberblock(*file_, kPsize, Ub(txg), 9, kAllLabels).ok());
  ASSERT_TRUE(ClearLabels(*file_, kPsize).ok());
  DeviceLabels dl = Read();
  for (const LabelRead& lr : dl.labels) {
    EXPECT_FALSE(lr.status.ok());
    EXPECT_TRUE(lr.uberblocks.empty());
  }
  EXPECT_EQ(dl.config(), nullptr);
  EXPECT_TRUE(dl.AllUberblocks().empty());
  // The front 4 MiB (labels 0, 1 and the boot region) and both end labels are zero.
  Bytes front(kVdevLabelStartSize), back(kVdevLabelEndSize);
  ASSERT_TRUE(file_->ReadAt(0, front).ok());
  ASSERT_TRUE(file_->ReadAt(kPsize - kVdevLabelEndSize, back).ok());
  EXPECT_EQ(front, Bytes(kVdevLabelStartSize, 0));
  EXPECT_EQ(back, Bytes(kVdevLabelEndSize, 0));
  // What lies between and after the labels is left alone.
  Bytes mid(16), tail(16);
  ASSERT_TRUE(file_->ReadAt(kVdevLabelStartSize, mid).ok());
  ASSERT_TRUE(file_->ReadAt(kPsize, tail).ok());
  EXPECT_EQ(mid[0], static_cast<uint8_t>(kVdevLabelStartSize * 7 + 3));
  EXPECT_EQ(tail[0], static_cast<uint8_t>(kPsize * 7 + 3));
}

TEST(LabelEncode, ConfigTooLargeIsE2big) {
  NvList nv;
  nv.AddString("blob", std::string(kVdevPhysSize, 'x'));
  EXPECT_EQ(EncodeVdevPhys(nv, 16384).status().code(), E2BIG);
  auto ok = EncodeVdevPhys(Config(9, 4), 16384);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->size(), kVdevPhysSize);
  auto back = ParseVdevPhys(*ok, 16384);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(*back == Config(9, 4));
  EXPECT_EQ(ParseVdevPhys(*ok, 16384 + 256 * 1024).status().code(), ECKSUM);  // verifier
  Bytes slot = EncodeUberblock(Ub(9), 10, 128 * 1024 + 9 * 1024);
  EXPECT_TRUE(ParseUberblock(slot, 128 * 1024 + 9 * 1024).ok());
  EXPECT_EQ(ParseUberblock(slot, 128 * 1024 + 10 * 1024).status().code(), ECKSUM);
}

}  // namespace
}  // namespace uzfs
