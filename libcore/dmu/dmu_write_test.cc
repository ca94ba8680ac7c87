// ObjsetWriter over an in-memory pool: a random write/read/truncate model over a multi-level
// object, sparse writes, space accounting (dn_used, fill), freeing, re-opening from the
// returned root bp, and the block lifecycle the sink sees (every block written is born, every
// block born is killed at most once, nothing live is ever dangling).
#include "libcore/dmu/dmu_write.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>

#include <unistd.h>

#include "libcore/base/compress.h"

namespace uzfs {
namespace {

constexpr uint8_t kPlainFile = 19;

// A pool in a std::map: blocks keyed by a fake DVA offset (vdev 0, asize = psize). Killed
// blocks are erased, so reading one fails; every inconsistency is recorded in `errors`.
class FakePool : public ObjsetSink, public BlockReader {
 public:
  Result<BlkPtr> WriteBlock(ByteSpan data, const WriteProps& p, uint64_t txg,
                            const BlkPtr* old) override {
    writes++;
    PreparedBlock b = PrepareBlock(data, p);
    BlkPtr bp;
    FillBlkPtr(&bp, b, p, txg);
    if (b.hole()) return bp;
    int copies = std::clamp(p.copies, 1, kSpaDvas);
    if (old && old->birth == txg && !old->is_hole() && old->psize() == b.psize &&
        old->ndvas() == copies) {
      for (int d = 0; d < kSpaDvas; d++) bp.dva[d] = old->dva[d];
      for (int d = 0; d < copies; d++) blocks_[bp.dva[d].offset()] = Bytes(b.phys.begin(), b.phys.end());
      return bp;
    }
    for (int d = 0; d < copies; d++) {
      bp.dva[d].Set(0, next_, b.psize);
      blocks_[next_] = Bytes(b.phys.begin(), b.phys.end());
      unborn_.insert(next_);
      next_ += P2RoundUp(b.psize, 512) + 512;
    }
    return bp;
  }
  void Born(const BlkPtr& bp, uint64_t txg) override {
    if (bp.birth != txg) errors.push_back("born with birth " + std::to_string(bp.birth));
    for (const Dva& d : bp.dva) {
      if (d.empty()) continue;
      if (!unborn_.erase(d.offset())) errors.push_back("born twice or never written: " + bp.ToString());
      live_.insert(d.offset());
    }
  }
  void Kill(const BlkPtr& bp, uint64_t) override {
    for (const Dva& d : bp.dva) {
      if (d.empty()) continue;
      if (!live_.erase(d.offset())) errors.push_back("killed but not live: " + bp.ToString());
      blocks_.erase(d.offset());
    }
  }
  uint64_t Dsize(const BlkPtr& bp) override {
    uint64_t s = 0;
    for (const Dva& d : bp.dva) s += d.asize();
    return s;
  }
  Result<Bytes> Read(const BlkPtr& bp, ReadReport* = nullptr) override {
    if (bp.is_hole()) return Bytes(bp.lsize(), 0);
    reads++;
    if (bp.level() == 0 && bp.type() == kPlainFile) data_reads++;
    auto it = blocks_.find(bp.dva[0].offset());
    if (it == blocks_.end()) return Status::Error(EIO, "read of a freed block " + bp.ToString());
    if (!VerifyBlockChecksum(bp, it->second)) return Status::Error(ECKSUM, bp.ToString());
    if (bp.compress() == static_cast<uint8_t>(CompressId::kOff)) return it->second;
    Bytes out(bp.lsize());
    UZFS_TRY(Decompress(bp.compress(), it->second, out));
    return out;
  }
  bool IsLive(const BlkPtr& bp) const {
    for (const Dva& d : bp.dva)
      if (!d.empty() && !live_.count(d.offset())) return false;
    return true;
  }
  size_t live() const { return live_.size(); }
  // Blocks written but neither born nor rewritten in place: allocations nothing points to.
  size_t unborn() const { return unborn_.size(); }

  std::vector<std::string> errors;
  uint64_t writes = 0;
  uint64_t reads = 0, data_reads = 0;

 private:
  std::map<uint64_t, Bytes> blocks_;
  std::set<uint64_t> live_, unborn_;
  uint64_t next_ = 1 << 20;
};

// Σ Dsize over the block tree under bp (bp included); every block must be live.
uint64_t TreeDsize(FakePool& pool, const BlkPtr& bp, std::vector<std::string>* bad) {
  if (bp.is_hole()) return 0;
  if (!pool.IsLive(bp)) bad->push_back("dangling " + bp.ToString());
  uint64_t s = pool.Dsize(bp);
  if (bp.level() > 0) {
    auto data = pool.Read(bp);
    if (!data.ok()) {
      bad->push_back(data.status().ToString());
      return s;
    }
    for (size_t off = 0; off + kBlkPtrSize <= data->size(); off += kBlkPtrSize)
      s += TreeDsize(pool, BlkPtr::Decode(data->data() + off, true), bad);
  }
  return s;
}

uint64_t DnodeTreeDsize(FakePool& pool, const DnodePhys& dn, std::vector<std::string>* bad) {
  uint64_t s = 0;
  for (const BlkPtr& bp : dn.blkptr) s += TreeDsize(pool, bp, bad);
  return s;
}

class DmuWriteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    os_ = ObjsetWriter::Create(&pool_, /*os_type=ZFS*/ 2, ObjsetPolicy{});
  }
  BlkPtr Sync() {
    auto r = os_->Sync(pool_, txg_++);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(pool_.errors.empty()) << pool_.errors.front();
    EXPECT_EQ(pool_.unborn(), 0u) << "blocks written in txg " << txg_ - 1
                                  << " that nothing references (leaked allocations)";
    return r.ok() ? *r : BlkPtr{};
  }
  void Reopen() {
    auto r = ObjsetWriter::Open(&pool_, os_->rootbp(), ObjsetPolicy{});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    os_ = std::move(r).value();
  }
  // The whole tree from the root: every block live; returns Σ Dsize.
  void CheckTree() {
    std::vector<std::string> bad;
    TreeDsize(pool_, os_->rootbp(), &bad);
    auto meta = os_->Dnode(0);
    ASSERT_TRUE(meta.ok());
    DnodeTreeDsize(pool_, **meta, &bad);
    EXPECT_TRUE(bad.empty()) << bad.front();
  }

  void RandomModel(uint32_t bs, Arc* arc, uint64_t seed);

  FakePool pool_;
  std::unique_ptr<ObjsetWriter> os_;
  uint64_t txg_ = 10;
};

// A random write/read/truncate/sync/reopen history on one object of block size bs against a
// model of its bytes; with an ARC (arc != nullptr) the reads go through it.
void DmuWriteTest::RandomModel(uint32_t bs, Arc* arc, uint64_t seed) {
  if (arc) os_->set_cache(arc, ArcObjKey{1, 2, 0});
  auto obj = os_->Allocate(kPlainFile, bs, 0, 0);
  ASSERT_TRUE(obj.ok());
  Bytes model;  // the object's bytes; beyond model.size() everything reads as zero
  std::mt19937_64 rng(seed);
  const uint64_t kSpan = 3ULL << 20;  // 6144 blocks of 512: two indirect levels
  auto check_read = [&](uint64_t off, uint64_t len, int op) {
    auto r = os_->Read(*obj, off, len);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_LE(r->size(), len);
    for (size_t i = 0; i < r->size(); i++) {
      uint8_t want = off + i < model.size() ? model[off + i] : 0;
      ASSERT_EQ((*r)[i], want) << "op " << op << " offset " << off + i;
    }
    // Nothing is cut short inside the model's bytes.
    if (off < model.size()) {
      ASSERT_GE(off + r->size(), std::min<uint64_t>(off + len, model.size()));
    }
  };
  for (int op = 0; op < 1500; op++) {
    int what = static_cast<int>(rng() % 100);
    if (what >= 50 && what < 55 && !model.empty()) {
      // A range freed inside the object (dmu_free_range): zeros after, maxblkid kept.
      uint64_t off = rng() % model.size(), len = 1 + rng() % (8 * bs);
      ASSERT_TRUE(os_->FreeInside(*obj, off, len).ok());
      std::fill(model.begin() + static_cast<long>(off),
                model.begin() + static_cast<long>(std::min<uint64_t>(off + len, model.size())), 0);
    } else if (what < 55) {
      uint64_t off = rng() % kSpan, len = 1 + rng() % 3000;
      Bytes d(len);
      for (auto& x : d) x = static_cast<uint8_t>(rng() % 4 ? rng() : 0);
      ASSERT_TRUE(os_->Write(*obj, off, d).ok());
      if (model.size() < off + len) model.resize(off + len, 0);
      std::copy(d.begin(), d.end(), model.begin() + static_cast<long>(off));
    } else if (what < 90) {
      check_read(rng() % kSpan, 1 + rng() % 5000, op);
    } else if (what < 93) {
      uint64_t off = model.empty() ? 0 : rng() % model.size();
      ASSERT_TRUE(os_->Truncate(*obj, off).ok());
      model.resize(off);
      auto len = os_->Length(*obj);
      ASSERT_TRUE(len.ok());
      EXPECT_EQ(*len, P2RoundUp(off, bs)) << "op " << op;
    } else {
      Sync();
      CheckTree();
      if (rng() % 2) {
        Reopen();
        if (arc) os_->set_cache(arc, ArcObjKey{1, 2, 0});
      }
      auto dn = os_->Dnode(*obj);
      ASSERT_TRUE(dn.ok());
      std::vector<std::string> bad;
      EXPECT_EQ((*dn)->used, DnodeTreeDsize(pool_, **dn, &bad)) << "op " << op;
      EXPECT_TRUE(bad.empty()) << bad.front();
      EXPECT_EQ((*dn)->maxblkid, model.empty() ? 0 : (model.size() - 1) / bs) << "op " << op;
    }
  }
  Sync();
  Reopen();
  if (arc) os_->set_cache(arc, ArcObjKey{1, 2, 0});
  auto dn = os_->Dnode(*obj);
  ASSERT_TRUE(dn.ok());
  if (bs == 512) {
    EXPECT_GE((*dn)->nlevels, 3) << "the test meant to exercise two indirect levels";
  }
  for (uint64_t off = 0; off < model.size() + 4096; off += 4000) check_read(off, 4000, -1);
  for (uint64_t off = 0; off < model.size() + 4096; off += 4000) check_read(off, 4000, -2);
}

TEST_F(DmuWriteTest, RandomWritesReadsTruncatesMatchModel) { RandomModel(512, nullptr, 11); }

// The same histories through a small ARC (so units are evicted and refilled all along), with
// page units (512-byte blocks) and block units (4 KiB, 16 KiB).
TEST_F(DmuWriteTest, RandomHistoriesThroughTheArc) {
  for (uint32_t bs : {512u, 4096u, 16384u}) {
    SCOPED_TRACE("block size " + std::to_string(bs));
    Arc arc(96 << 10);
    pool_ = FakePool();
    os_ = ObjsetWriter::Create(&pool_, 2, ObjsetPolicy{});
    RandomModel(bs, &arc, 11 + bs);
    if (HasFatalFailure()) return;
    ArcStats s = arc.Stats();
    EXPECT_LE(s.size, 96u << 10);
    EXPECT_GT(s.evictions, 0u);
    EXPECT_GT(s.data_hits, 0u);
  }
}



TEST_F(DmuWriteTest, SparseWriteFarOutReadsHolesAsZeros) {
  auto obj = os_->Allocate(kPlainFile, 512, 0, 0);
  ASSERT_TRUE(obj.ok());
  Bytes a(700, 0xaa), b(300, 0xbb);
  const uint64_t far = 5ULL << 30;  // block 10M: 4 levels of 128-pointer indirects
  ASSERT_TRUE(os_->Write(*obj, 100, a).ok());
  ASSERT_TRUE(os_->Write(*obj, far, b).ok());
  Sync();
  Reopen();
  auto dn = os_->Dnode(*obj);
  ASSERT_TRUE(dn.ok());
  EXPECT_EQ((*dn)->maxblkid, (far + 299) / 512);
  EXPECT_GE((*dn)->nlevels, 4);
  auto len = os_->Length(*obj);
  ASSERT_TRUE(len.ok());
  EXPECT_EQ(*len, ((far + 299) / 512 + 1) * 512);
  auto r1 = os_->Read(*obj, 0, 2048);
  ASSERT_TRUE(r1.ok());
  Bytes want1(2048, 0);
  std::fill(want1.begin() + 100, want1.begin() + 800, 0xaa);
  EXPECT_EQ(*r1, want1);
  auto r2 = os_->Read(*obj, far - 1000, 1300);
  ASSERT_TRUE(r2.ok());
  Bytes want2(1300, 0);
  std::fill(want2.begin() + 1000, want2.end(), 0xbb);
  EXPECT_EQ(*r2, want2);
  auto mid = os_->Read(*obj, far / 2, 65536);
  ASSERT_TRUE(mid.ok());
  EXPECT_EQ(*mid, Bytes(65536, 0));
  // Only the two paths are stored: 2 data blocks and one indirect per level per path.
  std::vector<std::string> bad;
  uint64_t dsize = DnodeTreeDsize(pool_, **dn, &bad);
  EXPECT_TRUE(bad.empty());
  EXPECT_EQ((*dn)->used, dsize);
  EXPECT_LT(dsize, 64u * 1024) << "holes must not be stored";
}

// A range freed inside an object: the blocks it covers whole become holes at the sync (their
// space released, the tree consistent), the partial ones are zeroed; a block written again
// in the same txg stays.
TEST_F(DmuWriteTest, FreeInsidePunchesHoles) {
  auto obj = os_->Allocate(kPlainFile, 4096, 0, 0);
  ASSERT_TRUE(obj.ok());
  Bytes d(16 * 4096);
  std::mt19937_64 rng(5);
  for (auto& x : d) x = static_cast<uint8_t>(rng());  // incompressible
  ASSERT_TRUE(os_->Write(*obj, 0, d).ok());
  Sync();
  const uint64_t before = (*os_->Dnode(*obj))->used;
  ASSERT_TRUE(os_->FreeInside(*obj, 2 * 4096 + 100, 10 * 4096).ok());  // blocks 3..11 whole
  ASSERT_TRUE(os_->Write(*obj, 5 * 4096, Bytes(10, 0x11)).ok());       // block 5 again
  auto r = os_->Read(*obj, 0, d.size());
  ASSERT_TRUE(r.ok());
  for (size_t i = 0; i < d.size(); i++) {
    uint8_t want = i >= 2 * 4096 + 100 && i < 12 * 4096 + 100 ? 0 : d[i];
    if (i >= 5 * 4096 && i < 5 * 4096 + 10) want = 0x11;
    ASSERT_EQ(want, (*r)[i]) << i;
  }
  Sync();
  CheckTree();
  Reopen();
  auto dn = os_->Dnode(*obj);
  ASSERT_TRUE(dn.ok());
  EXPECT_EQ(15u, (*dn)->maxblkid);
  std::vector<std::string> bad;
  EXPECT_EQ((*dn)->used, DnodeTreeDsize(pool_, **dn, &bad));
  // 8 of the 16 blocks punched (3, 4, 6..11), 4 KiB each (block 5 is written again).
  EXPECT_LT((*dn)->used + 7 * 4096, before);
  EXPECT_GE((*dn)->used, 8u * 4096);
  for (uint64_t b : {3, 4, 6, 11}) EXPECT_TRUE(os_->BlockPointer(*obj, b)->is_hole()) << b;
  for (uint64_t b : {2, 5, 12}) EXPECT_FALSE(os_->BlockPointer(*obj, b)->is_hole()) << b;
  auto again = os_->Read(*obj, 0, d.size());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*r, *again);
}

TEST_F(DmuWriteTest, TruncateThenExtendReadsZerosBetween) {
  auto obj = os_->Allocate(kPlainFile, 4096, 0, 0);
  ASSERT_TRUE(obj.ok());
  Bytes d(100000);
  for (size_t i = 0; i < d.size(); i++) d[i] = static_cast<uint8_t>(1 + i % 251);
  ASSERT_TRUE(os_->Write(*obj, 0, d).ok());
  Sync();
  ASSERT_TRUE(os_->Truncate(*obj, 30001).ok());
  // Same txg: extend again beyond the old end.
  Bytes e(5000, 0xee);
  ASSERT_TRUE(os_->Write(*obj, 200000, e).ok());
  for (int pass = 0; pass < 2; pass++) {
    auto r = os_->Read(*obj, 0, 205000);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->size(), 205000u);
    for (size_t i = 0; i < r->size(); i++) {
      uint8_t want = i < 30001 ? d[i] : (i >= 200000 ? 0xee : 0);
      ASSERT_EQ((*r)[i], want) << "pass " << pass << " offset " << i;
    }
    Sync();
    CheckTree();
    Reopen();
  }
  auto dn = os_->Dnode(*obj);
  ASSERT_TRUE(dn.ok());
  std::vector<std::string> bad;
  EXPECT_EQ((*dn)->used, DnodeTreeDsize(pool_, **dn, &bad));
  // Blocks 8..47 were freed: only 0..7 and 48..50 hold data.
  uint64_t data_blocks = 0;
  for (uint64_t blk = 0; blk <= (*dn)->maxblkid; blk++) {
    auto r = os_->Read(*obj, blk * 4096, 4096);
    ASSERT_TRUE(r.ok());
    data_blocks += *r != Bytes(4096, 0);
  }
  EXPECT_EQ(data_blocks, 8u + 3u);
}

TEST_F(DmuWriteTest, FreeObjectReleasesEveryBlock) {
  auto keep = os_->Allocate(kPlainFile, 512, 0, 0);
  ASSERT_TRUE(keep.ok());
  ASSERT_TRUE(os_->Write(*keep, 0, Bytes(1000, 1)).ok());
  Sync();
  size_t live_before = pool_.live();
  auto obj = os_->Allocate(kPlainFile, 512, 0, 0);
  ASSERT_TRUE(obj.ok());
  std::mt19937_64 rng(5);
  for (int i = 0; i < 300; i++) {
    Bytes d(512, static_cast<uint8_t>(1 + i));
    ASSERT_TRUE(os_->Write(*obj, (rng() % 40000) * 512, d).ok());
  }
  Sync();
  EXPECT_GT(pool_.live(), live_before + 300);
  // Load part of it (indirects in memory) before freeing.
  ASSERT_TRUE(os_->Read(*obj, 0, 100000).ok());
  ASSERT_TRUE(os_->FreeObject(*obj).ok());
  EXPECT_EQ(os_->Dnode(*obj).status().code(), ENOENT);
  Sync();
  EXPECT_EQ(pool_.live(), live_before);
  CheckTree();
  Reopen();
  EXPECT_EQ(os_->Dnode(*obj).status().code(), ENOENT);
  auto k = os_->Read(*keep, 0, 1000);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(*k, Bytes(1000, 1));
}

TEST_F(DmuWriteTest, FreeObjectWrittenInTheSameTxg) {
  Sync();
  size_t live_before = pool_.live();
  auto obj = os_->Allocate(kPlainFile, 512, 0, 0);
  ASSERT_TRUE(obj.ok());
  ASSERT_TRUE(os_->Write(*obj, 0, Bytes(512 * 300, 7)).ok());
  Sync();
  ASSERT_TRUE(os_->Write(*obj, 512 * 1000, Bytes(512 * 10, 8)).ok());  // dirty indirects
  ASSERT_TRUE(os_->FreeObject(*obj).ok());
  Sync();
  EXPECT_EQ(pool_.live(), live_before);
  CheckTree();
}

TEST_F(DmuWriteTest, RootFillCountsObjectsAndIdleSyncKeepsRootbp) {
  std::vector<uint64_t> objs;
  for (int i = 0; i < 70; i++) {  // spans three 16K dnode blocks (32 dnodes each)
    auto o = os_->Allocate(kPlainFile, 512, 0, 0);
    ASSERT_TRUE(o.ok());
    objs.push_back(*o);
  }
  EXPECT_EQ(os_->object_count(), 70u);
  BlkPtr root = Sync();
  EXPECT_EQ(root.fill, 70u);
  EXPECT_FALSE(os_->dirty());
  uint64_t writes = pool_.writes;
  BlkPtr again = Sync();
  EXPECT_EQ(again, root) << "a sync with nothing dirty must not write";
  EXPECT_EQ(pool_.writes, writes);
  for (size_t i = 0; i < objs.size(); i += 3) ASSERT_TRUE(os_->FreeObject(objs[i]).ok());
  BlkPtr r2 = Sync();
  EXPECT_EQ(r2.fill, 70u - 24u);
  EXPECT_EQ(os_->object_count(), 46u);
  Reopen();
  EXPECT_EQ(os_->object_count(), 46u);
  for (size_t i = 0; i < objs.size(); i++)
    EXPECT_EQ(os_->Dnode(objs[i]).ok(), i % 3 != 0) << objs[i];
  CheckTree();
}

// Freeing every object of a dnode block turns that block into a hole; the block image the
// sync wrote for it must not stay allocated with nothing pointing at it.
TEST_F(DmuWriteTest, EmptiedDnodeBlockLeaksNothing) {
  std::vector<uint64_t> objs;
  for (int i = 0; i < 40; i++) {
    auto o = os_->Allocate(kPlainFile, 512, 0, 0);
    ASSERT_TRUE(o.ok());
    objs.push_back(*o);
  }
  Sync();
  size_t live_before = pool_.live();
  for (uint64_t o : objs)
    if (o >= 32) {  // all of dnode block 1
      ASSERT_TRUE(os_->FreeObject(o).ok());
    }
  BlkPtr root = Sync();
  EXPECT_EQ(root.fill, 31u);
  EXPECT_LT(pool_.live(), live_before);
  CheckTree();
}

TEST_F(DmuWriteTest, BonusAndAllocationRules) {
  auto o = os_->Allocate(kPlainFile, 0, 44, 100);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(*o, 1u);
  auto dn = os_->Dnode(*o);
  ASSERT_TRUE(dn.ok());
  EXPECT_EQ((*dn)->datablksz(), 512u);
  EXPECT_EQ((*dn)->nblkptr, 1 + (320 - 100) / 128);
  EXPECT_EQ(os_->SetBonus(*o, Bytes(99, 1)).code(), EINVAL);
  Bytes bonus(100);
  for (size_t i = 0; i < bonus.size(); i++) bonus[i] = static_cast<uint8_t>(i);
  ASSERT_TRUE(os_->SetBonus(*o, bonus).ok());
  EXPECT_EQ(os_->Allocate(kPlainFile, 1000, 0, 0).status().code(), EINVAL);
  EXPECT_EQ(os_->Allocate(kPlainFile, 512, 0, 321).status().code(), EINVAL);
  EXPECT_EQ(os_->Allocate(kPlainFile, 512, 0, 0, *o).status().code(), EEXIST);
  auto want = os_->Allocate(kPlainFile, 512, 0, 0, 500);
  ASSERT_TRUE(want.ok());
  EXPECT_EQ(*want, 500u);
  Sync();
  Reopen();
  auto b = os_->Bonus(*o);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, bonus);
  ASSERT_TRUE(os_->Dnode(500).ok());
  EXPECT_EQ(os_->Dnode(499).status().code(), ENOENT);
  EXPECT_EQ(os_->FreeObject(0).code(), EINVAL);
}

// ---- File data and the ARC ----

Bytes Pattern(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; i++) b[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 9));
  return b;
}

TEST_F(DmuWriteTest, FileReadsAreNotKeptInTheWriter) {
  auto obj = os_->Allocate(kPlainFile, 16384, 0, 0);
  ASSERT_TRUE(obj.ok());
  Bytes d = Pattern(10 * 16384, 3);
  ASSERT_TRUE(os_->Write(*obj, 0, d).ok());
  Sync();
  Reopen();
  // Without an ARC every read of a clean block goes to the pool again.
  for (int pass = 0; pass < 2; pass++) {
    uint64_t before = pool_.data_reads;
    auto r = os_->Read(*obj, 0, d.size());
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(d, *r);
    EXPECT_EQ(10u, pool_.data_reads - before) << "pass " << pass;
  }
  // With one, the second pass is served from it.
  Arc arc(1 << 20);
  os_->set_cache(&arc, ArcObjKey{1, 2, 0});
  uint64_t before = pool_.data_reads;
  for (int pass = 0; pass < 2; pass++) {
    auto r = os_->Read(*obj, 0, d.size());
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(d, *r);
  }
  EXPECT_EQ(10u, pool_.data_reads - before);
  ArcStats s = arc.Stats();
  EXPECT_EQ(10u, s.data_misses);
  EXPECT_EQ(10u, s.data_hits);
  EXPECT_EQ(10u * 16384, s.data_size);
  // Evicted, it is read again.
  arc.SetMax(16384);
  auto r = os_->Read(*obj, 0, d.size());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(d, *r);
  EXPECT_GE(pool_.data_reads - before, 19u);
}

// A write of a whole block makes its image from the data alone: no read of the old block,
// and an image an early writeback captured stays as it was (a new buffer, not the old one).
TEST_F(DmuWriteTest, WholeBlockWritesReadNothingAndLeaveCapturedImages) {
  auto obj = os_->Allocate(kPlainFile, 16384, 0, 0);
  ASSERT_TRUE(obj.ok());
  Bytes a = Pattern(3 * 16384, 1), b = Pattern(16384, 2), c = Pattern(16384, 3);
  ASSERT_TRUE(os_->Write(*obj, 0, a).ok());
  Sync();
  Reopen();
  uint64_t before = pool_.data_reads;
  ASSERT_TRUE(os_->Write(*obj, 16384, b).ok());
  EXPECT_EQ(before, pool_.data_reads) << "a whole-block write read the old block";
  ASSERT_TRUE(os_->Write(*obj, 2 * 16384 + 100, ByteSpan(c.data(), 100)).ok());
  EXPECT_EQ(before + 1, pool_.data_reads) << "a partial write reads the old block";
  std::vector<ObjsetWriter::EarlyBlock> cap;
  os_->CaptureEarly(&cap, 1 << 20);
  const Bytes* held = nullptr;
  for (const auto& e : cap)
    if (e.obj == *obj && e.blkid == 1) held = e.data.get();
  ASSERT_NE(held, nullptr);
  ASSERT_TRUE(os_->Write(*obj, 16384, c).ok());  // the captured block, again whole
  EXPECT_EQ(b, *held);
  Bytes want = a;
  std::copy(c.begin(), c.end(), want.begin() + 16384);
  std::copy_n(c.begin(), 100, want.begin() + 2 * 16384 + 100);
  auto r = os_->Read(*obj, 0, want.size());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(want, *r);
  cap.clear();
  Sync();
  Reopen();
  r = os_->Read(*obj, 0, want.size());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(want, *r);
  CheckTree();
}

TEST_F(DmuWriteTest, WritesGoThroughToCachedUnits) {
  Arc arc(1 << 20);
  os_->set_cache(&arc, ArcObjKey{1, 2, 0});
  auto obj = os_->Allocate(kPlainFile, 4096, 0, 0);
  ASSERT_TRUE(obj.ok());
  Bytes d = Pattern(40000, 5);
  ASSERT_TRUE(os_->Write(*obj, 0, d).ok());
  ASSERT_TRUE(os_->NoteFileSize(*obj, d.size()).ok());
  Sync();
  ASSERT_TRUE(os_->Read(*obj, 0, d.size()).ok());  // every unit cached
  EXPECT_EQ(10u, arc.Stats().data_misses);
  Bytes w(5000, 0xab);
  ASSERT_TRUE(os_->Write(*obj, 3000, w).ok());
  std::copy(w.begin(), w.end(), d.begin() + 3000);
  uint64_t reads = pool_.data_reads;
  auto r = os_->Read(*obj, 0, d.size());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(d, *r);
  EXPECT_EQ(reads, pool_.data_reads);
  EXPECT_EQ(10u, arc.Stats().data_misses);  // all hits: the ARC has the new bytes
  // Extending past the segment's size grows it.
  auto seg = arc.FindSegment(ArcObjKey{1, 2, *obj});
  ASSERT_NE(nullptr, seg);
  EXPECT_EQ(40960u, seg->size());
  ASSERT_TRUE(os_->Write(*obj, 50000, w).ok());
  EXPECT_EQ(57344u, seg->size());
}

// A client's stores through a mapping are in the ARC only; a write into the same block
// starts from the ARC's bytes, so neither is lost.
TEST_F(DmuWriteTest, WriteMissTakesTheArcsNewerBytes) {
  Arc arc(1 << 20);
  os_->set_cache(&arc, ArcObjKey{1, 2, 0});
  auto obj = os_->Allocate(kPlainFile, 16384, 0, 0);
  ASSERT_TRUE(obj.ok());
  Bytes d = Pattern(3 * 16384, 9);
  ASSERT_TRUE(os_->Write(*obj, 0, d).ok());
  ASSERT_TRUE(os_->NoteFileSize(*obj, d.size()).ok());
  Sync();
  ASSERT_TRUE(os_->Read(*obj, 0, d.size()).ok());
  auto seg = arc.FindSegment(ArcObjKey{1, 2, *obj});
  ASSERT_NE(nullptr, seg);
  const char mapped[] = "stored through a mapping";
  ASSERT_EQ(static_cast<ssize_t>(sizeof mapped), pwrite(seg->fd(), mapped, sizeof mapped, 20000));
  Bytes w(10, 0x5a);
  ASSERT_TRUE(os_->Write(*obj, 17000, w).ok());
  std::copy(mapped, mapped + sizeof mapped, d.begin() + 20000);
  std::copy(w.begin(), w.end(), d.begin() + 17000);
  Sync();
  Reopen();  // no ARC: from disk
  auto r = os_->Read(*obj, 0, d.size());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(d, *r);
}

TEST_F(DmuWriteTest, TruncateShrinksTheSegment) {
  Arc arc(1 << 20);
  os_->set_cache(&arc, ArcObjKey{1, 2, 0});
  auto obj = os_->Allocate(kPlainFile, 4096, 0, 0);
  ASSERT_TRUE(obj.ok());
  Bytes d = Pattern(40000, 1);
  ASSERT_TRUE(os_->Write(*obj, 0, d).ok());
  ASSERT_TRUE(os_->NoteFileSize(*obj, d.size()).ok());
  Sync();
  ASSERT_TRUE(os_->Read(*obj, 0, d.size()).ok());
  ASSERT_TRUE(os_->Truncate(*obj, 10000).ok());
  auto seg = arc.FindSegment(ArcObjKey{1, 2, *obj});
  ASSERT_NE(nullptr, seg);
  EXPECT_EQ(12288u, seg->size());
  EXPECT_EQ(12288u, arc.Stats().data_size);
  auto r = os_->Read(*obj, 0, 40000);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(12288u, r->size());
  for (size_t i = 0; i < r->size(); i++) ASSERT_EQ(i < 10000 ? d[i] : 0, (*r)[i]) << i;
  // Extending again: zeros between.
  Bytes w(100, 0x77);
  ASSERT_TRUE(os_->Write(*obj, 30000, w).ok());
  r = os_->Read(*obj, 9000, 21100);
  ASSERT_TRUE(r.ok());
  for (size_t i = 0; i < r->size(); i++)
    ASSERT_EQ(i < 1000 ? d[9000 + i] : i >= 21000 ? 0x77 : 0, (*r)[i]) << i;
  Sync();
  Reopen();
  auto again = os_->Read(*obj, 9000, 21100);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*r, *again);
}

// A block size change cuts the object's units anew but keeps its segment (clients may map it),
// punched empty; freeing the object drops the segment too.
TEST_F(DmuWriteTest, BlockSizeChangeRecutsUnitsAndFreeDropsTheSegment) {
  Arc arc(1 << 20);
  os_->set_cache(&arc, ArcObjKey{1, 2, 0});
  auto obj = os_->Allocate(kPlainFile, 512, 0, 0);
  ASSERT_TRUE(obj.ok());
  Bytes d = Pattern(300, 4);
  ASSERT_TRUE(os_->Write(*obj, 0, d).ok());
  Sync();
  auto r = os_->Read(*obj, 0, 300);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(d, *r);
  ArcObjKey k{1, 2, *obj};
  auto seg = arc.FindSegment(k);
  ASSERT_NE(nullptr, seg);
  EXPECT_TRUE(arc.Cached(k, 0));
  ASSERT_TRUE(os_->SetBlockSize(*obj, 8192).ok());
  EXPECT_EQ(seg, arc.FindSegment(k));
  EXPECT_FALSE(arc.Cached(k, 0));
  EXPECT_EQ(0u, seg->ResidentBytes());
  EXPECT_EQ(0u, arc.Stats().data_size);
  Bytes more = Pattern(7000, 8);
  ASSERT_TRUE(os_->Write(*obj, 300, more).ok());
  d.insert(d.end(), more.begin(), more.end());
  r = os_->Read(*obj, 0, d.size());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(d, *r);
  EXPECT_TRUE(arc.Cached(k, 0));
  EXPECT_EQ(seg, arc.FindSegment(k));
  EXPECT_EQ(8192u, arc.Stats().data_size);  // one unit: the 8 KiB block
  ASSERT_TRUE(os_->FreeObject(*obj).ok());
  EXPECT_EQ(nullptr, arc.FindSegment(k));
  EXPECT_EQ(0u, arc.Stats().data_size);
  Sync();
}

// Units for blocks smaller than a page (a page holds several) and for one block of a size that
// is neither (a unit of the block rounded up to a page).
TEST_F(DmuWriteTest, SmallAndOddBlocksMakePageUnits) {
  Arc arc(1 << 20);
  os_->set_cache(&arc, ArcObjKey{1, 2, 0});
  auto small = os_->Allocate(kPlainFile, 512, 0, 0);
  auto odd = os_->Allocate(kPlainFile, 1536, 0, 0);
  auto odd_big = os_->Allocate(kPlainFile, 5120, 0, 0);
  ASSERT_TRUE(small.ok() && odd.ok() && odd_big.ok());
  Bytes a = Pattern(65536, 2), b = Pattern(1500, 3), c = Pattern(5000, 4);
  ASSERT_TRUE(os_->Write(*small, 0, a).ok());
  ASSERT_TRUE(os_->Write(*odd, 0, b).ok());
  ASSERT_TRUE(os_->Write(*odd_big, 0, c).ok());
  Sync();
  Reopen();
  os_->set_cache(&arc, ArcObjKey{1, 2, 0});
  for (int pass = 0; pass < 2; pass++) {
    auto ra = os_->Read(*small, 0, a.size());
    auto rb = os_->Read(*odd, 0, b.size());
    auto rc = os_->Read(*odd_big, 0, c.size());
    ASSERT_TRUE(ra.ok() && rb.ok() && rc.ok());
    EXPECT_EQ(a, *ra);
    EXPECT_EQ(b, *rb);
    EXPECT_EQ(c, *rc);
  }
  ArcStats s = arc.Stats();
  EXPECT_EQ(16u + 1 + 1, s.data_misses);  // 16 pages of 8 blocks, [0, 4K), [0, 8K)
  EXPECT_EQ(65536u + 4096 + 8192, s.data_size);
  auto u = os_->UnitAt(*odd_big, 6000);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(0u, u->off);
  EXPECT_EQ(8192u, u->len);
  u = os_->UnitAt(*odd_big, 9000);  // past the block: pages
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(8192u, u->off);
  EXPECT_EQ(4096u, u->len);
  u = os_->UnitAt(*small, 5000);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(4096u, u->off);
  EXPECT_EQ(4096u, u->len);
}

}  // namespace
}  // namespace uzfs
