#include "libcore/vdev/vdev_raidz.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "libcore/base/checksum.h"
#include "libcore/base/env.h"
#include "libcore/vdev/vdev.h"
#include "libcore/vdev/vdev_label.h"

namespace uzfs {
namespace {

Bytes RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

// Splits data (size = map's I/O size) into the map's data columns and computes parity.
RaidzColumns Columns(const RaidzMap& m, const Bytes& data) {
  RaidzColumns cols(m.cols);
  uint64_t pos = 0;
  for (uint64_t c = 0; c < m.cols; c++) {
    cols[c].assign(m.col[c].size, 0);
    if (c >= m.firstdatacol) {
      std::copy_n(data.begin() + static_cast<long>(pos), m.col[c].size, cols[c].begin());
      pos += m.col[c].size;
    }
  }
  RaidzGenerateParity(m, cols);
  return cols;
}

TEST(RaidzMap, FullStripeRaidz1) {
  // 3 sectors of data on 4 children: one row, no skip.
  auto m = RaidzMapAlloc(0, 3 * 4096, 12, 4, 1);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->cols, 4u);
  EXPECT_EQ(m->scols, 4u);
  EXPECT_EQ(m->bigcols, 0u);
  EXPECT_EQ(m->asize, 4u * 4096);
  EXPECT_EQ(m->nskip, 0u);
  for (uint64_t c = 0; c < 4; c++) {
    EXPECT_EQ(m->col[c].devidx, c);
    EXPECT_EQ(m->col[c].offset, 0u);
    EXPECT_EQ(m->col[c].size, 4096u);
  }
}

TEST(RaidzMap, ShortBlockHasSkipSector) {
  // 1 sector on raidz1 of 4, starting at child 3: data+parity = 2 sectors, no skip needed;
  // 2 sectors: 3 used, rounded to a multiple of nparity+1 = 4 -> one skip sector.
  uint64_t off = 7 * 4096;  // b = 7 -> first column on child 3, row 1
  auto m = RaidzMapAlloc(off, 2 * 4096, 12, 4, 1);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->cols, 3u);
  EXPECT_EQ(m->scols, 4u);
  EXPECT_EQ(m->bigcols, 3u);
  EXPECT_EQ(m->nskip, 1u);
  EXPECT_EQ(m->asize, 4u * 4096);
  EXPECT_EQ(m->col[0].devidx, 3u);
  EXPECT_EQ(m->col[0].offset, 4096u);
  EXPECT_EQ(m->col[1].devidx, 0u);
  EXPECT_EQ(m->col[1].offset, 2u * 4096);  // wrapped to the next row
  EXPECT_EQ(m->col[3].size, 0u);
}

TEST(RaidzMap, Raidz1SwapsParityOnOddMegabyte) {
  auto even = RaidzMapAlloc(0, 3 * 512, 9, 4, 1);
  auto odd = RaidzMapAlloc(1 << 20, 3 * 512, 9, 4, 1);
  ASSERT_TRUE(even.ok() && odd.ok());
  // 1 MiB / 512 = 2048 sectors, 2048 % 4 == 0: same first child; odd MiB swaps columns 0 and 1.
  EXPECT_EQ(even->col[0].devidx, 0u);
  EXPECT_EQ(odd->col[0].devidx, 1u);
  EXPECT_EQ(odd->col[1].devidx, 0u);
  auto odd2 = RaidzMapAlloc(1 << 20, 3 * 512, 9, 4, 2);
  ASSERT_TRUE(odd2.ok());
  EXPECT_EQ(odd2->col[0].devidx, 0u);  // raidz2 never swaps
}

TEST(RaidzMap, RejectsImpossibleGeometry) {
  EXPECT_FALSE(RaidzMapAlloc(0, 4096, 12, 1, 1).ok());
  EXPECT_FALSE(RaidzMapAlloc(0, 4096, 12, 3, 3).ok());
  EXPECT_FALSE(RaidzMapAlloc(0, 4096, 12, 5, 4).ok());
  EXPECT_FALSE(RaidzMapAlloc(0, 100, 9, 4, 1).ok());
  EXPECT_FALSE(RaidzMapAlloc(0, 0, 9, 4, 1).ok());
  EXPECT_FALSE(RaidzMapAlloc(0, 4096, 40, 4, 1).ok());
}

TEST(RaidzParity, QIsHornerOverGf256) {
  // Two data columns d0, d1 (one byte each): Q = 2*d0 ^ d1, R = 4*d0 ^ d1.
  auto m = RaidzMapAlloc(0, 2 * 512, 9, 5, 3);
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->cols, 5u);
  Bytes data(1024, 0);
  data[0] = 0x80;
  data[512] = 0x01;
  auto cols = Columns(*m, data);
  EXPECT_EQ(cols[0][0], 0x81);
  EXPECT_EQ(cols[1][0], static_cast<uint8_t>(0x1d ^ 0x01));  // 2*0x80 = 0x1d mod 0x11d
  EXPECT_EQ(cols[2][0], static_cast<uint8_t>(GfMul(4, 0x80) ^ 0x01));
  EXPECT_EQ(GfMul(4, 0x80), 0x3a);
}

// Every combination of up to nparity damaged columns is rebuilt exactly.
TEST(RaidzReconstruct, AllCombinations) {
  for (uint64_t np = 1; np <= 3; np++) {
    for (uint64_t sectors : {1u, 2u, 5u, 7u, 12u}) {
      auto m = RaidzMapAlloc(5 * 512, sectors * 512, 9, 6, np);
      ASSERT_TRUE(m.ok());
      Bytes data = RandomBytes(sectors * 512, static_cast<uint32_t>(np * 100 + sectors));
      RaidzColumns good = Columns(*m, data);
      int n = static_cast<int>(m->cols);
      for (int mask = 1; mask < (1 << n); mask++) {
        std::vector<int> t;
        for (int c = 0; c < n; c++)
          if (mask & (1 << c)) t.push_back(c);
        if (t.size() > np) continue;
        RaidzColumns work = good;
        for (int c : t) std::fill(work[c].begin(), work[c].end(), 0xEE);
        ASSERT_TRUE(RaidzReconstruct(*m, work, t).ok());
        for (int c = 0; c < n; c++)
          ASSERT_EQ(work[c], good[c]) << "np=" << np << " sectors=" << sectors << " mask=" << mask;
      }
      std::vector<int> too_many;
      for (uint64_t c = 0; c <= np && c < m->cols; c++) too_many.push_back(static_cast<int>(c));
      if (too_many.size() > np) {
        RaidzColumns work = good;
        EXPECT_FALSE(RaidzReconstruct(*m, work, too_many).ok());
      }
    }
  }
}

// A raidz vdev over in-memory devices: missing devices and silently corrupted columns.
class RaidzVdevTest : public ::testing::TestWithParam<int> {
 protected:
  static constexpr uint64_t kDevSize = 8 << 20;
  static constexpr int kChildren = 5;

  void SetUp() override {
    nparity_ = GetParam();
    env_ = NewMemEnv();
    NvList tree;
    tree.AddString("type", "raidz");
    tree.AddUint64("id", 0);
    tree.AddUint64("guid", 1000);
    tree.AddUint64("nparity", nparity_);
    tree.AddUint64("ashift", 9);
    std::vector<NvList> kids;
    for (int i = 0; i < kChildren; i++) {
      std::string p = "/dev" + std::to_string(i);
      auto f = env_->Open(p, OpenOptions{.write = true, .create = true});
      ASSERT_TRUE(f.ok());
      Bytes zero(kDevSize, 0);
      ASSERT_TRUE((*f)->WriteAt(0, zero).ok());
      NvList k;
      k.AddString("type", "file");
      k.AddUint64("id", i);
      k.AddUint64("guid", 2000 + i);
      k.AddString("path", p);
      kids.push_back(k);
    }
    tree.AddNvListArray("children", kids);
    tree_ = tree;
  }

  std::unique_ptr<Vdev> Open(std::vector<int> absent = {}) {
    LeafOpener op = [&](uint64_t guid, const std::string& path) -> std::unique_ptr<File> {
      for (int a : absent)
        if (guid == 2000u + a) return nullptr;
      auto f = env_->Open(path, OpenOptions{});
      return f.ok() ? std::move(f).value() : nullptr;
    };
    auto v = BuildVdevTree(tree_, op);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? std::move(v).value() : nullptr;
  }

  // Writes data as zfs-fuse would at DVA offset off; returns the map.
  RaidzMap Write(uint64_t off, const Bytes& data) {
    auto m = RaidzMapAlloc(off, data.size(), 9, kChildren, nparity_);
    EXPECT_TRUE(m.ok());
    auto cols = Columns(*m, data);
    for (uint64_t c = 0; c < m->cols; c++) {
      auto f = env_->Open("/dev" + std::to_string(m->col[c].devidx), OpenOptions{.write = true});
      EXPECT_TRUE((*f)->WriteAt(m->col[c].offset + kVdevLabelStartSize, cols[c]).ok());
    }
    return *m;
  }

  void Corrupt(const RaidzMap& m, uint64_t c) {
    auto f = env_->Open("/dev" + std::to_string(m.col[c].devidx), OpenOptions{.write = true});
    Bytes junk(m.col[c].size, 0x5a);
    ASSERT_TRUE((*f)->WriteAt(m.col[c].offset + kVdevLabelStartSize, junk).ok());
  }

  uint64_t nparity_ = 1;
  std::unique_ptr<Env> env_;
  NvList tree_;
};

TEST_P(RaidzVdevTest, ReadsRebuildsAndBlames) {
  Bytes data = RandomBytes(7 * 512, 42);
  ZioCksum want = Sha256(data);
  BlockVerifier verify = [&](ByteSpan b) { return Sha256(b) == want; };
  uint64_t off = (1 << 20) + 3 * 512;  // odd MiB: exercises the raidz1 swap
  RaidzMap m = Write(off, data);

  auto v = Open();
  ASSERT_TRUE(v);
  Bytes out(data.size());
  std::vector<VdevIoError> errs;
  ASSERT_TRUE(v->Read(off, out, &verify, &errs).ok());
  EXPECT_EQ(out, data);
  EXPECT_TRUE(errs.empty());

  // Up to nparity silently corrupted data columns (the last ones): found by combinatorial
  // reconstruction, and exactly their devices are blamed.
  std::vector<uint64_t> bad;
  for (uint64_t k = 0; k < nparity_ && m.cols - 1 - k >= m.firstdatacol; k++)
    bad.push_back(m.cols - 1 - k);
  for (uint64_t c : bad) Corrupt(m, c);
  errs.clear();
  std::fill(out.begin(), out.end(), 0);
  ASSERT_TRUE(v->Read(off, out, &verify, &errs).ok());
  EXPECT_EQ(out, data);
  std::set<std::string> blamed;
  for (const auto& e : errs)
    if (e.code == ECKSUM) blamed.insert(e.device);
  std::set<std::string> expect;
  for (uint64_t c : bad) expect.insert("/dev" + std::to_string(m.col[c].devidx));
  EXPECT_EQ(blamed, expect);

  // One more bad column than parity: checksum error, never wrong data.
  Corrupt(m, 0);
  if (nparity_ < 3) {
    Corrupt(m, m.cols - 1);
    errs.clear();
    Status s = v->Read(off, out, &verify, &errs);
    EXPECT_EQ(s.code(), ECKSUM);
  }
}

TEST_P(RaidzVdevTest, MissingDevices) {
  Bytes data = RandomBytes(12 * 512, 7);
  ZioCksum want = Sha256(data);
  BlockVerifier verify = [&](ByteSpan b) { return Sha256(b) == want; };
  RaidzMap m = Write(10 * 512, data);
  std::vector<int> absent;
  for (uint64_t k = 0; k < nparity_; k++) absent.push_back(static_cast<int>(m.col[m.cols - 1 - k].devidx));
  auto v = Open(absent);
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->available());
  Bytes out(data.size());
  std::vector<VdevIoError> errs;
  ASSERT_TRUE(v->Read(10 * 512, out, &verify, &errs).ok());
  EXPECT_EQ(out, data);
  bool saw_enxio = false;
  for (const auto& e : errs) saw_enxio |= e.code == ENXIO;
  EXPECT_TRUE(saw_enxio);

  absent.push_back(static_cast<int>(m.col[0].devidx));
  auto v2 = Open(absent);
  ASSERT_TRUE(v2);
  EXPECT_FALSE(v2->available());
  EXPECT_FALSE(v2->Read(10 * 512, out, &verify, &errs).ok());
}

INSTANTIATE_TEST_SUITE_P(Parity, RaidzVdevTest, ::testing::Values(1, 2, 3));

}  // namespace
}  // namespace uzfs
