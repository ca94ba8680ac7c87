// Replay against logging: a filesystem in state S0 runs a mixed sequence of ZPL ops with a
// sink attached; the records are filled as a commit would (need-copy writes read right after
// their op), numbered, packed into zilog2 log blocks, walked back by ParseZil and replayed in
// order onto a second copy of S0. Both trees must then be the same: names, object numbers,
// modes, sizes, contents, link counts, gens. Then zfs_replay.c's special cases one by one.
#include "libcore/zpl/zpl_replay.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <functional>
#include <map>
#include <sstream>

#include "libcore/base/checksum.h"
#include "libcore/zil/zil_write.h"
#include "libcore/zio/zio_read.h"
#include "libcore/zpl/zpl_test_util.h"

namespace uzfs {
namespace {

constexpr ZTime kT0{1700000000, 0};

Bytes Pattern(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; i++) b[i] = static_cast<uint8_t>(seed + i * 7 + i / 251);
  return b;
}
ByteSpan Str(const std::string& s) { return ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }

// S0, made the same way on every copy (the same ops give the same object numbers).
void MakeS0(ZplWriter& z) {
  const uint64_t r = z.root();
  z.set_txg(2);
  uint64_t a = *z.Create(r, "a", S_IFDIR | 0755, 0, 0, 2, kT0);
  uint64_t b = *z.Create(a, "b", S_IFDIR | 0700, 1000, 1000, 2, kT0);
  uint64_t f1 = *z.Create(r, "f1", S_IFREG | 0644, 1000, 100, 2, kT0);
  ASSERT_TRUE(z.Write(f1, 0, Pattern(5000, 1), kT0).ok());
  uint64_t big = *z.Create(a, "big", S_IFREG | 0600, 0, 0, 2, kT0);
  ASSERT_TRUE(z.Write(big, 0, Pattern(400 * 1024, 2), kT0).ok());
  uint64_t x = *z.Create(b, "x", S_IFREG | 0644, 0, 0, 2, kT0);
  ASSERT_TRUE(z.Write(x, 0, Str("x marks the spot"), kT0).ok());
  uint64_t two = *z.Create(r, "two", S_IFREG | 0644, 0, 0, 2, kT0);
  ASSERT_TRUE(z.Write(two, 0, Pattern(100, 3), kT0).ok());
  ASSERT_TRUE(z.Link(a, "two-again", two, kT0).ok());
  ASSERT_TRUE(z.Create(r, "victim", S_IFREG | 0644, 0, 0, 2, kT0).ok());
  ASSERT_TRUE(z.Create(r, "empty", S_IFDIR | 0755, 0, 0, 2, kT0).ok());
  ASSERT_TRUE(z.Symlink(r, "s0link", "a/b/x", 0, 0, 2, kT0).ok());
}

// Everything reachable from the root, by path.
std::string Tree(ZplWriter& z) {
  std::ostringstream out;
  std::function<void(uint64_t, const std::string&)> walk = [&](uint64_t dir, const std::string& path) {
    auto entries = z.ReadDir(dir);
    ASSERT_TRUE(entries.ok()) << entries.status().ToString();
    std::map<std::string, DirEntry> sorted;
    for (const DirEntry& e : *entries) sorted[e.name] = e;
    for (const auto& [name, e] : sorted) {
      auto zp = z.GetAttr(e.object);
      ASSERT_TRUE(zp.ok()) << path << name;
      out << path << name << " obj=" << e.object << " type=" << e.type << " mode=" << std::oct
          << zp->mode << std::dec << " size=" << zp->size << " links=" << zp->links
          << " gen=" << zp->gen << " uid=" << zp->uid << " gid=" << zp->gid
          << " rdev=" << zp->rdev << " parent=" << zp->parent << " crtime=" << zp->crtime[0]
          << "." << zp->crtime[1];
      if (S_ISREG(zp->mode)) {
        auto data = z.Read(e.object, 0, zp->size);
        ASSERT_TRUE(data.ok());
        out << " data=" << Sha256(*data).ToHex();
      } else if (S_ISLNK(zp->mode)) {
        out << " -> " << *z.ReadLink(e.object);
      }
      out << "\n";
      if (S_ISDIR(zp->mode)) walk(e.object, path + name + "/");
    }
  };
  walk(z.root(), "/");
  return out.str();
}

// Log blocks by DVA offset, verified by the real checksum code when read.
class LogBlocks : public BlockReader {
 public:
  Result<Bytes> Read(const BlkPtr& bp, ReadReport*) override {
    auto it = blocks.find(bp.dva[0].offset());
    if (it == blocks.end()) return Status::Error(EIO, "no block");
    if (!VerifyBlockChecksum(bp, it->second)) return Status::Error(ECKSUM, "checksum");
    return it->second;
  }
  std::map<uint64_t, Bytes> blocks;
};

BlkPtr LogBp(uint64_t seq) {
  BlkPtr bp;
  const uint64_t size = 128 * 1024;
  bp.dva[0].Set(0, seq * size, size);
  bp.set_lsize(size);
  bp.set_psize(size);
  bp.set_checksum(static_cast<uint8_t>(ChecksumId::kZilog2));
  bp.set_type(9);
  bp.set_little_endian(true);
  bp.birth = 10;
  bp.cksum = ZioCksum{{0xabc, 0xdef, 0x36, seq}};
  return bp;
}

class ZplReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MakeS0(*orig_.zpl);
    MakeS0(*copy_.zpl);
    ASSERT_EQ(Tree(*orig_.zpl), Tree(*copy_.zpl));
    orig_.zpl->set_log(&sink_);
  }
  // zil_lwb_commit's part: a need-copy write gets the file's bytes as they are now (a
  // block-sized chunk cut in pieces a log record holds, as the pool's commit does when it
  // does not log it by pointer).
  void Commit() {
    std::vector<Itx> out(std::make_move_iterator(sink_.itxs.begin()),
                         std::make_move_iterator(sink_.itxs.begin() + filled_));
    for (size_t i = filled_; i < sink_.itxs.size(); i++) {
      std::vector<Itx> parts;
      if (sink_.itxs[i].need_copy && sink_.itxs[i].one_block) parts = SplitNeedCopy(std::move(sink_.itxs[i]));
      else parts.push_back(std::move(sink_.itxs[i]));
      for (Itx& itx : parts) {
        if (itx.need_copy) {
          auto data = orig_.zpl->Read(itx.foid, itx.off, itx.len);
          ASSERT_TRUE(data.ok()) << data.status().ToString();
          data->resize(itx.len, 0);
          AppendWriteData(&itx.lr, *data);
          itx.need_copy = false;
        }
        out.push_back(std::move(itx));
      }
    }
    sink_.itxs = std::move(out);
    filled_ = sink_.itxs.size();
  }
  ZplWriter& o() { return *orig_.zpl; }
  // Runs op on the original at txg, then fills its records.
  void Op(uint64_t txg, const std::function<Status(ZplWriter&)>& op) {
    o().set_txg(txg);
    Status s = op(o());
    ASSERT_TRUE(s.ok()) << s.ToString();
    Commit();
  }

  MemFs orig_, copy_;
  CaptureSink sink_;
  size_t filled_ = 0;
};

TEST_F(ZplReplayTest, ReplayedLogRebuildsTheSameTree) {
  const std::string s0 = Tree(o());
  ZTime t{1700000500, 77};
  uint64_t d2 = 0, n = 0, f1 = *o().Lookup(o().root(), "f1"), a = *o().Lookup(o().root(), "a");
  uint64_t b = *o().Lookup(a, "b"), big = *o().Lookup(a, "big");
  Op(10, [&](ZplWriter& z) -> Status {
    UZFS_ASSIGN(d2, z.Create(z.root(), "d2", S_IFDIR | 0750, 5, 6, 10, t));
    return Status::Ok();
  });
  Op(10, [&](ZplWriter& z) -> Status {
    UZFS_ASSIGN(n, z.Create(d2, "new", S_IFREG | 0640, 5, 6, 10, t));
    return Status::Ok();
  });
  Op(10, [&](ZplWriter& z) { return z.Write(n, 0, Pattern(10000, 4), t); });
  Op(10, [&](ZplWriter& z) { return z.Write(n, 20000, Pattern(3000, 5), t); });  // leaves a hole
  Op(10, [&](ZplWriter& z) { return z.Write(n, 100, Str("overwritten"), t); });
  Op(10, [&](ZplWriter& z) { return z.Symlink(d2, "short", "f", 5, 6, 10, t).status(); });
  Op(10, [&](ZplWriter& z) { return z.Symlink(d2, "long", std::string(200, 'L'), 5, 6, 10, t).status(); });
  Op(10, [&](ZplWriter& z) { return z.Create(d2, "fifo", S_IFIFO | 0600, 0, 0, 10, t).status(); });
  Op(10, [&](ZplWriter& z) { return z.Create(d2, "dev", S_IFBLK | 0600, 0, 0, 10, t, 0x0803).status(); });
  Op(11, [&](ZplWriter& z) { return z.Link(d2, "f1-link", f1, t); });
  Op(11, [&](ZplWriter& z) { return z.Rename(b, "x", d2, "x-moved", t); });
  Op(11, [&](ZplWriter& z) -> Status {
    UZFS_ASSIGN(uint64_t doomed, z.Create(d2, "doomed", S_IFREG | 0644, 0, 0, 11, t));
    return z.Write(doomed, 0, Pattern(50, 9), t);
  });
  Op(11, [&](ZplWriter& z) { return z.Rename(z.root(), "victim", d2, "doomed", t); });  // replaces it
  Op(11, [&](ZplWriter& z) { return z.Rename(a, "b", d2, "b", t); });                 // a directory
  Op(11, [&](ZplWriter& z) { return z.Unlink(a, "two-again", t); });                  // 2 links -> 1
  Op(11, [&](ZplWriter& z) { return z.Rmdir(z.root(), "empty", t); });
  Op(12, [&](ZplWriter& z) {
    SetAttr s;
    s.mode = 0604;
    s.uid = 77;
    s.gid = 78;
    s.size = 1234;
    s.mtime = ZTime{5, 6};
    return z.Setattr(f1, s, t);
  });
  Op(12, [&](ZplWriter& z) {
    SetAttr s;
    s.size = 9000;  // grows: zeros after 1234
    return z.Setattr(f1, s, t);
  });
  Op(12, [&](ZplWriter& z) { return z.Write(big, 50000, Pattern(300 * 1024, 6), t); });  // split
  Op(12, [&](ZplWriter& z) { return z.FreeSpace(big, 1000, 3000, t); });        // a hole inside
  Op(12, [&](ZplWriter& z) { return z.FreeSpace(big, 300000, 1 << 30, t); });   // to EOF and on
  Op(12, [&](ZplWriter& z) { return z.FreeSpace(big, 200000, 0, t); });         // truncate
  uint64_t tmp = 0;
  Op(13, [&](ZplWriter& z) -> Status {
    UZFS_ASSIGN(tmp, z.Create(d2, "tmp", S_IFREG | 0644, 0, 0, 13, t));
    return Status::Ok();
  });
  Op(13, [&](ZplWriter& z) { return z.Write(tmp, 0, Pattern(777, 7), t); });
  Op(13, [&](ZplWriter& z) { return z.Unlink(d2, "tmp", t, /*keep_open=*/true); });
  Op(13, [&](ZplWriter& z) { return z.Write(tmp, 0, Pattern(10, 8), t); });  // not logged
  Op(13, [&](ZplWriter& z) { return z.Reap(tmp); });
  Op(13, [&](ZplWriter& z) { return z.Create(d2, "gone", S_IFDIR | 0755, 0, 0, 13, t).status(); });
  Op(13, [&](ZplWriter& z) { return z.Rmdir(d2, "gone", t); });
  const std::string after = Tree(o());
  ASSERT_NE(after, s0);

  // Number the records and pack them into 128K log blocks, as a commit writes them.
  LogBlocks disk;
  std::vector<Bytes> recs;
  uint64_t seq = 0;
  std::map<uint32_t, int> types;
  for (Itx& itx : sink_.itxs) {
    ASSERT_FALSE(itx.need_copy);
    SetLrSeq(itx.lr.data(), ++seq);
    recs.push_back(itx.lr);
  }
  uint64_t blk = 1;
  Bytes cur;
  auto flush = [&] {
    disk.blocks[LogBp(blk).dva[0].offset()] = BuildLogBlock(LogBp(blk), LogBp(blk + 1), cur);
    cur.clear();
    blk++;
  };
  for (const Bytes& r : recs) {
    if (kZilChainSize + cur.size() + r.size() > 128 * 1024) flush();
    cur.insert(cur.end(), r.begin(), r.end());
  }
  flush();
  EXPECT_GT(blk, 3u);  // the big writes took blocks of their own

  ZilHeader zh;
  zh.log = LogBp(1);
  ZTime replay_time{1800000000, 0};
  uint64_t replayed = 0;
  auto res = ParseZil(disk, zh, {}, [&](const LogRecord& lr) -> Status {
    // Decoding what ParseZil found must give what DecodeLogRecord gives the record alone.
    auto again = DecodeLogRecord(recs[lr.seq - 1], true);
    EXPECT_TRUE(again.ok());
    EXPECT_EQ(again->reclen, lr.reclen);
    types[lr.type()]++;
    replayed++;
    return ReplayRecord(*copy_.zpl, lr, 20, replay_time);
  });
  EXPECT_EQ(res.error.code(), EIO) << res.error.ToString();  // the unwritten tail
  EXPECT_EQ(replayed, recs.size());
  EXPECT_EQ(types[kTxCreate], 5);
  EXPECT_EQ(types[kTxMkdir], 2);
  EXPECT_EQ(types[kTxSymlink], 2);
  EXPECT_EQ(types[kTxWrite], 4 + 4 + 1);  // the 300K write in 64K, 64K, 64K and 108K
  EXPECT_EQ(types[kTxTruncate], 3);
  EXPECT_EQ(types[kTxSetattr], 2);
  EXPECT_EQ(types[kTxRename], 3);
  EXPECT_EQ(types[kTxRemove], 2);
  EXPECT_EQ(types[kTxRmdir], 2);
  EXPECT_EQ(types[kTxLink], 1);
  EXPECT_EQ(Tree(*copy_.zpl), after);
}

TEST_F(ZplReplayTest, SpecialCasesOfZfsReplay) {
  ZplWriter& c = *copy_.zpl;
  const uint64_t r = c.root();
  uint64_t f1 = *c.Lookup(r, "f1");
  ZTime now{1800000000, 0};
  auto rec = [](uint64_t type, auto body) {
    LogRecord lr;
    lr.txtype = type;
    lr.txg = 10;
    lr.body = body;
    return lr;
  };
  // A create whose object exists already: nothing happens.
  LrCreate cr;
  cr.doid = r, cr.foid = f1, cr.mode = S_IFREG | 0600, cr.gen = 10, cr.name = "other";
  EXPECT_TRUE(ReplayRecord(c, rec(kTxCreate, cr), 20, now).ok());
  EXPECT_FALSE(c.Lookup(r, "other").ok());
  // A TX_CREATE of a name already taken succeeds (NONEXCL); a mkdir of one fails.
  cr.foid = 500, cr.name = "f1";
  EXPECT_TRUE(ReplayRecord(c, rec(kTxCreate, cr), 20, now).ok());
  EXPECT_FALSE(c.GetAttr(500).ok());
  cr.mode = S_IFDIR | 0755;
  EXPECT_EQ(ReplayRecord(c, rec(kTxMkdir, cr), 20, now).code(), EEXIST);
  // Made at the logged object with its gen and times.
  cr.name = "made", cr.foid = 600, cr.gen = 4, cr.crtime[0] = 123, cr.crtime[1] = 456;
  cr.uid = 9, cr.gid = 8;
  ASSERT_TRUE(ReplayRecord(c, rec(kTxMkdir, cr), 20, now).ok());
  EXPECT_EQ(*c.Lookup(r, "made"), 600u);
  auto made = c.GetAttr(600);
  EXPECT_EQ(made->gen, 4u);
  EXPECT_EQ(made->mode, uint64_t{S_IFDIR | 0755});
  EXPECT_EQ(made->crtime[0], 123u);
  EXPECT_EQ(made->mtime[0], 123u);
  EXPECT_EQ(made->uid, 9u);
  // Into a directory that does not exist: the error.
  cr.doid = 999, cr.foid = 601;
  EXPECT_EQ(ReplayRecord(c, rec(kTxCreate, cr), 20, now).code(), ENOENT);

  // A write to a removed file is dropped; a write never shrinks the file.
  LrWrite w;
  w.foid = 777, w.offset = 0, w.length = 4, w.data = {'a', 'b', 'c', 'd', 0, 0, 0, 0};
  EXPECT_TRUE(ReplayRecord(c, rec(kTxWrite, w), 20, now).ok());
  w.foid = f1;
  ASSERT_TRUE(ReplayRecord(c, rec(kTxWrite, w), 20, now).ok());
  EXPECT_EQ(c.GetAttr(f1)->size, 5000u);
  EXPECT_EQ(*c.Read(f1, 0, 4), (Bytes{'a', 'b', 'c', 'd'}));
  // A copied write whose data is missing is corrupt.
  w.data.resize(2);
  EXPECT_EQ(ReplayRecord(c, rec(kTxWrite, w), 20, now).code(), ECORRUPT);
  // An indirect write: the whole block goes in, the end is the record's; a TX_WRITE2 then
  // brings the rest of the block back.
  uint64_t e = *c.Create(r, "e", S_IFREG | 0644, 0, 0, 20, now);
  LrWrite iw;
  iw.foid = e, iw.offset = 4100, iw.length = 10, iw.indirect = true;
  iw.blkptr.set_lsize(4096);
  iw.data = Bytes(4096, 'Q');  // what ReadLogWriteData gives the caller
  ASSERT_TRUE(ReplayRecord(c, rec(kTxWrite, iw), 20, now).ok());
  EXPECT_EQ(c.GetAttr(e)->size, 4110u);
  EXPECT_EQ(*c.Read(e, 4096, 14), Bytes(14, 'Q'));
  LrWrite w2;
  w2.foid = e, w2.offset = 4110, w2.length = 100;
  ASSERT_TRUE(ReplayRecord(c, rec(kTxWrite2, w2), 20, now).ok());
  EXPECT_EQ(c.GetAttr(e)->size, 4210u);
  EXPECT_EQ(*c.Read(e, 4110, 100), Bytes(100, 'Q'));
  EXPECT_EQ(*c.Read(e, 0, 4), Bytes(4, 0));

  // TX_ACL keeps the mode; unknown and unsupported types say which.
  LrAcl acl;
  acl.foid = f1;
  const uint64_t mode = c.GetAttr(f1)->mode;
  EXPECT_TRUE(ReplayRecord(c, rec(kTxAcl, acl), 20, now).ok());
  EXPECT_TRUE(ReplayRecord(c, rec(kTxAclV0, acl), 20, now).ok());
  EXPECT_EQ(c.GetAttr(f1)->mode, mode);
  acl.foid = 12345;
  EXPECT_EQ(ReplayRecord(c, rec(kTxAcl, acl), 20, now).code(), ENOENT);
  // TX_MKXATTR (zfs-fuse logs one when a lookup of a file's attributes makes its xattr
  // directory): the directory at the logged object, hung on the file; a second time, nothing.
  LrCreate mx;
  mx.doid = f1, mx.foid = 500, mx.mode = S_IFDIR | S_ISVTX | 0777, mx.gen = 20;
  ASSERT_TRUE(ReplayRecord(c, rec(kTxMkxattr, mx), 20, now).ok());
  EXPECT_EQ(c.GetAttr(f1)->xattr, 500u);
  EXPECT_TRUE(S_ISDIR(c.GetAttr(500)->mode));
  EXPECT_TRUE(ReplayRecord(c, rec(kTxMkxattr, mx), 20, now).ok());
  EXPECT_EQ(c.GetAttr(f1)->xattr, 500u);
  EXPECT_EQ(ReplayRecord(c, rec(kTxCreateAcl, cr), 20, now).code(), ENOTSUP);
  EXPECT_EQ(ReplayRecord(c, rec(77, std::monostate{}), 20, now).code(), ENOTSUP);
  // Remove of a name that is not there, link to an object that is not there: errors.
  EXPECT_EQ(ReplayRecord(c, rec(kTxRemove, LrRemove{r, "nope"}), 20, now).code(), ENOENT);
  EXPECT_EQ(ReplayRecord(c, rec(kTxLink, LrLink{r, 4242, "l"}), 20, now).code(), ENOENT);

  // Replay logs nothing, and the sink is back afterwards.
  CaptureSink s;
  c.set_log(&s);
  ASSERT_TRUE(ReplayRecord(c, rec(kTxRename, LrRename{r, r, "e", "e2"}), 20, now).ok());
  EXPECT_TRUE(s.itxs.empty());
  EXPECT_EQ(c.log(), &s);
  EXPECT_EQ(c.txg(), 20u);
}

}  // namespace
}  // namespace uzfs
