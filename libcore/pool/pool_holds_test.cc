// User holds (pool_holds.cc): hold, release, their all-or-none -r, the deferred destroy a
// last release completes, and what an export and import keep.
#include <gtest/gtest.h>

#include <map>

#include "libcore/dsl/dsl.h"
#include "libcore/pool/pool.h"
#include "libcore/pool/pool_test_util.h"
#include "libcore/spa/spa.h"

namespace uzfs {
namespace {

class PoolHoldsTest : public FilePoolTest {
 protected:
  void SetUp() override {
    MakePool("hp", 128 << 20);
    if (HasFatalFailure()) return;
    ASSERT_TRUE(pool_->CreateFilesystem("hp/a", {}).ok());
    ASSERT_TRUE(pool_->CreateFilesystem("hp/a/b", {}).ok());
    ASSERT_TRUE(pool_->Snapshot({"hp/a@s", "hp/a/b@s"}).ok());
  }
  uint64_t Refs(const std::string& fs, const std::string& snap) {
    auto rows = pool_->Snapshots(fs);
    EXPECT_TRUE(rows.ok());
    for (const auto& r : *rows)
      if (r.name == fs + "@" + snap) return r.userrefs;
    ADD_FAILURE() << fs << "@" << snap << " missing";
    return ~0ULL;
  }
  void Reimport() {
    ASSERT_TRUE(pool_->Export().ok());
    PoolImportSpec spec;
    spec.devices = {dev_};
    spec.pool = "hp";
    auto p = Pool::Import(spec);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    pool_ = std::move(p).value();
  }
};

TEST_F(PoolHoldsTest, HoldReleaseAndTheirErrors) {
  std::string failed;
  ASSERT_TRUE(pool_->UserHold("hp/a", "s", "keep", false, &failed).ok());
  EXPECT_EQ(EEXIST, pool_->UserHold("hp/a", "s", "keep", false, &failed).code());
  EXPECT_EQ("hp/a", failed);
  EXPECT_EQ(ENOENT, pool_->UserHold("hp/a", "nope", "keep", false, &failed).code());
  EXPECT_EQ(ENOENT, pool_->UserHold("hp/nope", "s", "keep", false, &failed).code());
  EXPECT_EQ(E2BIG, pool_->UserHold("hp/a", "s", std::string(256, 't'), false, &failed).code());
  // -r: all or none; the child's clash is named and the parent is not held.
  ASSERT_TRUE(pool_->UserHold("hp/a/b", "s", "clash", false, &failed).ok());
  EXPECT_EQ(EEXIST, pool_->UserHold("hp", "s", "clash", true, &failed).code());  // hp@s: none
  EXPECT_EQ(EEXIST, pool_->UserHold("hp/a", "s", "clash", true, &failed).code());
  EXPECT_EQ("hp/a/b", failed);
  EXPECT_EQ(1u, Refs("hp/a", "s"));
  ASSERT_TRUE(pool_->UserHold("hp/a", "s", "r", true, &failed).ok());
  EXPECT_EQ(2u, Refs("hp/a", "s"));
  EXPECT_EQ(2u, Refs("hp/a/b", "s"));
  EXPECT_EQ(EBUSY, pool_->DestroySnapshot("hp/a@s").code());
  EXPECT_EQ(ESRCH, pool_->UserRelease("hp/a", "s", "clash", true, &failed).code());
  EXPECT_EQ("hp/a", failed);
  EXPECT_EQ(2u, Refs("hp/a/b", "s"));  // nothing released
  auto holds = pool_->UserHolds("hp/a@s");
  ASSERT_TRUE(holds.ok());
  ASSERT_EQ(2u, holds->size());
  EXPECT_EQ("keep", (*holds)[0].tag);
  EXPECT_EQ("r", (*holds)[1].tag);
  EXPECT_GT((*holds)[0].time, 1700000000u);
  Reimport();
  EXPECT_EQ(2u, Refs("hp/a", "s"));
  ASSERT_TRUE(pool_->UserRelease("hp/a", "s", "r", true, &failed).ok());
  EXPECT_EQ(1u, Refs("hp/a", "s"));
  EXPECT_EQ(1u, Refs("hp/a/b", "s"));
}

// zfs hold -t / zfs send's holds: listed in tmp_userrefs, released by the next import (a
// deferred destroy completing with it); an ordinary hold stays; a release takes the entry out.
TEST_F(PoolHoldsTest, TemporaryHoldsGoAtTheNextImport) {
  std::string failed;
  EXPECT_EQ(E2BIG, pool_->UserHold("hp/a", "s", std::string(240, 't'), false, &failed, true).code());
  ASSERT_TRUE(pool_->UserHold("hp/a", "s", ".send-1-0", true, &failed, true).ok());
  ASSERT_TRUE(pool_->UserHold("hp/a", "s", "keep", false, &failed).ok());
  // A released temporary hold leaves the list: the import does not release it again.
  ASSERT_TRUE(pool_->UserHold("hp/a", "s", ".twice", false, &failed, true).ok());
  ASSERT_TRUE(pool_->UserRelease("hp/a", "s", ".twice", false, &failed).ok());
  ASSERT_TRUE(pool_->UserHold("hp/a", "s", ".twice", false, &failed).ok());  // now an ordinary one
  ASSERT_TRUE(pool_->DestroySnapshots({"hp/a/b@s"}, /*defer=*/true).ok());
  EXPECT_EQ(3u, Refs("hp/a", "s"));
  EXPECT_EQ(1u, Refs("hp/a/b", "s"));
  Reimport();
  auto holds = pool_->UserHolds("hp/a@s");
  ASSERT_TRUE(holds.ok());
  ASSERT_EQ(2u, holds->size());
  EXPECT_EQ(".twice", (*holds)[0].tag);
  EXPECT_EQ("keep", (*holds)[1].tag);
  auto snaps = pool_->Snapshots("hp/a/b");
  ASSERT_TRUE(snaps.ok());
  EXPECT_TRUE(snaps->empty());  // its last hold was temporary: destroy -d completed
  // Nothing is left to release: a second import changes nothing.
  Reimport();
  EXPECT_EQ(2u, Refs("hp/a", "s"));
}

TEST_F(PoolHoldsTest, TheLastReleaseDestroysADeferredSnapshot) {
  std::string failed;
  ASSERT_TRUE(pool_->UserHold("hp/a", "s", "one", false, &failed).ok());
  ASSERT_TRUE(pool_->UserHold("hp/a", "s", "two", false, &failed).ok());
  ASSERT_TRUE(pool_->DestroySnapshots({"hp/a@s", "hp/a/b@s"}, /*defer=*/true).ok());
  EXPECT_EQ(1u, pool_->Snapshots("hp/a")->size());   // marked
  EXPECT_EQ(0u, pool_->Snapshots("hp/a/b")->size());  // unheld: at once
  ASSERT_TRUE(pool_->Sync().ok());
  Reimport();  // the mark is on disk
  auto props = pool_->DatasetProps("hp/a@s");
  ASSERT_TRUE(props.ok());
  std::map<std::string, std::string> v;
  for (const auto& p : *props) v[p.name] = p.value;
  EXPECT_EQ("on", v["defer_destroy"]);
  EXPECT_EQ("2", v["userrefs"]);
  ASSERT_TRUE(pool_->UserRelease("hp/a", "s", "one", false, &failed).ok());
  EXPECT_EQ(1u, pool_->Snapshots("hp/a")->size());
  ASSERT_TRUE(pool_->UserRelease("hp/a", "s", "two", false, &failed).ok());
  EXPECT_EQ(0u, pool_->Snapshots("hp/a")->size());
  Reimport();
  EXPECT_EQ(0u, pool_->Snapshots("hp/a")->size());
}

}  // namespace
}  // namespace uzfs
