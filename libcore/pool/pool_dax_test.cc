// DAX files on a pool with an emulated dax device (a file; zfsd --dax-emulation): where their
// data goes, that it is written in place and read back across export/import without the ARC,
// truncation, snapshots (an extent a snapshot shares is copied before the first write) and
// the refusals.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <set>
#include <tuple>
#include <vector>

#include "libcore/pool/pool.h"

namespace uzfs {
namespace {

constexpr uint64_t kMiB = 1ULL << 20;

Bytes Pattern(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& c : b) c = static_cast<uint8_t>(rng());
  return b;
}

class PoolDaxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/uzfs-daxtest.XXXXXX";
    ASSERT_NE(nullptr, mkdtemp(tmpl));
    dir_ = tmpl;
    for (auto& [name, size] : {std::pair<const char*, uint64_t>{"d0", 256 * kMiB}, {"p0", 64 * kMiB}}) {
      FILE* f = fopen((dir_ + "/" + name).c_str(), "w");
      ASSERT_NE(f, nullptr);
      fclose(f);
      ASSERT_EQ(0, truncate((dir_ + "/" + name).c_str(), static_cast<off_t>(size)));
    }
    PoolCreateSpec s;
    s.name = "dx";
    s.arc = &arc_;
    s.dax_emulation = true;
    NvList root, d0, p0;
    root.AddString("type", "root");
    d0.AddString("type", "file");
    d0.AddString("path", dir_ + "/d0");
    p0.AddString("type", "dax");
    p0.AddString("path", dir_ + "/p0");
    root.AddNvListArray("children", {d0, p0});
    s.nvroot = root;
    auto p = Pool::Create(s);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    pool_ = std::move(p).value();
    ASSERT_TRUE(pool_->CreateFilesystem("dx/pm", {{"dax", "on"}}).ok());
  }
  void TearDown() override {
    pool_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reimport() {
    ASSERT_TRUE(pool_->Export().ok());
    pool_.reset();
    PoolImportSpec s;
    s.devices = {dir_ + "/d0", dir_ + "/p0"};
    s.pool = "dx";
    s.arc = &arc_;
    s.dax_emulation = true;
    auto p = Pool::Import(s);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    pool_ = std::move(p).value();
  }
  Status Do(const std::string& fs, const std::function<Status(ZplWriter&, uint64_t)>& fn) {
    return pool_->WithZpl(fs, fn, 0);
  }
  Result<uint64_t> File(ZplWriter& z, const std::string& name, uint64_t txg) {
    if (auto f = z.Lookup(z.root(), name); f.ok()) return f;
    return z.Create(z.root(), name, S_IFREG | 0644, 0, 0, txg, ZTime{1, 0});
  }
  Status Write(const std::string& fs, const std::string& name, uint64_t off, const Bytes& b) {
    return Do(fs, [&](ZplWriter& z, uint64_t txg) -> Status {
      UZFS_ASSIGN(uint64_t obj, File(z, name, txg));
      return z.Write(obj, off, b, ZTime{2, 0});
    });
  }
  // The object number of the root's file `name` (0, and a failure, when there is none).
  uint64_t Obj(const std::string& fs, const std::string& name) {
    uint64_t obj = 0;
    Status s = Do(fs, [&](ZplWriter& z, uint64_t) -> Status {
      UZFS_ASSIGN(obj, z.Lookup(z.root(), name));
      return Status::Ok();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return obj;
  }
  Result<Bytes> Read(const std::string& fs, const std::string& name, uint64_t off, uint64_t len) {
    Bytes out;
    Status s = Do(fs, [&](ZplWriter& z, uint64_t) -> Status {
      UZFS_ASSIGN(uint64_t obj, z.Lookup(z.root(), name));
      UZFS_ASSIGN(out, z.Read(obj, off, len));
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return out;
  }
  // Bytes allocated on the dax device (the second top-level vdev).
  uint64_t DaxAllocated() {
    NvList cfg = pool_->StatusConfig();
    const auto* tops = cfg.GetNvList("vdev_tree")->GetNvListArray("children");
    return (*tops)[1].GetUint64("alloc").value_or(~0ULL);
  }
  // The bytes at `off` of the dax device file (its data starts after the 4 MiB front labels).
  Bytes DeviceBytes(uint64_t off, size_t n) {
    Bytes b(n);
    FILE* f = fopen((dir_ + "/p0").c_str(), "r");
    EXPECT_NE(f, nullptr);
    fseek(f, static_cast<long>(4 * kMiB + off), SEEK_SET);
    EXPECT_EQ(fread(b.data(), 1, n, f), n);
    fclose(f);
    return b;
  }

  Arc arc_{256 * kMiB};
  std::string dir_;
  std::unique_ptr<Pool> pool_;
};

TEST_F(PoolDaxTest, DataLivesInPlaceOnTheDaxDeviceNotInTheArcAndSurvivesImport) {
  const Bytes a = Pattern(5 * kMiB + 123, 1);
  const uint64_t arc_before = arc_.Stats().data_size;
  ASSERT_TRUE(Write("dx/pm", "f", 0, a).ok());
  ASSERT_TRUE(pool_->Sync().ok());
  EXPECT_EQ(DaxAllocated(), 6 * kMiB);  // three 2 MiB extents
  EXPECT_EQ(arc_.Stats().data_size, arc_before);
  // Written in place: the device holds the bytes already, each extent 2 MiB aligned. The
  // first extent is the class's first (an empty device allocates from its start).
  Bytes dev = DeviceBytes(0, 4096);
  EXPECT_TRUE(std::equal(dev.begin(), dev.end(), a.begin()));
  // An overwrite stays where it is.
  const Bytes b = Pattern(4096, 2);
  ASSERT_TRUE(Write("dx/pm", "f", 8192, b).ok());
  ASSERT_TRUE(pool_->Sync().ok());
  EXPECT_EQ(DaxAllocated(), 6 * kMiB);
  dev = DeviceBytes(8192, 4096);
  EXPECT_EQ(dev, b);
  Bytes want = a;
  std::copy(b.begin(), b.end(), want.begin() + 8192);
  Reimport();
  auto got = Read("dx/pm", "f", 0, want.size() + 100);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, want);
  EXPECT_EQ(arc_.Stats().data_size, arc_before);
  // A file of a dataset without dax stays in the normal class.
  ASSERT_TRUE(pool_->CreateFilesystem("dx/plain", {}).ok());
  ASSERT_TRUE(Write("dx/plain", "g", 0, a).ok());
  ASSERT_TRUE(pool_->Sync().ok());
  EXPECT_EQ(DaxAllocated(), 6 * kMiB);
}

TEST_F(PoolDaxTest, TruncateFreesWholeExtentsAndZeroesTheTail) {
  ASSERT_TRUE(Write("dx/pm", "f", 0, Pattern(7 * kMiB, 3)).ok());
  ASSERT_TRUE(pool_->Sync().ok());
  EXPECT_EQ(DaxAllocated(), 8 * kMiB);
  ASSERT_TRUE(Do("dx/pm", [&](ZplWriter& z, uint64_t) -> Status {
    UZFS_ASSIGN(uint64_t obj, z.Lookup(z.root(), "f"));
    SetAttr a;
    a.size = 3 * kMiB;
    UZFS_TRY(z.Setattr(obj, a, ZTime{3, 0}));
    a.size = 6 * kMiB;  // grows again: what was cut reads as zeros
    return z.Setattr(obj, a, ZTime{3, 0});
  }).ok());
  ASSERT_TRUE(pool_->Sync().ok());
  ASSERT_TRUE(pool_->Sync().ok());
  ASSERT_TRUE(pool_->Sync().ok());  // frees are reusable two txgs after theirs
  EXPECT_EQ(DaxAllocated(), 4 * kMiB);
  auto got = Read("dx/pm", "f", 0, 6 * kMiB);
  ASSERT_TRUE(got.ok());
  Bytes want = Pattern(7 * kMiB, 3);
  want.resize(6 * kMiB);
  std::fill(want.begin() + 3 * kMiB, want.end(), 0);
  EXPECT_EQ(*got, want);
  // Removing the file gives everything back.
  ASSERT_TRUE(Do("dx/pm", [&](ZplWriter& z, uint64_t) { return z.Unlink(z.root(), "f", ZTime{4, 0}); }).ok());
  for (int i = 0; i < 3; i++) ASSERT_TRUE(pool_->Sync().ok());
  EXPECT_EQ(DaxAllocated(), 0u);
}

TEST_F(PoolDaxTest, AWriteAfterASnapshotCopiesTheExtentTheSnapshotKeepsTheOld) {
  const Bytes a = Pattern(3 * kMiB, 4);
  ASSERT_TRUE(Write("dx/pm", "f", 0, a).ok());
  ASSERT_TRUE(pool_->Snapshot({"dx/pm@s"}).ok());
  const Bytes b = Pattern(100, 5);
  ASSERT_TRUE(Write("dx/pm", "f", 10, b).ok());
  ASSERT_TRUE(Write("dx/pm", "f", 20, b).ok());  // the copy is ours now: in place
  ASSERT_TRUE(pool_->Sync().ok());
  EXPECT_EQ(DaxAllocated(), 6 * kMiB);  // two extents shared, one copied
  // The snapshot's bytes are the old ones (the view reads its own block pointers).
  auto view = pool_->OpenSnapshotZpl("dx/pm@s");
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  Bytes snap;
  ASSERT_TRUE(pool_->WithSnapshotZpl(**view, [&](Zpl& z) -> Status {
    UZFS_ASSIGN(uint64_t obj, z.Lookup("/f"));
    UZFS_ASSIGN(snap, z.ReadFile(obj, 0, a.size()));
    return Status::Ok();
  }).ok());
  EXPECT_EQ(snap, a);
  Bytes want = a;
  std::copy(b.begin(), b.end(), want.begin() + 10);
  std::copy(b.begin(), b.end(), want.begin() + 20);
  EXPECT_EQ(*Read("dx/pm", "f", 0, a.size()), want);
  view->reset();
  // Rollback brings the old bytes back; destroying the snapshot then frees the copy.
  ASSERT_TRUE(pool_->Rollback("dx/pm").ok());
  EXPECT_EQ(*Read("dx/pm", "f", 0, a.size()), a);
  ASSERT_TRUE(pool_->DestroySnapshot("dx/pm@s").ok());
  for (int i = 0; i < 3; i++) ASSERT_TRUE(pool_->Sync().ok());
  EXPECT_EQ(DaxAllocated(), 4 * kMiB);
}

TEST_F(PoolDaxTest, AMappingPlacesAndSyncsItsExtentsAndHoldsTheFile) {
  ASSERT_TRUE(Write("dx/pm", "f", 0, Pattern(100, 7)).ok());
  uint64_t obj = 0;
  ASSERT_TRUE(Do("dx/pm", [&](ZplWriter& z, uint64_t) -> Status {
    UZFS_ASSIGN(obj, z.Lookup(z.root(), "f"));
    SetAttr a;
    a.size = 5 * kMiB;  // holes past the first extent
    return z.Setattr(obj, a, ZTime{5, 0});
  }).ok());
  ASSERT_TRUE(pool_->Snapshot({"dx/pm@s"}).ok());  // the first extent is shared now
  auto m = pool_->MapDaxFile("dx/pm", obj, 0, 64 * kMiB);  // clipped to the file
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_EQ(m->extents.size(), 3u);
  ASSERT_EQ(m->devices, std::vector<std::string>{dir_ + "/p0"});
  EXPECT_TRUE(m->emulated[0]);
  for (uint64_t i = 0; i < 3; i++) {
    EXPECT_EQ(m->extents[i].file_off, i * kDaxExtentSize);
    EXPECT_EQ(m->extents[i].dev_off % kDaxExtentSize, 0u);
  }
  // Placed and synced (the shared extent copied: 4 on the device), holes now extents.
  EXPECT_EQ(DaxAllocated(), 8 * kMiB);
  EXPECT_EQ(DeviceBytes(m->extents[0].dev_off - 4 * kMiB, 100), Pattern(100, 7));
  // Held: no snapshot, no shrinking, no export; growing is fine.
  EXPECT_EQ(pool_->Snapshot({"dx/pm@t"}).code(), EBUSY);
  EXPECT_EQ(pool_->Rollback("dx/pm").code(), EBUSY);
  EXPECT_EQ(pool_->Export().code(), EBUSY);
  auto resize = [&](uint64_t size) {
    return Do("dx/pm", [&](ZplWriter& z, uint64_t) -> Status {
      SetAttr a;
      a.size = size;
      return z.Setattr(obj, a, ZTime{6, 0});
    });
  };
  EXPECT_EQ(resize(kMiB).code(), EBUSY);  // no revoker: nobody can take the pages away
  EXPECT_TRUE(resize(6 * kMiB).ok());
  // With a revoker (zfsd's file service) the shrink asks it first, then frees the extents
  // past the end: the third one goes.
  std::vector<std::tuple<uint64_t, uint64_t, uint64_t>> revoked;
  pool_->SetDaxRevoker([&](Pool&, uint64_t ds, uint64_t o, uint64_t size) { revoked.emplace_back(ds, o, size); });
  ASSERT_TRUE(resize(3 * kMiB).ok());
  ASSERT_EQ(revoked.size(), 1u);
  EXPECT_EQ(revoked[0], std::make_tuple(m->ds_obj, obj, 3 * kMiB));
  for (int i = 0; i < 3; i++) ASSERT_TRUE(pool_->Sync().ok());
  EXPECT_EQ(DaxAllocated(), 6 * kMiB);
  EXPECT_TRUE(resize(5 * kMiB).ok());  // growing asks nothing
  EXPECT_EQ(revoked.size(), 1u);
  // Its mappings paused (zfsd's snapshot), the mapped dataset may be snapshotted; not after.
  pool_->SetDaxPaused(m->ds_obj, true);
  EXPECT_TRUE(pool_->Snapshot({"dx/pm@p"}).ok());
  pool_->SetDaxPaused(m->ds_obj, false);
  EXPECT_EQ(pool_->Snapshot({"dx/pm@q"}).code(), EBUSY);
  // Unlinked while mapped: parked, its extents kept.
  ASSERT_TRUE(Do("dx/pm", [&](ZplWriter& z, uint64_t) { return z.Unlink(z.root(), "f", ZTime{7, 0}); }).ok());
  for (int i = 0; i < 3; i++) ASSERT_TRUE(pool_->Sync().ok());
  EXPECT_EQ(DaxAllocated(), 6 * kMiB);
  pool_->UnmapDaxFile(m->ds_obj, obj);
  EXPECT_TRUE(pool_->Snapshot({"dx/pm@t"}).ok());
  // The next mount frees what the unlinked file kept (DrainUnlinked); the snapshot @s still
  // holds the first extent's old copy.
  ASSERT_TRUE(pool_->DestroySnapshots({"dx/pm@s", "dx/pm@p", "dx/pm@t"}).ok());
  Reimport();
  ASSERT_TRUE(Do("dx/pm", [](ZplWriter& z, uint64_t) { return z.DrainUnlinked().status(); }).ok());
  for (int i = 0; i < 3; i++) ASSERT_TRUE(pool_->Sync().ok());
  EXPECT_EQ(DaxAllocated(), 0u);
}

TEST_F(PoolDaxTest, APausedMappedDatasetRollsBackAndItsFileIsPlacedAnewWithTheSnapshotsBytes) {
  const Bytes a = Pattern(3 * kMiB, 8);
  ASSERT_TRUE(Write("dx/pm", "f", 0, a).ok());
  const uint64_t obj = Obj("dx/pm", "f");
  ASSERT_NE(obj, 0u);
  ASSERT_TRUE(pool_->Snapshot({"dx/pm@s"}).ok());
  auto head = pool_->HeadDatasetObj("dx/pm");
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  auto gen = pool_->DaxFileGen(*head, obj);
  ASSERT_TRUE(gen.ok()) << gen.status().ToString();
  auto m = pool_->MapDaxFile("dx/pm", obj, 0, 4 * kMiB);  // both shared extents copied
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  // Stores after the snapshot (in place, into the mapping's copies) and a new file.
  ASSERT_TRUE(Write("dx/pm", "f", 0, Pattern(100, 9)).ok());
  ASSERT_TRUE(Write("dx/pm", "g", 0, Pattern(100, 10)).ok());
  EXPECT_EQ(pool_->Rollback("dx/pm").code(), EBUSY);  // mapped, not paused
  pool_->SetDaxPaused(m->ds_obj, true);
  ASSERT_TRUE(pool_->Rollback("dx/pm").ok());
  pool_->SetDaxPaused(m->ds_obj, false);
  // The same file (zfsd resumes its mapping); g is not in the snapshot.
  auto gen2 = pool_->DaxFileGen(m->ds_obj, obj);
  ASSERT_TRUE(gen2.ok()) << gen2.status().ToString();
  EXPECT_EQ(*gen2, *gen);
  EXPECT_FALSE(Read("dx/pm", "g", 0, 1).ok());
  // Placed anew as zfsd's resume does: the snapshot's bytes, on copies of the snapshot's
  // extents; the copies made for the first mapping were freed by the rollback.
  auto r = pool_->MapDaxFile("dx/pm", obj, 0, 4 * kMiB);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  pool_->UnmapDaxFile(r->ds_obj, obj);
  ASSERT_EQ(r->extents.size(), 2u);
  EXPECT_EQ(DeviceBytes(r->extents[0].dev_off - 4 * kMiB, 100), Bytes(a.begin(), a.begin() + 100));
  EXPECT_EQ(*Read("dx/pm", "f", 0, 3 * kMiB), a);
  for (int i = 0; i < 3; i++) ASSERT_TRUE(pool_->Sync().ok());
  EXPECT_EQ(DaxAllocated(), 8 * kMiB);
  pool_->UnmapDaxFile(m->ds_obj, obj);
  ASSERT_TRUE(pool_->DestroySnapshot("dx/pm@s").ok());
  for (int i = 0; i < 3; i++) ASSERT_TRUE(pool_->Sync().ok());
  EXPECT_EQ(DaxAllocated(), 4 * kMiB);
}

TEST_F(PoolDaxTest, AMappingIsKnownByItsDatasetObjectAcrossARename) {
  ASSERT_TRUE(Write("dx/pm", "f", 0, Pattern(3 * kMiB, 11)).ok());
  const uint64_t obj = Obj("dx/pm", "f");
  ASSERT_NE(obj, 0u);
  auto m = pool_->MapDaxFile("dx/pm", obj, 0, 4 * kMiB);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  auto gen = pool_->DaxFileGen(m->ds_obj, obj);
  ASSERT_TRUE(gen.ok()) << gen.status().ToString();
  ASSERT_TRUE(pool_->CreateFilesystem("dx/top", {}).ok());
  ASSERT_TRUE(pool_->Rename("dx/pm", "dx/top/moved").ok());
  // The same head object under the new name: still held, still the same file.
  EXPECT_EQ(*pool_->HeadDatasetObj("dx/top/moved"), m->ds_obj);
  EXPECT_EQ(pool_->CheckNoDaxMaps("dx/top/moved").code(), EBUSY);
  EXPECT_EQ(pool_->Snapshot({"dx/top/moved@s"}).code(), EBUSY);
  EXPECT_EQ(*pool_->DaxFileGen(m->ds_obj, obj), *gen);
  auto again = pool_->MapDaxFile(m->ds_obj, obj, 0, 4 * kMiB);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->extents.size(), 2u);
  EXPECT_EQ(again->extents[0].dev_off, m->extents[0].dev_off);  // nothing shared: in place
  pool_->UnmapDaxFile(again->ds_obj, obj);
  pool_->UnmapDaxFile(m->ds_obj, obj);
  ASSERT_TRUE(pool_->DestroyFilesystem("dx/top/moved").ok());
  // A destroyed dataset's object names no mapping's dataset any more.
  EXPECT_EQ(pool_->DaxFileGen(m->ds_obj, obj).status().code(), ENOENT);
  EXPECT_EQ(pool_->MapDaxFile(m->ds_obj, obj, 0, kMiB).status().code(), ENOENT);
}

TEST_F(PoolDaxTest, FencedExtentsAreNotHandedToNewFilesUntilTheFenceIsReleased) {
  ASSERT_TRUE(Write("dx/pm", "f", 0, Pattern(4 * kMiB, 12)).ok());
  const uint64_t obj = Obj("dx/pm", "f");
  ASSERT_NE(obj, 0u);
  auto m = pool_->MapDaxFile("dx/pm", obj, 0, 4 * kMiB);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  pool_->UnmapDaxFile(m->ds_obj, obj);
  ASSERT_EQ(m->extents.size(), 2u);
  std::vector<std::pair<uint64_t, uint64_t>> fenced;
  for (const auto& e : m->extents) fenced.push_back({e.vdev, e.dva_off});
  // A client severed while it mapped f: its process may still store into f's extents.
  bool held = true;
  pool_->FenceDaxExtents(fenced, [&held] { return held; });
  EXPECT_EQ(pool_->DaxFencedExtents(), 2u);
  ASSERT_TRUE(Do("dx/pm", [&](ZplWriter& z, uint64_t) -> Status {
    SetAttr a;
    a.size = 0;
    return z.Setattr(obj, a, ZTime{3, 0});
  }).ok());
  for (int i = 0; i < 3; i++) ASSERT_TRUE(pool_->Sync().ok());
  EXPECT_EQ(DaxAllocated(), 0u);  // freed as usual: only the allocator skips them
  // Fill the device an extent at a time: every free extent but the fenced two.
  uint64_t n = 0;
  while (Write("dx/pm", "g", n * 2 * kMiB, Pattern(4096, 13)).ok()) n++;
  for (int i = 0; i < 3; i++) ASSERT_TRUE(pool_->Sync().ok());
  const uint64_t free_with_fence = n;
  ASSERT_GT(free_with_fence, 4u);
  EXPECT_EQ(DaxAllocated(), free_with_fence * 2 * kMiB);
  held = false;  // the process is gone
  while (Write("dx/pm", "g", n * 2 * kMiB, Pattern(4096, 13)).ok()) n++;
  EXPECT_EQ(n, free_with_fence + 2);
  EXPECT_EQ(pool_->DaxFencedExtents(), 0u);
}

TEST_F(PoolDaxTest, MovedExtentsAreCopiedAndFreedSoASnapshotSharesOnlyTheCopies) {
  const Bytes a = Pattern(4 * kMiB, 14);
  ASSERT_TRUE(Write("dx/pm", "f", 0, a).ok());
  const uint64_t obj = Obj("dx/pm", "f");
  ASSERT_NE(obj, 0u);
  auto m = pool_->MapDaxFile("dx/pm", obj, 0, 4 * kMiB);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_EQ(m->extents.size(), 2u);
  // A severed writer's extents (zfsd fences them first): the second only.
  std::set<std::pair<uint64_t, uint64_t>> old = {{m->extents[1].vdev, m->extents[1].dva_off}};
  pool_->FenceDaxExtents({old.begin(), old.end()}, [] { return true; });
  ASSERT_TRUE(pool_->MoveDaxExtents(m->ds_obj, obj, old).ok());
  for (int i = 0; i < 3; i++) ASSERT_TRUE(pool_->Sync().ok());
  EXPECT_EQ(DaxAllocated(), 4 * kMiB);  // the copy in, the old extent freed
  pool_->SetDaxPaused(m->ds_obj, true);
  ASSERT_TRUE(pool_->Snapshot({"dx/pm@s"}).ok());
  pool_->SetDaxPaused(m->ds_obj, false);
  pool_->UnmapDaxFile(m->ds_obj, obj);
  // The client stores into the extent it had mapped: neither the file nor the snapshot sees it.
  const Bytes junk(kMiB, 0xab);
  {
    FILE* f = fopen((dir_ + "/p0").c_str(), "r+");
    ASSERT_NE(f, nullptr);
    fseek(f, static_cast<long>(m->extents[1].dev_off), SEEK_SET);
    ASSERT_EQ(fwrite(junk.data(), 1, junk.size(), f), junk.size());
    fclose(f);
  }
  EXPECT_EQ(DeviceBytes(m->extents[1].dev_off - 4 * kMiB, 16), Bytes(junk.begin(), junk.begin() + 16));
  EXPECT_EQ(*Read("dx/pm", "f", 0, 4 * kMiB), a);
  auto view = pool_->OpenSnapshotZpl("dx/pm@s");
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  Bytes snap;
  ASSERT_TRUE(pool_->WithSnapshotZpl(**view, [&](Zpl& z) -> Status {
    UZFS_ASSIGN(uint64_t o, z.Lookup("/f"));
    UZFS_ASSIGN(snap, z.ReadFile(o, 0, a.size()));
    return Status::Ok();
  }).ok());
  EXPECT_EQ(snap, a);
  view->reset();
}

TEST_F(PoolDaxTest, DaxOnNeedsADaxClass) {
  // The pool of this fixture has one; a dataset property of a pool without is refused.
  std::string d2 = dir_ + "/q0";
  FILE* f = fopen(d2.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fclose(f);
  ASSERT_EQ(0, truncate(d2.c_str(), static_cast<off_t>(128 * kMiB)));
  PoolCreateSpec s;
  s.name = "plain";
  NvList root, leaf;
  root.AddString("type", "root");
  leaf.AddString("type", "file");
  leaf.AddString("path", d2);
  root.AddNvListArray("children", {leaf});
  s.nvroot = root;
  auto p = Pool::Create(s);
  ASSERT_TRUE(p.ok());
  Status st = (*p)->CreateFilesystem("plain/x", {{"dax", "on"}});
  EXPECT_EQ(st.code(), ENOTSUP);
  EXPECT_EQ(st.message(), "pool has no dax devices");
  ASSERT_TRUE((*p)->CreateFilesystem("plain/y", {}).ok());
  st = (*p)->SetDatasetProp("plain/y", "dax", "on");
  EXPECT_EQ(st.code(), ENOTSUP);
  EXPECT_TRUE((*p)->SetDatasetProp("plain/y", "dax", "off").ok());
  ASSERT_TRUE((*p)->Export().ok());
  // And a DAX file cannot be mapped through libzfs yet.
  ASSERT_TRUE(Write("dx/pm", "m", 0, Pattern(4096, 6)).ok());
  const uint64_t obj = Obj("dx/pm", "m");
  ASSERT_NE(obj, 0u);
  EXPECT_EQ(pool_->MapFile("dx/pm", obj).status().code(), ENOTSUP);
}

}  // namespace
}  // namespace uzfs
