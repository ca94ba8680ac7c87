// The intent log as the pool drives it: commits write log blocks once the chain exists,
// a pool dropped without a sync (no export: as a crash) replays them at the next import,
// and an fsync-heavy rewrite of most of a small pool never leaves the sync without space.
#include <sys/stat.h>

#include "libcore/pool/log_space.h"
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

TEST_F(PoolZilTest, ALogMetaslabRunningLowAsksForSyncsUntilItsBlocksComeBack) {
  // 256 MiB: 125 metaslabs of 2 MiB, so log blocks have a metaslab of their own. Each 4K
  // write's commit takes an 8K block there; below half of it free the commit asks the sync
  // thread (here: the test) for a txg sync, once until Writeback ran it (log_space.h).
  MakePool("tank", 256ULL << 20);
  int asked = 0;
  log_space::SetHook(pool_.get(), [&] { asked++; });
  auto f = CreateFile("f");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(pool_->ZilCommit("tank").ok());  // the chain's first block, by a sync
  Bytes block(4096, 'w');
  uint64_t off = 0;
  auto commit = [&] {
    ASSERT_TRUE(Write(*f, off, block).ok());
    off += block.size();
    ASSERT_TRUE(pool_->ZilCommit("tank").ok());
  };
  int i = 0;
  for (; i < 200 && asked == 0; i++) commit();
  ASSERT_EQ(asked, 1) << "no sync asked for after " << i << " commits";
  EXPECT_GT(i, 20);  // not before the metaslab was used
  for (int k = 0; k < 10; k++) commit();
  EXPECT_EQ(asked, 1);  // asked once until the sync ran
  // The blocks come back two syncs after the one that frees them: until then every sync
  // the log asked for is followed by another ask.
  int syncs = 0;
  for (; syncs < 6 && asked > syncs; syncs++) {
    const uint64_t txg = pool_->txg();
    ASSERT_TRUE(pool_->Writeback().ok());
    EXPECT_GT(pool_->txg(), txg);  // a txg sync, not an early writeback
    for (int k = 0; k < 10; k++) commit();
  }
  EXPECT_EQ(log_space::Taken(pool_.get()), static_cast<uint64_t>(syncs));
  EXPECT_GE(syncs, 3);
  EXPECT_LE(syncs, 4);
  for (int k = 0; k < 60; k++) commit();  // the space came back: no more asks
  EXPECT_EQ(asked, syncs);
  EXPECT_EQ(pool_->zil_stats().commit_syncs, 1u);  // only the first: every other one logged
  EXPECT_GE(pool_->zil_stats().commits, static_cast<uint64_t>(i + 10 * syncs + 70));
  ASSERT_TRUE(pool_->Export().ok());
}

}  // namespace
}  // namespace uzfs
