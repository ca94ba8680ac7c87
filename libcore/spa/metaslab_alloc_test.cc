// MetaslabAlloc's classes: the normal class never allocates on a log device's group, the log
// class only there; a passive group and a hole's empty group are skipped.
#include "libcore/spa/metaslab_alloc.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace uzfs {
namespace {

struct Pool3 {
  // vdev 0: data, 1: log, 2: data (each 8 MiB, 512-byte sectors).
  std::vector<std::unique_ptr<MetaslabGroup>> groups;
  std::vector<std::unique_ptr<Vdev>> tops;
  MetaslabRotor rotor;
  Pool3() {
    for (uint64_t i = 0; i < 3; i++) {
      groups.push_back(std::make_unique<MetaslabGroup>(i, 8ULL << 20, 20, 9));
      tops.push_back(MakeMissingVdev(i));  // only PsizeToAsize is asked of it
      tops.back()->ashift = 9;
    }
    groups[1]->set_class(AllocClass::kLog);
  }
  TopVdevLookup Lookup() {
    return [this](uint64_t id) { return id < tops.size() ? tops[id].get() : nullptr; };
  }
  Result<BlkPtr> Alloc(AllocClass cls, int copies = 1, uint64_t psize = 128 << 10) {
    BlkPtr bp;
    UZFS_TRY(MetaslabAlloc(groups, rotor, Lookup(), psize, copies, &bp, cls));
    return bp;
  }
};

TEST(MetaslabAlloc, TheNormalClassNeverTouchesALogDevice) {
  Pool3 p;
  for (int i = 0; i < 64; i++) {
    auto bp = p.Alloc(AllocClass::kNormal, 2);
    ASSERT_TRUE(bp.ok()) << bp.status().ToString();
    for (int d = 0; d < 2; d++) EXPECT_NE(bp->dva[d].vdev(), 1u);
    EXPECT_NE(bp->dva[0].vdev(), bp->dva[1].vdev());  // ditto copies on the other data vdev
  }
  EXPECT_EQ(p.groups[1]->allocated(), 0u);
  EXPECT_GT(p.groups[0]->allocated(), 0u);
  EXPECT_GT(p.groups[2]->allocated(), 0u);
}

TEST(MetaslabAlloc, TheLogClassAllocatesOnLogDevicesOnly) {
  Pool3 p;
  for (int i = 0; i < 16; i++) {
    auto bp = p.Alloc(AllocClass::kLog);
    ASSERT_TRUE(bp.ok());
    EXPECT_EQ(bp->dva[0].vdev(), 1u);
  }
  // Full: the class has no other group, whatever room the data vdevs have.
  while (p.Alloc(AllocClass::kLog).ok()) {
  }
  EXPECT_EQ(p.Alloc(AllocClass::kLog).status().code(), ENOSPC);
  EXPECT_TRUE(p.Alloc(AllocClass::kNormal).ok());
}

TEST(MetaslabAlloc, TheDaxClassIsItsOwn) {
  Pool3 p;
  p.groups[2]->set_class(AllocClass::kDax);
  auto dax = p.Alloc(AllocClass::kDax, 1, 512 << 10);
  ASSERT_TRUE(dax.ok()) << dax.status().ToString();
  EXPECT_EQ(dax->dva[0].vdev(), 2u);
  for (int i = 0; i < 32; i++) {
    auto bp = p.Alloc(AllocClass::kNormal, 2);
    ASSERT_TRUE(bp.ok());
    // Ditto copies stay in the normal class even when another class has a vdev free.
    EXPECT_EQ(bp->dva[0].vdev(), 0u);
    EXPECT_EQ(bp->dva[1].vdev(), 0u);
  }
  EXPECT_EQ(p.groups[2]->allocated(), 512u << 10);
  p.groups[0]->set_active(false);
  EXPECT_EQ(p.Alloc(AllocClass::kNormal).status().code(), ENOSPC);
}

TEST(MetaslabAlloc, PassiveAndEmptyGroupsAreSkipped) {
  Pool3 p;
  p.groups[1]->set_active(false);
  EXPECT_EQ(p.Alloc(AllocClass::kLog).status().code(), ENOSPC);
  p.groups[1]->set_active(true);
  EXPECT_TRUE(p.Alloc(AllocClass::kLog).ok());
  p.groups[0]->set_active(false);
  p.groups[2] = std::make_unique<MetaslabGroup>(2, 0, 17, 9);  // a hole
  EXPECT_EQ(p.Alloc(AllocClass::kNormal).status().code(), ENOSPC);
  p.groups[0]->set_active(true);
  for (int i = 0; i < 8; i++) {
    auto bp = p.Alloc(AllocClass::kNormal, 2);
    ASSERT_TRUE(bp.ok());
    EXPECT_EQ(bp->dva[0].vdev(), 0u);
    EXPECT_EQ(bp->dva[1].vdev(), 0u);  // the only data vdev holds both copies
  }
}

}  // namespace
}  // namespace uzfs
