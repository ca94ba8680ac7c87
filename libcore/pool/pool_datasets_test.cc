// Filesystems created and destroyed by Pool: names and errors, the DSL accounting against a
// block-by-block count of what the pool holds, and what the read side sees after export.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "libcore/dsl/dsl.h"
#include "libcore/pool/pool.h"
#include "libcore/pool/pool_test_util.h"
#include "libcore/spa/spa.h"

namespace uzfs {
namespace {

class PoolDatasetsTest : public FilePoolTest {
 protected:
  void SetUp() override {
    MakePool("dsp", 128 << 20);
  }

  // Σ dsize of every block of the objset of a dataset, read back from disk.
  uint64_t CountedBytes(Spa& spa, DslPool& dp, const std::string& name) {
    auto info = dp.Resolve(name);
    EXPECT_TRUE(info.ok());
    auto os = dp.OpenObjset(*info);
    EXPECT_TRUE(os.ok());
    uint64_t total = 0;
    EXPECT_TRUE((*os)->Traverse(0, [&](const BlockVisit& v) {
      total += v.bp->total_asize();
      return Status::Ok();
    }).ok());
    (void)spa;
    return total;
  }

};

TEST_F(PoolDatasetsTest, CreateListDestroyAndErrors) {
  ASSERT_TRUE(pool_->CreateFilesystem("dsp/a", {}).ok());
  ASSERT_TRUE(pool_->CreateFilesystem("dsp/a/b", {{"compression", "on"}}).ok());
  ASSERT_TRUE(pool_->CreateFilesystem("dsp/c", {}).ok());
  ASSERT_TRUE(pool_->Sync().ok());
  EXPECT_EQ(ENOENT, pool_->CreateFilesystem("dsp/x/y", {}).code());
  EXPECT_EQ(EEXIST, pool_->CreateFilesystem("dsp/a", {}).code());
  EXPECT_EQ(EINVAL, pool_->CreateFilesystem("dsp/bad%name", {}).code());
  EXPECT_EQ(EBUSY, pool_->DestroyFilesystem("dsp/a").code());
  EXPECT_EQ(ENOENT, pool_->DestroyFilesystem("dsp/nope").code());
  EXPECT_EQ(EINVAL, pool_->DestroyFilesystem("dsp").code());
  ASSERT_TRUE(pool_->DestroyFilesystem("dsp/c").ok());
  ASSERT_TRUE(pool_->Sync().ok());
  auto fs = pool_->Filesystems();
  ASSERT_TRUE(fs.ok());
  std::vector<std::string> names;
  for (auto& r : *fs) names.push_back(r.name);
  EXPECT_EQ((std::vector<std::string>{"dsp", "dsp/a", "dsp/a/b"}), names);
  // A parent's used is its own referenced plus its children's used.
  uint64_t used_a = 0, refer_a = 0, used_b = 0;
  for (auto& r : *fs) {
    if (r.name == "dsp/a") used_a = r.used, refer_a = r.referenced;
    if (r.name == "dsp/a/b") used_b = r.used;
    EXPECT_EQ(4u, r.objects) << r.name;  // master node, delete queue, root, shares
  }
  EXPECT_EQ(used_a, refer_a + used_b);
  ASSERT_TRUE(pool_->Export().ok());
  pool_.reset();

  // The read side: the same names, each dataset's referenced bytes equal to its blocks.
  auto spa = Spa::OpenDevices({dev_}, "dsp");
  ASSERT_TRUE(spa.ok()) << spa.status().ToString();
  auto dp = DslPool::Open(spa->get(), (*spa)->uberblock().rootbp, "dsp");
  ASSERT_TRUE(dp.ok());
  auto all = (*dp)->ListAll();
  ASSERT_TRUE(all.ok());
  std::vector<std::string> seen;
  for (auto& d : *all) {
    seen.push_back(d.name);
    EXPECT_EQ(d.ds.used_bytes, CountedBytes(**spa, **dp, d.name)) << d.name;
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ((std::vector<std::string>{"dsp", "dsp/a", "dsp/a/b"}), seen);
}

TEST_F(PoolDatasetsTest, DestroyFreesEverySpaceMapByte) {
  ASSERT_TRUE(pool_->Sync().ok());
  uint64_t before = pool_->allocated();
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < 5; i++)
      ASSERT_TRUE(pool_->CreateFilesystem("dsp/f" + std::to_string(i), {}).ok());
    ASSERT_TRUE(pool_->Sync().ok());
    EXPECT_GT(pool_->allocated(), before);
    for (int i = 0; i < 5; i++) ASSERT_TRUE(pool_->DestroyFilesystem("dsp/f" + std::to_string(i)).ok());
    ASSERT_TRUE(pool_->Sync().ok());
  }
  // The MOS may have grown a little (space map entries, object slots), the datasets are gone.
  EXPECT_LT(pool_->allocated(), before + (256u << 10));
  auto fs = pool_->Filesystems();
  ASSERT_TRUE(fs.ok());
  EXPECT_EQ(1u, fs->size());
  ASSERT_TRUE(pool_->Export().ok());
  // Re-import: the space maps replay without contradiction (Load checks it).
  PoolImportSpec spec;
  spec.devices = {dev_};
  spec.pool = "dsp";
  auto p = Pool::Import(spec);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_TRUE((*p)->Export().ok());
}

}  // namespace
}  // namespace uzfs
