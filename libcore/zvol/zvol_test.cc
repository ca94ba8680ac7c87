// A volume's objset as zvol_create_cb makes it, synced and read back by the read side (the
// objects zfs-fuse's zvol_get_stats and zdb look at), resized as zvol_update_volsize does,
// and libzfs's reservation for it.
#include "libcore/zvol/zvol.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "libcore/base/compress.h"
#include "libcore/dmu/dmu_test_util.h"
#include "libcore/zap/zap.h"

namespace uzfs {
namespace {

using test::FakePool;  // libcore/dmu/dmu_test_util.h

// Writes dirty ZAPs and the objset, then reads the objset back from its new root.
std::unique_ptr<ObjSet> SyncAndOpen(FakePool& pool, ObjsetWriter& os, ZapStore& zaps, uint64_t txg) {
  EXPECT_TRUE(zaps.Flush().ok());
  auto bp = os.Sync(pool, txg);
  EXPECT_TRUE(bp.ok()) << bp.status().ToString();
  auto r = ObjSet::Open(&pool, *bp);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

TEST(ZvolTest, CreateLaysOutTheV23ObjectsAndStatsReadThemBack) {
  FakePool pool;
  auto os = ObjsetWriter::Create(&pool, kOstZvol, ObjsetPolicy{});
  ZapStore zaps(os.get());
  ASSERT_TRUE(ZvolCreate(*os, zaps, 64 << 20, 16384).ok());
  auto st = ZvolGetStats(*os, zaps);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->volsize, 64u << 20);
  EXPECT_EQ(st->volblocksize, 16384u);
  Bytes data(40000, 0xab);
  ASSERT_TRUE(os->Write(kZvolObj, 1 << 20, data).ok());
  auto ro = SyncAndOpen(pool, *os, zaps, 5);
  ASSERT_NE(ro, nullptr);
  EXPECT_EQ(ro->type(), kOstZvol);
  auto dn1 = ro->Dnode(kZvolObj);
  ASSERT_TRUE(dn1.ok());
  EXPECT_EQ(dn1->type, kOtZvol);
  EXPECT_EQ(dn1->bonuslen, 0);
  EXPECT_EQ(dn1->datablksz(), 16384u);
  auto dn2 = ro->Dnode(kZvolZapObj);
  ASSERT_TRUE(dn2.ok());
  EXPECT_EQ(dn2->type, kOtZvolProp);
  EXPECT_EQ(dn2->datablksz(), 512u);  // a microzap, as zap_create_claim makes it
  auto rst = ZvolGetStats(*ro);
  ASSERT_TRUE(rst.ok()) << rst.status().ToString();
  EXPECT_EQ(rst->volsize, 64u << 20);
  EXPECT_EQ(rst->volblocksize, 16384u);
  auto back = ro->Read(*dn1, 1 << 20, data.size());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, data);
  // Not a volume: the read side says so.
  auto fs = ObjsetWriter::Create(&pool, kOstZfs, ObjsetPolicy{});
  ZapStore fzaps(fs.get());
  EXPECT_EQ(ZvolGetStats(*fs, fzaps).status().code(), EINVAL);
}

TEST(ZvolTest, ShrinkFreesWhatLiesPastTheNewEndAndGrowingReadsZeros) {
  FakePool pool;
  auto os = ObjsetWriter::Create(&pool, kOstZvol, ObjsetPolicy{});
  ZapStore zaps(os.get());
  ASSERT_TRUE(ZvolCreate(*os, zaps, 1 << 20, 8192).ok());
  Bytes ones(1 << 20, 1);
  ASSERT_TRUE(os->Write(kZvolObj, 0, ones).ok());
  ASSERT_NE(SyncAndOpen(pool, *os, zaps, 5), nullptr);
  size_t full = pool.live();
  ASSERT_TRUE(ZvolSetSize(*os, zaps, 256 << 10).ok());
  ASSERT_TRUE(ZvolSetSize(*os, zaps, 1 << 20).ok());
  auto ro = SyncAndOpen(pool, *os, zaps, 6);
  ASSERT_NE(ro, nullptr);
  EXPECT_LT(pool.live(), full);  // 96 blocks of 8K freed
  auto dn = ro->Dnode(kZvolObj);
  ASSERT_TRUE(dn.ok());
  auto all = ro->Read(*dn, 0, 1 << 20);
  ASSERT_TRUE(all.ok());
  all->resize(1 << 20, 0);
  EXPECT_TRUE(std::all_of(all->begin(), all->begin() + (256 << 10), [](uint8_t b) { return b == 1; }));
  EXPECT_TRUE(std::all_of(all->begin() + (256 << 10), all->end(), [](uint8_t b) { return b == 0; }));
  EXPECT_EQ(ZvolGetStats(*ro)->volsize, 1u << 20);
}

TEST(ZvolTest, ChecksInLibzfsWords) {
  EXPECT_TRUE(ZvolCheckBlockSize(512).ok());
  EXPECT_TRUE(ZvolCheckBlockSize(128 << 10).ok());
  EXPECT_EQ(ZvolCheckBlockSize(3000).code(), EDOM);
  EXPECT_EQ(ZvolCheckBlockSize(256 << 10).code(), EDOM);
  EXPECT_EQ(ZvolCheckBlockSize(256).code(), EDOM);
  EXPECT_EQ(ZvolCheckSize(0, 8192).message(), "volume size cannot be zero");
  EXPECT_EQ(ZvolCheckSize(1000000, 8192).message(), "volume size must be a multiple of volume block size");
  EXPECT_TRUE(ZvolCheckSize(8192 * 3, 8192).ok());
}

TEST(ZvolTest, ReservationIsZfsFusesFormula) {
  // 64M of 8K blocks: 8192 blocks → 64 L1 → 1 L2; 7 + 65 metadata blocks, 2 copies each.
  EXPECT_EQ(ZvolSizeToReservation(64 << 20, 8192, 1), (64ull << 20) + 144 * 16384);
  // 16M of 4K blocks (zfs-fuse lists its refreservation as 17.2M): 7 + 32 + 1, twice.
  EXPECT_EQ(ZvolSizeToReservation(16 << 20, 4096, 1), (16ull << 20) + 80 * 16384);
  // copies=2: the data twice, metadata three times.
  EXPECT_EQ(ZvolSizeToReservation(64 << 20, 8192, 2), (128ull << 20) + 216 * 16384);
}

}  // namespace
}  // namespace uzfs

namespace uzfs {
namespace {

// zvol_replay_write: a volume's TX_WRITE records (written by LogWriteNeedCopy, as a file's)
// go into the data object; other types are refused.
TEST(ZvolTest, ReplayAppliesWritesToTheDataObjectAndRefusesOtherRecords) {
  FakePool pool;
  auto os = ObjsetWriter::Create(&pool, kOstZvol, ObjsetPolicy{});
  ZapStore zaps(os.get());
  ASSERT_TRUE(ZvolCreate(*os, zaps, 1 << 20, 4096).ok());
  LogRecord rec;
  rec.txtype = kTxWrite;
  LrWrite w;
  w.foid = kZvolObj, w.offset = 8192, w.length = 5;
  w.data = Bytes{'h', 'e', 'l', 'l', 'o', 0, 0, 0};
  rec.body = w;
  ASSERT_TRUE(ZvolReplay(*os, zaps, rec).ok());
  auto dn = os->Dnode(kZvolObj);
  ASSERT_TRUE(dn.ok());
  auto back = os->Read(kZvolObj, 8190, 9);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ((Bytes{0, 0, 'h', 'e', 'l', 'l', 'o', 0, 0}), *back);
  // Past the end (the volume shrank after the record): dropped.
  w.offset = 2 << 20;
  rec.body = w;
  EXPECT_TRUE(ZvolReplay(*os, zaps, rec).ok());
  // A record without its bytes; a type a volume's log never holds.
  w.offset = 0, w.length = 100;
  rec.body = w;
  EXPECT_EQ(ECORRUPT, ZvolReplay(*os, zaps, rec).code());
  rec.txtype = kTxTruncate;
  rec.body = LrTruncate{kZvolObj, 0, 10};
  EXPECT_EQ(ENOTSUP, ZvolReplay(*os, zaps, rec).code());
}

}  // namespace
}  // namespace uzfs
