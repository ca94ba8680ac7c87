// ZplWriter against the read side: what is written through a Pool's filesystem reads back,
// after export, through the read-only Spa/DslPool/Zpl stack (the code zdb uses, itself
// checked against zfs-fuse); POSIX errors for the usual mistakes.
#include "libcore/zpl/zpl_write.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "libcore/dsl/dsl.h"
#include "libcore/pool/pool.h"
#include "libcore/pool/pool_test_util.h"
#include "libcore/spa/spa.h"

namespace uzfs {
namespace {

class ZplWriteTest : public FilePoolTest {
 protected:
  void SetUp() override {
    MakePool("zt", 256 << 20);
    if (HasFatalFailure()) return;
    ASSERT_TRUE(pool_->CreateFilesystem("zt/fs", {{"compression", "on"}}).ok());
  }
  Status Do(const std::function<Status(ZplWriter&, uint64_t)>& fn) { return pool_->WithZpl("zt/fs", fn); }

  ZTime now_{1795400000, 123};
};

TEST_F(ZplWriteTest, PosixErrors) {
  ASSERT_TRUE(Do([&](ZplWriter& z, uint64_t txg) -> Status {
    UZFS_ASSIGN(uint64_t d, z.Create(z.root(), "d", S_IFDIR | 0755, 0, 0, txg, now_));
    UZFS_ASSIGN(uint64_t f, z.Create(d, "f", S_IFREG | 0644, 0, 0, txg, now_));
    EXPECT_EQ(EEXIST, z.Create(d, "f", S_IFREG | 0644, 0, 0, txg, now_).status().code());
    EXPECT_EQ(ENOENT, z.Lookup(d, "nope").status().code());
    EXPECT_EQ(ENOTDIR, z.Create(f, "x", S_IFREG | 0644, 0, 0, txg, now_).status().code());
    EXPECT_EQ(ENOTEMPTY, z.Rmdir(z.root(), "d", now_).code());
    EXPECT_EQ(EISDIR, z.Unlink(z.root(), "d", now_).code());
    EXPECT_EQ(ENOTDIR, z.Rmdir(d, "f", now_).code());
    EXPECT_EQ(ENAMETOOLONG, z.Create(d, std::string(256, 'n'), S_IFREG | 0644, 0, 0, txg, now_).status().code());
    EXPECT_TRUE(z.Create(d, std::string(255, 'n'), S_IFREG | 0644, 0, 0, txg, now_).ok());
    EXPECT_EQ(EINVAL, z.Rename(z.root(), "d", d, "inside", now_).code());
    EXPECT_EQ(EPERM, z.Link(z.root(), "dlink", d, now_).code());
    EXPECT_EQ(EISDIR, z.Write(d, 0, Bytes(10, 1), now_).code());
    return Status::Ok();
  }).ok());
}

// zfs_extend: truncating a file of one small block to a larger size grows its block to the
// recordsize first, so later writes into the sparse file make recordsize blocks (not 512-byte
// ones), as zfs-fuse lays them out.
TEST_F(ZplWriteTest, TruncateUpGrowsTheBlockToTheRecordsize) {
  ASSERT_TRUE(pool_->CreateFilesystem("zt/nc", {{"compression", "off"}}).ok());
  uint64_t f = 0;
  ASSERT_TRUE(pool_->WithZpl("zt/nc", [&](ZplWriter& z, uint64_t txg) -> Status {
    UZFS_ASSIGN(f, z.Create(z.root(), "sparse", S_IFREG | 0644, 0, 0, txg, now_));
    SetAttr a;
    a.size = 1ull << 30;
    UZFS_TRY(z.Setattr(f, a, now_));
    return z.Write(f, 512ull << 20, Bytes(1, 0x77), now_);
  }).ok());
  ASSERT_TRUE(pool_->Sync().ok());
  ASSERT_TRUE(pool_->WithZpl("zt/nc", [&](ZplWriter& z, uint64_t) -> Status {
    UZFS_ASSIGN(uint64_t used, z.UsedBytes(f));
    // One 128 KiB data block plus its indirect blocks.
    EXPECT_GE(used, 131072u);
    EXPECT_LT(used, 131072u + 65536u);
    UZFS_ASSIGN(Bytes b, z.Read(f, (512ull << 20) - 1, 3));
    EXPECT_EQ(Bytes({0, 0x77, 0}), b);
    return Status::Ok();
  }).ok());
}

TEST_F(ZplWriteTest, WrittenTreeReadsBackAfterExport) {
  std::mt19937_64 rng(7);
  Bytes big(700 * 1024 + 17);
  for (auto& b : big) b = static_cast<uint8_t>(rng());
  Bytes small(1000, 'a');
  ASSERT_TRUE(Do([&](ZplWriter& z, uint64_t txg) -> Status {
    UZFS_ASSIGN(uint64_t d, z.Create(z.root(), "dir", S_IFDIR | 0750, 1000, 100, txg, now_));
    UZFS_ASSIGN(uint64_t b, z.Create(d, "big", S_IFREG | 0644, 1000, 100, txg, now_));
    for (size_t off = 0; off < big.size(); off += 65536)
      UZFS_TRY(z.Write(b, off, ByteSpan(big).subspan(off, std::min<size_t>(65536, big.size() - off)), now_));
    UZFS_ASSIGN(uint64_t s, z.Create(z.root(), "small", S_IFREG | 0600, 0, 0, txg, now_));
    UZFS_TRY(z.Write(s, 0, small, now_));
    UZFS_ASSIGN(const ZnodePhys zs, z.GetAttr(s));
    EXPECT_EQ(1000u, zs.size);
    UZFS_ASSIGN(uint64_t h, z.Create(z.root(), "holey", S_IFREG | 0644, 0, 0, txg, now_));
    UZFS_TRY(z.Write(h, 50 << 20, small, now_));
    UZFS_TRY(z.Symlink(z.root(), "s1", "small", 0, 0, txg, now_).status());
    UZFS_TRY(z.Symlink(z.root(), "s2", std::string(200, 'p'), 0, 0, txg, now_).status());
    UZFS_TRY(z.Link(d, "again", s, now_));
    UZFS_ASSIGN(uint64_t g, z.Create(z.root(), "gone", S_IFREG | 0644, 0, 0, txg, now_));
    UZFS_TRY(z.Write(g, 0, big, now_));
    UZFS_TRY(z.Unlink(z.root(), "gone", now_));
    UZFS_TRY(z.Rename(z.root(), "small", d, "renamed", now_));
    for (int i = 0; i < 2500; i++)
      UZFS_TRY(z.Create(d, "e" + std::to_string(i), S_IFREG | 0644, 0, 0, txg, now_).status());
    SetAttr a;
    a.size = 300;
    a.mode = 0640;
    return z.Setattr(s, a, now_);
  }).ok());
  ASSERT_TRUE(pool_->Sync().ok());
  // Deleting the 2,500 entries again exercises ZAP shrinking and object frees.
  ASSERT_TRUE(Do([&](ZplWriter& z, uint64_t) -> Status {
    UZFS_ASSIGN(uint64_t d, z.Lookup(z.root(), "dir"));
    for (int i = 0; i < 2500; i += 2) UZFS_TRY(z.Unlink(d, "e" + std::to_string(i), now_));
    return Status::Ok();
  }).ok());
  ASSERT_TRUE(pool_->Export().ok());
  pool_.reset();

  auto spa = Spa::OpenDevices({dev_}, "zt");
  ASSERT_TRUE(spa.ok());
  auto dp = DslPool::Open(spa->get(), (*spa)->uberblock().rootbp, "zt");
  ASSERT_TRUE(dp.ok());
  auto info = (*dp)->Resolve("zt/fs");
  ASSERT_TRUE(info.ok());
  auto os = (*dp)->OpenObjset(*info);
  ASSERT_TRUE(os.ok());
  auto zpl = Zpl::Open(**os);
  ASSERT_TRUE(zpl.ok());
  Zpl& r = **zpl;
  auto read_all = [&](const std::string& path) {
    auto obj = r.Lookup(path);
    EXPECT_TRUE(obj.ok()) << path;
    auto st = r.Stat(*obj);
    auto data = r.ReadFile(*obj, 0, st->size);
    EXPECT_TRUE(data.ok());
    return *data;
  };
  EXPECT_EQ(big, read_all("/dir/big"));
  Bytes want(300, 'a');
  EXPECT_EQ(want, read_all("/dir/renamed"));
  EXPECT_EQ(want, read_all("/dir/again"));
  auto renamed = r.Stat(*r.Lookup("/dir/renamed"));
  EXPECT_EQ(static_cast<uint64_t>(S_IFREG | 0640), renamed->mode);
  EXPECT_EQ(2u, renamed->links);
  auto dirst = r.Stat(*r.Lookup("/dir"));
  EXPECT_EQ(1000u, dirst->uid);
  EXPECT_EQ(2u + 1 + 1 + 1 + 1250, dirst->size);  // big, renamed, again, 1250 e*
  EXPECT_EQ(ENOENT, r.Lookup("/gone").status().code());
  EXPECT_EQ(ENOENT, r.Lookup("/small").status().code());
  EXPECT_EQ("small", *r.ReadLink(*r.Lookup("/s1")));
  EXPECT_EQ(std::string(200, 'p'), *r.ReadLink(*r.Lookup("/s2")));
  // The sparse file: only its last block is stored.
  auto h = r.Lookup("/holey");
  auto hs = r.Stat(*h);
  EXPECT_EQ((50u << 20) + 1000, hs->size);
  uint64_t stored = 0;
  ASSERT_TRUE(r.ForEachExtent(*h, [&](uint64_t, ByteSpan d) {
    stored += d.size();
    return Status::Ok();
  }).ok());
  EXPECT_LE(stored, 128u * 1024);
  auto ents = r.ReadDir(*r.Lookup("/dir"));
  ASSERT_TRUE(ents.ok());
  EXPECT_EQ(1253u, ents->size());
}

}  // namespace
}  // namespace uzfs
