// Pool over in-memory devices: create (single, mirror, raidz1, raidz2) → export → import,
// properties and history persisting, destroy, create's refusals; and power cuts (FaultEnv)
// at many points of several syncs: the pool must always come back at a txg whose sync had
// completed or was under way, never torn, with that txg's property values.
#include "libcore/pool/pool.h"
#include "libcore/pool/pool_test_util.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "libcore/spa/spa.h"

namespace uzfs {
namespace {

constexpr uint64_t kDevSize = 128ULL << 20;

// nvroot with one top-level vdev: "file", "mirror", "raidz1", "raidz2" over paths.
NvList Root(const std::string& kind, const std::vector<std::string>& paths) {
  NvList top;
  if (kind == "file") {
    top = Leaf(paths[0]);
  } else {
    std::vector<NvList> kids;
    for (const auto& p : paths) kids.push_back(Leaf(p));
    top.AddString("type", kind == "mirror" ? "mirror" : "raidz");
    if (kind != "mirror") top.AddUint64("nparity", kind == "raidz2" ? 2 : 1);
    top.AddNvListArray("children", kids);
  }
  NvList root;
  root.AddString("type", "root");
  root.AddNvListArray("children", {top});
  return root;
}

std::string Prop(Pool& p, const std::string& name) {
  auto v = p.GetProp(name);
  EXPECT_TRUE(v.ok()) << name << ": " << v.status().ToString();
  return v.ok() ? v->value : "?";
}

struct Shape {
  std::string kind;
  int devices;
};

class PoolLifecycleTest : public ::testing::TestWithParam<Shape> {};

TEST_P(PoolLifecycleTest, CreateExportImportKeepsPropsAndHistory) {
  const Shape& s = GetParam();
  auto env = NewMemEnv();
  std::vector<std::string> paths;
  for (int i = 0; i < s.devices; i++) {
    paths.push_back("/dev/" + s.kind + std::to_string(i));
    MakeDevice(env.get(), paths.back(), kDevSize);
  }
  PoolCreateSpec cs;
  cs.name = "tank";
  cs.nvroot = Root(s.kind, paths);
  cs.props = {{"failmode", "continue"}};
  cs.env = env.get();
  auto p = Pool::Create(cs);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  Pool& pool = **p;
  EXPECT_EQ(pool.txg(), kTxgInitial);
  EXPECT_EQ(Prop(pool, "failmode"), "continue");
  EXPECT_EQ(Prop(pool, "health"), "ONLINE");
  EXPECT_GT(pool.size(), 0u);
  EXPECT_GT(pool.allocated(), 0u);
  ASSERT_TRUE(pool.LogHistory("zpool create tank").ok());
  ASSERT_TRUE(pool.Sync().ok());
  ASSERT_TRUE(pool.SetProp("autoreplace", "on").ok());
  ASSERT_TRUE(pool.SetProp("comment", "first pool").ok());
  ASSERT_TRUE(pool.LogHistory("zpool set autoreplace=on tank").ok());
  ASSERT_TRUE(pool.Sync().ok());
  ASSERT_TRUE(pool.SetProp("failmode", "panic").ok());
  ASSERT_TRUE(pool.LogHistory("zpool set failmode=panic tank").ok());
  uint64_t size = pool.size(), guid = pool.guid();
  ASSERT_TRUE(pool.Export().ok());
  p->reset();

  auto cands = Spa::ScanDevices(paths, env.get());
  ASSERT_EQ(cands.size(), 1u);
  EXPECT_EQ(cands[0].name, "tank");
  EXPECT_EQ(cands[0].state, kPoolStateExported);
  PoolImportSpec is;
  is.devices = paths;
  is.pool = "tank";
  is.env = env.get();
  auto q = Pool::Import(is);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  Pool& back = **q;
  EXPECT_EQ(back.guid(), guid);
  EXPECT_EQ(back.size(), size);
  EXPECT_EQ(Prop(back, "failmode"), "panic");
  EXPECT_EQ(Prop(back, "autoreplace"), "on");
  EXPECT_EQ(Prop(back, "comment"), "first pool");
  EXPECT_EQ(Prop(back, "delegation"), "on");  // never set: the default
  EXPECT_EQ(back.GetProp("delegation")->source, "default");
  EXPECT_EQ(back.GetProp("failmode")->source, "local");
  auto h = back.History();
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  std::vector<std::string> cmds;
  for (const auto& r : *h)
    if (!r.internal) cmds.push_back(r.command);
  EXPECT_EQ(cmds, (std::vector<std::string>{"zpool create tank", "zpool set autoreplace=on tank",
                                            "zpool set failmode=panic tank"}));
  // The imported pool keeps working: another change, export, import by guid.
  ASSERT_TRUE(back.SetProp("comment", "second").ok());
  ASSERT_TRUE(back.Export().ok());
  q->reset();
  is.pool = std::to_string(guid);
  auto r = Pool::Import(is);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Prop(**r, "comment"), "second");
  // Destroyed pools are not imported.
  ASSERT_TRUE((*r)->Destroy().ok());
  r->reset();
  EXPECT_EQ(Pool::Import(is).status().code(), ENOENT);
  is.pool = "tank";
  EXPECT_EQ(Pool::Import(is).status().code(), ENOENT);
}

INSTANTIATE_TEST_SUITE_P(Shapes, PoolLifecycleTest,
                         ::testing::Values(Shape{"file", 1}, Shape{"mirror", 2},
                                           Shape{"raidz1", 3}, Shape{"raidz2", 4}),
                         [](const ::testing::TestParamInfo<Shape>& i) { return i.param.kind; });

TEST(PoolCreate, Refusals) {
  auto env = NewMemEnv();
  MakeDevice(env.get(), "/dev/small", 32ULL << 20);
  MakeDevice(env.get(), "/dev/a", 80ULL << 20);
  MakeDevice(env.get(), "/dev/b", 80ULL << 20);
  PoolCreateSpec cs;
  cs.name = "tank";
  cs.env = env.get();
  cs.nvroot = Root("file", {"/dev/small"});
  EXPECT_EQ(Pool::Create(cs).status().code(), EOVERFLOW);
  cs.nvroot = Root("mirror", {"/dev/a", "/dev/a"});
  EXPECT_EQ(Pool::Create(cs).status().code(), EINVAL);
  cs.nvroot = Root("file", {"/dev/a"});
  cs.props = {{"bogus", "1"}};
  EXPECT_EQ(Pool::Create(cs).status().code(), EINVAL);
  cs.props = {{"failmode", "sometimes"}};
  EXPECT_EQ(Pool::Create(cs).status().code(), EINVAL);
  cs.props = {{"size", "1"}};  // read-only
  EXPECT_NE(Pool::Create(cs).status().code(), 0);
  cs.props = {};
  cs.nvroot = Root("file", {"relative/path"});
  EXPECT_EQ(Pool::Create(cs).status().code(), EINVAL);
  cs.nvroot = Root("file", {"/dev/missing"});
  EXPECT_EQ(Pool::Create(cs).status().code(), ENOENT);
  cs.nvroot = Root("raidz2", {"/dev/a", "/dev/b"});
  EXPECT_EQ(Pool::Create(cs).status().code(), EINVAL);
  // None of the refusals left a pool behind.
  EXPECT_TRUE(Spa::ScanDevices({"/dev/a", "/dev/b"}, env.get()).empty());
  cs.nvroot = Root("file", {"/dev/a"});
  auto p = Pool::Create(cs);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ((*p)->SetProp("bogus", "1").code(), EINVAL);
  EXPECT_EQ((*p)->SetProp("size", "1").code(), EROFS);
  EXPECT_EQ((*p)->SetProp("failmode", "never").code(), EINVAL);
  EXPECT_EQ((*p)->GetProp("bogus").status().code(), EINVAL);
}

// A property that lives only in the pool_props ZAP (not in the label config) must be written
// by the next Sync(), not left in memory until something else dirties the MOS.
TEST(PoolProps, ChangeOfAZapOnlyPropertyIsSyncedAndSurvivesACrash) {
  auto env = NewMemEnv();
  MakeDevice(env.get(), "/dev/z", 80ULL << 20);
  PoolCreateSpec cs;
  cs.name = "zp";
  cs.env = env.get();
  cs.nvroot = Root("file", {"/dev/z"});
  auto p = Pool::Create(cs);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  for (const char* mode : {"panic", "continue"}) {
    uint64_t before = (*p)->txg();
    ASSERT_TRUE((*p)->SetProp("failmode", mode).ok());
    ASSERT_TRUE((*p)->Sync().ok());
    EXPECT_EQ((*p)->txg(), before + 1) << "failmode=" << mode << " was not synced";
  }
  p->reset();  // no export: what is on disk is all there is
  PoolImportSpec is;
  is.devices = {"/dev/z"};
  is.pool = "zp";
  is.env = env.get();
  auto q = Pool::Import(is);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(Prop(**q, "failmode"), "continue");
}

TEST(PoolHistory, WrapsKeepingTheCreationRecordAndTheNewestInOrder) {
  auto env = NewMemEnv();
  MakeDevice(env.get(), "/dev/h", 96ULL << 20);
  PoolCreateSpec cs;
  cs.name = "hist";
  cs.env = env.get();
  cs.nvroot = Root("file", {"/dev/h"});
  auto p = Pool::Create(cs);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  // 128K of ring (the minimum); 400 records of ~1000 bytes wrap it about three times.
  const std::string pad(950, '.');
  for (int i = 0; i < 400; i++) {
    ASSERT_TRUE((*p)->LogHistory("cmd " + std::to_string(i) + " " + pad).ok());
    if (i % 7 == 6) {
      ASSERT_TRUE((*p)->Sync().ok());
    }
  }
  ASSERT_TRUE((*p)->Export().ok());
  p->reset();
  PoolImportSpec is;
  is.devices = {"/dev/h"};
  is.pool = "hist";
  is.env = env.get();
  auto q = Pool::Import(is);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  auto h = (*q)->History();
  ASSERT_TRUE(h.ok());
  std::vector<int> ids;
  for (const auto& r : *h) {
    if (r.internal) continue;
    ASSERT_EQ(r.command.rfind("cmd ", 0), 0u) << r.command.substr(0, 40);
    ids.push_back(std::stoi(r.command.substr(4)));
    EXPECT_EQ(r.command.substr(r.command.size() - pad.size()), pad) << "torn record";
  }
  ASSERT_GE(ids.size(), 60u);
  EXPECT_EQ(ids.front(), 0) << "the creation record is kept";
  EXPECT_EQ(ids.back(), 399);
  for (size_t i = 2; i < ids.size(); i++) EXPECT_EQ(ids[i], ids[i - 1] + 1) << i;
  EXPECT_LT(ids.size(), 200u) << "the ring holds 128K";
}

// ---- power cuts ----

struct Step {
  std::string failmode, autoreplace, comment;
};

Step StepFor(int i) {
  static const char* modes[] = {"wait", "continue", "panic"};
  return {modes[i % 3], i % 2 ? "on" : "off", "c" + std::to_string(i)};
}

// Creates a pool over a FaultEnv, arms a sticky I/O failure `cut` I/Os into a series of
// property-changing syncs, then drops every unsynced write (the power cut) and imports the
// devices as they were left. Returns false when the cut came after all the syncs.
// A power cut that is harsher than FaultEnv's: the writes issued since the last Sync() of a
// file reach the medium in any subset (a disk cache reorders them), not all-or-nothing. The
// cut comes at the Nth I/O; from then on every I/O fails. Only what the pool flushed before
// depending on it is guaranteed, which is what vdev_config_sync's flush order is for.
class TornEnv : public Env {
 public:
  TornEnv(Env* base, uint64_t seed) : base_(base), rng_(seed) {}
  void CutAt(uint64_t n) { cut_at_ = n ? ios_ + n : 0; }
  uint64_t io_count() const { return ios_; }
  void PowerOff() { Die(); }

  Result<std::unique_ptr<File>> Open(const std::string& path, const OpenOptions& o) override {
    UZFS_ASSIGN(auto f, base_->Open(path, o));
    return std::unique_ptr<File>(new TornFile(this, std::move(f)));
  }
  Result<std::vector<std::string>> ListDir(const std::string& dir) override {
    return base_->ListDir(dir);
  }
  bool Exists(const std::string& path) override { return base_->Exists(path); }
  Status Rename(const std::string& from, const std::string& to) override { return base_->Rename(from, to); }
  Status Remove(const std::string& path) override { return base_->Remove(path); }

 private:
  struct Pending {
    uint64_t off;
    Bytes data;
  };
  class TornFile : public File {
   public:
    TornFile(TornEnv* env, std::unique_ptr<File> base) : env_(env), base_(std::move(base)) {}
    Status ReadAt(uint64_t off, MutByteSpan buf) override {
      if (env_->Tick()) return Status::Error(EIO, "powered off");
      UZFS_TRY(base_->ReadAt(off, buf));
      for (const Pending& w : env_->pending_[Name()]) {
        uint64_t s = std::max(off, w.off), e = std::min<uint64_t>(off + buf.size(), w.off + w.data.size());
        if (s < e) std::memcpy(buf.data() + (s - off), w.data.data() + (s - w.off), e - s);
      }
      return Status::Ok();
    }
    Status WriteAt(uint64_t off, ByteSpan data) override {
      if (env_->Tick()) return Status::Error(EIO, "powered off");
      env_->pending_[Name()].push_back({off, Bytes(data.begin(), data.end())});
      return Status::Ok();
    }
    Status Sync() override {
      if (env_->Tick()) return Status::Error(EIO, "powered off");
      for (const Pending& w : env_->pending_[Name()]) UZFS_TRY(base_->WriteAt(w.off, w.data));
      env_->pending_[Name()].clear();
      return base_->Sync();
    }
    Result<uint64_t> Size() override { return base_->Size(); }
    const std::string& Name() const override { return base_->Name(); }

   private:
    TornEnv* env_;
    std::unique_ptr<File> base_;
  };
  // Counts one I/O; true when the power is off.
  bool Tick() {
    ios_++;
    if (!dead_ && cut_at_ && ios_ >= cut_at_) Die();
    return dead_;
  }
  void Die() {
    if (dead_) return;
    dead_ = true;
    for (auto& [path, writes] : pending_) {
      auto f = base_->Open(path, OpenOptions{.write = true});
      if (!f.ok()) continue;
      for (const Pending& w : writes)
        if (rng_() % 2) (void)(*f)->WriteAt(w.off, w.data);
    }
    pending_.clear();
  }
  Env* base_;
  std::mt19937_64 rng_;
  uint64_t ios_ = 0, cut_at_ = 0;
  bool dead_ = false;
  std::map<std::string, std::vector<Pending>> pending_;
};

// The fault injection a cut runs over: FaultEnv (sticky failure at the Nth I/O, then
// DropUnsyncedWrites) or TornEnv (unsynced writes land in a random subset).
struct Cutter {
  virtual ~Cutter() = default;
  virtual Env* env() = 0;
  virtual void Arm(uint64_t n) = 0;
  virtual uint64_t ios() const = 0;
  virtual void PowerOff() = 0;
};
struct FaultCutter : Cutter {
  explicit FaultCutter(Env* base) : fe(base) {}
  Env* env() override { return &fe; }
  void Arm(uint64_t n) override { fe.FailNthIo(n, /*sticky=*/true); }
  uint64_t ios() const override { return fe.io_count(); }
  void PowerOff() override { fe.DropUnsyncedWrites(); }
  FaultEnv fe;
};
struct TornCutter : Cutter {
  TornCutter(Env* base, uint64_t seed) : te(base, seed) {}
  Env* env() override { return &te; }
  void Arm(uint64_t n) override { te.CutAt(n); }
  uint64_t ios() const override { return te.io_count(); }
  void PowerOff() override { te.PowerOff(); }
  TornEnv te;
};

bool CutAndCheck(const std::string& kind, int ndev, uint64_t cut, int steps,
                 uint64_t* ios_used, bool torn = false) {
  auto mem = NewMemEnv();
  std::vector<std::string> paths;
  for (int i = 0; i < ndev; i++) {
    paths.push_back("/pc/d" + std::to_string(i));
    MakeDevice(mem.get(), paths.back(), 64ULL << 20);
  }
  std::unique_ptr<Cutter> cutter;
  if (torn) cutter = std::make_unique<TornCutter>(mem.get(), cut * 7919 + 1);
  else cutter = std::make_unique<FaultCutter>(mem.get());
  PoolCreateSpec cs;
  cs.name = "cut";
  cs.env = cutter->env();
  cs.nvroot = Root(kind, paths);
  auto p = Pool::Create(cs);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  if (!p.ok()) return false;
  std::map<uint64_t, Step> durable;  // txg → property values it holds
  durable[(*p)->txg()] = Step{"wait", "off", "-"};
  uint64_t last_ok = (*p)->txg();
  uint64_t start = cutter->ios();
  if (cut) cutter->Arm(cut);
  bool cut_hit = false;
  std::string comment = "-";
  for (int i = 0; i < steps; i++) {
    Step st = StepFor(i);
    // After the cut every I/O fails, reads of the MOS included: a property change may then
    // fail too (with EIO, or ENXIO once the device failed its probe and was faulted:
    // vdev_health.h), and the machine is "dead" from there on.
    Status set = (*p)->SetProp("failmode", st.failmode);
    if (set.ok()) set = (*p)->SetProp("autoreplace", st.autoreplace);
    // The comment lives in the label config: only some txgs rewrite the labels.
    if (set.ok() && i % 2 == 1) {
      comment = st.comment;
      set = (*p)->SetProp("comment", comment);
    }
    st.comment = comment;
    if (!set.ok()) {
      EXPECT_TRUE(cut) << set.ToString();
      EXPECT_TRUE(set.code() == EIO || set.code() == ENXIO) << set.ToString();
      cut_hit = true;
      break;
    }
    uint64_t txg = (*p)->txg() + 1;
    durable[txg] = st;  // may be on disk even when the sync reports a failure
    Status s = (*p)->Sync();
    if (!s.ok()) {
      cut_hit = true;
      break;
    }
    EXPECT_EQ((*p)->txg(), txg);
    last_ok = txg;
  }
  *ios_used = cutter->ios() - start;
  p->reset();
  cutter->PowerOff();
  SpaOpenOptions o;
  o.env = mem.get();
  auto spa = Spa::OpenDevices(paths, "cut", o);
  EXPECT_TRUE(spa.ok()) << "cut " << cut << ": " << spa.status().ToString();
  if (!spa.ok()) return cut_hit;
  uint64_t txg = (*spa)->uberblock().txg;
  EXPECT_EQ(txg, (*spa)->uberblocks().front().txg)
      << "cut " << cut << ": the newest uberblock's MOS is unreadable (torn txg)";
  EXPECT_GE(txg, last_ok) << "cut " << cut << ": a sync that returned OK was lost";
  EXPECT_LE(txg, last_ok + 1) << "cut " << cut;
  EXPECT_TRUE(durable.count(txg)) << "cut " << cut << ": txg " << txg;
  spa->reset();
  PoolImportSpec is;
  is.devices = paths;
  is.pool = "cut";
  is.env = mem.get();
  auto q = Pool::Import(is);
  EXPECT_TRUE(q.ok()) << "cut " << cut << " (txg " << txg << "): " << q.status().ToString();
  if (!q.ok()) return cut_hit;
  const Step& want = durable[txg];
  EXPECT_EQ(Prop(**q, "failmode"), want.failmode) << "cut " << cut << " txg " << txg;
  EXPECT_EQ(Prop(**q, "autoreplace"), want.autoreplace) << "cut " << cut << " txg " << txg;
  EXPECT_EQ(Prop(**q, "comment"), want.comment) << "cut " << cut << " txg " << txg;
  // The space maps replayed consistently (import loads them) and the pool still syncs and
  // re-imports.
  EXPECT_TRUE((*q)->SetProp("comment", "after").ok());
  EXPECT_TRUE((*q)->Export().ok()) << "cut " << cut;
  q->reset();
  auto r = Pool::Import(is);
  EXPECT_TRUE(r.ok()) << "cut " << cut << ": " << r.status().ToString();
  if (r.ok()) {
    EXPECT_EQ(Prop(**r, "comment"), "after");
  }
  return cut_hit;
}

void PowerCutSweep(const std::string& kind, int ndev, int steps, int samples,
                   bool torn = false) {
  uint64_t total = 0;
  ASSERT_FALSE(CutAndCheck(kind, ndev, 0, steps, &total, torn));  // no cut: measures the I/Os
  ASSERT_GT(total, 10u);
  uint64_t stride = std::max<uint64_t>(1, total / static_cast<uint64_t>(samples));
  int hits = 0;
  for (uint64_t cut = 1; cut <= total; cut += stride) {
    uint64_t used = 0;
    hits += CutAndCheck(kind, ndev, cut, steps, &used, torn);
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << kind << ": first failing cut at I/O " << cut << " of " << total;
      return;
    }
  }
  EXPECT_GT(hits, samples / 2);
}

TEST(PoolPowerCut, SingleDeviceAtManyPoints) { PowerCutSweep("file", 1, 4, 80); }

TEST(PoolPowerCut, MirrorAtManyPoints) { PowerCutSweep("mirror", 2, 3, 30); }

TEST(PoolPowerCut, Raidz1AtManyPoints) { PowerCutSweep("raidz1", 3, 2, 20); }

TEST(PoolPowerCut, TornWritesSingleDevice) { PowerCutSweep("file", 1, 4, 80, /*torn=*/true); }

TEST(PoolPowerCut, TornWritesMirror) { PowerCutSweep("mirror", 2, 3, 40, /*torn=*/true); }

}  // namespace
}  // namespace uzfs
