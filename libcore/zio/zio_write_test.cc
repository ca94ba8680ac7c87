// The write pipeline: PrepareBlock's compression and hole rules, checksums that the read side
// verifies, and WriteDvas → ReadBlock round trips over file, mirror and raidz vdevs built from
// vdev_tree nvlists on in-memory devices, including self-healing reads after a device is wiped.
#include "libcore/zio/zio_write.h"
#include "libcore/zio/zio_pipeline.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "libcore/base/checksum.h"
#include "libcore/base/compress.h"
#include "libcore/vdev/vdev_label.h"

namespace uzfs {
namespace {

constexpr uint8_t kOff = static_cast<uint8_t>(CompressId::kOff);
constexpr uint8_t kLzjb = static_cast<uint8_t>(CompressId::kLzjb);
constexpr uint8_t kGzip6 = static_cast<uint8_t>(CompressId::kGzip1) + 5;
constexpr uint8_t kZle = static_cast<uint8_t>(CompressId::kZle);
constexpr uint8_t kFletcher4 = static_cast<uint8_t>(ChecksumId::kFletcher4);
constexpr uint8_t kSha256 = static_cast<uint8_t>(ChecksumId::kSha256);

// n bytes: the first `noisy` random, the rest a short repeating pattern.
Bytes Mixed(size_t n, size_t noisy, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes b(n);
  for (size_t i = 0; i < n; i++)
    b[i] = i < noisy ? static_cast<uint8_t>(rng()) : static_cast<uint8_t>("abcabd"[i % 6]);
  return b;
}

WriteProps Props(uint8_t compress, uint8_t checksum = kFletcher4, int copies = 1) {
  WriteProps p;
  p.type = 19;  // ZFS plain file
  p.compress = compress;
  p.checksum = checksum;
  p.copies = copies;
  return p;
}

// The bp a BlockWriter would build for b (DVAs to be set by the caller).
BlkPtr BpFor(const PreparedBlock& b, const WriteProps& p, uint64_t txg = 9) {
  BlkPtr bp;
  FillBlkPtr(&bp, b, p, txg);
  bp.fill = b.hole() ? 0 : 1;
  return bp;
}

TEST(PrepareBlock, AllZeroCompressibleBlockIsAHole) {
  for (uint8_t c : {kLzjb, kGzip6, kZle}) {
    PreparedBlock b = PrepareBlock(Bytes(8192, 0), Props(c));
    EXPECT_TRUE(b.hole()) << CompressName(c);
    EXPECT_EQ(b.lsize, 8192u);
    BlkPtr bp = BpFor(b, Props(c));
    EXPECT_TRUE(bp.is_hole());
    EXPECT_EQ(bp.lsize(), 8192u);
    EXPECT_EQ(bp.ndvas(), 0);
  }
  // Without compression zeros are stored as they are (ZFS writes them when compression is off).
  const Bytes zeros(4096, 0);
  PreparedBlock b = PrepareBlock(zeros, Props(kOff));
  EXPECT_FALSE(b.hole());
  EXPECT_EQ(b.psize, 4096u);
  EXPECT_EQ(Bytes(b.phys.begin(), b.phys.end()), Bytes(4096, 0));
}

TEST(PrepareBlock, IncompressibleDataIsStoredUncompressed) {
  for (uint8_t c : {kLzjb, kGzip6, kZle}) {
    Bytes d = Mixed(16384, 16384, 1);
    PreparedBlock b = PrepareBlock(d, Props(c));
    EXPECT_EQ(b.compress, kOff) << CompressName(c);
    EXPECT_EQ(b.psize, 16384u);
    EXPECT_EQ(Bytes(b.phys.begin(), b.phys.end()), d);
    BlkPtr bp = BpFor(b, Props(c));
    EXPECT_EQ(bp.compress(), kOff);
    EXPECT_EQ(bp.psize(), bp.lsize());
  }
}

// For many sizes and compressibilities: a compressed block decompresses back, is 512-aligned
// with a zeroed tail, saves at least 1/8 (zio_compress_data's destination buffer is
// P2ALIGN(lsize - lsize/8, 512)), and its checksum verifies on the read side.
TEST(PrepareBlock, CompressedBlocksRoundTripAndSaveAnEighth) {
  int compressed = 0, stored = 0;
  for (uint8_t c : {kLzjb, kGzip6}) {
    for (size_t lsize : {512u, 1024u, 1536u, 4096u, 4608u, 5120u, 9216u, 65536u, 131072u}) {
      for (size_t noisy = 0; noisy <= lsize; noisy += std::max<size_t>(lsize / 23, 37)) {
        Bytes d = Mixed(lsize, noisy, lsize * 7 + noisy);
        PreparedBlock b = PrepareBlock(d, Props(c, kFletcher4));
        ASSERT_EQ(b.lsize, lsize);
        ASSERT_EQ(b.psize, b.phys.size());
        ASSERT_EQ(b.psize % 512, 0u);
        BlkPtr bp = BpFor(b, Props(c, kFletcher4));
        EXPECT_TRUE(VerifyBlockChecksum(bp, b.phys));
        if (b.compress == kOff) {
          stored++;
          ASSERT_EQ(Bytes(b.phys.begin(), b.phys.end()), d);
          continue;
        }
        compressed++;
        ASSERT_EQ(b.compress, c);
        EXPECT_LE(b.psize, P2Align(lsize - lsize / 8, 512))
            << CompressName(c) << " lsize " << lsize << " noisy " << noisy << ": psize "
            << b.psize << " saves less than 1/8";
        Bytes out(lsize);
        ASSERT_TRUE(Decompress(c, b.phys, out).ok());
        ASSERT_EQ(out, d) << CompressName(c) << " lsize " << lsize << " noisy " << noisy;
        // What the compressor wrote is followed by zeros only (no stale heap bytes).
        Bytes re(b.psize);
        size_t n = Compress(c, d, re);
        for (size_t i = n; i < b.psize; i++) ASSERT_EQ(b.phys[i], 0) << i;
      }
    }
  }
  EXPECT_GT(compressed, 50);
  EXPECT_GT(stored, 10);
}

TEST(PrepareBlock, ChecksumCoversPhysicalBytes) {
  Bytes d = Mixed(8192, 1000, 5);
  for (uint8_t ck : {kFletcher4, kSha256, static_cast<uint8_t>(ChecksumId::kFletcher2)}) {
    PreparedBlock b = PrepareBlock(d, Props(kLzjb, ck));
    ASSERT_NE(b.compress, kOff);
    BlkPtr bp = BpFor(b, Props(kLzjb, ck));
    EXPECT_EQ(bp.checksum(), ck);
    EXPECT_TRUE(VerifyBlockChecksum(bp, b.phys)) << ChecksumName(ck);
    Bytes bad(b.phys.begin(), b.phys.end());
    bad[7] ^= 0x10;
    EXPECT_FALSE(VerifyBlockChecksum(bp, bad)) << ChecksumName(ck);
  }
}

TEST(FillBlkPtr, SetsEveryFieldButDvasAndFill) {
  Bytes d = Mixed(4096, 4096, 8);
  WriteProps p = Props(kOff, kSha256);
  p.type = 10;
  p.level = 2;
  PreparedBlock b = PrepareBlock(d, p);
  BlkPtr bp;
  bp.dva[1].Set(0, 1 << 20, 4096);  // stale DVA from a previous use: cleared
  bp.fill = 77;
  FillBlkPtr(&bp, b, p, 1234);
  EXPECT_EQ(bp.ndvas(), 0);
  EXPECT_EQ(bp.lsize(), 4096u);
  EXPECT_EQ(bp.psize(), 4096u);
  EXPECT_EQ(bp.type(), 10);
  EXPECT_EQ(bp.level(), 2);
  EXPECT_EQ(bp.checksum(), kSha256);
  EXPECT_EQ(bp.compress(), kOff);
  EXPECT_TRUE(bp.little_endian());
  EXPECT_EQ(bp.birth, 1234u);
  EXPECT_EQ(bp.cksum, b.cksum);
}

// A top-level vdev over in-memory leaves.
struct Layout {
  std::string type;  // file, mirror, raidz
  int children;
  int nparity;
  uint64_t ashift;
};

std::string Name(const Layout& l) {
  return l.type + std::to_string(l.nparity) + "x" + std::to_string(l.children) + "_ashift" +
         std::to_string(l.ashift);
}

class WriteReadTest : public ::testing::TestWithParam<Layout> {
 protected:
  static constexpr uint64_t kDataSize = 24ULL << 20;  // allocatable bytes per leaf used here

  void SetUp() override {
    const Layout& l = GetParam();
    env_ = NewMemEnv();
    NvList top;
    std::vector<NvList> kids;
    for (int i = 0; i < std::max(1, l.children); i++) {
      std::string path = "/dev/m" + std::to_string(i);
      paths_.push_back(path);
      auto f = env_->Open(path, OpenOptions{.write = true, .create = true});
      ASSERT_TRUE(f.ok());
      ASSERT_TRUE((*f)->WriteAt(kVdevLabelStartSize + kDataSize + kVdevLabelEndSize - 1,
                                Bytes(1, 0)).ok());
      NvList leaf;
      leaf.AddString("type", "file");
      leaf.AddUint64("id", static_cast<uint64_t>(i));
      leaf.AddUint64("guid", 1000 + static_cast<uint64_t>(i));
      leaf.AddString("path", path);
      kids.push_back(std::move(leaf));
    }
    if (l.type == "file") {
      top = kids[0];
    } else {
      top.AddString("type", l.type);
      top.AddUint64("guid", 77);
      if (l.type == "raidz") top.AddUint64("nparity", static_cast<uint64_t>(l.nparity));
      top.AddNvListArray("children", kids);
    }
    top.AddUint64("id", 0);
    top.AddUint64("ashift", l.ashift);
    auto v = BuildVdevTree(top, [&](uint64_t, const std::string& p) -> std::unique_ptr<File> {
      auto f = env_->Open(p, OpenOptions{.write = true});
      return f.ok() ? std::move(f).value() : nullptr;
    });
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    top_ = std::move(v).value();
    lookup_ = [this](uint64_t id) -> Vdev* { return id == 0 ? top_.get() : nullptr; };
  }

  // A next-fit allocator over the vdev's DVA space.
  uint64_t Alloc(uint64_t asize) {
    uint64_t off = next_;
    next_ += P2RoundUp(asize, 1ULL << GetParam().ashift);
    EXPECT_LE(next_, LimitDva());
    return off;
  }
  // DVA space the leaves can hold: raidz spreads it over the children.
  uint64_t LimitDva() const {
    const Layout& l = GetParam();
    return l.type == "raidz" ? kDataSize * static_cast<uint64_t>(l.children) : kDataSize;
  }

  void Wipe(int child) {
    auto f = env_->Open(paths_[static_cast<size_t>(child)], OpenOptions{.write = true});
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->WriteAt(kVdevLabelStartSize, Bytes(kDataSize, 0)).ok());
  }

  struct Written {
    Bytes data;
    BlkPtr bp;
  };

  Written WriteOne(uint64_t seed, int copies) {
    std::mt19937_64 rng(seed);
    size_t lsize = 512 * (1 + rng() % 256);
    size_t noisy = rng() % 3 == 0 ? lsize : rng() % (lsize + 1);
    Bytes d = rng() % 11 == 0 ? Bytes(lsize, 0) : Mixed(lsize, noisy, seed);
    uint8_t comps[] = {kOff, kLzjb, kGzip6, kZle};
    WriteProps p = Props(comps[rng() % 4], rng() % 2 ? kFletcher4 : kSha256, copies);
    PreparedBlock b = PrepareBlock(d, p);
    BlkPtr bp = BpFor(b, p);
    if (!b.hole()) {
      for (int c = 0; c < copies; c++) {
        uint64_t asize = top_->PsizeToAsize(b.psize);
        bp.dva[c].Set(0, Alloc(asize), asize);
      }
    }
    std::vector<VdevIoError> errs;
    Status s = WriteDvas(bp, b, lookup_, &errs);
    EXPECT_TRUE(s.ok()) << s.ToString();
    EXPECT_TRUE(errs.empty());
    return {std::move(d), bp};
  }

  void ExpectAllReadBack(const std::vector<Written>& ws, bool expect_errors) {
    int with_errors = 0;
    for (size_t i = 0; i < ws.size(); i++) {
      ReadReport rep;
      auto r = ReadBlock(ws[i].bp, lookup_, &rep);
      ASSERT_TRUE(r.ok()) << "block " << i << " " << ws[i].bp.ToString() << ": "
                          << r.status().ToString();
      ASSERT_EQ(*r, ws[i].data) << "block " << i;
      if (!rep.errors.empty()) {
        with_errors++;
        EXPECT_TRUE(rep.recovered);
      }
    }
    if (expect_errors) EXPECT_GT(with_errors, 0) << "damage went unnoticed";
    else EXPECT_EQ(with_errors, 0);
  }

  std::unique_ptr<Env> env_;
  std::vector<std::string> paths_;
  std::unique_ptr<Vdev> top_;
  TopVdevLookup lookup_;
  uint64_t next_ = 0;
};

TEST_P(WriteReadTest, RoundTripThenSelfHealAfterLosingOneDevice) {
  const Layout& l = GetParam();
  std::vector<Written> ws;
  for (uint64_t i = 0; i < 60; i++) ws.push_back(WriteOne(i * 131 + l.ashift, 1));
  ExpectAllReadBack(ws, false);
  if (l.type == "file") return;  // no redundancy below the DVA (see DittoOnFile)
  Wipe(0);
  ExpectAllReadBack(ws, true);
  if (l.type == "raidz" && l.nparity == 2) {
    Wipe(l.children - 1);  // raidz2 survives a second one
    ExpectAllReadBack(ws, true);
  }
}

TEST_P(WriteReadTest, DittoCopiesSurviveLosingTheFirstCopy) {
  const Layout& l = GetParam();
  std::vector<Written> ws;
  for (uint64_t i = 0; i < 20; i++) ws.push_back(WriteOne(i * 7 + 1, 2));
  // Destroy every first copy through the vdev itself (so raidz parity matches the garbage).
  for (const Written& w : ws) {
    if (w.bp.is_hole()) continue;
    uint64_t unit = 1ULL << l.ashift;
    Bytes padded(P2RoundUp(w.bp.psize(), unit), 0x5a);
    std::vector<VdevIoError> errs;
    ASSERT_TRUE(top_->Write(w.bp.dva[0].offset(), padded, &errs).ok());
  }
  ExpectAllReadBack(ws, true);
}

// The pipeline (zio_pipeline.h): blocks allocated one after another are written as few
// aggregated runs where the layout allows (not raidz), ditto copies included, and every
// block reads back.
TEST_P(WriteReadTest, PipelineAggregatesAdjacentBlocksAndTheyReadBack) {
  const Layout& l = GetParam();
  std::vector<Bytes> datas;
  std::vector<BlockWrite> batch;
  for (uint64_t i = 0; i < 48; i++) {
    std::mt19937_64 rng(i + 5);
    size_t lsize = 512 * (1 + rng() % 64);
    datas.push_back(Mixed(lsize, rng() % 2 ? lsize : lsize / 3, i));
  }
  for (uint64_t i = 0; i < datas.size(); i++) {
    BlockWrite w;
    w.data = datas[i];
    w.props = Props(i % 3 ? kOff : kLzjb, kFletcher4, i % 8 == 0 ? 2 : 1);
    batch.push_back(w);
  }
  WritePipeline pl;
  pl.top = lookup_;
  pl.concurrent_io = true;
  pl.allocate = [&](BlockWrite& w) -> Status {
    for (int c = 0; c < w.props.copies; c++) {
      uint64_t asize = top_->PsizeToAsize(w.prepared.psize);
      w.bp.dva[c].Set(0, Alloc(asize), asize);
    }
    w.allocated = true;
    return Status::Ok();
  };
  std::vector<VdevIoError> errs;
  ASSERT_TRUE(WriteBlocks(batch, 9, pl, &errs).ok());
  EXPECT_TRUE(errs.empty());
  std::vector<WriteRun> agg = AggregateWrites(batch, lookup_);
  const size_t runs = agg.size();
  const size_t vectored = std::count_if(agg.begin(), agg.end(), [](const WriteRun& r) { return !r.parts.empty(); });
  if (l.type == "raidz") {
    EXPECT_EQ(batch.size(), runs);  // parity is per block
  } else {
    EXPECT_LT(runs, batch.size() / 4) << "adjacent blocks were not joined";
    // Joined runs go down as one vectored write (pwritev), each block from its own buffer
    // where it can.
    EXPECT_GT(vectored, 0u);
  }
  for (size_t i = 0; i < batch.size(); i++) {
    batch[i].bp.fill = 1;
    auto r = ReadBlock(batch[i].bp, lookup_, nullptr);
    ASSERT_TRUE(r.ok()) << "block " << i << ": " << r.status().ToString();
    ASSERT_EQ(datas[i], *r) << "block " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, WriteReadTest,
    ::testing::Values(Layout{"file", 1, 0, 9}, Layout{"file", 1, 0, 12},
                      Layout{"mirror", 2, 0, 9}, Layout{"mirror", 3, 0, 12},
                      Layout{"raidz", 4, 1, 9}, Layout{"raidz", 4, 1, 12},
                      Layout{"raidz", 5, 1, 12}, Layout{"raidz", 5, 2, 9},
                      Layout{"raidz", 5, 2, 12}, Layout{"raidz", 4, 2, 12}),
    [](const ::testing::TestParamInfo<Layout>& i) { return Name(i.param); });

TEST(WriteDvas, MissingTopLevelVdevIsEnxio) {
  const Bytes d = Mixed(4096, 4096, 3);
  PreparedBlock b = PrepareBlock(d, Props(kOff));
  BlkPtr bp = BpFor(b, Props(kOff));
  bp.dva[0].Set(5, 0, 4096);
  std::vector<VdevIoError> errs;
  Status s = WriteDvas(bp, b, [](uint64_t) -> Vdev* { return nullptr; }, &errs);
  EXPECT_EQ(s.code(), ENXIO);
}

}  // namespace
}  // namespace uzfs
