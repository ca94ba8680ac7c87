// Snapshots, dead lists, clones, rollback and rename by Pool, judged after export through the
// read side: every snapshot reads back as it was, and every DSL number (ds used / compressed
// / uncompressed / unique, dead lists, dsl_dir used and its breakdown) equals what a
// block-by-block walk of the datasets says it must be. Set UZFS_SNAPSHOT_TEST_KEEP=DIR to
// keep each test's exported vdev files as DIR/<test>.<n>/d0 for zfs-fuse's zdb -bcc.
// The helpers and the fixture are in pool_snapshots_test_util.h; random histories, raidz and
// pools made by zfs-fuse in pool_snapshots_history_test.cc.
#include "libcore/pool/pool_snapshots_test_util.h"

namespace uzfs::snapshot_test {
namespace {

TEST_F(PoolSnapshotsTest, SnapshotsKeepTheirContents) {
  ASSERT_TRUE(Put("snp/fs", "a", a1_).ok());
  ASSERT_TRUE(Put("snp/fs", "b", b_).ok());
  ASSERT_TRUE(pool_->Sync().ok());
  ASSERT_TRUE(pool_->Snapshot({"snp/fs@one"}).ok());
  // Overwrite the start of a (its first blocks die into the dead list), delete b, add c.
  ASSERT_TRUE(Put("snp/fs", "a", a2_).ok());
  ASSERT_TRUE(Remove("snp/fs", "b").ok());
  ASSERT_TRUE(Put("snp/fs", "c", c_).ok());
  // Unsynced changes go into the snapshot (the objset is synced first in the same txg).
  ASSERT_TRUE(pool_->Snapshot({"snp/fs@two", "snp@root"}).ok());
  ASSERT_TRUE(Remove("snp/fs", "c").ok());
  ASSERT_TRUE(Put("snp/fs", "a", b_).ok());
  ASSERT_TRUE(pool_->Sync().ok());
  EXPECT_EQ((std::vector<std::string>{"snp/fs@one", "snp/fs@two"}), SnapNames("snp/fs"));
  EXPECT_EQ((std::vector<std::string>{"snp@root"}), SnapNames("snp"));
  Reimport();
  ASSERT_TRUE(Put("snp/fs", "d", c_).ok());  // a dead list appended to after an import
  auto rows = pool_->Snapshots("snp/fs");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(2u, rows->size());
  EXPECT_LT((*rows)[0].creation_txg, (*rows)[1].creation_txg);
  EXPECT_GT((*rows)[0].used, 128u * 1024);  // the old first block of a, and b
  auto r = ExportAndRead();
  Bytes a12 = a1_;
  std::copy(a2_.begin(), a2_.end(), a12.begin());
  Bytes a123 = a12;
  std::copy(b_.begin(), b_.end(), a123.begin());
  EXPECT_EQ(a1_, r->ReadFile("snp/fs@one", "/a"));
  EXPECT_EQ(b_, r->ReadFile("snp/fs@one", "/b"));
  EXPECT_EQ(a12, r->ReadFile("snp/fs@two", "/a"));
  EXPECT_EQ(c_, r->ReadFile("snp/fs@two", "/c"));
  EXPECT_EQ(Bytes({'E', 'N', 'O', 'E', 'N', 'T'}), r->ReadFile("snp/fs@two", "/b"));
  EXPECT_EQ(a123, r->ReadFile("snp/fs", "/a"));
  EXPECT_EQ(c_, r->ReadFile("snp/fs", "/d"));
  r->CheckAccounting();
}

TEST_F(PoolSnapshotsTest, SnapshotErrors) {
  ASSERT_TRUE(pool_->Snapshot({"snp/fs@s"}).ok());
  EXPECT_EQ(EEXIST, pool_->Snapshot({"snp/fs@s"}).code());
  EXPECT_EQ(EEXIST, pool_->Snapshot({"snp/fs@t", "snp/fs@t"}).code());
  EXPECT_EQ(ENOENT, pool_->Snapshot({"snp/nope@s"}).code());
  EXPECT_EQ(ENOENT, pool_->Snapshot({"other/fs@s"}).code());
  EXPECT_EQ(EINVAL, pool_->Snapshot({"snp/fs"}).code());
  EXPECT_EQ(EINVAL, pool_->Snapshot({"snp/fs@"}).code());
  EXPECT_EQ(EINVAL, pool_->Snapshot({"snp/fs@a@b"}).code());
  EXPECT_EQ(EINVAL, pool_->Snapshot({"snp/fs@b%d"}).code());
  // The internal dirs are no datasets.
  EXPECT_EQ(EINVAL, pool_->Snapshot({"snp/$ORIGIN@s"}).code());
  EXPECT_EQ(EINVAL, pool_->Rename("snp/$ORIGIN", "snp/o").code());
  EXPECT_EQ(EINVAL, pool_->Rename("snp/$MOS", "snp/m").code());
  EXPECT_EQ(EINVAL, pool_->Rollback("snp/$ORIGIN").code());
  EXPECT_EQ(EINVAL, pool_->DestroySnapshot("snp/$ORIGIN@$ORIGIN").code());
  EXPECT_EQ(EINVAL, pool_->Clone("snp/$ORIGIN@$ORIGIN", "snp/o", {}).code());
  EXPECT_EQ(EINVAL, pool_->Promote("snp/$MOS").code());
  EXPECT_EQ(ENAMETOOLONG, pool_->Snapshot({"snp/fs@" + std::string(250, 'x')}).code());
  // Nothing of a failed list was taken.
  EXPECT_EQ(ENOENT, pool_->Snapshot({"snp/fs@u", "snp/nope@u"}).code());
  EXPECT_EQ((std::vector<std::string>{"snp/fs@s"}), SnapNames("snp/fs"));
  // The same filesystem twice: successive txgs.
  ASSERT_TRUE(pool_->Snapshot({"snp/fs@x", "snp/fs@y"}).ok());
  EXPECT_EQ((std::vector<std::string>{"snp/fs@s", "snp/fs@x", "snp/fs@y"}), SnapNames("snp/fs"));
  EXPECT_EQ(EBUSY, pool_->DestroyFilesystem("snp/fs").code());
  EXPECT_EQ(ENOENT, pool_->DestroySnapshot("snp/fs@nope").code());
  EXPECT_EQ(EINVAL, pool_->Rollback("snp/fs@s").code());
  EXPECT_EQ(EINVAL, pool_->Rollback("snp").code());  // no snapshot of snp
  auto r = ExportAndRead();
  r->CheckAccounting();
}

TEST_F(PoolSnapshotsTest, DestroySnapshotsInAnyOrder) {
  ASSERT_TRUE(pool_->Sync().ok());
  uint64_t base = pool_->allocated();
  // Five generations of a file, a snapshot after each.
  for (int g = 0; g < 5; g++) {
    ASSERT_TRUE(Put("snp/fs", "f", Pattern(256 * 1024, 10 + g)).ok());
    ASSERT_TRUE(Put("snp/fs", "g" + std::to_string(g), Pattern(20000, 20 + g)).ok());
    if (g == 2) {
      ASSERT_TRUE(Remove("snp/fs", "g0").ok());
    }
    ASSERT_TRUE(pool_->Snapshot({"snp/fs@s" + std::to_string(g)}).ok());
  }
  ASSERT_TRUE(Put("snp/fs", "f", Pattern(256 * 1024, 99)).ok());
  ASSERT_TRUE(pool_->Sync().ok());
  // Middle, oldest, newest, then the rest.
  ASSERT_TRUE(pool_->DestroySnapshot("snp/fs@s2").ok());
  ASSERT_TRUE(pool_->Sync().ok());
  ASSERT_TRUE(pool_->DestroySnapshots({"snp/fs@s0"}).ok());
  ASSERT_TRUE(Put("snp/fs", "g1", Pattern(1000, 5)).ok());  // same txg as the destroy
  ASSERT_TRUE(pool_->DestroySnapshot("snp/fs@s4").ok());
  ASSERT_TRUE(pool_->Sync().ok());
  EXPECT_EQ((std::vector<std::string>{"snp/fs@s1", "snp/fs@s3"}), SnapNames("snp/fs"));
  {
    auto r = ExportAndRead();
    EXPECT_EQ(Pattern(256 * 1024, 11), r->ReadFile("snp/fs@s1", "/f"));
    EXPECT_EQ(Pattern(20000, 20), r->ReadFile("snp/fs@s1", "/g0"));
    EXPECT_EQ(Pattern(256 * 1024, 13), r->ReadFile("snp/fs@s3", "/f"));
    EXPECT_EQ(Pattern(256 * 1024, 99), r->ReadFile("snp/fs", "/f"));
    r->CheckAccounting();
  }
  PoolImportSpec spec;
  spec.devices = {dev_};
  spec.pool = "snp";
  auto p = Pool::Import(spec);
  ASSERT_TRUE(p.ok());
  pool_ = std::move(p).value();
  ASSERT_TRUE(pool_->DestroySnapshots({"snp/fs@s3", "snp/fs@s1", "snp/fs@s3"}).ok());
  ASSERT_TRUE(pool_->Sync().ok());
  // With its snapshots gone the filesystem destroys and frees everything.
  ASSERT_TRUE(pool_->DestroyFilesystem("snp/fs").ok());
  ASSERT_TRUE(pool_->Sync().ok());
  ASSERT_TRUE(pool_->Sync().ok());
  EXPECT_LT(pool_->allocated(), base + (256u << 10));
  auto r = ExportAndRead();
  r->CheckAccounting();
}

TEST_F(PoolSnapshotsTest, ClonesDependOnTheirOrigin) {
  ASSERT_TRUE(Put("snp/fs", "a", a1_).ok());
  ASSERT_TRUE(pool_->Snapshot({"snp/fs@base"}).ok());
  EXPECT_EQ(ENOENT, pool_->Clone("snp/fs@nope", "snp/c", {}).code());
  EXPECT_EQ(EINVAL, pool_->Clone("snp/fs", "snp/c", {}).code());
  EXPECT_EQ(EEXIST, pool_->Clone("snp/fs@base", "snp/fs", {}).code());
  EXPECT_EQ(ENOENT, pool_->Clone("snp/fs@base", "snp/x/c", {}).code());
  ASSERT_TRUE(pool_->Clone("snp/fs@base", "snp/c", {}).ok());
  EXPECT_EQ("snp/fs@base", *pool_->Origin("snp/c"));
  EXPECT_EQ("", *pool_->Origin("snp/fs"));
  // Both sides change a: each keeps its own version, the origin keeps the old one.
  ASSERT_TRUE(Put("snp/c", "a", a2_).ok());
  ASSERT_TRUE(Put("snp/c", "new", c_).ok());
  ASSERT_TRUE(Put("snp/fs", "a", b_).ok());
  ASSERT_TRUE(pool_->Sync().ok());
  ASSERT_TRUE(pool_->Snapshot({"snp/c@cs"}).ok());
  ASSERT_TRUE(Put("snp/c", "a", c_).ok());
  ASSERT_TRUE(pool_->Sync().ok());
  EXPECT_EQ(EBUSY, pool_->DestroySnapshot("snp/fs@base").code());
  // All or none: the clone's origin stops the whole list, c@cs stays.
  EXPECT_EQ(EBUSY, pool_->DestroySnapshots({"snp/c@cs", "snp/fs@base"}).code());
  EXPECT_EQ(ENOENT, pool_->DestroySnapshots({"snp/c@cs", "snp/fs@nope"}).code());
  EXPECT_EQ((std::vector<std::string>{"snp/c@cs"}), SnapNames("snp/c"));
  auto rows = pool_->Snapshots("snp/fs");
  ASSERT_EQ(1u, rows->size());
  EXPECT_EQ((std::vector<std::string>{"snp/c"}), (*rows)[0].clones);
  {
    Bytes a_c = a1_, a_fs = a1_;
    std::copy(a2_.begin(), a2_.end(), a_c.begin());
    Bytes a_c2 = a_c;
    std::copy(c_.begin(), c_.end(), a_c2.begin());
    std::copy(b_.begin(), b_.end(), a_fs.begin());
    auto r = ExportAndRead();
    EXPECT_EQ(a1_, r->ReadFile("snp/fs@base", "/a"));
    EXPECT_EQ(a_fs, r->ReadFile("snp/fs", "/a"));
    EXPECT_EQ(a_c, r->ReadFile("snp/c@cs", "/a"));
    EXPECT_EQ(a_c2, r->ReadFile("snp/c", "/a"));
    EXPECT_EQ(c_, r->ReadFile("snp/c", "/new"));
    r->CheckAccounting();
  }
  PoolImportSpec spec;
  spec.devices = {dev_};
  spec.pool = "snp";
  auto p = Pool::Import(spec);
  ASSERT_TRUE(p.ok());
  pool_ = std::move(p).value();
  // zfs destroy -d marks the origin; it goes with its last clone (after the clone's own
  // snapshot, the clone itself).
  ASSERT_TRUE(pool_->DestroySnapshots({"snp/fs@base"}, /*defer=*/true).ok());
  EXPECT_EQ(1u, pool_->Snapshots("snp/fs")->size());
  ExportAndRead()->CheckAccounting();  // the mark is on disk (zfs-fuse honours it too)
  p = Pool::Import(spec);
  ASSERT_TRUE(p.ok());
  pool_ = std::move(p).value();
  ASSERT_TRUE(pool_->DestroySnapshot("snp/c@cs").ok());
  ASSERT_TRUE(pool_->Sync().ok());
  ASSERT_TRUE(pool_->DestroyFilesystem("snp/c").ok());
  EXPECT_EQ(0u, pool_->Snapshots("snp/fs")->size());
  ASSERT_TRUE(pool_->Sync().ok());
  ASSERT_TRUE(pool_->Snapshot({"snp/fs@plain"}).ok());
  ASSERT_TRUE(pool_->DestroySnapshots({"snp/fs@plain"}, /*defer=*/true).ok());  // no clone: at once
  EXPECT_EQ(0u, pool_->Snapshots("snp/fs")->size());
  auto r = ExportAndRead();
  r->CheckAccounting();
}

TEST_F(PoolSnapshotsTest, RollbackDropsEverythingSinceTheSnapshot) {
  ASSERT_TRUE(Put("snp/fs", "a", a1_).ok());
  ASSERT_TRUE(Put("snp/fs", "b", b_).ok());
  ASSERT_TRUE(pool_->Snapshot({"snp/fs@one"}).ok());
  ASSERT_TRUE(Put("snp/fs", "a", a2_).ok());
  ASSERT_TRUE(Remove("snp/fs", "b").ok());
  ASSERT_TRUE(pool_->Sync().ok());
  ASSERT_TRUE(Put("snp/fs", "c", c_).ok());  // unsynced: dropped too
  ASSERT_TRUE(pool_->Rollback("snp/fs").ok());
  ASSERT_TRUE(pool_->Sync().ok());
  // Writable again afterwards, from the snapshot's state.
  ASSERT_TRUE(Put("snp/fs", "d", b_).ok());
  ASSERT_TRUE(pool_->Sync().ok());
  auto r = ExportAndRead();
  EXPECT_EQ(a1_, r->ReadFile("snp/fs", "/a"));
  EXPECT_EQ(b_, r->ReadFile("snp/fs", "/b"));
  EXPECT_EQ(b_, r->ReadFile("snp/fs", "/d"));
  EXPECT_EQ(Bytes({'E', 'N', 'O', 'E', 'N', 'T'}), r->ReadFile("snp/fs", "/c"));
  r->CheckAccounting();
}

TEST_F(PoolSnapshotsTest, RenameFilesystemsAndSnapshots) {
  ASSERT_TRUE(pool_->CreateFilesystem("snp/p", {}).ok());
  ASSERT_TRUE(pool_->CreateFilesystem("snp/fs/kid", {}).ok());
  ASSERT_TRUE(Put("snp/fs/kid", "a", a1_).ok());
  ASSERT_TRUE(pool_->Snapshot({"snp/fs/kid@s"}).ok());
  EXPECT_EQ(EEXIST, pool_->Rename("snp/fs/kid", "snp/p").code());
  EXPECT_EQ(ENOENT, pool_->Rename("snp/nope", "snp/x").code());
  EXPECT_EQ(ENOENT, pool_->Rename("snp/fs", "snp/nope/x").code());
  EXPECT_EQ(EINVAL, pool_->Rename("snp/fs", "snp/fs/kid/x").code());
  EXPECT_EQ(EINVAL, pool_->Rename("snp", "snp/x").code());
  EXPECT_EQ(EXDEV, pool_->Rename("snp/fs", "other/fs").code());
  EXPECT_EQ(EINVAL, pool_->Rename("snp/fs/kid@s", "snp/fs@s").code());
  EXPECT_EQ(EINVAL, pool_->Rename("snp/fs/kid@s", "snp/fs/kid").code());
  ASSERT_TRUE(pool_->Rename("snp/fs/kid@s", "snp/fs/kid@t").ok());
  EXPECT_EQ(EEXIST, pool_->Snapshot({"snp/fs/kid@t"}).code());
  ASSERT_TRUE(pool_->Rename("snp/fs/kid", "snp/p/moved").ok());
  ASSERT_TRUE(pool_->Rename("snp/fs", "snp/fs2").ok());
  ASSERT_TRUE(Put("snp/p/moved", "b", b_).ok());
  ASSERT_TRUE(pool_->Sync().ok());
  auto fs = pool_->Filesystems();
  std::vector<std::string> names;
  for (auto& row : *fs) names.push_back(row.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ((std::vector<std::string>{"snp", "snp/fs2", "snp/p", "snp/p/moved"}), names);
  EXPECT_EQ((std::vector<std::string>{"snp/p/moved@t"}), SnapNames("snp/p/moved"));
  auto r = ExportAndRead();
  EXPECT_EQ(a1_, r->ReadFile("snp/p/moved@t", "/a"));
  EXPECT_EQ(b_, r->ReadFile("snp/p/moved", "/b"));
  r->CheckAccounting();
}

TEST_F(PoolSnapshotsTest, PromoteSwapsCloneAndOrigin) {
  ASSERT_TRUE(Put("snp/fs", "a", a1_).ok());
  ASSERT_TRUE(pool_->Snapshot({"snp/fs@s1"}).ok());
  ASSERT_TRUE(Put("snp/fs", "b", b_).ok());
  ASSERT_TRUE(Put("snp/fs", "a", a2_).ok());
  ASSERT_TRUE(pool_->Snapshot({"snp/fs@s2"}).ok());
  ASSERT_TRUE(Put("snp/fs", "c", c_).ok());
  ASSERT_TRUE(Remove("snp/fs", "b").ok());
  ASSERT_TRUE(pool_->Snapshot({"snp/fs@s3"}).ok());
  ASSERT_TRUE(Put("snp/fs", "a", c_).ok());
  ASSERT_TRUE(pool_->Clone("snp/fs@s2", "snp/c", {}).ok());
  ASSERT_TRUE(Put("snp/c", "x", b_).ok());
  ASSERT_TRUE(Put("snp/c", "a", b_).ok());
  ASSERT_TRUE(pool_->Snapshot({"snp/c@cs", "snp/c@s1"}).ok());
  ASSERT_TRUE(Remove("snp/c", "x").ok());
  ASSERT_TRUE(pool_->Sync().ok());
  EXPECT_EQ(EINVAL, pool_->Promote("snp/fs").code());
  EXPECT_EQ(EINVAL, pool_->Promote("snp/c@cs").code());
  Status clash = pool_->Promote("snp/c");  // c@s1 collides with fs@s1
  EXPECT_EQ(EEXIST, clash.code());
  EXPECT_NE(std::string::npos, clash.ToString().find("conflicting snapshot 's1' from parent 'snp/fs'"))
      << clash.ToString();
  ASSERT_TRUE(pool_->Rename("snp/c@s1", "snp/c@mine").ok());
  ASSERT_TRUE(pool_->Promote("snp/c").ok());
  ASSERT_TRUE(pool_->Sync().ok());
  EXPECT_EQ((std::vector<std::string>{"snp/c@s1", "snp/c@s2", "snp/c@cs", "snp/c@mine"}), SnapNames("snp/c"));
  EXPECT_EQ((std::vector<std::string>{"snp/fs@s3"}), SnapNames("snp/fs"));
  EXPECT_EQ("snp/c@s2", *pool_->Origin("snp/fs"));
  EXPECT_EQ("", *pool_->Origin("snp/c"));
  EXPECT_EQ(EBUSY, pool_->DestroySnapshot("snp/c@s2").code());
  Reimport();
  {
    auto r = ExportAndRead();
    EXPECT_EQ(a1_, r->ReadFile("snp/c@s1", "/a"));
    EXPECT_EQ(b_, r->ReadFile("snp/c@s2", "/b"));
    EXPECT_EQ(c_, r->ReadFile("snp/fs@s3", "/c"));
    EXPECT_EQ(Bytes({'E', 'N', 'O', 'E', 'N', 'T'}), r->ReadFile("snp/c", "/x"));
    r->CheckAccounting();
  }
  PoolImportSpec spec;
  spec.devices = {dev_};
  spec.pool = "snp";
  auto p = Pool::Import(spec);
  ASSERT_TRUE(p.ok());
  pool_ = std::move(p).value();
  // And back again; then the former clone goes away entirely.
  ASSERT_TRUE(pool_->Promote("snp/fs").ok());
  EXPECT_EQ((std::vector<std::string>{"snp/fs@s1", "snp/fs@s2", "snp/fs@s3"}), SnapNames("snp/fs"));
  EXPECT_EQ("snp/fs@s2", *pool_->Origin("snp/c"));
  ASSERT_TRUE(pool_->DestroySnapshot("snp/c@cs").ok());
  ASSERT_TRUE(pool_->DestroySnapshot("snp/c@mine").ok());
  ASSERT_TRUE(pool_->DestroyFilesystem("snp/c").ok());
  ASSERT_TRUE(pool_->DestroySnapshot("snp/fs@s2").ok());
  ASSERT_TRUE(pool_->Sync().ok());
  auto r = ExportAndRead();
  EXPECT_EQ(a1_, r->ReadFile("snp/fs@s1", "/a"));
  r->CheckAccounting();
}

}  // namespace
}  // namespace uzfs::snapshot_test
