// The intent log as the pool drives it: commits write log blocks once the chain exists,
// a pool dropped without a sync (no export: as a crash) replays them at the next import,
// and an fsync-heavy rewrite of most of a small pool never leaves the sync without space.
#include <sys/stat.h>

#include "libcore/pool/pool_test_util.h"

namespace uzfs {
namespace {

class PoolZilTest : public FilePoolTest {
 protected:
  ZTime Now() { return ZTime{1700000000, 0}; }
  Result<uint64_t> CreateFile(const std::string& name) {
    uint64_t obj = 0;
    Status s = pool_->WithZpl("tank", [&](ZplWriter& z, uint64_t txg) -> Status {
      UZFS_ASSIGN(obj, z.Create(z.root(), name, S_IFREG | 0644, 0, 0, txg, Now()));
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return obj;
  }
  Status Write(uint64_t obj, uint64_t off, const Bytes& data) {
    return pool_->WithZpl("tank", [&](ZplWriter& z, uint64_t) { return z.Write(obj, off, data, Now()); },
                          data.size());
  }
};

TEST_F(PoolZilTest, CommitsLogWhatOnlyTheLogHoldsAndTheNextImportReplaysIt) {
  MakePool("tank", 256ULL << 20);
  auto first = CreateFile("first");
  ASSERT_TRUE(first.ok());
  // No chain yet: the first commit syncs the txg (zil_create).
  ASSERT_TRUE(pool_->ZilCommit("tank").ok());
  EXPECT_EQ(pool_->zil_stats().commit_syncs, 1u);
  const uint64_t synced = pool_->txg();
  auto f = CreateFile("logged");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(Write(*f, 0, Bytes(10000, 'L')).ok());
  ASSERT_TRUE(pool_->ZilCommit("tank").ok());
  EXPECT_EQ(pool_->zil_stats().commits, 1u);
  EXPECT_GE(pool_->zil_stats().log_blocks, 1u);
  EXPECT_EQ(pool_->txg(), synced);  // no txg was written for it
  // A commit with nothing new writes nothing.
  ASSERT_TRUE(pool_->ZilCommit("tank").ok());
  EXPECT_EQ(pool_->zil_stats().commits, 1u);
  // An unlogged change after the commit is lost with the crash; the logged ones are not.
  ASSERT_TRUE(CreateFile("unlogged").ok());
  CrashAndImport("tank");
  if (HasFatalFailure()) return;
  Bytes got;
  Status s = pool_->WithZpl("tank", [&](ZplWriter& z, uint64_t) -> Status {
    UZFS_ASSIGN(uint64_t obj, z.Lookup(z.root(), "logged"));
    EXPECT_EQ(obj, *f);  // made again at its logged object number
    UZFS_ASSIGN(got, z.Read(obj, 0, 20000));
    EXPECT_FALSE(z.Lookup(z.root(), "unlogged").ok());
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(got, Bytes(10000, 'L'));
  EXPECT_GE(pool_->zil_stats().replayed, 2u);  // the create and the write
  EXPECT_TRUE(pool_->TakeReplayError().ok());
  ASSERT_TRUE(pool_->Export().ok());
}

TEST_F(PoolZilTest, FsyncHeavyRewritesOfMostOfASmallPoolNeverStarveTheSync) {
  // Rewrites free what they replace only two txgs later, and log blocks wait for their
  // txg: a log taking that space (or writers counting deferred frees as room) left the
  // txg's sync with ENOSPC for good.
  MakePool("tank", 256ULL << 20);
  auto f = CreateFile("big");
  ASSERT_TRUE(f.ok());
  const uint64_t file = 120ULL << 20;
  for (uint64_t off = 0; off < file; off += 1 << 20) ASSERT_TRUE(Write(*f, off, Bytes(1 << 20, 'a')).ok());
  ASSERT_TRUE(pool_->Sync().ok());
  Bytes block(4096, 'b');
  int refused = 0;
  uint64_t pos = 0;
  for (int i = 0; i < 6000; i++) {
    Status w = Write(*f, pos, block);
    if (w.code() == ENOSPC) {  // a writer may be refused: never the sync
      refused++;
      ASSERT_TRUE(pool_->Sync().ok());
      continue;
    }
    ASSERT_TRUE(w.ok()) << w.ToString();
    ASSERT_TRUE(pool_->ZilCommit("tank").ok()) << i;
    pos = (pos + (1 << 20) + 4096) % file;
    if (i % 500 == 499) {
      ASSERT_TRUE(pool_->Sync().ok()) << i;
    }
  }
  EXPECT_GT(pool_->zil_stats().commits, 1000u) << pool_->zil_stats().commit_syncs << " syncs, " << refused << " refused";
  ASSERT_TRUE(pool_->Export().ok());
}

}  // namespace
}  // namespace uzfs
