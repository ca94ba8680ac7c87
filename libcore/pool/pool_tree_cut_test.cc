// Power cuts while the vdev tree changes: at every I/O of a zpool attach and of a replace with
// a hot spare. vdev_config_sync writes the even labels (with the new tree) and flushes them
// before the uberblock; a cut between the two leaves labels newer than every uberblock, and the
// pool must still import, with the tree of the txg it comes back at (the old one, or the new
// one once its uberblock is down), and every byte written before.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "libcore/pool/pool.h"
#include "libcore/pool/pool_test_util.h"
#include "libcore/spa/spa.h"

namespace uzfs {
namespace {

NvList Root(std::vector<NvList> tops) {
  NvList root;
  root.AddString("type", "root");
  root.AddNvListArray("children", std::move(tops));
  return root;
}

NvList Mirror(std::vector<NvList> kids) {
  NvList m;
  m.AddString("type", "mirror");
  m.AddNvListArray("children", std::move(kids));
  return m;
}

// The leaf below the first top-level vdev whose path is `path` (its guid), 0 when none.
uint64_t LeafGuid(Pool& p, const std::string& path) {
  NvList cfg = p.StatusConfig();
  const NvList& top = (*cfg.GetNvList("vdev_tree")->GetNvListArray("children"))[0];
  if (top.GetString("path") && *top.GetString("path") == path) return *top.GetUint64("guid");
  if (const auto* kids = top.GetNvListArray("children"))
    for (const NvList& k : *kids)
      if (k.GetString("path") && *k.GetString("path") == path) return *k.GetUint64("guid");
  return 0;
}

std::string TopType(Pool& p) {
  NvList cfg = p.StatusConfig();
  return *(*cfg.GetNvList("vdev_tree")->GetNvListArray("children"))[0].GetString("type");
}

ZTime Now() { return ZTime{1700000000, 0}; }

Status WriteFile(Pool& p, const Bytes& data) {
  uint64_t obj = 0;
  UZFS_TRY(p.WithZpl("cut", [&](ZplWriter& z, uint64_t txg) -> Status {
    UZFS_ASSIGN(obj, z.Create(z.root(), "f", S_IFREG | 0644, 0, 0, txg, Now()));
    return Status::Ok();
  }));
  return p.WithZpl("cut", [&](ZplWriter& z, uint64_t) { return z.Write(obj, 0, data, Now()); },
                   data.size());
}

Result<Bytes> ReadFile(Pool& p) {
  Bytes out;
  UZFS_TRY(p.WithZpl("cut", [&](ZplWriter& z, uint64_t) -> Status {
    UZFS_ASSIGN(uint64_t obj, z.Lookup(z.root(), "f"));
    UZFS_ASSIGN(ZnodePhys zp, z.GetAttr(obj));
    UZFS_ASSIGN(out, z.Read(obj, 0, zp.size));
    return Status::Ok();
  }));
  return out;
}

// spare: mirror d0 d1 with spare s0, d0 replaced by s0 (a spare vdev); else d0 alone, d1
// attached (a mirror). The cut comes `cut` I/Os into the change. Returns false once the
// change completed before the cut.
bool CutTreeChange(bool spare, uint64_t cut, uint64_t* ios = nullptr) {
  auto mem = NewMemEnv();
  const std::vector<std::string> paths = {"/tc/d0", "/tc/d1", "/tc/s0"};
  for (const auto& p : paths) MakeDevice(mem.get(), p, 64ULL << 20);
  FaultEnv fe(mem.get());
  PoolCreateSpec cs;
  cs.name = "cut";
  cs.env = &fe;
  if (spare) {
    cs.nvroot = Root({Mirror({Leaf(paths[0]), Leaf(paths[1])})});
    cs.nvroot.AddNvListArray("spares", {Leaf(paths[2])});
  } else {
    cs.nvroot = Root({Leaf(paths[0])});
  }
  auto p = Pool::Create(cs);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  if (!p.ok()) return false;
  EXPECT_TRUE(WriteFile(**p, RandomBytes(300000, 3)).ok());
  EXPECT_TRUE((*p)->Sync().ok());
  const std::string old_type = TopType(**p);
  uint64_t start = fe.io_count();
  fe.FailNthIo(cut, /*sticky=*/true);
  Status s = (*p)->AttachVdev(LeafGuid(**p, paths[0]), Root({Leaf(spare ? paths[2] : paths[1])}),
                              /*replacing=*/spare);
  if (s.ok()) s = (*p)->Sync();
  const bool hit = fe.io_count() - start >= cut;
  if (ios) *ios = fe.io_count() - start;
  p->reset();
  fe.DropUnsyncedWrites();
  PoolImportSpec is;
  is.devices = spare ? paths : std::vector<std::string>{paths[0], paths[1]};
  is.pool = "cut";
  is.env = mem.get();
  is.force = true;
  auto q = Pool::Import(is);
  EXPECT_TRUE(q.ok()) << (spare ? "spare" : "attach") << " cut " << cut << ": "
                      << q.status().ToString();
  if (!q.ok()) return hit;
  const std::string type = TopType(**q);
  // Attached or not: the top-level vdev is d0 alone or the mirror; the spare goes below it.
  EXPECT_TRUE(type == old_type || type == "mirror") << "cut " << cut << ": " << type;
  auto data = ReadFile(**q);
  EXPECT_TRUE(data.ok() && *data == RandomBytes(300000, 3)) << "cut " << cut;
  EXPECT_TRUE((*q)->Export().ok()) << "cut " << cut;
  return hit;
}

// The cuts: a stride through the change, then every I/O of its last ~50 (the last txg's
// vdev_config_sync: flushes, even labels, uberblocks, odd labels), where the tree changes.
void CutEverywhere(bool spare) {
  uint64_t n = 0;
  EXPECT_FALSE(CutTreeChange(spare, 1 << 20, &n));
  ASSERT_GT(n, 60u);
  for (uint64_t cut = 1; cut < n - 50; cut += (n - 50) / 8) EXPECT_TRUE(CutTreeChange(spare, cut));
  for (uint64_t cut = n - 50; cut <= n; cut++) CutTreeChange(spare, cut);
}

TEST(PoolTreeCut, AttachImportsAfterACutAnywhere) { CutEverywhere(/*spare=*/false); }

TEST(PoolTreeCut, ReplaceWithASpareImportsAfterACutAnywhere) { CutEverywhere(/*spare=*/true); }

}  // namespace
}  // namespace uzfs
