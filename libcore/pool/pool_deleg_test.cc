// Delegations (pool_deleg.cc over libcore/dsl/dsl_deleg): set and unset as zfs allow /
// unallow send them, what dsl_deleg_access answers up the tree (-l against -d, snapshots,
// sets within sets, groups, everyone), create-time grants, delegation=off, and what an export
// and import keep.
#include <gtest/gtest.h>

#include "libcore/pool/pool.h"
#include "libcore/pool/pool_test_util.h"

namespace uzfs {
namespace {

// {whokey: {perm...}} as the CLI builds it.
NvList Acl(const std::vector<std::pair<std::string, std::vector<std::string>>>& whos) {
  NvList acl;
  for (const auto& [who, perms] : whos) {
    NvList p;
    for (const std::string& perm : perms) p.AddBoolean(perm);
    acl.AddNvList(who, p);
  }
  return acl;
}

class PoolDelegTest : public FilePoolTest {
 protected:
  void SetUp() override {
    MakePool("dp", 128 << 20);
    if (HasFatalFailure()) return;
    ASSERT_TRUE(pool_->CreateFilesystem("dp/a", {}).ok());
    ASSERT_TRUE(pool_->CreateFilesystem("dp/a/b", {}).ok());
    ASSERT_TRUE(pool_->Snapshot({"dp/a@s"}).ok());
  }
  int Access(const std::string& ds, const std::string& perm, uint64_t uid, uint64_t gid = 9999,
             std::vector<uint64_t> groups = {}) {
    DelegCred cr{uid, gid, std::move(groups)};
    return pool_->DelegationAccess(ds, perm, cr).code();
  }
  void Reimport() {
    ASSERT_TRUE(pool_->Export().ok());
    PoolImportSpec spec;
    spec.devices = {dev_};
    spec.pool = "dp";
    auto p = Pool::Import(spec);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    pool_ = std::move(p).value();
  }
};

TEST_F(PoolDelegTest, LocalDescendantSnapshotsAndUnset) {
  EXPECT_EQ(EPERM, Access("dp/a", "snapshot", 100));
  ASSERT_TRUE(pool_->SetDelegations("dp/a", Acl({{"ul$100", {"snapshot"}}, {"ud$100", {"hold"}}}), false).ok());
  EXPECT_EQ(0, Access("dp/a", "snapshot", 100));
  EXPECT_EQ(EPERM, Access("dp/a/b", "snapshot", 100));  // local only
  EXPECT_EQ(EPERM, Access("dp/a@s", "snapshot", 100));  // a snapshot is a descendant
  EXPECT_EQ(EPERM, Access("dp/a", "hold", 100));
  EXPECT_EQ(0, Access("dp/a/b", "hold", 100));
  EXPECT_EQ(0, Access("dp/a@s", "hold", 100));
  EXPECT_EQ(EPERM, Access("dp/a", "snapshot", 101));
  // Unset one permission, then the whole who (no nvlist).
  ASSERT_TRUE(pool_->SetDelegations("dp/a", Acl({{"ul$100", {"snapshot"}}}), true).ok());
  EXPECT_EQ(EPERM, Access("dp/a", "snapshot", 100));
  NvList all;
  all.AddBoolean("ud$100");
  ASSERT_TRUE(pool_->SetDelegations("dp/a", all, true).ok());
  EXPECT_EQ(EPERM, Access("dp/a/b", "hold", 100));
  auto d = pool_->Delegations("dp/a/b");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->empty());
}

TEST_F(PoolDelegTest, SetsGroupsEveryoneAndTheirErrors) {
  ASSERT_TRUE(pool_->SetDelegations("dp", Acl({{"s-$@inner", {"rename"}}, {"S-$@outer", {"@inner"}},
                                                {"Gd$50", {"@outer"}}, {"el$", {"send"}}}),
                                    false)
                  .ok());
  EXPECT_EQ(0, Access("dp/a", "rename", 7, 50));       // primary group
  EXPECT_EQ(0, Access("dp/a", "rename", 7, 1, {50}));  // supplementary
  EXPECT_EQ(EPERM, Access("dp/a", "rename", 7, 1));
  EXPECT_EQ(EPERM, Access("dp", "rename", 7, 50));  // Gd: descendants only
  EXPECT_EQ(0, Access("dp", "send", 12345));
  EXPECT_EQ(EPERM, Access("dp/a", "send", 12345));
  EXPECT_EQ(EINVAL, pool_->SetDelegations("dp/a", Acl({{"ul$100", {"frobnicate"}}}), false).code());
  EXPECT_EQ(EINVAL, pool_->SetDelegations("dp/a", Acl({{"ux$100", {"mount"}}}), false).code());
  EXPECT_EQ(EINVAL, pool_->SetDelegations("dp/a", Acl({{"ul$100", {"used"}}}), false).code());
  EXPECT_EQ(ENOENT, pool_->SetDelegations("dp/nope", Acl({{"ul$100", {"mount"}}}), false).code());
  // Properties are permissions by their names.
  EXPECT_TRUE(pool_->SetDelegations("dp/a", Acl({{"ul$100", {"compression", "quota"}}}), false).ok());
  auto d = pool_->Delegations("dp/a/b");
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(2u, d->size());
  EXPECT_EQ("dp/a", (*d)[0].first);
  EXPECT_EQ("dp", (*d)[1].first);
  EXPECT_EQ((std::set<std::string>{"compression", "quota"}), (*d)[0].second.at("ul$100"));
  EXPECT_EQ((std::set<std::string>{"@inner"}), (*d)[1].second.at("S-$@outer"));
}

TEST_F(PoolDelegTest, CreateTimeGrantsOffAndReimport) {
  ASSERT_TRUE(pool_->SetDelegations("dp", Acl({{"c-$", {"destroy"}}, {"C-$", {"@s"}}}), false).ok());
  ASSERT_TRUE(pool_->CreateFilesystem("dp/a/new", {}, 77).ok());
  auto d = pool_->Delegations("dp/a/new");
  ASSERT_TRUE(d.ok());
  ASSERT_EQ("dp/a/new", (*d)[0].first);
  EXPECT_EQ((std::set<std::string>{"destroy"}), (*d)[0].second.at("ul$77"));
  EXPECT_EQ((std::set<std::string>{"@s"}), (*d)[0].second.at("Ul$77"));
  EXPECT_EQ(0, Access("dp/a/new", "destroy", 77));
  EXPECT_EQ(EPERM, Access("dp/a", "destroy", 77));
  ASSERT_TRUE(pool_->SetProp("delegation", "off").ok());
  EXPECT_EQ(ECANCELED, Access("dp/a/new", "destroy", 77));
  ASSERT_TRUE(pool_->SetProp("delegation", "on").ok());
  ASSERT_TRUE(pool_->Sync().ok());
  Reimport();
  EXPECT_EQ(0, Access("dp/a/new", "destroy", 77));
  // The filesystem's destroy frees its delegation objects (the pool's checks find no leak
  // in the bats suite; here: it goes without error and the grants with it).
  ASSERT_TRUE(pool_->DestroyFilesystem("dp/a/new").ok());
  ASSERT_TRUE(pool_->Sync().ok());
  EXPECT_EQ(ENOENT, Access("dp/a/new", "destroy", 77));
}

}  // namespace
}  // namespace uzfs
