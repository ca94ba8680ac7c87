// Snapshot, block death into the dead list and snapshot destruction on an in-memory MOS, the
// numbers worked out by hand from dsl_dataset.c (the pool tests check the same rules on real
// pools against a block walk, and against zfs-fuse's own pools).
#include "libcore/dsl/dsl_dataset_write.h"

#include <gtest/gtest.h>

#include <set>

namespace uzfs {
namespace {

BlkPtr Data(uint64_t offset, uint64_t size, uint64_t birth) {
  BlkPtr bp;
  bp.dva[0].Set(0, offset, size);
  bp.set_lsize(size);
  bp.set_psize(size);
  bp.set_type(kOtPlainFileContents);
  bp.set_checksum(7);
  bp.set_compress(2);
  bp.set_little_endian(true);
  bp.birth = birth;
  bp.fill = 1;
  return bp;
}

class RecordingOps : public DslBlockOps {
 public:
  uint64_t Dsize(const BlkPtr& bp) override { return bp.dva[0].asize(); }
  void Free(const BlkPtr& bp) override { freed.insert(bp.dva[0].offset()); }
  std::set<uint64_t> freed;
};

class DslDatasetWriteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ObjsetPolicy pol;
    pol.mos = true;
    mos_ = ObjsetWriter::Create(nullptr, kOstMeta, pol);
    zaps_ = std::make_unique<ZapStore>(mos_.get());
    root_ = *CreateDir(*mos_, *zaps_, 0, "", 1);
    dir_ = *CreateDir(*mos_, *zaps_, root_, "fs", 1);
    head_ = *CreateDataset(*mos_, *zaps_, dir_, 0, 5, 1);
  }
  DslDatasetPhys Ds(uint64_t obj) { return *LoadDataset(*mos_, obj); }
  DslDirPhys Dir(uint64_t obj) { return *LoadDir(*mos_, obj); }

  std::unique_ptr<ObjsetWriter> mos_;
  std::unique_ptr<ZapStore> zaps_;
  uint64_t root_ = 0, dir_ = 0, head_ = 0;
  BlkPtr b1_ = Data(0x10000, 4096, 10), b2_ = Data(0x20000, 8192, 10), b3_ = Data(0x30000, 1024, 12);
};

TEST_F(DslDatasetWriteTest, KillIntoDeadListThenDestroyTheSnapshot) {
  {
    DatasetBlockAccounting a(0);
    a.Born(b1_, 4096);
    a.Born(b2_, 8192);
    ASSERT_TRUE(a.Apply(*mos_, *zaps_, head_, b2_).ok());
  }
  EXPECT_EQ(12288u, Ds(head_).used_bytes);
  EXPECT_EQ(12288u, Ds(head_).unique_bytes);
  EXPECT_EQ(12288u, Dir(dir_).used_breakdown[kDdUsedHead]);
  EXPECT_EQ(12288u, Dir(root_).used_breakdown[kDdUsedChild]);

  auto snap = SnapshotSync(*mos_, *zaps_, head_, "s1", 11, 1);
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(EAGAIN, SnapshotSync(*mos_, *zaps_, head_, "s2", 11, 1).status().code());
  DslDatasetPhys s = Ds(*snap);
  EXPECT_EQ(12288u, s.used_bytes);
  EXPECT_EQ(0u, s.unique_bytes);
  EXPECT_EQ(head_, s.next_snap_obj);
  EXPECT_EQ(11u, s.creation_txg);
  EXPECT_EQ(*snap, Ds(head_).prev_snap_obj);
  EXPECT_EQ(11u, Ds(head_).prev_snap_txg);
  EXPECT_EQ(0u, Ds(head_).unique_bytes);
  EXPECT_NE(s.deadlist_obj, Ds(head_).deadlist_obj);  // the snapshot keeps the old list
  EXPECT_EQ(*snap, *zaps_->LookupInt(Ds(head_).snapnames_zapobj, "s1"));

  // b1 dies (the snapshot keeps it), b3 is born, then dies again (freed: the head's alone).
  RecordingOps ops;
  {
    DatasetBlockAccounting a(11);
    EXPECT_FALSE(a.Kill(b1_, 4096));
    a.Born(b3_, 1024);
    ASSERT_TRUE(a.Apply(*mos_, *zaps_, head_, b3_).ok());
  }
  EXPECT_EQ(12288u - 4096 + 1024, Ds(head_).used_bytes);
  EXPECT_EQ(1024u, Ds(head_).unique_bytes);
  EXPECT_EQ(4096u, Ds(*snap).unique_bytes);
  auto dl = LoadBplist(*mos_, Ds(head_).deadlist_obj);
  EXPECT_EQ(1u, dl->entries);
  EXPECT_EQ(4096u, dl->bytes);
  DslDirPhys d = Dir(dir_);
  EXPECT_EQ(12288u - 4096 + 1024, d.used_breakdown[kDdUsedHead]);
  EXPECT_EQ(4096u, d.used_breakdown[kDdUsedSnap]);
  EXPECT_EQ(12288u + 1024, d.used_bytes);
  {
    DatasetBlockAccounting a(11);
    EXPECT_TRUE(a.Kill(b3_, 1024));
    ASSERT_TRUE(a.Apply(*mos_, *zaps_, head_, b2_).ok());
  }
  EXPECT_EQ(0u, Ds(head_).unique_bytes);
  EXPECT_EQ(12288u, Dir(dir_).used_bytes);

  // Destroying the snapshot frees what only it held (b1) and leaves the head whole.
  ASSERT_TRUE(DestroySnapshotSync(*mos_, *zaps_, ops, *snap, "s1").ok());
  EXPECT_EQ(std::set<uint64_t>{0x10000}, ops.freed);
  EXPECT_EQ(0u, Ds(head_).prev_snap_obj);
  EXPECT_EQ(0u, Ds(head_).prev_snap_txg);
  EXPECT_EQ(8192u, Ds(head_).used_bytes);
  EXPECT_EQ(8192u, Ds(head_).unique_bytes);
  EXPECT_EQ(0u, LoadBplist(*mos_, Ds(head_).deadlist_obj)->entries);
  EXPECT_EQ(8192u, Dir(dir_).used_bytes);
  EXPECT_EQ(0u, Dir(dir_).used_breakdown[kDdUsedSnap]);
  EXPECT_EQ(8192u, Dir(root_).used_bytes);
  EXPECT_EQ(ENOENT, zaps_->LookupInt(Ds(head_).snapnames_zapobj, "s1").status().code());
}

// A receive's swap (dmu_recv_existing_end): the temporary clone of the head's snapshot killed
// b1 and wrote b3; afterwards the head has the clone's objset, space and dead list, the
// snapshot holds b1 alone, and the clone is left with nothing of its own.
TEST_F(DslDatasetWriteTest, CloneSwapGivesTheHeadTheClonesObjset) {
  {
    DatasetBlockAccounting a(0);
    a.Born(b1_, 4096);
    a.Born(b2_, 8192);
    ASSERT_TRUE(a.Apply(*mos_, *zaps_, head_, b2_).ok());
  }
  uint64_t snap = *SnapshotSync(*mos_, *zaps_, head_, "s1", 11, 1);
  uint64_t cdir = *CreateDir(*mos_, *zaps_, dir_, "%s2", 1);
  uint64_t clone = *CreateDataset(*mos_, *zaps_, cdir, snap, 12, 1);
  {
    DatasetBlockAccounting a(11);
    EXPECT_FALSE(a.Kill(b1_, 4096));
    a.Born(b3_, 1024);
    ASSERT_TRUE(a.Apply(*mos_, *zaps_, clone, b3_).ok());
  }
  EXPECT_EQ(1024u, Dir(cdir).used_breakdown[kDdUsedHead]);
  EXPECT_EQ(1024u, Dir(dir_).used_breakdown[kDdUsedChild]);
  EXPECT_EQ(0u, Ds(snap).unique_bytes);  // a clone's kills do not reach its origin
  const uint64_t head_dl = Ds(head_).deadlist_obj, clone_dl = Ds(clone).deadlist_obj;
  auto dsize = [](const BlkPtr& bp) { return bp.dva[0].asize(); };
  ASSERT_TRUE(CloneSwapSync(*mos_, *zaps_, clone, head_, dsize).ok());
  DslDatasetPhys h = Ds(head_), c = Ds(clone);
  EXPECT_EQ(b3_, h.bp);
  EXPECT_EQ(12288u - 4096 + 1024, h.used_bytes);
  EXPECT_EQ(1024u, h.unique_bytes);
  EXPECT_EQ(clone_dl, h.deadlist_obj);
  EXPECT_EQ(b2_, c.bp);
  EXPECT_EQ(12288u, c.used_bytes);
  EXPECT_EQ(0u, c.unique_bytes);
  EXPECT_EQ(head_dl, c.deadlist_obj);
  EXPECT_EQ(4096u, Ds(snap).unique_bytes);
  DslDirPhys d = Dir(dir_);
  EXPECT_EQ(12288u - 4096 + 1024, d.used_breakdown[kDdUsedHead]);
  EXPECT_EQ(4096u, d.used_breakdown[kDdUsedSnap]);
  EXPECT_EQ(0u, d.used_breakdown[kDdUsedChild]);
  EXPECT_EQ(12288u + 1024, d.used_bytes);
  EXPECT_EQ(0u, Dir(cdir).used_bytes);
  EXPECT_EQ(12288u + 1024, Dir(root_).used_bytes);
  // A head with blocks of its own (or a clone of another snapshot) is refused.
  EXPECT_EQ(EINVAL, CloneSwapSync(*mos_, *zaps_, clone, head_, dsize).code());
}

TEST_F(DslDatasetWriteTest, RefreservationChargesWhatUniqueDoesNotCover) {
  ASSERT_TRUE(zaps_->AddInt(Dir(dir_).props_zapobj, "refreservation", 10000).ok());
  ASSERT_TRUE(RefreservationChanged(*mos_, head_, 0, 10000).ok());
  EXPECT_EQ(10000u, Dir(dir_).used_breakdown[kDdUsedRefrsrv]);
  EXPECT_EQ(10000u, Dir(root_).used_bytes);
  {
    DatasetBlockAccounting a(0);
    a.Born(b1_, 4096);
    ASSERT_TRUE(a.Apply(*mos_, *zaps_, head_, b1_).ok());
  }
  // Inside the refreservation: the dir's total does not move, the bucket does.
  EXPECT_EQ(10000u, Dir(dir_).used_bytes);
  EXPECT_EQ(4096u, Dir(dir_).used_breakdown[kDdUsedHead]);
  EXPECT_EQ(10000u - 4096, Dir(dir_).used_breakdown[kDdUsedRefrsrv]);
  {
    DatasetBlockAccounting a(0);
    a.Born(b2_, 8192);
    ASSERT_TRUE(a.Apply(*mos_, *zaps_, head_, b2_).ok());
  }
  EXPECT_EQ(12288u, Dir(dir_).used_bytes);  // past it: only the excess is new
  EXPECT_EQ(0u, Dir(dir_).used_breakdown[kDdUsedRefrsrv]);
  // A snapshot takes unique to 0: the refreservation is charged in full again.
  ASSERT_TRUE(SnapshotSync(*mos_, *zaps_, head_, "s", 11, 1).ok());
  EXPECT_EQ(10000u, Dir(dir_).used_breakdown[kDdUsedRefrsrv]);
  EXPECT_EQ(22288u, Dir(dir_).used_bytes);
  EXPECT_EQ(22288u, Dir(root_).used_breakdown[kDdUsedChild]);
  // A reservation on the dir: the parent sees max(used, reserved).
  ASSERT_TRUE(ReservationChanged(*mos_, dir_, 30000).ok());
  EXPECT_EQ(30000u - 22288, Dir(root_).used_breakdown[kDdUsedChildRsrv]);
  EXPECT_EQ(30000u, Dir(root_).used_bytes);
}

}  // namespace
}  // namespace uzfs
