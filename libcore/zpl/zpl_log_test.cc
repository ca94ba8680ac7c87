// ZplWriter's intent log records (zfs_vnops.c's zfs_log_* calls): which op gives which
// record with which fields, the 64K split of long writes, what is not logged (failed ops,
// unlinked files, a rename's removal of its target, atime) and what is reported unlogged
// (extended attributes).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "libcore/zil/zil_write.h"
#include "libcore/zpl/zpl_test_util.h"

namespace uzfs {
namespace {

constexpr ZTime kNow{1700000100, 500};

LogRecord Decoded(const Itx& itx) {
  auto lr = DecodeLogRecord(itx.lr, true);
  EXPECT_TRUE(lr.ok()) << lr.status().ToString();
  return lr.ok() ? *lr : LogRecord{};
}

class ZplLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    z().set_log(&sink_);
    z().set_txg(9);
  }
  ZplWriter& z() { return *fs_.zpl; }
  uint64_t root() { return fs_.zpl->root(); }
  // The records given since the last call.
  std::vector<Itx> Take() { return std::exchange(sink_.itxs, {}); }

  MemFs fs_;
  CaptureSink sink_;
};

TEST_F(ZplLogTest, CreatesGiveTheirObjectAndAttributes) {
  auto f = z().Create(root(), "file", S_IFREG | 0644, 1000, 100, 9, kNow);
  ASSERT_TRUE(f.ok());
  auto d = z().Create(root(), "dir", S_IFDIR | 0755, 0, 0, 9, kNow);
  ASSERT_TRUE(d.ok());
  auto n = z().Create(*d, "chr", S_IFCHR | 0600, 0, 0, 9, kNow, 0x0501);
  ASSERT_TRUE(n.ok());
  auto s = z().Symlink(*d, "ln", "../file", 7, 8, 9, kNow);
  ASSERT_TRUE(s.ok());
  std::vector<Itx> itxs = Take();
  ASSERT_EQ(itxs.size(), 4u);

  LogRecord c = Decoded(itxs[0]);
  EXPECT_EQ(itxs[0].txg, 9u);
  EXPECT_EQ(itxs[0].foid, *f);
  EXPECT_FALSE(itxs[0].need_copy);
  EXPECT_EQ(c.type(), kTxCreate);
  EXPECT_EQ(c.txg, 9u);
  EXPECT_EQ(c.seq, 0u);
  const auto& cf = std::get<LrCreate>(c.body);
  EXPECT_EQ(cf.doid, root());
  EXPECT_EQ(cf.foid, *f);
  EXPECT_EQ(cf.mode, uint64_t{S_IFREG | 0644});
  EXPECT_EQ(cf.uid, 1000u);
  EXPECT_EQ(cf.gid, 100u);
  EXPECT_EQ(cf.gen, 9u);
  EXPECT_EQ(cf.crtime[0], kNow.sec);
  EXPECT_EQ(cf.crtime[1], kNow.nsec);
  EXPECT_EQ(cf.name, "file");

  LogRecord m = Decoded(itxs[1]);
  EXPECT_EQ(m.type(), kTxMkdir);
  EXPECT_EQ(std::get<LrCreate>(m.body).mode, uint64_t{S_IFDIR | 0755});
  EXPECT_EQ(std::get<LrCreate>(m.body).foid, *d);

  LogRecord k = Decoded(itxs[2]);
  EXPECT_EQ(k.type(), kTxCreate);  // mknod is zfs_create's TX_CREATE with the rdev
  EXPECT_EQ(std::get<LrCreate>(k.body).doid, *d);
  EXPECT_EQ(std::get<LrCreate>(k.body).mode, uint64_t{S_IFCHR | 0600});
  EXPECT_EQ(std::get<LrCreate>(k.body).rdev, 0x0501u);

  LogRecord l = Decoded(itxs[3]);
  EXPECT_EQ(l.type(), kTxSymlink);
  EXPECT_EQ(itxs[3].foid, *s);
  EXPECT_EQ(std::get<LrCreate>(l.body).mode, uint64_t{S_IFLNK | 0777});
  EXPECT_EQ(std::get<LrCreate>(l.body).uid, 7u);
  EXPECT_EQ(std::get<LrCreate>(l.body).name, "ln");
  EXPECT_EQ(std::get<LrCreate>(l.body).link, "../file");

  // A failed op logs nothing.
  EXPECT_EQ(z().Create(root(), "file", S_IFREG | 0644, 0, 0, 9, kNow).status().code(), EEXIST);
  EXPECT_EQ(z().Rmdir(root(), "file", kNow).code(), ENOTDIR);
  EXPECT_TRUE(Take().empty());
}

TEST_F(ZplLogTest, NamespaceChanges) {
  uint64_t f = *z().Create(root(), "f", S_IFREG | 0644, 0, 0, 9, kNow);
  uint64_t d = *z().Create(root(), "d", S_IFDIR | 0755, 0, 0, 9, kNow);
  uint64_t g = *z().Create(d, "g", S_IFREG | 0644, 0, 0, 9, kNow);
  Take();
  z().set_txg(10);
  ASSERT_TRUE(z().Link(d, "hard", f, kNow).ok());
  // Onto an existing target: one TX_RENAME, the target's removal is part of it.
  ASSERT_TRUE(z().Rename(d, "hard", d, "g", kNow).ok());
  // A rename between two links of one file changes nothing and logs nothing.
  ASSERT_TRUE(z().Rename(d, "g", root(), "f", kNow).ok());
  ASSERT_TRUE(z().Unlink(d, "g", kNow).ok());
  ASSERT_TRUE(z().Rmdir(root(), "d", kNow).ok());
  std::vector<Itx> itxs = Take();
  ASSERT_EQ(itxs.size(), 4u);
  for (const Itx& i : itxs) EXPECT_EQ(i.txg, 10u);
  LogRecord ln = Decoded(itxs[0]);
  EXPECT_EQ(ln.type(), kTxLink);
  EXPECT_EQ(std::get<LrLink>(ln.body).doid, d);
  EXPECT_EQ(std::get<LrLink>(ln.body).link_obj, f);
  EXPECT_EQ(std::get<LrLink>(ln.body).name, "hard");
  LogRecord mv = Decoded(itxs[1]);
  EXPECT_EQ(mv.type(), kTxRename);
  EXPECT_EQ(std::get<LrRename>(mv.body).sdoid, d);
  EXPECT_EQ(std::get<LrRename>(mv.body).tdoid, d);
  EXPECT_EQ(std::get<LrRename>(mv.body).src, "hard");
  EXPECT_EQ(std::get<LrRename>(mv.body).tgt, "g");
  EXPECT_FALSE(z().GetAttr(g).ok());  // the replaced target is gone
  LogRecord rm = Decoded(itxs[2]);
  EXPECT_EQ(rm.type(), kTxRemove);
  EXPECT_EQ(std::get<LrRemove>(rm.body).doid, d);
  EXPECT_EQ(std::get<LrRemove>(rm.body).name, "g");
  LogRecord rd = Decoded(itxs[3]);
  EXPECT_EQ(rd.type(), kTxRmdir);
  EXPECT_EQ(std::get<LrRemove>(rd.body).doid, root());
  EXPECT_EQ(std::get<LrRemove>(rd.body).name, "d");
}

TEST_F(ZplLogTest, WritesAreNeedCopyAndCutAtTheFilesBlocks) {
  uint64_t f = *z().Create(root(), "f", S_IFREG | 0644, 0, 0, 9, kNow);
  Take();
  ASSERT_TRUE(z().Write(f, 100, Bytes(10, 'x'), kNow).ok());
  ASSERT_TRUE(z().Write(f, 0, Bytes(300 * 1024, 'y'), kNow).ok());
  ASSERT_TRUE(z().Write(f, 0, Bytes{}, kNow).ok());  // nothing written, nothing logged
  std::vector<Itx> itxs = Take();
  // 10 bytes (the file's one block); then 300K in chunks of the 128K blocks (zfs_write's),
  // each a WR_INDIRECT candidate the commit decides on.
  const std::vector<std::pair<uint64_t, uint64_t>> want = {
      {100, 10}, {0, 131072}, {131072, 131072}, {262144, 45056}};
  ASSERT_EQ(itxs.size(), want.size());
  for (size_t i = 0; i < want.size(); i++) {
    SCOPED_TRACE(i);
    EXPECT_TRUE(itxs[i].need_copy);
    EXPECT_TRUE(itxs[i].one_block);
    EXPECT_EQ(itxs[i].foid, f);
    EXPECT_EQ(itxs[i].txg, 9u);
    EXPECT_EQ(itxs[i].off, want[i].first);
    EXPECT_EQ(itxs[i].len, want[i].second);
    EXPECT_EQ(itxs[i].lr.size(), kLrWriteSize);
    LogRecord w = Decoded(itxs[i]);
    EXPECT_EQ(w.type(), kTxWrite);
    EXPECT_EQ(std::get<LrWrite>(w.body).foid, f);
    EXPECT_EQ(std::get<LrWrite>(w.body).offset, want[i].first);
    EXPECT_EQ(std::get<LrWrite>(w.body).length, want[i].second);
  }
}

TEST_F(ZplLogTest, SetattrMaskAndFreeSpace) {
  uint64_t f = *z().Create(root(), "f", S_IFREG | 0644, 0, 0, 9, kNow);
  ASSERT_TRUE(z().Write(f, 0, Bytes(5000, 'a'), kNow).ok());
  Take();
  SetAttr a;
  a.mode = 0600;
  a.size = 100;
  a.mtime = ZTime{5, 6};
  ASSERT_TRUE(z().Setattr(f, a, kNow).ok());
  SetAttr o;
  o.uid = 42;
  o.gid = 43;
  o.atime = ZTime{7, 8};
  ASSERT_TRUE(z().Setattr(f, o, kNow).ok());
  ASSERT_TRUE(z().Setattr(f, SetAttr{}, kNow).ok());  // mask 0: zfs_setattr logs nothing
  ASSERT_TRUE(z().FreeSpace(f, 10, 0, kNow).ok());
  std::vector<Itx> itxs = Take();
  ASSERT_EQ(itxs.size(), 3u);
  const auto& s1 = std::get<LrSetattr>(Decoded(itxs[0]).body);
  EXPECT_EQ(itxs[0].foid, f);
  EXPECT_EQ(s1.foid, f);
  EXPECT_EQ(s1.mask, kAtMode | kAtSize | kAtMtime);
  EXPECT_EQ(s1.mode, uint64_t{S_IFREG | 0600});
  EXPECT_EQ(s1.size, 100u);
  EXPECT_EQ(s1.mtime[0], 5u);
  EXPECT_EQ(s1.mtime[1], 6u);
  EXPECT_EQ(s1.uid, 0u);
  const auto& s2 = std::get<LrSetattr>(Decoded(itxs[1]).body);
  EXPECT_EQ(s2.mask, kAtUid | kAtGid | kAtAtime);
  EXPECT_EQ(s2.uid, 42u);
  EXPECT_EQ(s2.gid, 43u);
  EXPECT_EQ(s2.atime[0], 7u);
  EXPECT_EQ(s2.mode, 0u);
  LogRecord t = Decoded(itxs[2]);
  EXPECT_EQ(t.type(), kTxTruncate);
  EXPECT_EQ(std::get<LrTruncate>(t.body).foid, f);
  EXPECT_EQ(std::get<LrTruncate>(t.body).offset, 10u);
  EXPECT_EQ(std::get<LrTruncate>(t.body).length, 0u);
  EXPECT_EQ(z().GetAttr(f)->size, 10u);
}

TEST_F(ZplLogTest, UnlinkedFilesXattrsAndAtime) {
  uint64_t f = *z().Create(root(), "open", S_IFREG | 0644, 0, 0, 9, kNow);
  Take();
  ASSERT_TRUE(z().Unlink(root(), "open", kNow, /*keep_open=*/true).ok());
  ASSERT_EQ(Take().size(), 1u);  // TX_REMOVE, also for a file kept open
  // zp->z_unlinked: changes to it are not logged.
  ASSERT_TRUE(z().Write(f, 0, Bytes(10, 'a'), kNow).ok());
  SetAttr a;
  a.size = 3;
  ASSERT_TRUE(z().Setattr(f, a, kNow).ok());
  ASSERT_TRUE(z().FreeSpace(f, 0, 0, kNow).ok());
  ASSERT_TRUE(z().Reap(f).ok());
  EXPECT_TRUE(Take().empty());

  uint64_t g = *z().Create(root(), "g", S_IFREG | 0644, 0, 0, 9, kNow);
  Take();
  ASSERT_TRUE(z().Accessed(g, kNow).ok());
  // Xattrs: no record (not even for the xattr directory and value file made inside), but
  // their txg is reported unlogged.
  ASSERT_TRUE(z().SetXattr(g, "user.a", Bytes(5, 'v'), 0, 11, kNow).ok());
  z().set_txg(12);
  ASSERT_TRUE(z().RemoveXattr(g, "user.a", kNow).ok());
  EXPECT_EQ(z().RemoveXattr(g, "user.a", kNow).code(), ENODATA);
  EXPECT_TRUE(Take().empty());
  EXPECT_EQ(sink_.unlogged, (std::vector<uint64_t>{11, 12}));
  // The sink is back after the xattr ops: later changes are logged again.
  ASSERT_TRUE(z().Write(g, 0, Bytes(1, 'b'), kNow).ok());
  EXPECT_EQ(Take().size(), 1u);
  // No sink: nothing anywhere.
  z().set_log(nullptr);
  ASSERT_TRUE(z().Write(g, 0, Bytes(1, 'b'), kNow).ok());
  EXPECT_TRUE(Take().empty());
}

}  // namespace
}  // namespace uzfs
