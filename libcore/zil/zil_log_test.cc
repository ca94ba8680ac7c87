#include "libcore/zil/zil_log.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <thread>

#include "libcore/zil/zil_write.h"

namespace uzfs {
namespace {

// Log blocks as a disk holds them: by DVA offset, read back through the real checksum.
class MemLog : public BlockReader {
 public:
  Result<Bytes> Read(const BlkPtr& bp, ReadReport*) override {
    auto it = blocks.find(bp.dva[0].offset());
    if (it == blocks.end()) return Status::Error(EIO, "unwritten");
    return it->second;  // (ReadLogBlock checks the chain's linkage)
  }
  std::map<uint64_t, Bytes> blocks;
};

struct Harness {
  uint64_t next_off = 1 << 20;
  std::vector<BlkPtr> freed;
  ZilWriter::AllocFn alloc = [this](uint64_t size, const BlkPtr&) -> Result<BlkPtr> {
    BlkPtr bp;
    bp.dva[0].Set(0, next_off, size);
    next_off += size;
    bp.set_lsize(size);
    bp.set_psize(size);
    bp.set_checksum(static_cast<uint8_t>(ChecksumId::kZilog2));
    bp.set_type(kOtIntentLog);
    bp.set_little_endian(true);
    bp.birth = 10;
    return bp;
  };
};

Itx Remove(uint64_t txg, const std::string& name) {
  Itx itx;
  itx.txg = txg;
  itx.lr = EncodeLrRemove(kTxRemove, txg, LrRemove{4, name});
  return itx;
}

std::unique_ptr<ZilWriter> StartedWriter(Harness& h) {
  auto w = std::make_unique<ZilWriter>(54, ZilHeader{});
  auto first = h.alloc(4096, BlkPtr{});
  w->StartChain(*first, 5, 0x1111, 0x2222);
  return w;
}

TEST(ZilWriterTest, AChainStartsByASyncAndIsReadyOnlyOnceThatTxgSynced) {
  Harness h;
  ZilWriter w(54, ZilHeader{});
  EXPECT_TRUE(w.empty_chain());
  EXPECT_FALSE(w.ready(100));
  auto first = h.alloc(4096, BlkPtr{});
  w.StartChain(*first, 5, 0x1111, 0x2222);
  EXPECT_FALSE(w.empty_chain());
  EXPECT_FALSE(w.ready(4));
  EXPECT_TRUE(w.ready(5));
  // The sync of txg 5 puts the first block, with its fresh verifier, in the header.
  EXPECT_TRUE(w.Sync(5, [&](const BlkPtr& bp) { h.freed.push_back(bp); }));
  EXPECT_EQ(w.header().log.cksum.word[kZilZcGuid0], 0x1111u);
  EXPECT_EQ(w.header().log.cksum.word[kZilZcObjset], 54u);
  EXPECT_EQ(w.header().log.cksum.word[kZilZcSeq], 1u);
  EXPECT_FALSE(w.Sync(6, [&](const BlkPtr& bp) { h.freed.push_back(bp); }));
  EXPECT_TRUE(h.freed.empty());
}

TEST(ZilWriterTest, PackedBlocksFormAChainThatParseZilWalksWithEveryRecordInOrder) {
  Harness h;
  auto wp = StartedWriter(h);
  ZilWriter& w = *wp;
  w.Sync(5, [](const BlkPtr&) {});
  for (int i = 0; i < 300; i++) w.Assign(Remove(6 + i / 100, "name-" + std::to_string(i)));
  EXPECT_EQ(w.last_itx(), 300u);
  ZilWriter::Batch b = w.TakeBatch(5);
  ASSERT_EQ(b.itxs.size(), 300u);
  auto images = w.Pack(b.itxs, h.alloc);
  ASSERT_TRUE(images.ok()) << images.status().ToString();
  ASSERT_GT(images->size(), 1u);  // 300 records do not fit the 4K first block
  MemLog disk;
  for (auto& im : *images) disk.blocks[im.bp.dva[0].offset()] = im.data;
  std::vector<std::string> names;
  std::vector<uint64_t> seqs;
  ZilParseResult r = ParseZil(disk, w.header(), [](const BlkPtr&) { return Status::Ok(); },
                              [&](const LogRecord& lr) {
                                names.push_back(std::get<LrRemove>(lr.body).name);
                                seqs.push_back(lr.seq);
                                return Status::Ok();
                              });
  ASSERT_EQ(names.size(), 300u) << r.error.ToString();
  for (int i = 0; i < 300; i++) {
    EXPECT_EQ(names[i], "name-" + std::to_string(i));
    EXPECT_EQ(seqs[i], static_cast<uint64_t>(i + 1));
  }
  EXPECT_EQ(r.blk_count, images->size() + 1);  // and the unwritten tail
}

// zl_prev_blks: after a commit that needed a 12K block, the next tail is 12K too, so the next
// such commit fits it (a 4K tail would be written empty, only to point on).
TEST(ZilWriterTest, TheNextTailIsSizedForTheLargestOfTheLastCommits) {
  Harness h;
  auto wp = StartedWriter(h);
  ZilWriter& w = *wp;
  w.Sync(5, [](const BlkPtr&) {});
  auto commit = [&](size_t write_bytes) {
    Itx itx;
    itx.txg = 6;
    itx.foid = 9;
    itx.lr = write_bytes ? EncodeLrWrite(6, LrWrite{9, 0, write_bytes, 0, {}, false, {}}, Bytes(write_bytes, 0x5c))
                         : EncodeLrRemove(kTxRemove, 6, LrRemove{4, "x"});
    w.Assign(std::move(itx));
    ZilWriter::Batch b = w.TakeBatch(5);
    auto images = w.Pack(b.itxs, h.alloc);
    EXPECT_TRUE(images.ok());
    return images.ok() ? *images : std::vector<ZilWriter::BlockImage>{};
  };
  auto first = commit(0);  // a remove: fits the 4K first block
  ASSERT_EQ(first.size(), 1u);
  auto big = commit(5000);  // does not fit the 4K tail: written empty, then an 8K block
  ASSERT_EQ(big.size(), 2u);
  EXPECT_EQ(big[0].bp.lsize(), 4096u);
  EXPECT_EQ(big[1].bp.lsize(), 8192u);
  auto again = commit(5000);  // the tail big left is 8K: one block
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].bp.lsize(), 8192u);
}

TEST(ZilWriterTest, ASyncFreesTheBlocksItsTxgCoversAndMovesTheHeaderOn) {
  Harness h;
  auto wp = StartedWriter(h);
  ZilWriter& w = *wp;
  w.Sync(5, [](const BlkPtr&) {});
  w.Assign(Remove(6, "a"));
  auto b1 = w.TakeBatch(5);
  auto i1 = w.Pack(b1.itxs, h.alloc);
  ASSERT_TRUE(i1.ok());
  w.Assign(Remove(7, "b"));
  auto b2 = w.TakeBatch(5);
  auto i2 = w.Pack(b2.itxs, h.alloc);
  ASSERT_TRUE(i2.ok());
  std::vector<BlkPtr> freed;
  auto fr = [&](const BlkPtr& bp) { freed.push_back(bp); };
  // Txg 6 synced: the block holding only txg 6's record goes; the header names txg 7's.
  EXPECT_TRUE(w.Sync(6, fr));
  ASSERT_EQ(freed.size(), 1u);
  EXPECT_EQ(freed[0].dva[0].offset(), (*i1)[0].bp.dva[0].offset());
  EXPECT_EQ(w.header().log.dva[0].offset(), (*i2)[0].bp.dva[0].offset());
  // Txg 7 synced: that one goes too; the header names the unwritten tail.
  EXPECT_TRUE(w.Sync(7, fr));
  ASSERT_EQ(freed.size(), 2u);
  EXPECT_EQ(w.header().log.cksum.word[kZilZcSeq], 3u);
}

TEST(ZilWriterTest, RecordsOfSyncedTxgsAreNotLoggedAndUnloggedChangesAskForASync) {
  Harness h;
  auto wp = StartedWriter(h);
  ZilWriter& w = *wp;
  w.Assign(Remove(6, "old"));
  w.Assign(Remove(8, "new"));
  auto b = w.TakeBatch(7);
  ASSERT_EQ(b.itxs.size(), 1u);
  EXPECT_FALSE(b.need_sync);
  w.Unlogged(9);
  EXPECT_TRUE(w.TakeBatch(8).need_sync);
  EXPECT_FALSE(w.TakeBatch(9).need_sync);
}

TEST(ZilWriterTest, DestroyFreesEveryBlockAndTheTailAndEmptiesTheHeader) {
  Harness h;
  auto wp = StartedWriter(h);
  ZilWriter& w = *wp;
  w.Sync(5, [](const BlkPtr&) {});
  w.Assign(Remove(6, "a"));
  auto b = w.TakeBatch(5);
  ASSERT_TRUE(w.Pack(b.itxs, h.alloc).ok());
  std::vector<BlkPtr> freed;
  w.Destroy([&](const BlkPtr& bp) { freed.push_back(bp); });
  EXPECT_EQ(freed.size(), 2u);  // the written block and the tail
  EXPECT_TRUE(w.header().log.is_hole());
  EXPECT_TRUE(w.empty_chain());
}

TEST(ZilWriterTest, CommitsBatchALaterCallerCoveredByARunningCommitDoesNotWrite) {
  ZilWriter w(54, ZilHeader{});
  w.Assign(Remove(6, "a"));
  const uint64_t t1 = w.BeginCommit(w.last_itx());  // the writer
  ASSERT_NE(t1, 0u);
  w.Assign(Remove(6, "b"));
  uint64_t covered = w.last_itx();
  w.Issued(covered);
  std::atomic<bool> returned{false};
  std::thread t([&] {
    // Covered by the writer's commit in flight: waits for it and returns 0 without writing.
    EXPECT_EQ(w.BeginCommit(1), 0u);
    returned = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(returned);  // the commit is issued, not yet durable
  EXPECT_TRUE(w.EndCommit(t1, covered, true));
  t.join();
  EXPECT_EQ(w.BeginCommit(covered), 0u);
  w.Assign(Remove(6, "c"));
  const uint64_t t2 = w.BeginCommit(w.last_itx());
  EXPECT_NE(t2, 0u);
  EXPECT_FALSE(w.EndCommit(t2, w.last_itx(), false));
  const uint64_t t3 = w.BeginCommit(w.last_itx());  // a failed commit covered nothing
  EXPECT_NE(t3, 0u);
  EXPECT_FALSE(w.EndCommit(t3, 0, false));
}

TEST(ZilWriterTest, ANextCommitIsIssuedOnceTheOneInFlightEnds) {
  // One commit in flight: the records that arrive meanwhile go in the next one, elected
  // as soon as the first ends.
  ZilWriter w(54, ZilHeader{});
  w.Assign(Remove(6, "a"));
  const uint64_t t1 = w.BeginCommit(w.last_itx());
  ASSERT_NE(t1, 0u);
  w.Issued(w.last_itx());
  w.Assign(Remove(6, "b"));
  const uint64_t upto2 = w.last_itx();
  std::atomic<uint64_t> t2{~0ull};
  std::thread t([&] { t2 = w.BeginCommit(upto2); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(t2, ~0ull);  // waits: its record is in no commit yet, and one is in flight
  EXPECT_TRUE(w.EndCommit(t1, 1, true));
  t.join();
  ASSERT_NE(t2, 0u);
  ASSERT_NE(t2, ~0ull);
  w.Issued(upto2);
  EXPECT_TRUE(w.EndCommit(t2, upto2, true));
  EXPECT_EQ(w.BeginCommit(upto2), 0u);

  // A caller whose record a failed commit took writes it again.
  w.Assign(Remove(6, "c"));
  const uint64_t upto3 = w.last_itx();
  const uint64_t t3 = w.BeginCommit(upto3);
  ASSERT_NE(t3, 0u);
  w.Issued(upto3);
  std::atomic<uint64_t> t4{~0ull};
  std::thread u([&] { t4 = w.BeginCommit(upto3); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(w.EndCommit(t3, upto3, false));
  u.join();
  ASSERT_NE(t4, 0u);  // elected: nothing made its record durable
  EXPECT_TRUE(w.EndCommit(t4, upto3, true));
  EXPECT_EQ(w.BeginCommit(upto3), 0u);
}

TEST(ZilWriterTest, BlockSizesAreZilsBuckets) {
  EXPECT_EQ(ZilWriter::BlockSize(100), 4096u);
  // A 4K write's record (lr_write_t + 4096) and the chain header fit 8K, an 8K write's 12K.
  EXPECT_EQ(ZilWriter::BlockSize(kLrWriteSize + 4096), 8192u);
  EXPECT_EQ(ZilWriter::BlockSize(kLrWriteSize + 8192), 12288u);
  EXPECT_EQ(ZilWriter::BlockSize(20000), 36864u);
  EXPECT_EQ(ZilWriter::BlockSize(40000), 131072u);
}

}  // namespace
}  // namespace uzfs
