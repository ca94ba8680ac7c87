// Separate intent log devices and the top-level namespace: a log device takes the intent
// log's blocks and nothing else and is no pool space; zpool add places new vdevs at the first
// hole, else after the last; the removal of a log device (with live log blocks on it) leaves
// a hole, or nothing when it was the last, every fsync'ed change still there after a crash;
// a pool with a hole imports again. Hot spares: listed, labelled, replaced with, removed.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "libcore/pool/pool.h"
#include "libcore/vdev/vdev_label.h"

#include <gtest/gtest.h>

namespace uzfs {
namespace {

class PoolVdevsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/uzfs-vdevtest.XXXXXX";
    ASSERT_NE(nullptr, mkdtemp(tmpl));
    dir_ = tmpl;
  }
  void TearDown() override {
    pool_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::string Dev(const std::string& name, uint64_t size = 128ULL << 20) {
    std::string p = dir_ + "/" + name;
    if (!std::filesystem::exists(p)) {
      FILE* f = fopen(p.c_str(), "w");
      EXPECT_NE(f, nullptr);
      fclose(f);
      EXPECT_EQ(0, truncate(p.c_str(), static_cast<off_t>(size)));
      devs_.push_back(p);
    }
    return p;
  }
  static NvList Leaf(const std::string& path, bool log = false) {
    NvList leaf;
    leaf.AddString("type", "file");
    leaf.AddString("path", path);
    leaf.AddUint64("is_log", log ? 1 : 0);
    return leaf;
  }
  static NvList Root(std::vector<NvList> tops) {
    NvList root;
    root.AddString("type", "root");
    root.AddNvListArray("children", std::move(tops));
    return root;
  }
  void Create(std::vector<NvList> tops, std::vector<NvList> spares = {}) {
    PoolCreateSpec s;
    s.name = "tank";
    s.nvroot = Root(std::move(tops));
    if (!spares.empty()) s.nvroot.AddNvListArray("spares", std::move(spares));
    auto p = Pool::Create(s);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    pool_ = std::move(p).value();
  }
  // Drops the pool without export (crash = true: no sync, as a SIGKILL) and imports it again.
  void Reimport(bool crash) {
    if (!crash) {
      ASSERT_TRUE(pool_->Export().ok());
    }
    pool_.reset();
    PoolImportSpec is;
    is.devices = devs_;
    is.pool = "tank";
    is.force = true;
    auto p = Pool::Import(is);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    pool_ = std::move(p).value();
  }
  std::vector<NvList> Tops() {
    NvList cfg = pool_->StatusConfig();
    return *cfg.GetNvList("vdev_tree")->GetNvListArray("children");
  }
  uint64_t GuidOf(const std::string& path) {
    for (const NvList& t : Tops())
      if (t.GetString("path") && *t.GetString("path") == path) return *t.GetUint64("guid");
    return 0;
  }
  ZTime Now() { return ZTime{1700000000, 0}; }
  Result<uint64_t> WriteFile(const std::string& name, const Bytes& data) {
    uint64_t obj = 0;
    UZFS_TRY(pool_->WithZpl("tank", [&](ZplWriter& z, uint64_t txg) -> Status {
      UZFS_ASSIGN(obj, z.Create(z.root(), name, S_IFREG | 0644, 0, 0, txg, Now()));
      return Status::Ok();
    }));
    UZFS_TRY(pool_->WithZpl("tank", [&](ZplWriter& z, uint64_t) { return z.Write(obj, 0, data, Now()); },
                            data.size()));
    return obj;
  }
  Result<Bytes> ReadFile(const std::string& name) {
    Bytes out;
    UZFS_TRY(pool_->WithZpl("tank", [&](ZplWriter& z, uint64_t) -> Status {
      UZFS_ASSIGN(uint64_t obj, z.Lookup(z.root(), name));
      UZFS_ASSIGN(ZnodePhys zp, z.GetAttr(obj));
      UZFS_ASSIGN(out, z.Read(obj, 0, zp.size));
      return Status::Ok();
    }));
    return out;
  }

  std::string dir_;
  std::vector<std::string> devs_;
  std::unique_ptr<Pool> pool_;
};

TEST_F(PoolVdevsTest, ALogDeviceTakesTheLogAndNothingElse) {
  Create({Leaf(Dev("d0")), Leaf(Dev("l0"), true)});
  auto tops = Tops();
  ASSERT_EQ(tops.size(), 2u);
  EXPECT_EQ(tops[1].GetUint64("is_log").value_or(0), 1u);
  // spa_get_space: the pool's size is its data vdev's alone.
  EXPECT_EQ(pool_->size(), *tops[0].GetUint64("space"));
  EXPECT_EQ(pool_->GetProp("size")->value, std::to_string(*tops[0].GetUint64("space")));
  ASSERT_TRUE(WriteFile("data", Bytes(3 << 20, 'd')).ok());
  ASSERT_TRUE(pool_->Sync().ok());
  EXPECT_EQ(*Tops()[1].GetUint64("alloc"), 0u);  // no data, no metadata on the log device
  // The first commit starts the chain (a sync); the next ones write log blocks there.
  ASSERT_TRUE(WriteFile("first", Bytes(100, 'f')).ok());
  ASSERT_TRUE(pool_->ZilCommit("tank").ok());
  ASSERT_TRUE(WriteFile("logged", Bytes(20000, 'L')).ok());
  ASSERT_TRUE(pool_->ZilCommit("tank").ok());
  EXPECT_GE(pool_->zil_stats().log_blocks, 1u);
  const uint64_t data_alloc = *Tops()[0].GetUint64("alloc");
  EXPECT_GT(*Tops()[1].GetUint64("alloc"), 0u);
  EXPECT_EQ(pool_->allocated(), data_alloc);  // log space is not the pool's
  // A crash: the import claims the log on the log device and the ZPL's open replays it.
  Reimport(/*crash=*/true);
  auto back = ReadFile("logged");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, Bytes(20000, 'L'));
}

TEST_F(PoolVdevsTest, AddFillsHolesFirstAndRemoveLeavesThemOrCompacts) {
  Create({Leaf(Dev("d0"))});
  ASSERT_TRUE(pool_->AddVdevs(Root({Leaf(Dev("l0"), true)})).ok());
  ASSERT_TRUE(pool_->AddVdevs(Root({Leaf(Dev("d1"))})).ok());
  auto tops = Tops();
  ASSERT_EQ(tops.size(), 3u);
  EXPECT_EQ(*tops[1].GetString("path"), Dev("l0"));
  EXPECT_EQ(tops[1].GetUint64("is_log").value_or(0), 1u);
  EXPECT_EQ(*tops[2].GetString("path"), Dev("d1"));
  // Only a log device of its own leaves; unknown guids are no device.
  EXPECT_EQ(pool_->RemoveVdev(GuidOf(Dev("d1"))).code(), ENOTSUP);
  EXPECT_EQ(pool_->RemoveVdev(12345).code(), ENODEV);
  ASSERT_TRUE(pool_->RemoveVdev(GuidOf(Dev("l0"))).ok());
  tops = Tops();
  ASSERT_EQ(tops.size(), 3u);
  EXPECT_EQ(*tops[1].GetString("type"), "hole");
  EXPECT_EQ(tops[1].GetUint64("is_hole").value_or(0), 1u);
  // The removed device's labels say txg 0: no import takes it.
  {
    auto f = PosixEnv()->Open(Dev("l0"), OpenOptions{});
    ASSERT_TRUE(f.ok());
    auto dl = ReadDeviceLabels(**f);
    ASSERT_TRUE(dl.ok() && dl->config());
    EXPECT_EQ(*dl->config()->GetUint64("txg"), 0u);
  }
  devs_.erase(std::find(devs_.begin(), devs_.end(), Dev("l0")));
  // The hole survives an export and import (hole_array), and the next add takes its id.
  Reimport(/*crash=*/false);
  tops = Tops();
  ASSERT_EQ(tops.size(), 3u);
  EXPECT_EQ(*tops[1].GetString("type"), "hole");
  ASSERT_TRUE(pool_->AddVdevs(Root({Leaf(Dev("l1"), true)})).ok());
  tops = Tops();
  ASSERT_EQ(tops.size(), 3u);
  EXPECT_EQ(*tops[1].GetString("path"), Dev("l1"));
  // A log device that is the last top-level vdev goes without a hole.
  ASSERT_TRUE(pool_->AddVdevs(Root({Leaf(Dev("l2"), true)})).ok());
  ASSERT_EQ(Tops().size(), 4u);
  ASSERT_TRUE(pool_->RemoveVdev(GuidOf(Dev("l2"))).ok());
  ASSERT_EQ(Tops().size(), 3u);
  devs_.pop_back();
  Reimport(/*crash=*/false);
  ASSERT_EQ(Tops().size(), 3u);
  EXPECT_EQ(*Tops()[1].GetString("path"), Dev("l1"));
}

TEST_F(PoolVdevsTest, AddRefusesASmallDevice) {
  Create({Leaf(Dev("d0"))});
  Status s = pool_->AddVdevs(Root({Leaf(Dev("tiny", 32ULL << 20), true)}));
  EXPECT_EQ(s.code(), EOVERFLOW);
  EXPECT_EQ(s.message(), "device is less than the minimum size (64M)");
  EXPECT_EQ(Tops().size(), 1u);
  EXPECT_EQ(pool_->AddVdevs(Root({})).code(), EINVAL);
}

// zil_vdev_offline: the logs with blocks on the device are given up in a txg that holds
// what they described; later commits log elsewhere, and a crash loses nothing fsync'ed.
TEST_F(PoolVdevsTest, RemovingALogDeviceWithLiveLogBlocksKeepsEveryCommittedChange) {
  Create({Leaf(Dev("d0")), Leaf(Dev("l0"), true)});
  ASSERT_TRUE(WriteFile("first", Bytes(100, 'f')).ok());
  ASSERT_TRUE(pool_->ZilCommit("tank").ok());  // the chain, on the log device
  ASSERT_TRUE(WriteFile("before", Bytes(9000, 'b')).ok());
  ASSERT_TRUE(pool_->ZilCommit("tank").ok());
  ASSERT_GT(*Tops()[1].GetUint64("alloc"), 0u);
  ASSERT_TRUE(pool_->RemoveVdev(GuidOf(Dev("l0"))).ok());
  EXPECT_EQ(Tops().size(), 1u);
  ASSERT_TRUE(pool_->ZilCommit("tank").ok());  // a new chain, on the data vdev
  ASSERT_TRUE(WriteFile("after", Bytes(7000, 'a')).ok());
  ASSERT_TRUE(pool_->ZilCommit("tank").ok());
  devs_ = {Dev("d0")};
  Reimport(/*crash=*/true);
  EXPECT_EQ(*ReadFile("before"), Bytes(9000, 'b'));
  EXPECT_EQ(*ReadFile("after"), Bytes(7000, 'a'));
}

// Hot spares (pool_spares.cc): listed in the MOS and in status with their state, labelled
// as inactive spares; a replace with one makes a spare vdev with the spare's guid; a crash
// keeps the list; detaching the original drops the spare from the list.
TEST_F(PoolVdevsTest, SparesAreListedLabelledReplacedAndRemoved) {
  auto spares = [&]() {
    std::vector<std::pair<std::string, std::string>> out;
    NvList cfg = pool_->StatusConfig();
    if (const auto* sp = cfg.GetNvList("vdev_tree")->GetNvListArray("spares"))
      for (const NvList& s : *sp) out.push_back({*s.GetString("path"), *s.GetString("state")});
    return out;
  };
  using V = std::vector<std::pair<std::string, std::string>>;
  Create({Leaf(Dev("d0"))}, {Leaf(Dev("s0"))});
  EXPECT_EQ(spares(), (V{{Dev("s0"), "AVAIL"}}));
  // The spare's own label: POOL_STATE_SPARE, its guid, no pool.
  {
    auto f = PosixEnv()->Open(Dev("s0"), OpenOptions{});
    ASSERT_TRUE(f.ok());
    auto dl = ReadDeviceLabels(**f);
    ASSERT_TRUE(dl.ok() && dl->config());
    EXPECT_EQ(dl->config()->GetUint64("state").value_or(0), 3u);
    EXPECT_FALSE(dl->config()->Has("pool_guid"));
  }
  // Spares only: added without a new vdev; a too small one, a duplicate refused.
  NvList add = Root({});
  add.AddNvListArray("spares", {Leaf(Dev("s1"))});
  ASSERT_TRUE(pool_->AddVdevs(add).ok());
  add.AddNvListArray("spares", {Leaf(Dev("tiny", 32ULL << 20))});
  EXPECT_EQ(pool_->AddVdevs(add).code(), EOVERFLOW);
  add.AddNvListArray("spares", {Leaf(Dev("s1"))});
  EXPECT_EQ(pool_->AddVdevs(add).code(), EBUSY);
  EXPECT_EQ(spares(), (V{{Dev("s0"), "AVAIL"}, {Dev("s1"), "AVAIL"}}));
  ASSERT_TRUE(WriteFile("f", Bytes(50000, 'x')).ok());
  ASSERT_TRUE(pool_->Sync().ok());
  // A crash keeps the list (it is in the synced MOS).
  devs_ = {Dev("d0")};
  Reimport(/*crash=*/true);
  EXPECT_EQ(spares(), (V{{Dev("s0"), "AVAIL"}, {Dev("s1"), "AVAIL"}}));
  // Replace d0 with s0: a spare vdev, s0 with its list guid, INUSE; it cannot be removed.
  NvList cfg = pool_->StatusConfig();
  uint64_t s0_guid = 0;
  for (const NvList& s : *cfg.GetNvList("vdev_tree")->GetNvListArray("spares"))
    if (*s.GetString("path") == Dev("s0")) s0_guid = *s.GetUint64("guid");
  ASSERT_TRUE(pool_->AttachVdev(GuidOf(Dev("d0")), Root({Leaf(Dev("s0"))}), true).ok());
  const NvList top = Tops()[0];
  EXPECT_EQ(*top.GetString("type"), "spare");
  EXPECT_EQ(*(*top.GetNvListArray("children"))[1].GetUint64("guid"), s0_guid);
  EXPECT_EQ(spares(), (V{{Dev("s0"), "INUSE"}, {Dev("s1"), "AVAIL"}}));
  EXPECT_EQ(pool_->RemoveVdev(s0_guid).code(), EBUSY);
  // Removing s1: gone from the list, for good.
  uint64_t s1_guid = 0;
  cfg = pool_->StatusConfig();
  for (const NvList& s : *cfg.GetNvList("vdev_tree")->GetNvListArray("spares"))
    if (*s.GetString("path") == Dev("s1")) s1_guid = *s.GetUint64("guid");
  ASSERT_TRUE(pool_->RemoveVdev(s1_guid).ok());
  EXPECT_EQ(spares(), (V{{Dev("s0"), "INUSE"}}));
  // Until the resilver ends the original cannot go; afterwards detaching it makes s0 a pool
  // disk (no longer listed).
  for (int i = 0; i < 200 && pool_->scan_status().state == "scanning"; i++)
    pool_->ScanStep(std::chrono::milliseconds(200));
  ASSERT_TRUE(pool_->Sync().ok());
  // (d0 is below the spare vdev now: its guid from there.)
  uint64_t d0_guid = *(*Tops()[0].GetNvListArray("children"))[0].GetUint64("guid");
  ASSERT_TRUE(pool_->DetachVdev(d0_guid).ok());
  EXPECT_EQ(*Tops()[0].GetString("path"), Dev("s0"));
  EXPECT_EQ(spares(), V{});
  devs_ = {Dev("s0")};
  Reimport(/*crash=*/false);
  EXPECT_EQ(spares(), V{});
  EXPECT_EQ(*ReadFile("f"), Bytes(50000, 'x'));
}

}  // namespace
}  // namespace uzfs

namespace uzfs {
namespace {

// vdev_online with ZFS_ONLINE_EXPAND / vdev_expand: a grown file gives its top-level vdev
// whole new metaslabs, its asize in the config and labels; a crash after the expansion
// imports with them; data written before and after reads back; a plain online without
// autoexpand leaves the new space alone.
TEST_F(PoolVdevsTest, OnlineExpandGrowsTheVdevAndTheLabelsFollow) {
  const std::string d0 = Dev("d0");
  Create({Leaf(d0)});
  const uint64_t before = pool_->size();
  auto bytes = [](size_t n, uint8_t seed) {
    Bytes b(n);
    for (size_t i = 0; i < n; i++) b[i] = static_cast<uint8_t>(i * 31 + seed);
    return b;
  };
  ASSERT_TRUE(WriteFile("a", bytes(300000, 1)).ok());
  ASSERT_EQ(0, truncate(d0.c_str(), static_cast<off_t>(256ULL << 20)));
  const uint64_t guid = GuidOf(d0);
  auto st = pool_->OnlineVdev(guid, false);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(*st, LeafState::kOnline);
  EXPECT_EQ(pool_->size(), before);  // autoexpand is off
  ASSERT_TRUE(pool_->OnlineVdev(guid, true).ok());
  const uint64_t asize = (256ULL << 20) - kVdevLabelStartSize - kVdevLabelEndSize;
  // The shift creation chose stays (vdev_metaslab_init with the old ms_shift).
  const uint64_t shift =
      MetaslabGroup::MetaslabShiftFor((128ULL << 20) - kVdevLabelStartSize - kVdevLabelEndSize);
  EXPECT_EQ(pool_->size(), (asize >> shift) << shift);
  EXPECT_GT(pool_->size(), before);
  ASSERT_TRUE(WriteFile("b", bytes(300000, 2)).ok());
  ASSERT_TRUE(pool_->Sync().ok());
  // Every label of the device, the two at its new end among them, says the new asize.
  {
    auto f = PosixEnv()->Open(d0, OpenOptions{});
    ASSERT_TRUE(f.ok());
    auto dl = ReadDeviceLabels(**f);
    ASSERT_TRUE(dl.ok());
    ASSERT_EQ(dl->labels.size(), 4u);
    for (const LabelRead& lr : dl->labels) {
      ASSERT_TRUE(lr.status.ok()) << lr.status.ToString();
      EXPECT_EQ(lr.config.GetNvList("vdev_tree")->GetUint64("asize").value_or(0), asize);
    }
  }
  Reimport(/*crash=*/true);
  EXPECT_EQ(pool_->size(), (asize >> shift) << shift);
  EXPECT_EQ(*ReadFile("a"), bytes(300000, 1));
  EXPECT_EQ(*ReadFile("b"), bytes(300000, 2));
}

// vdev_online's *newstate: a leaf zinject -A fault degraded (vdev_fault's back-off: it holds
// the only copy) stays DEGRADED through zpool online; zpool clear makes it ONLINE, and an
// online then says so.
TEST_F(PoolVdevsTest, OnlineReturnsTheLeafsNewState) {
  Create({Leaf(Dev("d0"))});
  const uint64_t guid = GuidOf(Dev("d0"));
  ASSERT_TRUE(pool_->FaultDevice(guid).ok());
  auto st = pool_->OnlineVdev(guid, false);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(*st, LeafState::kDegraded);
  ASSERT_TRUE(pool_->ClearErrors(guid).ok());
  st = pool_->OnlineVdev(guid, false);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(*st, LeafState::kOnline);
  EXPECT_EQ(pool_->OnlineVdev(guid + 1, false).status().code(), ENODEV);
}

// zfs_retire.c: replace_with_spare follows zpool_vdev_degrade as it follows
// zpool_vdev_fault, so a DEGRADED leaf is given the AVAIL spare.
TEST_F(PoolVdevsTest, ADegradedLeafGetsTheSpare) {
  Create({Leaf(Dev("d0"))}, {Leaf(Dev("s0"))});
  ASSERT_TRUE(pool_->FaultDevice(GuidOf(Dev("d0"))).ok());
  EXPECT_TRUE(pool_->spare_wanted());
  EXPECT_TRUE(pool_->ActivateSpares());
  const std::vector<NvList> tops = Tops();
  ASSERT_EQ(tops.size(), 1u);
  EXPECT_EQ(*tops[0].GetString("type"), "spare");
  const auto* kids = tops[0].GetNvListArray("children");
  ASSERT_TRUE(kids && kids->size() == 2);
  EXPECT_EQ(*(*kids)[0].GetString("state"), "DEGRADED");
  EXPECT_EQ(*(*kids)[1].GetString("path"), Dev("s0"));
  EXPECT_FALSE(pool_->ActivateSpares());  // nothing more to do
}

}  // namespace
}  // namespace uzfs
