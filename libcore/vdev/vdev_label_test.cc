#include "libcore/vdev/vdev_label.h"

#include <gtest/gtest.h>

#include <random>

#include "libcore/base/checksum.h"

namespace uzfs {
namespace {

constexpr uint64_t kDev = 16 << 20;

// Writes a synthetic but well-formed label set: config nvlist in all 4 labels, uberblocks with
// txg 10..(10+n-1) in ring slots txg % count, slot size 2^shift.
class LabelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = NewMemEnv();
    auto f = env_->Open("/d0", OpenOptions{.write = true, .create = true});
    ASSERT_TRUE(f.ok());
    file_ = std::move(f).value();
    Bytes zero(kDev, 0);
    ASSERT_TRUE(file_->WriteAt(0, zero).ok());
  }

  NvList Config(uint64_t ashift) {
    NvList tree;
    tree.AddString("type", "file");
    tree.AddUint64("id", 0);
    tree.AddUint64("guid", 77);
    tree.AddString("path", "/d0");
    tree.AddUint64("ashift", ashift);
    NvList c;
    c.AddUint64("version", 23);
    c.AddString("name", "tank");
    c.AddUint64("state", 1);
    c.AddUint64("txg", 12);
    c.AddUint64("pool_guid", 99);
    c.AddUint64("top_guid", 77);
    c.AddUint64("guid", 77);
    c.AddUint64("vdev_children", 1);
    c.AddNvList("vdev_tree", tree);
    return c;
  }

  void WriteLabel(int l, const NvList& cfg) {
    Bytes phys(kVdevPhysSize, 0);
    Bytes x = cfg.EncodeXdr();
    ASSERT_LT(x.size(), phys.size() - 40);
    std::copy(x.begin(), x.end(), phys.begin());
    uint64_t off = VdevLabelOffset(kDev, l) + kVdevPhysOffset;
    ZioCksum v;
    v.word[0] = off;
    SetEmbeddedChecksum(static_cast<uint8_t>(ChecksumId::kLabel), phys, v);
    ASSERT_TRUE(file_->WriteAt(off, phys).ok());
  }

  void WriteUberblock(int l, int shift, uint64_t txg, uint64_t ts, bool big_endian = false) {
    uint64_t size = 1ULL << shift;
    uint64_t count = kUberblockRingSize / size;
    uint64_t off = VdevLabelOffset(kDev, l) + kUberblockRingOffset + (txg % count) * size;
    Bytes slot(size, 0);
    auto put = [&](size_t at, uint64_t v) {
      if (big_endian) StoreBE64(slot.data() + at, v);
      else StoreLE64(slot.data() + at, v);
    };
    put(0, kUberblockMagic);
    put(8, 23);
    put(16, txg);
    put(24, 99 + 77);
    put(32, ts);
    put(40 + 10 * 8, txg);  // rootbp.blk_birth
    if (big_endian) {
      // The embedded checksum is written in the writer's order: build it natively, then swap
      // the eck words, as a big-endian host would have stored them.
      ZioCksum v;
      v.word[0] = off;
      Bytes tmp = slot;
      // Compute over the big-endian image with the verifier in big-endian.
      for (int i = 0; i < 4; i++) StoreBE64(tmp.data() + size - 32 + 8 * i, v.word[i]);
      StoreBE64(tmp.data() + size - 40, kZecMagic);
      ZioCksum c = Sha256(tmp);
      StoreBE64(slot.data() + size - 40, kZecMagic);
      for (int i = 0; i < 4; i++) StoreBE64(slot.data() + size - 32 + 8 * i, c.word[i]);
    } else {
      ZioCksum v;
      v.word[0] = off;
      SetEmbeddedChecksum(static_cast<uint8_t>(ChecksumId::kLabel), slot, v);
    }
    ASSERT_TRUE(file_->WriteAt(off, slot).ok());
  }

  std::unique_ptr<Env> env_;
  std::unique_ptr<File> file_;
};

TEST_F(LabelTest, OffsetsOfTheFourLabels) {
  uint64_t ps = 100 << 20;
  EXPECT_EQ(VdevLabelOffset(ps, 0), 0u);
  EXPECT_EQ(VdevLabelOffset(ps, 1), 256u << 10);
  EXPECT_EQ(VdevLabelOffset(ps, 2), ps - (512u << 10));
  EXPECT_EQ(VdevLabelOffset(ps, 3), ps - (256u << 10));
  EXPECT_EQ(UberblockShift(9), 10);
  EXPECT_EQ(UberblockShift(12), 12);
  EXPECT_EQ(UberblockShift(40), 17);
}

TEST_F(LabelTest, ReadsConfigAndPicksBestUberblock) {
  for (int l = 0; l < 4; l++) WriteLabel(l, Config(12));
  for (int l = 0; l < 4; l++)
    for (uint64_t txg = 10; txg < 14; txg++) WriteUberblock(l, 12, txg, 1000 + txg);
  auto dl = ReadDeviceLabels(*file_);
  ASSERT_TRUE(dl.ok()) << dl.status().ToString();
  for (int l = 0; l < 4; l++) {
    EXPECT_TRUE(dl->labels[l].status.ok()) << dl->labels[l].status.ToString();
    EXPECT_EQ(dl->labels[l].uberblocks.size(), 4u);
  }
  ASSERT_NE(dl->config(), nullptr);
  EXPECT_EQ(*dl->config()->GetString("name"), "tank");
  auto all = dl->AllUberblocks();
  ASSERT_EQ(all.size(), 16u);
  EXPECT_EQ(all[0].txg, 13u);
  EXPECT_EQ(all[0].slot, 13);
  EXPECT_EQ(all[0].slot_shift, 12);
  EXPECT_EQ(all[0].rootbp.birth, 13u);
  EXPECT_EQ(all[0].guid_sum, 176u);
}

TEST_F(LabelTest, DamagedLabelAndSlotFallBack) {
  for (int l = 0; l < 4; l++) WriteLabel(l, Config(9));
  for (int l = 0; l < 4; l++)
    for (uint64_t txg = 10; txg < 14; txg++) WriteUberblock(l, 10, txg, 5);
  // Flip a byte in label 0's nvlist and in every copy of the txg 13 uberblock.
  Bytes one(1, 0xff);
  ASSERT_TRUE(file_->WriteAt(kVdevPhysOffset + 100, one).ok());
  for (int l = 0; l < 4; l++)
    ASSERT_TRUE(file_->WriteAt(VdevLabelOffset(kDev, l) + kUberblockRingOffset + 13 * 1024 + 20,
                               one).ok());
  auto dl = ReadDeviceLabels(*file_);
  ASSERT_TRUE(dl.ok());
  EXPECT_EQ(dl->labels[0].status.code(), ECKSUM);
  EXPECT_TRUE(dl->labels[1].status.ok());
  ASSERT_NE(dl->config(), nullptr);
  auto all = dl->AllUberblocks();
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all[0].txg, 12u);
}

// zinject -L's label faults: a failed region reads as nothing, the other still reads.
TEST_F(LabelTest, FailedRegionsReadAsInjectedErrors) {
  for (int l = 0; l < 4; l++) WriteLabel(l, Config(12));
  for (int l = 0; l < 4; l++) WriteUberblock(l, 12, 10, 1000);
  auto nvl = ReadDeviceLabels(*file_, 0, kLabelNvlist);
  ASSERT_TRUE(nvl.ok());
  for (int l = 0; l < 4; l++) EXPECT_EQ(nvl->labels[l].status.code(), EIO);
  EXPECT_EQ(nvl->config(), nullptr);
  EXPECT_EQ(nvl->AllUberblocks().size(), 4u);  // ashift unknown: every slot size is tried
  auto uber = ReadDeviceLabels(*file_, 0, kLabelUber);
  ASSERT_TRUE(uber.ok());
  ASSERT_NE(uber->config(), nullptr);
  EXPECT_TRUE(uber->AllUberblocks().empty());
  auto pads = ReadDeviceLabels(*file_, 0, kLabelPad1 | kLabelPad2);
  ASSERT_TRUE(pads.ok());
  ASSERT_NE(pads->config(), nullptr);
  EXPECT_EQ(pads->AllUberblocks().size(), 4u);
}

TEST_F(LabelTest, TimestampBreaksTies) {
  for (int l = 0; l < 4; l++) WriteLabel(l, Config(10));
  WriteUberblock(0, 10, 20, 5);
  WriteUberblock(2, 10, 20, 9);
  auto dl = ReadDeviceLabels(*file_);
  ASSERT_TRUE(dl.ok());
  auto all = dl->AllUberblocks();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].timestamp, 9u);
  EXPECT_EQ(all[0].label, 2);
}

TEST_F(LabelTest, BigEndianUberblock) {
  for (int l = 0; l < 4; l++) WriteLabel(l, Config(10));
  WriteUberblock(1, 10, 30, 7, /*big_endian=*/true);
  auto dl = ReadDeviceLabels(*file_);
  ASSERT_TRUE(dl.ok());
  auto all = dl->AllUberblocks();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].txg, 30u);
  EXPECT_EQ(all[0].version, 23u);
  EXPECT_EQ(all[0].rootbp.birth, 30u);
  EXPECT_TRUE(all[0].byteswapped);
}

TEST_F(LabelTest, NoConfigStillFindsUberblocksBySlotSize) {
  WriteUberblock(3, 12, 40, 7);
  auto dl = ReadDeviceLabels(*file_);
  ASSERT_TRUE(dl.ok());
  EXPECT_EQ(dl->config(), nullptr);
  for (const auto& l : dl->labels) EXPECT_FALSE(l.status.ok());
  auto all = dl->AllUberblocks();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].slot_shift, 12);
}

TEST(Label, TruncatedAndGarbageDevices) {
  auto env = NewMemEnv();
  auto small = env->Open("/small", OpenOptions{.write = true, .create = true});
  ASSERT_TRUE(small.ok());
  Bytes b(600 << 10, 0);
  ASSERT_TRUE((*small)->WriteAt(0, b).ok());
  auto r = ReadDeviceLabels(**small);
  EXPECT_EQ(r.status().code(), EINVAL);
  EXPECT_NE(r.status().message().find("too small"), std::string::npos);

  auto junk = env->Open("/junk", OpenOptions{.write = true, .create = true});
  std::mt19937 rng(1);
  Bytes g(8 << 20);
  for (auto& x : g) x = static_cast<uint8_t>(rng());
  ASSERT_TRUE((*junk)->WriteAt(0, g).ok());
  auto j = ReadDeviceLabels(**junk);
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->config(), nullptr);
  EXPECT_TRUE(j->AllUberblocks().empty());
}

}  // namespace
}  // namespace uzfs
