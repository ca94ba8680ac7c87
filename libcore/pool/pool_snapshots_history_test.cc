// Snapshots judged as in pool_snapshots_test.cc, over longer histories: a raidz pool's
// deflated accounting, random sequences of writes, snapshots, clones, promotes, rollbacks,
// renames and destroys against a model, and the same rules applied to pools zfs-fuse made.
#include "libcore/pool/pool_snapshots_test_util.h"

namespace uzfs::snapshot_test {
namespace {

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

// The accounting rules Reader checks, applied to a pool zfs-fuse made itself (snapshots,
// writes, deletes, clones, destroy, promote): UZFS_SNAPSHOT_CHECK_POOL=DEVICE:POOL.
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
}  // namespace uzfs::snapshot_test
