// A pool with an ARC: file data read through a bounded cache, metadata cached, and the mapped
// file calls (MapFile, FaultFile, DirtyFile, the sync's protector) as zfsd's fault service
// uses them: holes fault in without allocating, stores through the segment reach the disk
// (and stores past the end of the file do not), quotas refuse a first store, truncation
// shrinks the segment, rollback and destroy forget the dataset's units.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <random>
#include <tuple>
#include <vector>

#include "libcore/dmu/dmu_zfetch_run.h"
#include "libcore/pool/pool.h"
#include "libcore/pool/pool_test_util.h"

namespace uzfs {
namespace {

constexpr ZTime kNow{1795400000, 5};

Bytes Pattern(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

class PoolMmapTest : public FilePoolTest {
 protected:
  void SetUp() override {
    MakePool("mp", 256 << 20, &arc_);
    if (HasFatalFailure()) return;
    ASSERT_TRUE(pool_->CreateFilesystem("mp/fs", {}).ok());
  }
  void TearDown() override {
    pool_.reset();  // before the Arc goes
    FilePoolTest::TearDown();
  }
  // A regular file `name` in the root holding data (written in 1 MiB pieces).
  uint64_t MakeFile(const std::string& name, const Bytes& data) {
    uint64_t obj = 0;
    Status s = pool_->WithZpl("mp/fs", [&](ZplWriter& z, uint64_t txg) -> Status {
      UZFS_ASSIGN(obj, z.Create(z.root(), name, S_IFREG | 0644, 0, 0, txg, kNow));
      for (size_t off = 0; off < data.size(); off += 1 << 20)
        UZFS_TRY(z.Write(obj, off, ByteSpan(data).subspan(off, std::min<size_t>(1 << 20, data.size() - off)), kNow));
      return Status::Ok();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return obj;
  }
  Result<Bytes> ReadFile(uint64_t obj, uint64_t off, uint64_t len) {
    Bytes out;
    UZFS_TRY(pool_->WithZpl("mp/fs", [&](ZplWriter& z, uint64_t) -> Status {
      UZFS_ASSIGN(out, z.Read(obj, off, len));
      return Status::Ok();
    }));
    return out;
  }
  Status SetSize(uint64_t obj, uint64_t size) {
    return pool_->WithZpl("mp/fs", [&](ZplWriter& z, uint64_t) {
      SetAttr a;
      a.size = size;
      return z.Setattr(obj, a, kNow);
    });
  }
  void ExportImport() {
    ASSERT_TRUE(pool_->Export().ok());
    pool_.reset();
    Import();
  }
  void Import() {
    PoolImportSpec spec;
    spec.devices = {dev_};
    spec.pool = "mp";
    spec.arc = &arc_;
    auto p = Pool::Import(spec);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    pool_ = std::move(p).value();
  }
  ArcObjKey Key(uint64_t obj) {
    auto rows = pool_->Filesystems();
    EXPECT_TRUE(rows.ok());
    for (auto& r : *rows)
      if (r.name == "mp/fs") return ArcObjKey{pool_->guid(), r.ds_obj, obj};
    return {};
  }
  static void Store(const ArcSegment& seg, uint64_t at, const std::string& s) {
    ASSERT_EQ(static_cast<ssize_t>(s.size()), pwrite(seg.fd(), s.data(), s.size(), static_cast<off_t>(at)));
  }

  Arc arc_{64 << 20};
};

TEST_F(PoolMmapTest, BigFileReadsThroughABoundedArc) {
  arc_.SetMax(2 << 20);
  Bytes data = Pattern(8 << 20, 1);
  uint64_t obj = MakeFile("big", data);
  ASSERT_TRUE(pool_->Sync().ok());
  std::mt19937_64 rng(2);
  for (int pass = 0; pass < 3; pass++) {
    for (uint64_t off = 0; off < data.size(); off += 65536) {
      auto r = ReadFile(obj, off, 65536);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ASSERT_TRUE(std::equal(r->begin(), r->end(), data.begin() + static_cast<long>(off))) << "at " << off;
    }
    ArcStats s = arc_.Stats();
    EXPECT_LE(s.size, 2u << 20) << "pass " << pass;
    EXPECT_LE(s.resident, 2u << 20) << "pass " << pass;
  }
  for (int i = 0; i < 300; i++) {
    uint64_t off = rng() % data.size(), len = 1 + rng() % 200000;
    auto r = ReadFile(obj, off, len);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(std::min<uint64_t>(len, data.size() - off), r->size());
    ASSERT_TRUE(std::equal(r->begin(), r->end(), data.begin() + static_cast<long>(off))) << "at " << off;
  }
  ArcStats s = arc_.Stats();
  EXPECT_LE(s.size, 2u << 20);
  EXPECT_GT(s.evictions, 0u);
  EXPECT_GT(s.data_hits, 0u);
  EXPECT_GT(s.meta_hits, 0u);  // indirect blocks and dnodes come from the ARC too
  EXPECT_GT(s.data_size, 0u);
  EXPECT_GT(s.meta_size, 0u);
  // After an export the pool's units are gone.
  ExportImport();
  s = arc_.Stats();
  EXPECT_EQ(0u, s.data_size);
  EXPECT_EQ(0u, s.segments);
}

TEST_F(PoolMmapTest, FaultOnAHoleAllocatesNothing) {
  uint64_t obj = MakeFile("sparse", {});
  ASSERT_TRUE(pool_->WithZpl("mp/fs", [&](ZplWriter& z, uint64_t) {
    return z.Write(obj, 8 << 20, Bytes(10, 0x42), kNow);
  }).ok());
  ASSERT_TRUE(pool_->Sync().ok());
  uint64_t alloc = pool_->allocated();
  auto seg = pool_->MapFile("mp/fs", obj);
  ASSERT_TRUE(seg.ok()) << seg.status().ToString();
  EXPECT_EQ(P2RoundUp((8 << 20) + 10, kArcPageSize), (*seg)->size());
  auto u = pool_->FaultFile("mp/fs", obj, (1 << 20) + 5);
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(1u << 20, u->off);
  EXPECT_EQ(128u << 10, u->len);
  EXPECT_TRUE(u->filled);
  u = pool_->FaultFile("mp/fs", obj, (1 << 20) + 70000);
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(u->filled);
  Bytes got(u->len, 0xff);
  ASSERT_EQ(static_cast<ssize_t>(got.size()), pread((*seg)->fd(), got.data(), got.size(), 1 << 20));
  EXPECT_EQ(Bytes(u->len, 0), got);
  // The data block faults in with its bytes.
  u = pool_->FaultFile("mp/fs", obj, 8 << 20);
  ASSERT_TRUE(u.ok());
  uint8_t b = 0;
  ASSERT_EQ(1, pread((*seg)->fd(), &b, 1, (8 << 20) + 9));
  EXPECT_EQ(0x42, b);
  ASSERT_TRUE(pool_->Sync().ok());
  EXPECT_EQ(alloc, pool_->allocated());
  // Past the end of the segment; not a regular file.
  EXPECT_EQ(EINVAL, pool_->FaultFile("mp/fs", obj, 9 << 20).status().code());
  uint64_t root = 0;
  ASSERT_TRUE(pool_->WithZpl("mp/fs", [&](ZplWriter& z, uint64_t) {
    root = z.root();
    return Status::Ok();
  }).ok());
  EXPECT_EQ(ENOENT, pool_->FaultFile("mp/fs", root, 0).status().code());
  EXPECT_EQ(ENOENT, pool_->MapFile("mp/fs", root).status().code());
  EXPECT_EQ(ENOENT, pool_->MapFile("mp/fs", 999999).status().code());
}

TEST_F(PoolMmapTest, StoresThroughTheSegmentReachTheDisk) {
  std::vector<std::tuple<ArcObjKey, uint64_t, uint64_t>> protected_units;
  pool_->SetMapProtector([&](const ArcObjKey& k, uint64_t off, uint64_t len) {
    protected_units.emplace_back(k, off, len);
  });
  Bytes data = Pattern(300000, 3);
  uint64_t obj = MakeFile("m", data);
  ASSERT_TRUE(pool_->Sync().ok());
  auto seg = pool_->MapFile("mp/fs", obj);
  ASSERT_TRUE(seg.ok());
  EXPECT_EQ(P2RoundUp(300000, kArcPageSize), (*seg)->size());
  // First store into the middle unit (the block [128K, 256K)).
  auto u = pool_->FaultFile("mp/fs", obj, 140000);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(131072u, u->off);
  std::vector<std::pair<uint64_t, uint64_t>> dirtied;
  auto note = [&](uint64_t off, uint64_t len) { dirtied.emplace_back(off, len); };
  ASSERT_TRUE(pool_->DirtyFile("mp/fs", obj, 140000, note).ok());
  ASSERT_TRUE(pool_->DirtyFile("mp/fs", obj, 200000, note).ok());  // the same unit again
  ASSERT_EQ(2u, dirtied.size());
  EXPECT_EQ(std::make_pair(uint64_t{131072}, uint64_t{131072}), dirtied[0]);
  EXPECT_EQ(dirtied[0], dirtied[1]);
  EXPECT_EQ(131072u, arc_.Stats().held_size);
  Store(**seg, 131072 + 100, "hello");
  // The last unit: a store inside the file and one past its end (in its last page).
  ASSERT_TRUE(pool_->DirtyFile("mp/fs", obj, 299990).ok());  // faults it in itself
  Store(**seg, 299995, "TAIL!");
  Store(**seg, 300500, "Z");
  // A store into a unit nobody dirtied is not written (the fault service always dirties first).
  Store(**seg, 10, "not charged");
  // Held bytes count what lies inside the segment: all of the middle unit, 10 pages of the last.
  EXPECT_EQ(131072u + 40960, arc_.Stats().held_size);
  // Reads see the stores before the sync (one copy).
  auto r = ReadFile(obj, 131172, 5);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ("hello", std::string(r->begin(), r->end()));
  ASSERT_TRUE(pool_->Sync().ok());
  ASSERT_EQ(2u, protected_units.size());
  EXPECT_EQ(std::make_tuple(Key(obj), uint64_t{131072}, uint64_t{131072}), protected_units[0]);
  EXPECT_EQ(std::make_tuple(Key(obj), uint64_t{262144}, uint64_t{131072}), protected_units[1]);
  EXPECT_EQ(0u, arc_.Stats().held_size);
  ASSERT_TRUE(pool_->Sync().ok());
  EXPECT_EQ(2u, protected_units.size());  // nothing dirty any more

  ExportImport();
  std::copy_n("hello", 5, data.begin() + 131172);
  std::copy_n("TAIL!", 5, data.begin() + 299995);
  r = ReadFile(obj, 0, 400000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(data, *r);
  // The store past the end never reached the disk: growing the file shows zeros there.
  ASSERT_TRUE(SetSize(obj, 301000).ok());
  r = ReadFile(obj, 300000, 1000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Bytes(1000, 0), *r);
}

// A file grown by truncate has no block past its first; a mapping's stores into its last unit
// are in the ARC only until the sync. A read (the FUSE mount's Pool::ReadFile) must return
// them, not the zeros of the object: the kernel would keep those in its page cache.
TEST_F(PoolMmapTest, StoresPastTheLastBlockReadBeforeTheSync) {
  uint64_t obj = MakeFile("grown", {});
  ASSERT_TRUE(SetSize(obj, 1 << 20).ok());
  ASSERT_TRUE(pool_->Sync().ok());
  auto seg = pool_->MapFile("mp/fs", obj);
  ASSERT_TRUE(seg.ok()) << seg.status().ToString();
  const uint64_t at = (1 << 20) - 100;
  ASSERT_TRUE(pool_->DirtyFile("mp/fs", obj, at).ok());
  Store(**seg, at, "the end");
  for (int synced = 0; synced < 2; synced++) {
    auto r = pool_->ReadFile("mp/fs", obj, (1 << 20) - 131072, 131072);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(131072u, r->size());
    EXPECT_EQ("the end", std::string(r->end() - 100, r->end() - 93)) << "synced " << synced;
    EXPECT_EQ(Bytes(131072 - 100, 0), Bytes(r->begin(), r->end() - 100));
    ASSERT_TRUE(pool_->Sync().ok());
  }
}

// Reads through the mount (Pool::ReadFile) in order read ahead (dmu_zfetch): after the first
// ones, most units are in the ARC before their read asks; the bytes are right, also through
// an ARC smaller than the file, and a write racing the read-ahead is what a later read sees.
TEST_F(PoolMmapTest, SequentialReadsReadAhead) {
  Bytes data = Pattern(16 << 20, 9);
  uint64_t obj = MakeFile("seq", data);
  ASSERT_TRUE(pool_->Sync().ok());
  ExportImport();
  ASSERT_EQ(0u, pool_->prefetch_issued());
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 1) {
      ExportImport();
      arc_.SetMax(4 << 20);  // a quarter of the file
    }
    ArcStats before = arc_.Stats();
    const uint64_t issued = pool_->prefetch_issued();  // a new Pool after an import: 0
    const uint64_t run_blocks = ZfetchRunBlocks();
    for (uint64_t off = 0; off < data.size(); off += 1 << 20) {
      auto r = pool_->ReadFile("mp/fs", obj, off, 1 << 20);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ASSERT_EQ(1u << 20, r->size());
      ASSERT_TRUE(std::equal(r->begin(), r->end(), data.begin() + static_cast<long>(off))) << "at " << off;
    }
    ArcStats after = arc_.Stats();
    // Of 128 units; through the small ARC the window is an eighth of it (4 units ahead).
    // The units lie back to back on disk: read-ahead reads them in runs, one fill each.
    EXPECT_GE(ZfetchRunBlocks() - run_blocks, pass ? 48u : 96u) << "pass " << pass;
    EXPECT_GE(pool_->prefetch_issued() - issued, pass ? 12u : 12u) << "pass " << pass;
    EXPECT_LE(pool_->prefetch_issued() - issued, pass ? 64u : 32u) << "pass " << pass;
    EXPECT_GE(after.data_hits - before.data_hits, pass ? 30u : 60u) << "pass " << pass;
    EXPECT_LE(after.size, pass ? 4u << 20 : 64u << 20);
  }
  // A write between reads: read-ahead planned before it must not bring the old bytes back.
  for (uint64_t off = 0; off < (4u << 20); off += 1 << 20) ASSERT_TRUE(pool_->ReadFile("mp/fs", obj, off, 1 << 20).ok());
  Bytes fresh = Pattern(1 << 20, 10);
  ASSERT_TRUE(pool_->WithZpl("mp/fs", [&](ZplWriter& z, uint64_t) {
    return z.Write(obj, 6 << 20, fresh, kNow);
  }).ok());
  auto r = pool_->ReadFile("mp/fs", obj, 6 << 20, 1 << 20);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r == fresh);
}

// Read-ahead reads adjacent blocks in one run but verifies each: a block damaged on disk in
// the middle of a run fails its reads (ECKSUM, as without read-ahead), and the blocks around
// it in the same run read right.
TEST_F(PoolMmapTest, ADamagedBlockInAReadAheadRunFailsAloneAndItsNeighboursReadRight) {
  Bytes data = Pattern(8 << 20, 11);
  uint64_t obj = MakeFile("runs", data);
  ASSERT_TRUE(pool_->Sync().ok());
  ASSERT_TRUE(pool_->Export().ok());
  pool_.reset();
  {  // flip a byte of block 21 (of 64) where it lies on the device (stored uncompressed)
    FILE* f = fopen(dev_.c_str(), "r+b");
    ASSERT_TRUE(f);
    std::vector<uint8_t> disk(256 << 20);
    ASSERT_EQ(disk.size(), fread(disk.data(), 1, disk.size(), f));
    const uint8_t* at = static_cast<const uint8_t*>(
        memmem(disk.data(), disk.size(), data.data() + 21 * 131072 + 4096, 64));
    ASSERT_NE(nullptr, at);
    ASSERT_EQ(0, fseek(f, at - disk.data(), SEEK_SET));
    const uint8_t bad = *at ^ 0xff;
    ASSERT_EQ(1u, fwrite(&bad, 1, 1, f));
    fclose(f);
  }
  Import();
  const uint64_t run_blocks = ZfetchRunBlocks();
  for (uint64_t off = 0; off < data.size(); off += 128 << 10) {
    auto r = pool_->ReadFile("mp/fs", obj, off, 128 << 10);
    if (off / 131072 == 21) {
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(ECKSUM, r.status().code()) << r.status().ToString();
      continue;
    }
    ASSERT_TRUE(r.ok()) << "at " << off << ": " << r.status().ToString();
    ASSERT_TRUE(std::equal(r->begin(), r->end(), data.begin() + static_cast<long>(off))) << "at " << off;
  }
  EXPECT_GE(ZfetchRunBlocks() - run_blocks, 32u);  // the others came in runs
}

TEST_F(PoolMmapTest, MsyncLogsTheRangesUnitsAndAnImportAfterACrashReplaysThem) {
  std::vector<std::tuple<ArcObjKey, uint64_t, uint64_t>> protected_units;
  pool_->SetMapProtector([&](const ArcObjKey& k, uint64_t off, uint64_t len) {
    protected_units.emplace_back(k, off, len);
  });
  Bytes data = Pattern(3 << 20, 5);
  uint64_t obj = MakeFile("m", data);
  ASSERT_TRUE(pool_->ZilCommit("mp/fs").ok());  // the chain starts with a txg sync
  const uint64_t synced = pool_->txg();
  auto seg = pool_->MapFile("mp/fs", obj);
  ASSERT_TRUE(seg.ok());
  // Stores into two units; the msync covers the first one's range only.
  ASSERT_TRUE(pool_->DirtyFile("mp/fs", obj, 5).ok());
  Store(**seg, 5, "first");
  ASSERT_TRUE(pool_->DirtyFile("mp/fs", obj, 2 << 20).ok());
  Store(**seg, 2 << 20, "second");
  ASSERT_TRUE(pool_->CommitMappedFile("mp/fs", obj, 0, 4096).ok());
  ASSERT_EQ(1u, protected_units.size());
  EXPECT_EQ(std::make_tuple(Key(obj), uint64_t{0}, uint64_t{131072}), protected_units[0]);
  EXPECT_EQ(131072u, arc_.Stats().held_size);  // the second unit is still mapped-dirty
  EXPECT_EQ(1u, pool_->zil_stats().commits);
  EXPECT_EQ(synced, pool_->txg());  // logged, no txg written
  // More than kMsyncLogMax (1 MiB) dirty in the range: the txg is synced instead.
  for (uint64_t at = 0; at < (2 << 20); at += 131072) ASSERT_TRUE(pool_->DirtyFile("mp/fs", obj, at).ok());
  Store(**seg, 1 << 20, "big");
  ASSERT_TRUE(pool_->CommitMappedFile("mp/fs", obj, 0, 2 << 20).ok());
  EXPECT_GT(pool_->txg(), synced);
  EXPECT_EQ(0u, arc_.Stats().held_size);
  // Once more a small one, then a crash: the import replays it.
  ASSERT_TRUE(pool_->DirtyFile("mp/fs", obj, (3 << 20) - 10).ok());
  Store(**seg, (3 << 20) - 10, "last");
  ASSERT_TRUE(pool_->CommitMappedFile("mp/fs", obj, (3 << 20) - 10, 4).ok());
  EXPECT_EQ(2u, pool_->zil_stats().commits);
  (*seg).reset();
  pool_.reset();  // no export, no sync: what a SIGKILL leaves (its ARC units go with it)
  PoolImportSpec spec;
  spec.devices = {dev_};
  spec.pool = "mp";
  spec.arc = &arc_;
  spec.force = true;
  auto p = Pool::Import(spec);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  pool_ = std::move(p).value();
  std::copy_n("first", 5, data.begin() + 5);
  std::copy_n("second", 6, data.begin() + (2 << 20));
  std::copy_n("big", 3, data.begin() + (1 << 20));
  std::copy_n("last", 4, data.begin() + (3 << 20) - 10);
  auto r = ReadFile(obj, 0, 3 << 20);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(data, *r);
  EXPECT_GE(pool_->zil_stats().replayed, 1u);
}

TEST_F(PoolMmapTest, FirstStoreOverQuotaIsRefused) {
  uint64_t obj = MakeFile("q", Pattern(300000, 4));
  ASSERT_TRUE(pool_->Sync().ok());
  auto props = pool_->DatasetProps("mp/fs");
  ASSERT_TRUE(props.ok());
  uint64_t used = 0;
  for (auto& p : *props)
    if (p.name == "used") used = std::stoull(p.value);
  ASSERT_GT(used, 0u);
  ASSERT_TRUE(pool_->SetDatasetProp("mp/fs", "quota", std::to_string(used + 65536)).ok());
  ASSERT_TRUE(pool_->FaultFile("mp/fs", obj, 0).ok());
  EXPECT_EQ(EDQUOT, pool_->DirtyFile("mp/fs", obj, 0).code());
  EXPECT_EQ(0u, arc_.Stats().held_size);
  ASSERT_TRUE(pool_->SetDatasetProp("mp/fs", "quota", "none").ok());
  EXPECT_TRUE(pool_->DirtyFile("mp/fs", obj, 0).ok());
  ASSERT_TRUE(pool_->Sync().ok());
  EXPECT_EQ(0u, arc_.Stats().held_size);
}

TEST_F(PoolMmapTest, TruncateShrinksTheSegment) {
  Bytes data = Pattern(300000, 5);
  uint64_t obj = MakeFile("t", data);
  ASSERT_TRUE(pool_->Sync().ok());
  auto seg = pool_->MapFile("mp/fs", obj);
  ASSERT_TRUE(seg.ok());
  ASSERT_TRUE(pool_->FaultFile("mp/fs", obj, 0).ok());
  ASSERT_TRUE(pool_->FaultFile("mp/fs", obj, 200000).ok());
  ASSERT_TRUE(SetSize(obj, 5000).ok());
  EXPECT_EQ(8192u, (*seg)->size());
  struct stat st;
  ASSERT_EQ(0, fstat((*seg)->fd(), &st));
  EXPECT_EQ(8192, st.st_size);
  Bytes page(8192);
  ASSERT_EQ(8192, pread((*seg)->fd(), page.data(), page.size(), 0));
  for (size_t i = 0; i < page.size(); i++) ASSERT_EQ(i < 5000 ? data[i] : 0, page[i]) << i;
  EXPECT_EQ(8192u, arc_.Stats().data_size);
  auto again = pool_->MapFile("mp/fs", obj);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*seg)->fd(), (*again)->fd());  // the same segment, not a new one
  ASSERT_TRUE(SetSize(obj, 1 << 20).ok());
  EXPECT_EQ(1u << 20, (*seg)->size());
  auto r = ReadFile(obj, 4000, 1 << 20);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ((1u << 20) - 4000, r->size());
  for (size_t i = 0; i < r->size(); i++) ASSERT_EQ(i < 1000 ? data[4000 + i] : 0, (*r)[i]) << i;
}

TEST_F(PoolMmapTest, RollbackAndDestroyForgetTheDatasetsUnits) {
  Bytes old = Pattern(200000, 6), now = Pattern(200000, 7);
  uint64_t obj = MakeFile("r", old);
  ASSERT_TRUE(pool_->Snapshot({"mp/fs@s"}).ok());
  ASSERT_TRUE(pool_->WithZpl("mp/fs", [&](ZplWriter& z, uint64_t) { return z.Write(obj, 0, now, kNow); }).ok());
  auto r = ReadFile(obj, 0, now.size());  // cached: the new bytes
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(now, *r);
  // A mapped-dirty unit of the rolled-back dataset is forgotten with it.
  ASSERT_TRUE(pool_->DirtyFile("mp/fs", obj, 0).ok());
  ASSERT_TRUE(pool_->Rollback("mp/fs").ok());
  EXPECT_EQ(0u, arc_.Stats().held_size);
  r = ReadFile(obj, 0, old.size());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(old, *r);
  ASSERT_TRUE(pool_->Sync().ok());
  ASSERT_TRUE(pool_->CreateFilesystem("mp/other", {}).ok());
  uint64_t o2 = 0;
  ASSERT_TRUE(pool_->WithZpl("mp/other", [&](ZplWriter& z, uint64_t txg) -> Status {
    UZFS_ASSIGN(o2, z.Create(z.root(), "f", S_IFREG | 0644, 0, 0, txg, kNow));
    UZFS_TRY(z.Write(o2, 0, now, kNow));
    return z.Read(o2, 0, 10).status();
  }).ok());
  EXPECT_GE(arc_.Stats().segments, 2u);
  ASSERT_TRUE(pool_->Sync().ok());
  ASSERT_TRUE(pool_->DestroyFilesystem("mp/other").ok());
  ASSERT_TRUE(pool_->Sync().ok());
  EXPECT_EQ(1u, arc_.Stats().segments);  // mp/fs's file only
}

class PoolNoArcTest : public FilePoolTest {
 protected:
  void SetUp() override { MakePool("na", 128 << 20); }
};

TEST_F(PoolNoArcTest, MappingNeedsAnArc) {
  uint64_t obj = 0;
  ASSERT_TRUE(pool_->WithZpl("na", [&](ZplWriter& z, uint64_t txg) -> Status {
    UZFS_ASSIGN(obj, z.Create(z.root(), "f", S_IFREG | 0644, 0, 0, txg, kNow));
    return z.Write(obj, 0, Bytes(5000, 1), kNow);
  }).ok());
  EXPECT_EQ(EINVAL, pool_->MapFile("na", obj).status().code());
  EXPECT_EQ(EINVAL, pool_->FaultFile("na", obj, 0).status().code());
  EXPECT_EQ(EINVAL, pool_->DirtyFile("na", obj, 0).code());
  ASSERT_TRUE(pool_->Sync().ok());
}

}  // namespace
}  // namespace uzfs
