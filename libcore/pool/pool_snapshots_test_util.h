// The snapshot tests' common parts: Reader, the read side of an exported pool with the
// accounting checks (every DSL number equal to what a block-by-block walk says), and the
// PoolSnapshotsTest fixture that makes, changes, exports and reads pools.
#pragma once

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

namespace uzfs::snapshot_test {

struct Blk {
  uint64_t dsize, psize, ucsize, birth;
};
using BlockSet = std::map<std::pair<uint64_t, uint64_t>, Blk>;  // (vdev, offset) of DVA 0

inline Bytes Pattern(size_t n, uint64_t seed) {
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

}  // namespace uzfs::snapshot_test
