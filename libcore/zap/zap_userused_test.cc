// User/group space accounting of an ObjsetWriter with the zap layer's hook: what a sync counts,
// a chown, a truncate and a free moving the figures, objects -1/-2 in objset_phys read back by
// the read side, and the upgrade of an objset written without the accounting.
#include "libcore/zap/zap_userused.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>

#include "libcore/base/compress.h"
#include "libcore/dmu/dmu_test_util.h"
#include "libcore/zap/zap.h"
#include "libcore/zap/zap_write.h"

namespace uzfs {
namespace {

using test::FakePool;  // libcore/dmu/dmu_test_util.h

constexpr uint16_t kBonus = 264;  // znode_phys_t

// A znode bonus with uid and gid at 128 / 136.
Bytes Znode(uint64_t uid, uint64_t gid) {
  Bytes b(kBonus, 0);
  StoreLE64(b.data() + 128, uid);
  StoreLE64(b.data() + 136, gid);
  return b;
}

class UserUsedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pol_.userused = &ZapApplyUserUsed;
    os_ = ObjsetWriter::Create(&pool_, kOstZfs, pol_);
  }
  // A file of uid:gid with len bytes in one block.
  uint64_t File(uint64_t uid, uint64_t gid, size_t len) {
    auto obj = os_->Allocate(kOtPlainFileContents, 4096, kOtZnode, kBonus);
    EXPECT_TRUE(obj.ok());
    EXPECT_TRUE(os_->SetBonus(*obj, Znode(uid, gid)).ok());
    if (len) {
      EXPECT_TRUE(os_->Write(*obj, 0, Bytes(len, 0x5a)).ok());
    }
    return *obj;
  }
  void Sync() {
    auto r = os_->Sync(pool_, txg_++);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    root_ = *r;
  }
  // The entries of special object obj as the read side parses them from the synced root.
  std::map<std::string, uint64_t> Read(uint64_t obj) {
    std::map<std::string, uint64_t> out;
    auto os = ObjSet::Open(&pool_, root_);
    EXPECT_TRUE(os.ok());
    const DnodePhys* dn = obj == kUserUsedObject ? (*os)->userused() : (*os)->groupused();
    if (!dn) return out;
    EXPECT_EQ(dn->type, kOtUserGroupUsed);
    auto z = Zap::Open(**os, *dn, obj);
    EXPECT_TRUE(z.ok()) << z.status().ToString();
    for (const ZapEntry& e : z->entries()) out[e.name] = e.first();
    return out;
  }
  uint64_t Charge(uint64_t obj) {
    auto dn = os_->Dnode(obj);
    EXPECT_TRUE(dn.ok());
    EXPECT_TRUE((*dn)->flags & kDnodeFlagUserUsedAccounted);
    return kDnodeSize + (*dn)->used;
  }

  FakePool pool_;
  ObjsetPolicy pol_;
  std::unique_ptr<ObjsetWriter> os_;
  BlkPtr root_;
  uint64_t txg_ = 10;
};

TEST_F(UserUsedTest, SyncCountsEachZnodeUnderItsOwnerAndGroup) {
  uint64_t a = File(1001, 2001, 4096), b = File(1002, 2001, 0), c = File(1001, 2002, 100);
  // An object without a znode counts for nobody.
  ASSERT_TRUE(os_->Allocate(kOtZapOther, 512, 0, 0).ok());
  Sync();
  EXPECT_TRUE(os_->os_flags() & kObjsetFlagUserAccountingComplete);
  uint64_t ca = Charge(a), cb = Charge(b), cc = Charge(c);
  EXPECT_EQ(ca, 512u + 4096u);
  EXPECT_EQ(cb, 512u);
  using M = std::map<std::string, uint64_t>;
  EXPECT_EQ(Read(kUserUsedObject), (M{{"3e9", ca + cc}, {"3ea", cb}}));
  EXPECT_EQ(Read(kGroupUsedObject), (M{{"7d1", ca + cb}, {"7d2", cc}}));
  // chown, growth, free: old images subtracted, new ones added; an id reaching 0 goes.
  ASSERT_TRUE(os_->SetBonus(a, Znode(1003, 2001)).ok());
  ASSERT_TRUE(os_->Write(b, 0, Bytes(4096, 1)).ok());
  ASSERT_TRUE(os_->FreeObject(c).ok());
  Sync();
  uint64_t cb2 = Charge(b);
  EXPECT_GT(cb2, cb);
  EXPECT_EQ(Read(kUserUsedObject), (M{{"3ea", cb2}, {"3eb", ca}}));
  EXPECT_EQ(Read(kGroupUsedObject), (M{{"7d1", ca + cb2}}));
  // The objset is re-opened from its root: the special objects come from objset_phys.
  auto o = ObjsetWriter::Open(&pool_, root_, pol_);
  ASSERT_TRUE(o.ok());
  os_ = std::move(o).value();
  EXPECT_EQ(os_->object_count(), 3u);  // a, b and the ZAP: -1 / -2 are not counted
  ASSERT_TRUE(os_->Truncate(b, 0).ok());
  Sync();
  EXPECT_EQ(Read(kUserUsedObject), (M{{"3ea", 512}, {"3eb", ca}}));
}

TEST_F(UserUsedTest, AnObjsetWrittenWithoutItIsCountedOnItsFirstSync) {
  os_ = ObjsetWriter::Create(&pool_, kOstZfs, ObjsetPolicy{});
  uint64_t a = File(1001, 2001, 8192), b = File(1002, 2002, 10);
  Sync();
  EXPECT_FALSE(os_->os_flags() & kObjsetFlagUserAccountingComplete);
  EXPECT_TRUE(Read(kUserUsedObject).empty());
  auto o = ObjsetWriter::Open(&pool_, root_, pol_);
  ASSERT_TRUE(o.ok());
  os_ = std::move(o).value();
  // A sync with nothing to write upgrades nothing.
  Sync();
  EXPECT_FALSE(os_->os_flags() & kObjsetFlagUserAccountingComplete);
  uint64_t c = File(1001, 2001, 0);
  Sync();
  EXPECT_TRUE(os_->os_flags() & kObjsetFlagUserAccountingComplete);
  using M = std::map<std::string, uint64_t>;
  EXPECT_EQ(Read(kUserUsedObject), (M{{"3e9", Charge(a) + Charge(c)}, {"3ea", Charge(b)}}));
  // Later syncs count changes only.
  ASSERT_TRUE(os_->SetBonus(b, Znode(1001, 2002)).ok());
  Sync();
  EXPECT_EQ(Read(kUserUsedObject), (M{{"3e9", Charge(a) + Charge(b) + Charge(c)}}));
  // A MOS-type (non-ZPL) objset keeps no accounting even with the hook.
  auto mos = ObjsetWriter::Create(&pool_, kOstMeta, pol_);
  ASSERT_TRUE(mos->Allocate(kOtZapOther, 512, kOtZnode, kBonus).ok());
  auto r = mos->Sync(pool_, txg_++);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(mos->os_flags() & kObjsetFlagUserAccountingComplete);
}

}  // namespace
}  // namespace uzfs
