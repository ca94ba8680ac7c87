// Snapshots, dead lists, clones, rollback and rename by Pool, judged after export through the
// read side: every snapshot reads back as it was, and every DSL number (ds used / compressed
// / uncompressed / unique, dead lists, dsl_dir used and its breakdown) equals what a
// block-by-block walk of the datasets says it must be. Set UZFS_SNAPSHOT_TEST_KEEP=DIR to
// keep each test's exported vdev files as DIR/<test>.<n>/d0 for zfs-fuse's zdb -bcc.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <set>

#include "libcore/dsl/bplist_write.h"
#include "libcore/dsl/dsl.h"
#include "libcore/dsl/dsl_write.h"
#include "libcore/pool/pool.h"
#include "libcore/pool/pool_test_util.h"
#include "libcore/spa/spa.h"
#include "libcore/zpl/zpl.h"

namespace uzfs {
namespace {

struct Blk {
  uint64_t dsize, psize, ucsize, birth;
};
using BlockSet = std::map<std::pair<uint64_t, uint64_t>, Blk>;  // (vdev, offset) of DVA 0

Bytes Pattern(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes b(n);
  for (auto& c : b) c = static_cast<uint8_t>(rng());
  return b;
}

// The read side of an exported pool, with the accounting checks.
class Reader {
 public:
  Reader(const std::vector<std::string>& devs, const std::string& pool) {
    auto spa = Spa::OpenDevices(devs, pool);
    EXPECT_TRUE(spa.ok()) << spa.status().ToString();
    spa_ = std::move(spa).value();
    auto dp = DslPool::Open(spa_.get(), spa_->uberblock().rootbp, pool);
    EXPECT_TRUE(dp.ok()) << dp.status().ToString();
    dp_ = std::move(dp).value();
  }
  DslPool& dp() { return *dp_; }

  Bytes ReadFile(const std::string& ds, const std::string& path) {
    auto info = dp_->Resolve(ds);
    EXPECT_TRUE(info.ok()) << ds;
    if (!info.ok()) return {};
    auto os = dp_->OpenObjset(*info);
    auto zpl = Zpl::Open(**os);
    EXPECT_TRUE(zpl.ok());
    auto obj = (*zpl)->Lookup(path);
    if (!obj.ok()) return Bytes{'E', 'N', 'O', 'E', 'N', 'T'};
    auto st = (*zpl)->Stat(*obj);
    auto data = (*zpl)->ReadFile(*obj, 0, st->size);
    EXPECT_TRUE(data.ok());
    return *data;
  }

  BlockSet Blocks(uint64_t ds_obj) {
    auto ds = dp_->Dataset(ds_obj);
    EXPECT_TRUE(ds.ok());
    BlockSet out;
    if (ds->bp.is_hole()) return out;
    auto os = ObjSet::Open(spa_.get(), ds->bp);
    EXPECT_TRUE(os.ok());
    EXPECT_TRUE((*os)->Traverse(0, [&](const BlockVisit& v) {
      out[{v.bp->dva[0].vdev(), v.bp->dva[0].offset()}] =
          Blk{Dsize(*v.bp), v.bp->psize(), BpUcsize(*v.bp), v.bp->birth};
      return Status::Ok();
    }).ok());
    return out;
  }

  // bp_get_dsize: asize deflated by the top-level vdev's raidz ratio (vdev_deflate_ratio).
  uint64_t Dsize(const BlkPtr& bp) {
    uint64_t total = 0;
    for (const Dva& d : bp.dva) {
      if (d.empty()) continue;
      Vdev* top = spa_->top(d.vdev());
      uint64_t ratio = (1ULL << 17) / (top->PsizeToAsize(1ULL << 17) >> 9);
      total += (d.asize() >> 9) * ratio;
    }
    return total;
  }

  std::vector<BlkPtr> Deadlist(uint64_t obj, BplistPhys* hdr) {
    auto dn = dp_->mos().Dnode(obj);
    EXPECT_TRUE(dn.ok());
    EXPECT_EQ(kOtBplist, dn->type);
    EXPECT_EQ(kOtBplistHdr, dn->bonustype);
    EXPECT_EQ(32u, dn->bonus.size());
    hdr->entries = LoadLE64(dn->bonus.data());
    hdr->bytes = LoadLE64(dn->bonus.data() + 8);
    hdr->comp = LoadLE64(dn->bonus.data() + 16);
    hdr->uncomp = LoadLE64(dn->bonus.data() + 24);
    std::vector<BlkPtr> out;
    if (!hdr->entries) return out;
    auto raw = dp_->mos().Read(*dn, 0, hdr->entries * 128);
    EXPECT_TRUE(raw.ok());
    for (uint64_t i = 0; i < hdr->entries; i++) out.push_back(BlkPtr::Decode(raw->data() + 128 * i, true));
    return out;
  }

  // Every rule of dsl_dataset_write.h's header, for every dir and dataset of the pool.
  void CheckAccounting() {
    auto root = dp_->DirectoryEntry("root_dataset");
    ASSERT_TRUE(root.ok());
    CheckDir(*root, "root");
  }

 private:
  static uint64_t Sum(const BlockSet& s, uint64_t Blk::*f, uint64_t min_birth = 0) {
    uint64_t t = 0;
    for (auto& [k, b] : s)
      if (b.birth > min_birth) t += b.*f;
    return t;
  }

  // Returns the dir's {used, comp, uncomp} as recomputed.
  std::array<uint64_t, 3> CheckDir(uint64_t dir_obj, const std::string& what) {
    auto dd = dp_->Dir(dir_obj);
    EXPECT_TRUE(dd.ok());
    std::array<uint64_t, 3> child{0, 0, 0};
    if (dd->child_dir_zapobj) {
      auto kids = Zap::Open(dp_->mos(), dd->child_dir_zapobj);
      for (const ZapEntry& e : kids->entries()) {
        auto c = CheckDir(e.first(), what + "/" + e.name);
        for (int i = 0; i < 3; i++) child[i] += c[i];
      }
    }
    EXPECT_EQ(child[0], dd->used_breakdown[kDdUsedChild]) << what;
    // What the children reserved beyond their use.
    uint64_t child_rsrv = 0;
    if (dd->child_dir_zapobj) {
      auto kids = Zap::Open(dp_->mos(), dd->child_dir_zapobj);
      for (const ZapEntry& e : kids->entries()) {
        auto c = dp_->Dir(e.first());
        if (c->reserved > c->used_bytes) child_rsrv += c->reserved - c->used_bytes;
      }
    }
    EXPECT_EQ(child_rsrv, dd->used_breakdown[kDdUsedChildRsrv]) << what;
    if (what.find('$') != std::string::npos) {  // $MOS, $ORIGIN: not datasets of blocks
      return {dd->used_bytes, dd->compressed_bytes, dd->uncompressed_bytes};
    }
    uint64_t origin_txg = 0;
    if (dd->origin_obj) origin_txg = dp_->Dataset(dd->origin_obj)->creation_txg;
    // The head and its snapshots, oldest first.
    std::vector<uint64_t> chain;
    auto head = dp_->Dataset(dd->head_dataset_obj);
    EXPECT_TRUE(head.ok());
    for (uint64_t o = dd->head_dataset_obj; o;) {
      chain.insert(chain.begin(), o);
      auto ds = dp_->Dataset(o);
      if (!ds->prev_snap_obj) break;
      auto prev = dp_->Dataset(ds->prev_snap_obj);
      if (prev->dir_obj != dir_obj) break;
      o = ds->prev_snap_obj;
    }
    std::map<uint64_t, BlockSet> blocks;
    auto blocks_of = [&](uint64_t o) -> const BlockSet& {
      if (!blocks.count(o)) blocks[o] = Blocks(o);
      return blocks[o];
    };
    BlockSet all;  // every block of the dir's datasets born in it
    for (uint64_t o : chain) {
      auto ds = dp_->Dataset(o);
      const BlockSet& mine = blocks_of(o);
      std::string n = what + " ds " + std::to_string(o);
      checked_++;
      EXPECT_EQ(Sum(mine, &Blk::dsize), ds->used_bytes) << n;
      EXPECT_EQ(Sum(mine, &Blk::psize), ds->compressed_bytes) << n;
      EXPECT_EQ(Sum(mine, &Blk::ucsize), ds->uncompressed_bytes) << n;
      BlockSet empty;
      const BlockSet& prev = ds->prev_snap_obj ? blocks_of(ds->prev_snap_obj) : empty;
      const BlockSet& next = ds->next_snap_obj ? blocks_of(ds->next_snap_obj) : empty;
      uint64_t unique = 0;
      for (auto& [k, b] : mine)
        if (!prev.count(k) && (!ds->next_snap_obj || !next.count(k))) unique += b.dsize;
      EXPECT_EQ(unique, ds->unique_bytes) << n;
      // The dead list: what prev had and this one no longer has.
      BplistPhys h;
      std::vector<BlkPtr> dl = Deadlist(ds->deadlist_obj, &h);
      std::set<std::pair<uint64_t, uint64_t>> dead, want;
      uint64_t bytes = 0, comp = 0, uncomp = 0;
      for (const BlkPtr& bp : dl) {
        dead.insert({bp.dva[0].vdev(), bp.dva[0].offset()});
        bytes += Dsize(bp), comp += bp.psize(), uncomp += BpUcsize(bp);
        EXPECT_EQ(0u, bp.fill);
      }
      for (auto& [k, b] : prev)
        if (!mine.count(k)) want.insert(k);
      EXPECT_EQ(want, dead) << n << " dead list";
      EXPECT_EQ(dl.size(), h.entries) << n;
      EXPECT_EQ(bytes, h.bytes) << n;
      EXPECT_EQ(comp, h.comp) << n;
      EXPECT_EQ(uncomp, h.uncomp) << n;
      for (auto& [k, b] : mine)
        if (b.birth > origin_txg) all[k] = b;
    }
    const BlockSet& hb = blocks_of(dd->head_dataset_obj);
    EXPECT_EQ(Sum(hb, &Blk::dsize, origin_txg), dd->used_breakdown[kDdUsedHead]) << what;
    uint64_t snap = 0;
    for (auto& [k, b] : all)
      if (!hb.count(k)) snap += b.dsize;
    EXPECT_EQ(snap, dd->used_breakdown[kDdUsedSnap]) << what;
    uint64_t refres = 0;
    if (dd->props_zapobj) {
      auto props = Zap::Open(dp_->mos(), dd->props_zapobj);
      if (auto v = props->Lookup("refreservation"); v.ok()) refres = *v;
    }
    uint64_t refrsrv = refres > head->unique_bytes ? refres - head->unique_bytes : 0;
    EXPECT_EQ(refrsrv, dd->used_breakdown[kDdUsedRefrsrv]) << what;
    EXPECT_EQ(Sum(all, &Blk::dsize) + child[0] + child_rsrv + refrsrv, dd->used_bytes) << what;
    EXPECT_EQ(Sum(all, &Blk::psize) + child[1], dd->compressed_bytes) << what;
    EXPECT_EQ(Sum(all, &Blk::ucsize) + child[2], dd->uncompressed_bytes) << what;
    return {dd->used_bytes, dd->compressed_bytes, dd->uncompressed_bytes};
  }

  std::unique_ptr<Spa> spa_;
  std::unique_ptr<DslPool> dp_;

 public:
  int checked_ = 0;  // datasets and snapshots whose numbers were checked
};

class PoolSnapshotsTest : public FilePoolTest {
 protected:
  void SetUp() override {
    MakePool("snp", 256 << 20);
    if (HasFatalFailure()) return;
    ASSERT_TRUE(pool_->CreateFilesystem("snp/fs", {{"compression", "on"}}).ok());
  }
  // Replaces the pool by one on a raidz1 of three files (d0 is dev_).
  void MakeRaidzPool() {
    ASSERT_TRUE(pool_->Export().ok());
    pool_.reset();
    NvList root, rz;
    root.AddString("type", "root");
    rz.AddString("type", "raidz");
    rz.AddUint64("nparity", 1);
    std::vector<NvList> kids;
    for (int i = 0; i < 3; i++) {
      std::string path = dir_ + "/r" + std::to_string(i);
      FILE* f = fopen(path.c_str(), "w");
      ASSERT_NE(f, nullptr);
      fclose(f);
      ASSERT_EQ(0, truncate(path.c_str(), 128 << 20));
      NvList leaf;
      leaf.AddString("type", "file");
      leaf.AddString("path", path);
      kids.push_back(leaf);
      raidz_.push_back(path);
    }
    rz.AddNvListArray("children", kids);
    root.AddNvListArray("children", {rz});
    std::filesystem::remove(dev_);
    PoolCreateSpec spec;
    spec.name = "snp";
    spec.nvroot = root;
    auto p = Pool::Create(spec);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    pool_ = std::move(p).value();
    ASSERT_TRUE(pool_->CreateFilesystem("snp/fs", {{"compression", "on"}}).ok());
  }
  Status Do(const std::string& fs, const std::function<Status(ZplWriter&, uint64_t)>& fn) {
    return pool_->WithZpl(fs, fn);
  }
  Status Put(const std::string& fs, const std::string& name, const Bytes& data) {
    return Do(fs, [&](ZplWriter& z, uint64_t txg) -> Status {
      auto f = z.Lookup(z.root(), name);
      uint64_t obj;
      if (f.ok()) {
        obj = *f;
      } else {
        UZFS_ASSIGN(obj, z.Create(z.root(), name, S_IFREG | 0644, 0, 0, txg, now_));
      }
      return z.Write(obj, 0, data, now_);
    });
  }
  Status Remove(const std::string& fs, const std::string& name) {
    return Do(fs, [&](ZplWriter& z, uint64_t) { return z.Unlink(z.root(), name, now_); });
  }
  // Exports, keeps a copy for the oracle when asked, and opens the read side.
  std::unique_ptr<Reader> ExportAndRead() {
    EXPECT_TRUE(pool_->Export().ok());
    pool_.reset();
    std::vector<std::string> devs = raidz_.empty() ? std::vector<std::string>{dev_} : raidz_;
    if (const char* keep = getenv("UZFS_SNAPSHOT_TEST_KEEP")) {
      std::string d = std::string(keep) + "/" +
                      ::testing::UnitTest::GetInstance()->current_test_info()->name() + "." +
                      std::to_string(++exports_);
      std::filesystem::create_directories(d);
      for (const std::string& dev : devs)
        std::filesystem::copy_file(dev, d + "/" + std::filesystem::path(dev).filename().string(),
                                   std::filesystem::copy_options::overwrite_existing);
    }
    return std::make_unique<Reader>(devs, "snp");
  }
  void Reimport() {
    ASSERT_TRUE(pool_->Export().ok());
    PoolImportSpec spec;
    spec.devices = raidz_.empty() ? std::vector<std::string>{dev_} : raidz_;
    spec.pool = "snp";
    auto p = Pool::Import(spec);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    pool_ = std::move(p).value();
  }
  std::vector<std::string> SnapNames(const std::string& fs) {
    std::vector<std::string> out;
    auto s = pool_->Snapshots(fs);
    EXPECT_TRUE(s.ok());
    for (auto& r : *s) out.push_back(r.name);
    return out;
  }

  ZTime now_{1795400000, 0};
  int exports_ = 0;
  std::vector<std::string> raidz_;  // the raidz pool's files (MakeRaidzPool)
  Bytes a1_ = Pattern(300 * 1024 + 5, 1), a2_ = Pattern(64 * 1024, 2), b_ = Pattern(5000, 3),
        c_ = Pattern(200 * 1024, 4);
};

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

// The accounting rules checked above, applied to a pool zfs-fuse made itself (snapshots,
// writes, deletes, clones, destroy, promote): UZFS_SNAPSHOT_CHECK_POOL=DEVICE:POOL.
TEST_F(PoolSnapshotsTest, RaidzAccountingIsDeflated) {
  MakeRaidzPool();
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(Put("snp/fs", "a", a1_).ok());
  ASSERT_TRUE(Put("snp/fs", "b", b_).ok());
  ASSERT_TRUE(pool_->Snapshot({"snp/fs@one"}).ok());
  ASSERT_TRUE(Put("snp/fs", "a", a2_).ok());
  ASSERT_TRUE(Remove("snp/fs", "b").ok());
  ASSERT_TRUE(pool_->Snapshot({"snp/fs@two"}).ok());
  ASSERT_TRUE(pool_->Clone("snp/fs@one", "snp/c", {}).ok());
  ASSERT_TRUE(Put("snp/c", "x", c_).ok());
  ASSERT_TRUE(Put("snp/fs", "c", c_).ok());
  ASSERT_TRUE(pool_->Sync().ok());
  ASSERT_TRUE(pool_->DestroySnapshot("snp/fs@two").ok());
  ASSERT_TRUE(pool_->Promote("snp/c").ok());
  ASSERT_TRUE(Put("snp/fs", "a", c_).ok());
  ASSERT_TRUE(pool_->Sync().ok());
  ASSERT_TRUE(pool_->Rollback("snp/fs").ok());
  Reimport();
  auto r = ExportAndRead();
  EXPECT_EQ(a1_, r->ReadFile("snp/c@one", "/a"));
  EXPECT_EQ(c_, r->ReadFile("snp/c", "/x"));
  r->CheckAccounting();
}

// Random sequences of writes, snapshots, clones, promotes, rollbacks, renames and destroys,
// against a model of every dataset's files; at the end every filesystem and snapshot reads
// back as the model says and every accounting rule holds.
// UZFS_SNAPSHOT_RANDOM_SEEDS=N runs more seeds.
TEST_F(PoolSnapshotsTest, RandomHistoriesKeepContentsAndAccounting) {
  // UZFS_SNAPSHOT_RANDOM_SEEDS=N runs seeds 1..N (3 by default).
  uint64_t nseeds = getenv("UZFS_SNAPSHOT_RANDOM_SEEDS") ? std::stoull(getenv("UZFS_SNAPSHOT_RANDOM_SEEDS")) : 3;
  for (uint64_t seed = 1; seed <= nseeds; seed++) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    if (seed > 1) {
      TearDown();
      SetUp();
      ASSERT_FALSE(HasFatalFailure());
    }
    std::mt19937_64 rng(seed);
    using Files = std::map<std::string, Bytes>;
    std::map<std::string, Files> model;  // "snp/x" and "snp/x@s" → files
    model["snp/fs"] = {};
    auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
    auto heads = [&]() {
      std::vector<std::string> out;
      for (auto& [n, f] : model)
        if (n.find('@') == std::string::npos) out.push_back(n);
      return out;
    };
    auto snaps_of = [&](const std::string& fs) {
      std::vector<std::string> out;
      auto rows = pool_->Snapshots(fs);
      EXPECT_TRUE(rows.ok()) << fs;
      if (rows.ok())
        for (auto& r : *rows) out.push_back(r.name);
      return out;
    };
    int made = 0;
    for (int step = 0; step < 70; step++) {
      std::string fs = pick(heads());
      int op = static_cast<int>(rng() % 100);
      if (op < 40) {  // write or overwrite part of a file
        std::string file = "f" + std::to_string(rng() % 4);
        Files& m = model[fs];
        Bytes& cur = m[file];
        size_t off = cur.empty() ? 0 : rng() % cur.size();
        Bytes data = Pattern(1 + rng() % (200 * 1024), rng());
        ASSERT_TRUE(Do(fs, [&](ZplWriter& z, uint64_t txg) -> Status {
          uint64_t obj;
          if (auto f = z.Lookup(z.root(), file); f.ok()) {
            obj = *f;
          } else {
            UZFS_ASSIGN(obj, z.Create(z.root(), file, S_IFREG | 0644, 0, 0, txg, now_));
          }
          return z.Write(obj, off, data, now_);
        }).ok());
        if (cur.size() < off + data.size()) cur.resize(off + data.size());
        std::copy(data.begin(), data.end(), cur.begin() + static_cast<long>(off));
      } else if (op < 48) {  // remove a file
        Files& m = model[fs];
        if (m.empty()) continue;
        std::string file = m.begin()->first;
        ASSERT_TRUE(Remove(fs, file).ok());
        m.erase(file);
      } else if (op < 63) {  // snapshot
        std::string name = fs + "@s" + std::to_string(made++);
        ASSERT_TRUE(pool_->Snapshot({name}).ok()) << name;
        model[name] = model[fs];
      } else if (op < 71) {  // destroy a snapshot (refused while it has clones)
        auto snaps = snaps_of(fs);
        if (snaps.empty()) continue;
        std::string name = pick(snaps);
        Status st = pool_->DestroySnapshot(name);
        if (st.code() == EBUSY) continue;
        ASSERT_TRUE(st.ok()) << name << ": " << st.ToString();
        model.erase(name);
      } else if (op < 79) {  // clone a snapshot
        auto snaps = snaps_of(fs);
        if (snaps.empty()) continue;
        std::string snap = pick(snaps), name = "snp/c" + std::to_string(made++);
        ASSERT_TRUE(pool_->Clone(snap, name, {}).ok()) << snap;
        model[name] = model[snap];
      } else if (op < 85) {  // promote
        auto origin = pool_->Origin(fs);
        if (origin->empty()) continue;
        std::string ofs = origin->substr(0, origin->find('@'));
        ASSERT_TRUE(pool_->Promote(fs).ok()) << fs;
        auto now_fs = snaps_of(fs);
        std::set<std::string> mine(now_fs.begin(), now_fs.end());
        std::vector<std::string> moved;
        for (auto& [n, f] : model)
          if (n.rfind(ofs + "@", 0) == 0 && mine.count(fs + n.substr(ofs.size()))) moved.push_back(n);
        for (auto& n : moved) {
          model[fs + n.substr(ofs.size())] = model[n];
          model.erase(n);
        }
      } else if (op < 91) {  // rollback to the latest snapshot (or a clone to its origin)
        auto snaps = snaps_of(fs);
        std::string target;
        if (!snaps.empty()) {
          target = snaps.back();
        } else {
          target = *pool_->Origin(fs);
          if (target.empty()) continue;
        }
        ASSERT_TRUE(pool_->Rollback(fs).ok()) << fs;
        model[fs] = model[target];
      } else if (op < 95) {  // destroy a clone without snapshots or clones
        if (fs == "snp/fs" || !snaps_of(fs).empty()) continue;
        Status st = pool_->DestroyFilesystem(fs);
        if (st.code() == EBUSY) continue;
        ASSERT_TRUE(st.ok()) << fs << ": " << st.ToString();
        model.erase(fs);
      } else {  // rename a filesystem (its snapshots follow)
        if (fs == "snp/fs") continue;
        std::string to = "snp/r" + std::to_string(made++);
        ASSERT_TRUE(pool_->Rename(fs, to).ok()) << fs;
        std::vector<std::string> keys;
        for (auto& [n, f] : model)
          if (n == fs || n.rfind(fs + "@", 0) == 0) keys.push_back(n);
        for (auto& n : keys) {
          model[to + n.substr(fs.size())] = model[n];
          model.erase(n);
        }
      }
      if (rng() % 4 == 0) {
        ASSERT_TRUE(pool_->Sync().ok());
      }
      if (rng() % 25 == 0) Reimport();
    }
    auto r = ExportAndRead();
    for (auto& [name, files] : model) {
      for (auto& [file, data] : files) EXPECT_EQ(data, r->ReadFile(name, "/" + file)) << name << " " << file;
    }
    auto all = r->dp().ListAll();
    ASSERT_TRUE(all.ok());
    std::set<std::string> seen, want;
    for (auto& d : *all)
      if (d.name != "snp") seen.insert(d.name);
    for (auto& [n, f] : model) want.insert(n);
    EXPECT_EQ(want, seen);
    r->CheckAccounting();
    std::cout << "seed " << seed << ": " << model.size() << " datasets and snapshots\n";
  }
}

TEST(SnapshotAccountingRules, HoldForAPoolMadeByZfsFuse) {
  const char* env = getenv("UZFS_SNAPSHOT_CHECK_POOL");
  if (!env) GTEST_SKIP() << "UZFS_SNAPSHOT_CHECK_POOL=DEVICE:POOL not set";
  std::string spec = env;
  Reader r({spec.substr(0, spec.rfind(':'))}, spec.substr(spec.rfind(':') + 1));
  r.CheckAccounting();
  EXPECT_GT(r.checked_, 0);
  std::cout << r.checked_ << " datasets and snapshots checked\n";
}

// Our operations on a pool zfs-fuse made (its dead lists, unique and dir numbers as it left
// them): UZFS_SNAPSHOT_INTEROP_POOL=DEVICE:POOL (the device is copied first). Every
// filesystem gets a file, a snapshot, an overwrite, a rollback and another overwrite; then
// every snapshot without clones is destroyed, oldest first (a held one must refuse with
// EBUSY), then every filesystem left without snapshots or children; the rules must hold after
// export.
// With UZFS_SNAPSHOT_TEST_KEEP=DIR the result is kept for zfs-fuse's zdb.
TEST(SnapshotInterop, OperateOnAPoolMadeByZfsFuse) {
  const char* env = getenv("UZFS_SNAPSHOT_INTEROP_POOL");
  if (!env) GTEST_SKIP() << "UZFS_SNAPSHOT_INTEROP_POOL=DEVICE:POOL not set";
  std::string spec = env, pool = spec.substr(spec.rfind(':') + 1);
  char tmpl[] = "/tmp/uzfs-interop.XXXXXX";
  ASSERT_NE(nullptr, mkdtemp(tmpl));
  std::string dev = std::string(tmpl) + "/d0";
  std::filesystem::copy_file(spec.substr(0, spec.rfind(':')), dev);
  PoolImportSpec is;
  is.devices = {dev};
  is.pool = pool;
  auto p = Pool::Import(is);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  Pool& pl = **p;
  ZTime now{1795400000, 0};
  Bytes one = Pattern(200 * 1024, 1), two = Pattern(64 * 1024, 2);
  auto put = [&](const std::string& fs, const Bytes& data) {
    return pl.WithZpl(fs, [&](ZplWriter& z, uint64_t txg) -> Status {
      uint64_t obj;
      if (auto f = z.Lookup(z.root(), "uzfs-interop"); f.ok()) {
        obj = *f;
      } else {
        UZFS_ASSIGN(obj, z.Create(z.root(), "uzfs-interop", S_IFREG | 0644, 0, 0, txg, now));
      }
      return z.Write(obj, 0, data, now);
    });
  };
  auto fss = pl.Filesystems();
  ASSERT_TRUE(fss.ok());
  for (auto& f : *fss) {
    ASSERT_TRUE(put(f.name, one).ok()) << f.name;
    ASSERT_TRUE(pl.Snapshot({f.name + "@uzfs1"}).ok()) << f.name;
    ASSERT_TRUE(put(f.name, two).ok()) << f.name;
    ASSERT_TRUE(pl.Sync().ok());
    ASSERT_TRUE(pl.Rollback(f.name).ok()) << f.name;
    ASSERT_TRUE(put(f.name, two).ok()) << f.name;
  }
  ASSERT_TRUE(pl.Sync().ok());
  for (auto& f : *fss) {
    auto snaps = pl.Snapshots(f.name);
    ASSERT_TRUE(snaps.ok());
    for (auto& sr : *snaps) {
      if (sr.userrefs) {
        EXPECT_EQ(EBUSY, pl.DestroySnapshot(sr.name).code()) << sr.name << " is held";
      } else if (sr.clones.empty()) {
        Status st = pl.DestroySnapshot(sr.name);
        ASSERT_TRUE(st.ok()) << sr.name << ": " << st.ToString();
      }
    }
  }
  // Then every filesystem left without snapshots, children or clones (reservations and all).
  for (auto it = fss->rbegin(); it != fss->rend(); ++it) {
    if (it->name.find('/') == std::string::npos) continue;
    auto snaps = pl.Snapshots(it->name);
    if (snaps.ok() && snaps->empty()) {
      Status st = pl.DestroyFilesystem(it->name);
      EXPECT_TRUE(st.ok() || st.code() == EBUSY) << it->name << ": " << st.ToString();
    }
  }
  ASSERT_TRUE(pl.Sync().ok());
  fss = pl.Filesystems();
  ASSERT_TRUE(fss.ok());
  ASSERT_TRUE(pl.Export().ok());
  p->reset();
  Reader r({dev}, pool);
  r.CheckAccounting();
  for (auto& f : *fss) {
    Bytes want = one;
    std::copy(two.begin(), two.end(), want.begin());
    EXPECT_EQ(want, r.ReadFile(f.name, "/uzfs-interop")) << f.name;
  }
  if (const char* keep = getenv("UZFS_SNAPSHOT_TEST_KEEP")) {
    std::filesystem::create_directories(std::string(keep) + "/interop");
    std::filesystem::copy_file(dev, std::string(keep) + "/interop/d0",
                               std::filesystem::copy_options::overwrite_existing);
  }
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace uzfs
