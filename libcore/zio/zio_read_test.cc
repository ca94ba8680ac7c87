#include "libcore/zio/zio_read.h"

#include <gtest/gtest.h>

#include <random>

#include "libcore/base/checksum.h"
#include "libcore/base/compress.h"
#include "libcore/vdev/vdev_label.h"

namespace uzfs {
namespace {

// One top-level "file" vdev (id 0) over an in-memory device; blocks written at DVA offsets.
class ZioReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = NewMemEnv();
    auto f = env_->Open("/d0", OpenOptions{.write = true, .create = true});
    ASSERT_TRUE(f.ok());
    Bytes zero(16 << 20, 0);
    ASSERT_TRUE((*f)->WriteAt(0, zero).ok());
    NvList t;
    t.AddString("type", "file");
    t.AddUint64("id", 0);
    t.AddUint64("guid", 5);
    t.AddString("path", "/d0");
    t.AddUint64("ashift", 9);
    auto v = BuildVdevTree(t, [&](uint64_t, const std::string& p) -> std::unique_ptr<File> {
      auto f = env_->Open(p, OpenOptions{});
      return f.ok() ? std::move(f).value() : nullptr;
    });
    ASSERT_TRUE(v.ok());
    top_ = std::move(v).value();
    lookup_ = [this](uint64_t id) -> Vdev* { return id == 0 ? top_.get() : nullptr; };
  }
  void Put(uint64_t off, ByteSpan b) {
    auto f = env_->Open("/d0", OpenOptions{.write = true});
    ASSERT_TRUE((*f)->WriteAt(off + kVdevLabelStartSize, b).ok());
  }
  static Bytes Random(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    Bytes b(n);
    for (auto& x : b) x = static_cast<uint8_t>(rng() % 7);  // compressible
    return b;
  }
  static BlkPtr Bp(const Bytes& phys, uint64_t lsize, uint8_t comp) {
    BlkPtr bp;
    bp.set_lsize(lsize);
    bp.set_psize(phys.size());
    bp.set_compress(comp);
    bp.set_checksum(static_cast<uint8_t>(ChecksumId::kFletcher4));
    bp.set_type(19);
    bp.set_little_endian(std::endian::native == std::endian::little);
    bp.birth = 9;
    bp.fill = 1;
    bp.cksum = Fletcher4Native(phys);
    return bp;
  }

  std::unique_ptr<Env> env_;
  std::unique_ptr<Vdev> top_;
  TopVdevLookup lookup_;
};

TEST_F(ZioReadTest, PlainAndHole) {
  Bytes d = Random(4096, 1);
  BlkPtr bp = Bp(d, 4096, 2);
  bp.dva[0].Set(0, 0x10000, 4096);
  Put(0x10000, d);
  ReadReport rep;
  auto r = ReadBlock(bp, lookup_, &rep);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, d);
  EXPECT_TRUE(rep.errors.empty());
  BlkPtr hole;
  hole.set_lsize(8192);
  auto h = ReadBlock(hole, lookup_, nullptr);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(*h, Bytes(8192, 0));
}

TEST_F(ZioReadTest, DittoCopyRecoversAndReports) {
  Bytes d = Random(2048, 2);
  BlkPtr bp = Bp(d, 2048, 2);
  bp.dva[0].Set(0, 0x20000, 2048);
  bp.dva[1].Set(0, 0x30000, 2048);
  Bytes bad = d;
  bad[100] ^= 1;
  Put(0x20000, bad);
  Put(0x30000, d);
  ReadReport rep;
  auto r = ReadBlock(bp, lookup_, &rep);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, d);
  ASSERT_EQ(rep.errors.size(), 1u);
  EXPECT_EQ(rep.errors[0].dva, 0);
  EXPECT_EQ(rep.errors[0].code, ECKSUM);
  EXPECT_EQ(rep.errors[0].offset, 0x20000u);
  EXPECT_EQ(rep.errors[0].device, "/d0");
  EXPECT_TRUE(rep.recovered);

  Put(0x30000, bad);
  ReadReport rep2;
  auto r2 = ReadBlock(bp, lookup_, &rep2);
  EXPECT_EQ(r2.status().code(), ECKSUM);
  EXPECT_EQ(rep2.errors.size(), 2u);
  EXPECT_FALSE(rep2.recovered);
}

TEST_F(ZioReadTest, ScrubChecksEveryCopy) {
  Bytes d = Random(1024, 5);
  BlkPtr bp = Bp(d, 1024, 2);
  bp.dva[0].Set(0, 0x70000, 1024);
  bp.dva[1].Set(0, 0x71000, 1024);
  Bytes bad = d;
  bad[0] ^= 0x80;
  Put(0x70000, d);
  Put(0x71000, bad);
  ReadReport normal;
  ASSERT_TRUE(ReadBlock(bp, lookup_, &normal).ok());
  EXPECT_TRUE(normal.errors.empty());  // DVA[0] was good: DVA[1] never read
  ReadReport scrub;
  auto r = ReadBlock(bp, lookup_, &scrub, /*scrub=*/true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, d);
  ASSERT_EQ(scrub.errors.size(), 1u);
  EXPECT_EQ(scrub.errors[0].dva, 1);
  EXPECT_EQ(scrub.errors[0].code, ECKSUM);
  EXPECT_TRUE(scrub.recovered);
}

// zilog2 (v23 ZIL blocks): zil_chain_t {pad, next blkptr, nused, eck} at the start; fletcher4
// over nused rounded up to 4K with bp->blk_cksum as the verifier (zfs-fuse zio_checksum_error).
TEST(ZilChecksum, Zilog2EmbeddedChecksum) {
  Bytes blk(8192, 0);
  for (size_t i = 200; i < 3000; i++) blk[i] = static_cast<uint8_t>(i * 7);
  BlkPtr bp;
  bp.set_checksum(static_cast<uint8_t>(ChecksumId::kZilog2));
  bp.cksum.word[0] = 0x1234;
  bp.cksum.word[3] = 77;
  StoreLE64(blk.data() + 136, 3000);        // zc_nused
  StoreLE64(blk.data() + 144, kZecMagic);   // zc_eck.zec_magic
  for (int i = 0; i < 4; i++) StoreLE64(blk.data() + 152 + 8 * i, bp.cksum.word[i]);
  ZioCksum c = Fletcher4Native(ByteSpan(blk).first(4096));
  for (int i = 0; i < 4; i++) StoreLE64(blk.data() + 152 + 8 * i, c.word[i]);
  EXPECT_TRUE(VerifyBlockChecksum(bp, blk));
  blk[5000] ^= 1;  // past nused rounded up: not covered
  EXPECT_TRUE(VerifyBlockChecksum(bp, blk));
  blk[2000] ^= 1;
  EXPECT_FALSE(VerifyBlockChecksum(bp, blk));
  blk[2000] ^= 1;
  StoreLE64(blk.data() + 136, 1 << 20);  // nused beyond the block
  EXPECT_FALSE(VerifyBlockChecksum(bp, blk));
}

TEST_F(ZioReadTest, CompressedBlock) {
  Bytes d = Random(16384, 3);
  Bytes c(16384);
  size_t n = LzjbCompress(d, c);
  ASSERT_LT(n, d.size());
  c.resize(P2RoundUp(n, 512), 0);
  BlkPtr bp = Bp(c, d.size(), static_cast<uint8_t>(CompressId::kLzjb));
  bp.dva[0].Set(0, 0x40000, c.size());
  Put(0x40000, c);
  auto r = ReadBlock(bp, lookup_, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, d);
}

TEST_F(ZioReadTest, GangBlock) {
  // 3 KiB of data split over two gang members of 2K and 1K; the header at 0x50000.
  Bytes d = Random(3072, 4);
  Bytes m1(d.begin(), d.begin() + 2048), m2(d.begin() + 2048, d.end());
  BlkPtr c1 = Bp(m1, 2048, 2), c2 = Bp(m2, 1024, 2);
  c1.dva[0].Set(0, 0x51000, 2048);
  c2.dva[0].Set(0, 0x52000, 1024);
  Put(0x51000, m1);
  Put(0x52000, m2);
  BlkPtr bp = Bp(d, 3072, 2);
  bp.dva[0].Set(0, 0x50000, 512 + 3072, /*gang=*/true);
  Bytes hdr(512, 0);
  c1.Encode(hdr.data());
  c2.Encode(hdr.data() + 128);
  ZioCksum v;
  v.word[0] = 0;
  v.word[1] = 0x50000;
  v.word[2] = bp.physical_birth();
  SetEmbeddedChecksum(static_cast<uint8_t>(ChecksumId::kGangHeader), hdr, v);
  Put(0x50000, hdr);
  ReadReport rep;
  auto r = ReadBlock(bp, lookup_, &rep);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, d);
  EXPECT_NE(bp.ToString().find(" gang "), std::string::npos);

  // A damaged gang header fails the embedded checksum.
  hdr[3] ^= 0x10;
  Put(0x50000, hdr);
  auto bad = ReadBlock(bp, lookup_, &rep);
  EXPECT_EQ(bad.status().code(), ECKSUM);
}

TEST_F(ZioReadTest, NonexistentVdevAndCorruptBp) {
  Bytes d(512, 1);
  BlkPtr bp = Bp(d, 512, 2);
  bp.dva[0].Set(7, 0, 512);
  ReadReport rep;
  auto r = ReadBlock(bp, lookup_, &rep);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(rep.errors.size(), 1u);
  BlkPtr nodva = Bp(d, 512, 2);
  EXPECT_EQ(ReadBlock(nodva, lookup_, nullptr).status().code(), ECORRUPT);
  // Decompression of garbage fails cleanly.
  BlkPtr junk = Bp(d, 4096, static_cast<uint8_t>(CompressId::kLzjb));
  junk.dva[0].Set(0, 0x60000, 512);
  Bytes g(512, 0xff);
  junk.cksum = Fletcher4Native(g);
  Put(0x60000, g);
  auto j = ReadBlock(junk, lookup_, nullptr);
  if (!j.ok()) {
    EXPECT_EQ(j.status().code(), ECORRUPT);
  }
}

}  // namespace
}  // namespace uzfs
