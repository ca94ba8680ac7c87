// The txg engine (pool.h, pool_early.cc): early writeback puts a txg's file blocks on disk
// while writers go on, blocks changed meanwhile are written again, and what reads back after
// export (through the read-only stack zdb uses) is exactly the last state, with writers,
// creators, renamers and back-to-back syncs running at once. The throttle slows writers at
// the dirty bound instead of failing them.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "libcore/dsl/dsl.h"
#include "libcore/arc/arc.h"
#include "libcore/pool/pool.h"
#include "libcore/pool/pool_test_util.h"
#include "libcore/spa/spa.h"
#include "libcore/zpl/zpl.h"

namespace uzfs {
namespace {

class TxgEngineTest : public FilePoolTest {
 protected:
  void SetUp() override {
    MakePool("tx", 512 << 20);
    if (HasFatalFailure()) return;
    ASSERT_TRUE(pool_->CreateFilesystem("tx/fs", {{"compression", "lzjb"}}).ok());
  }
  Status Do(const std::function<Status(ZplWriter&, uint64_t)>& fn, uint64_t reserve = 0) {
    return pool_->WithZpl("tx/fs", fn, reserve);
  }
  Status Write(const std::string& name, uint64_t off, const Bytes& data) {
    return Do([&](ZplWriter& z, uint64_t txg) -> Status {
      uint64_t obj;
      if (auto f = z.Lookup(z.root(), name); f.ok()) {
        obj = *f;
      } else {
        UZFS_ASSIGN(obj, z.Create(z.root(), name, S_IFREG | 0644, 0, 0, txg, now_));
      }
      return z.Write(obj, off, data, now_);
    }, data.size());
  }
  // Exports and reads every regular file of the root back through the read-only stack.
  std::map<std::string, Bytes> ExportAndReadAll() {
    std::map<std::string, Bytes> out;
    EXPECT_TRUE(pool_->Export().ok());
    pool_.reset();
    auto spa = Spa::OpenDevices({dev_}, "tx");
    EXPECT_TRUE(spa.ok());
    if (!spa.ok()) return out;
    auto dp = DslPool::Open(spa->get(), (*spa)->uberblock().rootbp, "tx");
    EXPECT_TRUE(dp.ok());
    auto info = (*dp)->Resolve("tx/fs");
    auto os = (*dp)->OpenObjset(*info);
    auto zpl = Zpl::Open(**os);
    EXPECT_TRUE(zpl.ok());
    Zpl& r = **zpl;
    auto ents = r.ReadDir(*r.Lookup("/"));
    EXPECT_TRUE(ents.ok());
    for (const auto& e : *ents) {
      if (e.name == "." || e.name == "..") continue;
      auto st = r.Stat(e.object);
      if (!st.ok() || !S_ISREG(st->mode)) continue;
      auto data = r.ReadFile(e.object, 0, st->size);
      EXPECT_TRUE(data.ok()) << e.name;
      out[e.name] = *data;
    }
    return out;
  }
  ZTime now_{1795400000, 0};
};

TEST_F(TxgEngineTest, EarlyWritebackPutsTheTxgsDataInPlaceBeforeItCloses) {
  pool_->SetDirtyMax(64 << 20);  // early rounds from 8 MiB
  Bytes a = RandomBytes(24 << 20, 1);
  for (size_t off = 0; off < a.size(); off += 1 << 20)
    ASSERT_TRUE(Write("a", off, Bytes(a.begin() + static_cast<long>(off), a.begin() + static_cast<long>(off + (1 << 20)))).ok());
  uint64_t txg = pool_->txg();
  ASSERT_TRUE(pool_->Sync().ok());
  EXPECT_EQ(txg + 1, pool_->txg());  // one txg, however many rounds
  Pool::TxgStats st = pool_->txg_stats();
  EXPECT_GE(st.early_rounds, 1u);
  EXPECT_EQ(24u << 20, st.early_bytes);  // every block went early: nothing changed meanwhile
  EXPECT_EQ(0u, st.early_stale);
  auto files = ExportAndReadAll();
  EXPECT_EQ(a, files["a"]);
}

// dsl_dir_tempreserve_space's ERESTART: rewrites reserving more than the pool's free space in
// one txg wait for the txg to sync (which gives the old blocks back) instead of failing.
TEST_F(TxgEngineTest, RewritesPastTheFreeSpaceWaitForASyncInsteadOfFailing) {
  Bytes a = RandomBytes(64 << 20, 3);
  ASSERT_TRUE(Write("a", 0, a).ok());
  ASSERT_TRUE(pool_->Sync().ok());
  uint64_t txg = pool_->txg();
  for (int round = 0; round < 10; round++) {  // 640 MiB of rewrites on a 512 MiB pool
    a[0] = static_cast<uint8_t>(round);
    Status s = Write("a", 0, a);
    ASSERT_TRUE(s.ok()) << "round " << round << ": " << s.ToString();
  }
  EXPECT_GT(pool_->txg(), txg);  // the writer's reservations made it sync
  auto files = ExportAndReadAll();
  EXPECT_EQ(a, files["a"]);
}

// An Env whose flushes (File::Sync) wait while a gate is closed: a txg's sync stops in its
// label phase, where the first flush is.
class GateEnv : public Env {
 public:
  Result<std::unique_ptr<File>> Open(const std::string& path, const OpenOptions& o) override {
    UZFS_ASSIGN(auto f, PosixEnv()->Open(path, o));
    return std::unique_ptr<File>(new GatedFile(this, std::move(f)));
  }
  Result<std::vector<std::string>> ListDir(const std::string& d) override { return PosixEnv()->ListDir(d); }
  bool Exists(const std::string& path) override { return PosixEnv()->Exists(path); }
  Status Rename(const std::string& from, const std::string& to) override { return PosixEnv()->Rename(from, to); }
  Status Remove(const std::string& path) override { return PosixEnv()->Remove(path); }
  void Close() {
    std::lock_guard<std::mutex> l(mu_);
    closed_ = true;
  }
  void Open() {
    std::lock_guard<std::mutex> l(mu_);
    closed_ = false;
    cv_.notify_all();
  }
  // Waits until a flush is held at the gate (false after 10 s).
  bool WaitHeld() {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, std::chrono::seconds(10), [&] { return held_ > 0; });
  }

 private:
  class GatedFile : public File {
   public:
    GatedFile(GateEnv* env, std::unique_ptr<File> f) : env_(env), f_(std::move(f)) {}
    Status ReadAt(uint64_t off, MutByteSpan buf) override { return f_->ReadAt(off, buf); }
    Status WriteAt(uint64_t off, ByteSpan data) override { return f_->WriteAt(off, data); }
    Status Sync() override {
      std::unique_lock<std::mutex> l(env_->mu_);
      env_->held_++;
      env_->cv_.notify_all();
      env_->cv_.wait(l, [&] { return !env_->closed_; });
      env_->held_--;
      return f_->Sync();
    }
    Result<uint64_t> Size() override { return f_->Size(); }
    const std::string& Name() const override { return f_->Name(); }
    bool ConcurrentWrites() const override { return f_->ConcurrentWrites(); }

   private:
    GateEnv* env_;
    std::unique_ptr<File> f_;
  };
  std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;
  int held_ = 0;
};

class TxgOverlapTest : public TxgEngineTest {
 protected:
  void SetUp() override {
    MakePool("tx", 512 << 20, nullptr, &gate_);
    if (HasFatalFailure()) return;
    ASSERT_TRUE(pool_->CreateFilesystem("tx/fs", {{"compression", "lzjb"}}).ok());
  }
  GateEnv gate_;
};

// txg.c's open and syncing states overlap: while txg N's labels and uberblocks are written
// and flushed, writers change txg N+1; a second sync waits for N to end first. Both txgs read
// back after export.
TEST_F(TxgOverlapTest, WritersGoOnWhileATxgsLabelsAreWritten) {
  Bytes a = RandomBytes(3 << 20, 7), b = RandomBytes(2 << 20, 8), c = RandomBytes(1 << 20, 9);
  ASSERT_TRUE(Write("a", 0, a).ok());
  uint64_t txg = pool_->txg();
  std::thread first, second;
  std::future<bool> w;
  // However the test ends, the gate opens and every thread is joined.
  struct Opener {
    GateEnv& g;
    std::thread &t1, &t2;
    ~Opener() {
      g.Open();
      if (t1.joinable()) t1.join();
      if (t2.joinable()) t2.join();
    }
  } opener{gate_, first, second};
  gate_.Close();
  first = std::thread([&] { EXPECT_TRUE(pool_->Sync().ok()); });
  ASSERT_TRUE(gate_.WaitHeld());
  // Txg txg+1 is closed and its blocks written; its labels wait at the gate.
  EXPECT_EQ(txg, pool_->txg());
  // A writer is not held up by the sync: it writes into txg+2 now.
  w = std::async(std::launch::async, [&] { return Write("b", 0, b).ok(); });
  ASSERT_EQ(std::future_status::ready, w.wait_for(std::chrono::seconds(10)))
      << "a write waited for a txg's labels";
  EXPECT_TRUE(w.get());
  uint64_t open = 0;
  ASSERT_TRUE(Do([&](ZplWriter&, uint64_t t) {
    open = t;
    return Status::Ok();
  }).ok());
  EXPECT_EQ(txg + 2, open);
  // A second sync cannot close txg+2 before txg+1 has ended.
  std::atomic<bool> second_done{false};
  second = std::thread([&] {
    EXPECT_TRUE(pool_->Sync().ok());
    second_done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(second_done);
  EXPECT_EQ(txg, pool_->txg());
  gate_.Open();
  first.join();
  second.join();
  EXPECT_EQ(txg + 2, pool_->txg());
  Pool::TxgStats st = pool_->txg_stats();
  EXPECT_GT(st.labels_us, 0u);
  EXPECT_GT(st.close_us, 0u);
  ASSERT_TRUE(Write("c", 0, c).ok());  // and a third txg, closed by the export
  auto files = ExportAndReadAll();
  EXPECT_EQ(a, files["a"]);
  EXPECT_EQ(b, files["b"]);
  EXPECT_EQ(c, files["c"]);
}

// Writers overwrite, extend, truncate and create while another thread syncs back to back
// (early rounds included, the dirty bound small): the last state of every file reads back.
TEST_F(TxgEngineTest, WritersAndBackToBackSyncsKeepEveryFileWhole) {
  pool_->SetDirtyMax(8 << 20);  // early rounds from 1 MiB, throttle from 4.8 MiB
  std::atomic<bool> stop{false};
  std::atomic<int> sync_errors{0};
  std::thread syncer([&] {
    while (!stop) {
      if (!pool_->Sync().ok()) sync_errors++;
    }
  });
  std::mutex model_mu;
  std::map<std::string, Bytes> model;
  auto writer = [&](int id) {
    std::mt19937_64 rng(id);
    for (int step = 0; step < 300; step++) {
      std::string name = "w" + std::to_string(id) + "_" + std::to_string(rng() % 3);
      int op = static_cast<int>(rng() % 10);
      if (op < 8) {
        size_t len = 1 + rng() % (600 << 10);
        size_t off = rng() % (4 << 20);
        Bytes data = RandomBytes(len, rng());
        ASSERT_TRUE(Write(name, off, data).ok());
        std::lock_guard<std::mutex> l(model_mu);
        Bytes& m = model[name];
        if (m.size() < off + len) m.resize(off + len, 0);
        std::copy(data.begin(), data.end(), m.begin() + static_cast<long>(off));
      } else {
        uint64_t size = rng() % (3 << 20);
        Status s = Do([&](ZplWriter& z, uint64_t) -> Status {
          auto f = z.Lookup(z.root(), name);
          if (!f.ok()) return Status::Ok();
          SetAttr a;
          a.size = size;
          return z.Setattr(*f, a, now_);
        });
        ASSERT_TRUE(s.ok()) << s.ToString();
        std::lock_guard<std::mutex> l(model_mu);
        if (model.count(name)) model[name].resize(size, 0);
      }
    }
  };
  // Creates and renames (directory ZAPs and dnodes change in every txg too).
  auto renamer = [&] {
    for (int i = 0; i < 400; i++) {
      std::string a = "r" + std::to_string(i), b = "s" + std::to_string(i);
      Bytes d = RandomBytes(100 + i, 1000 + i);
      ASSERT_TRUE(Write(a, 0, d).ok());
      ASSERT_TRUE(Do([&](ZplWriter& z, uint64_t) { return z.Rename(z.root(), a, z.root(), b, now_); }).ok());
      std::lock_guard<std::mutex> l(model_mu);
      model[b] = d;
    }
  };
  std::vector<std::thread> ts;
  for (int i = 1; i <= 3; i++) ts.emplace_back(writer, i);
  ts.emplace_back(renamer);
  for (auto& t : ts) t.join();
  stop = true;
  syncer.join();
  EXPECT_EQ(0, sync_errors.load());
  Pool::TxgStats st = pool_->txg_stats();
  std::cout << "txgs " << st.syncs << ", early rounds " << st.early_rounds << ", early blocks "
            << st.early_blocks << " (" << (st.early_bytes >> 20) << " MiB), stale " << st.early_stale
            << ", throttle delays " << st.throttle_delays << ", waits " << st.throttle_waits
            << "; closing under the lock " << st.close_us / 1000 << " ms, labels without it "
            << st.labels_us / 1000 << " ms\n";
  EXPECT_GT(st.syncs, 20u);
  EXPECT_GT(st.early_blocks, 0u);
  auto files = ExportAndReadAll();
  EXPECT_EQ(model.size(), files.size());
  for (auto& [name, data] : model) EXPECT_TRUE(data == files[name]) << name;
}

}  // namespace

// Runs phase 1 of a sync alone, so a test can act while the txg holds early-written blocks.
class PoolTestPeer {
 public:
  static Status WriteEarly(Pool& p) { return p.WriteEarly(); }
  // Space the allocator can hand out now (deferred frees are not).
  static uint64_t Allocatable(Pool& p) {
    std::lock_guard<std::mutex> l(p.alloc_mu_);
    uint64_t n = 0;
    for (auto& g : p.groups_)
      for (auto& m : g->metaslabs()) n += m.free.space();
    return n;
  }
};

namespace {

// A rollback drops the open txg's changes after early writeback put blocks of them in place:
// their space is given back (DatasetSink::FreeUnsynced), not leaked.
TEST_F(TxgEngineTest, RollbackAfterEarlyWritebackLeaksNothing) {
  ASSERT_TRUE(Write("keep", 0, RandomBytes(1 << 20, 5)).ok());
  ASSERT_TRUE(pool_->Snapshot({"tx/fs@s"}).ok());
  uint64_t before = pool_->allocated();
  pool_->SetDirtyMax(16 << 20);
  ASSERT_TRUE(Write("big", 0, RandomBytes(12 << 20, 6)).ok());
  ASSERT_TRUE(PoolTestPeer::WriteEarly(*pool_).ok());
  EXPECT_GT(pool_->txg_stats().early_blocks, 90u);
  EXPECT_GE(pool_->allocated(), before + (12u << 20));  // allocated, in the open txg only
  ASSERT_TRUE(pool_->Rollback("tx/fs").ok());
  for (int i = 0; i < 3; i++) ASSERT_TRUE(pool_->Sync().ok());  // past the deferred frees
  // What stays is the MOS's own growth (space map entries, history), far below 12 MiB.
  EXPECT_LT(pool_->allocated(), before + (1u << 20));
  auto files = ExportAndReadAll();
  EXPECT_EQ(1u, files.size());
  EXPECT_EQ(RandomBytes(1 << 20, 5), files["keep"]);
}

// The same with the filesystem destroyed instead.
TEST_F(TxgEngineTest, DestroyAfterEarlyWritebackLeaksNothing) {
  ASSERT_TRUE(pool_->CreateFilesystem("tx/gone", {}).ok());
  ASSERT_TRUE(pool_->Sync().ok());
  uint64_t before = pool_->allocated();
  pool_->SetDirtyMax(16 << 20);
  ASSERT_TRUE(pool_->WithZpl("tx/gone", [&](ZplWriter& z, uint64_t txg) -> Status {
    UZFS_ASSIGN(uint64_t obj, z.Create(z.root(), "f", S_IFREG | 0644, 0, 0, txg, now_));
    return z.Write(obj, 0, RandomBytes(12 << 20, 8), now_);
  }, 12 << 20).ok());
  ASSERT_TRUE(PoolTestPeer::WriteEarly(*pool_).ok());
  EXPECT_GE(pool_->allocated(), before + (12u << 20));
  ASSERT_TRUE(pool_->DestroyFilesystem("tx/gone").ok());
  for (int i = 0; i < 3; i++) ASSERT_TRUE(pool_->Sync().ok());
  EXPECT_LT(pool_->allocated(), before + (1u << 20));
}

// Blocks written early and overwritten again before the txg closes were never in a synced
// tree: their space comes back at once (MetaslabGroup::Unalloc), not two txgs later, so a
// hot file rewritten between writebacks does not fill the pool.
TEST_F(TxgEngineTest, RewritesBetweenWritebacksGiveTheirSpaceBackAtOnce) {
  pool_->SetDirtyMax(16 << 20);  // writeback rounds from 2 MiB
  ASSERT_TRUE(pool_->Sync().ok());
  uint64_t before = pool_->allocated(), can = PoolTestPeer::Allocatable(*pool_);
  for (int i = 0; i < 40; i++) {
    ASSERT_TRUE(Write("hot", 0, RandomBytes(4 << 20, 100 + i)).ok());
    ASSERT_TRUE(pool_->Writeback().ok());
  }
  Pool::TxgStats st = pool_->txg_stats();
  EXPECT_GE(st.early_blocks, 39u * 32);  // each rewrite went early...
  EXPECT_LT(st.syncs, 10u);              // ...in few txgs
  // 160 MiB were written early; what stays allocated is about the last image, and the rest
  // can be allocated again already.
  EXPECT_LT(pool_->allocated(), before + (12u << 20));
  EXPECT_GT(PoolTestPeer::Allocatable(*pool_) + (12u << 20), can);
  ASSERT_TRUE(pool_->Sync().ok());
  auto files = ExportAndReadAll();
  EXPECT_EQ(RandomBytes(4 << 20, 139), files["hot"]);
}

// At the bound a writer waits for a sync instead of failing; the sync-wanted hook is called,
// and answered as zfsd does (Writeback: early writeback, the txg closed only when that did not
// bring the dirty data down).
TEST_F(TxgEngineTest, TheThrottleHoldsWritersAtTheBoundAndAsksForASync) {
  pool_->SetDirtyMax(4 << 20);
  std::atomic<int> asked{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::condition_variable cv;
  bool kick = false;
  pool_->SetSyncWanted([&] {
    asked++;
    std::lock_guard<std::mutex> l(mu);
    kick = true;
    cv.notify_one();
  });
  std::thread syncer([&] {
    std::unique_lock<std::mutex> l(mu);
    while (!stop) {
      cv.wait_for(l, std::chrono::milliseconds(200), [&] { return kick || stop.load(); });
      kick = false;
      l.unlock();
      ASSERT_TRUE(pool_->Writeback().ok());  // as zfsd's sync thread answers a kick
      l.lock();
    }
  });
  Bytes chunk = RandomBytes(256 << 10, 9);
  for (int i = 0; i < 96; i++) {  // 24 MiB through a 4 MiB bound
    ASSERT_TRUE(Write("t", static_cast<uint64_t>(i) * chunk.size(), chunk).ok());
    EXPECT_LE(pool_->dirty_bytes(), (4u << 20) + chunk.size());
  }
  stop = true;
  cv.notify_one();
  syncer.join();
  EXPECT_GT(asked.load(), 0);
  Pool::TxgStats st = pool_->txg_stats();
  EXPECT_GT(st.throttle_delays + st.throttle_waits, 0u);
  EXPECT_GT(st.early_blocks, 0u);  // written early, the txg left open, memory given back
  ASSERT_TRUE(pool_->Sync().ok());
  auto files = ExportAndReadAll();
  EXPECT_EQ(96u * chunk.size(), files["t"].size());
}

// Pool::ReadFile reads without the pool lock for its disk part: readers of whole records see
// each record as one write left it (never torn, never older than a write that returned
// before the read began), beside a writer, back-to-back syncs and a small ARC evicting.
// A ReadFileHeld plan's bytes, its descriptor parts read as a splice would take them.
Bytes Gathered(ObjsetWriter::ReadPlan& plan, uint64_t length) {
  Bytes got;
  for (const auto& p : plan.Parts(length)) {
    size_t was = got.size();
    got.resize(was + p.n);
    if (p.mem) std::memcpy(got.data() + was, p.mem, p.n);
    else if (pread(p.fd, got.data() + was, p.n, static_cast<off_t>(p.off)) != static_cast<ssize_t>(p.n))
      return {};
  }
  return got;
}

class TxgReadsTest : public FilePoolTest {
 protected:
  Arc arc_{64 << 20};  // outlives the pool (TearDown drops the pool first)
};

TEST_F(TxgReadsTest, ReadsBesideWritesSyncsAndEvictionsAreNeverTornOrStale) {
  Arc& arc = arc_;
  MakePool("rd", 512 << 20, &arc);
  ASSERT_FALSE(HasFatalFailure());
  Pool& pool = *pool_;
  ASSERT_TRUE(pool.CreateFilesystem("rd/fs", {}).ok());
  constexpr uint64_t kRec = 128 << 10, kRecs = 1024;  // 128 MiB: twice the ARC
  ZTime now{1795400000, 0};
  uint64_t obj = 0;
  ASSERT_TRUE(pool.WithZpl("rd/fs", [&](ZplWriter& z, uint64_t txg) -> Status {
    UZFS_ASSIGN(obj, z.Create(z.root(), "f", S_IFREG | 0644, 0, 0, txg, now));
    for (uint64_t r = 0; r < kRecs; r++) UZFS_TRY(z.Write(obj, r * kRec, Bytes(kRec, 1), now));
    return Status::Ok();
  }).ok());
  ASSERT_TRUE(pool.Sync().ok());
  std::vector<std::atomic<uint8_t>> done(kRecs);  // the newest version a write returned for
  for (auto& d : done) d = 1;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> reads{0}, bad{0};
  std::thread syncer([&] {
    while (!stop) EXPECT_TRUE(pool.Sync().ok());
  });
  std::thread writer([&] {
    std::mt19937_64 rng(1);
    // 1200 writes, and more until the readers have read enough beside them (how many reads
    // fit into 1200 writes depends on the machine).
    struct StopAtExit {
      std::atomic<bool>& stop;
      ~StopAtExit() { stop = true; }  // also when an assertion ends the writer early
    } stop_at_exit{stop};
    for (int i = 0; i < 1200 || (reads < 200 && i < 40000); i++) {
      uint64_t r = rng() % kRecs;
      uint8_t v = static_cast<uint8_t>(done[r] + 1);
      if (v == 0) v = 1;
      Status s = pool.WithZpl("rd/fs", [&](ZplWriter& z, uint64_t) {
        return z.Write(obj, r * kRec, Bytes(kRec, v), now);
      }, kRec);
      ASSERT_TRUE(s.ok()) << "write " << i << ": " << s.ToString() << "; allocated "
                          << pool.allocated() << " of " << pool.size() << ", txg " << pool.txg()
                          << ", dirty " << pool.dirty_bytes();
      done[r] = v;
    }
    stop = true;
  });
  auto reader = [&](uint64_t seed) {
    std::mt19937_64 rng(seed);
    while (!stop) {
      uint64_t r = rng() % kRecs;
      uint8_t before = done[r];
      auto b = pool.ReadFile("rd/fs", obj, r * kRec, kRec);
      ASSERT_TRUE(b.ok()) << b.status().ToString();
      ASSERT_EQ(kRec, b->size());
      uint8_t v = (*b)[0];
      bool uniform = std::all_of(b->begin(), b->end(), [&](uint8_t x) { return x == v; });
      // versions only grow (mod 256, never reaching 0): older than `before` is stale
      bool stale = static_cast<uint8_t>(v - before) > 128;
      if (!uniform || stale) bad++;
      reads++;
    }
  };
  std::thread r1(reader, 2), r2(reader, 3);
  writer.join();
  r1.join();
  r2.join();
  syncer.join();
  EXPECT_EQ(0u, bad.load());
  EXPECT_GE(reads.load(), 100u);
  for (uint64_t r = 0; r < kRecs; r++) {
    auto b = pool.ReadFile("rd/fs", obj, r * kRec, kRec);
    ASSERT_TRUE(b.ok());
    ASSERT_EQ(Bytes(kRec, done[r]), *b) << "record " << r;
  }
  // The same through ReadFileHeld (the FUSE read: cached units held and read from the
  // segment), 1 MiB at a time from a point within a record, the ARC holding half the file
  // (the reads above left the last quarter or so cached): cached, filled and filling units.
  constexpr uint64_t kMiB = 1 << 20;
  for (uint64_t at = 5000; at < kRecs * kRec; at += kMiB) {
    uint64_t length = 0;
    auto plan = pool.ReadFileHeld("rd/fs", obj, at, kMiB, nullptr, &length);
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    ASSERT_EQ(std::min(kMiB, kRecs * kRec - at), length);
    Bytes got = Gathered(**plan, length);
    ASSERT_EQ(length, got.size());
    for (uint64_t i = 0; i < length; i += 4096)
      ASSERT_EQ(done[(at + i) / kRec], got[i]) << "byte " << at + i;
  }
  EXPECT_EQ(0u, arc.Stats().held_size);  // every plan let its holds go
  // A file larger than its blocks (grown by truncate): zeros after them, the held part first.
  uint64_t g = 0;
  ASSERT_TRUE(pool.WithZpl("rd/fs", [&](ZplWriter& z, uint64_t txg) -> Status {
    UZFS_ASSIGN(g, z.Create(z.root(), "g", S_IFREG | 0644, 0, 0, txg, now));
    UZFS_TRY(z.Write(g, 0, Bytes(1000, 7), now));
    return z.Setattr(g, SetAttr{.size = 300000}, now);
  }).ok());
  ASSERT_TRUE(pool.Sync().ok());
  for (int pass = 0; pass < 2; pass++) {  // filled, then cached
    uint64_t length = 0;
    auto plan = pool.ReadFileHeld("rd/fs", g, 0, kMiB, nullptr, &length);
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    ASSERT_EQ(300000u, length);
    Bytes got = Gathered(**plan, length);
    Bytes want(300000, 0);
    std::fill_n(want.begin(), 1000, 7);
    ASSERT_EQ(want, got) << "pass " << pass;
  }
  std::cout << reads.load() << " reads; ARC " << arc.Stats().data_misses << " misses\n";
}

// ---- power cuts with early writeback ----

// A pool over a FaultEnv on memory; each step rewrites the files (an 8 MiB one in place and a
// new small one), so every sync has early rounds (dirty_max 4M: from 512K). The power is cut
// at the cut-th I/O (every later one fails, unsynced writes are dropped): the pool imports at
// the last txg that returned, or the one being written, and each file holds exactly what that
// txg held. Returns false when the cut came after every step.
bool CutWithData(uint64_t cut, int steps, uint64_t* ios_used) {
  auto mem = NewMemEnv();
  {
    auto f = mem->Open("/pc/d0", OpenOptions{.write = true, .create = true});
    EXPECT_TRUE(f.ok());
    EXPECT_TRUE((*f)->WriteAt((128ULL << 20) - 1, Bytes(1, 0)).ok());
  }
  FaultEnv fe(mem.get());
  PoolCreateSpec cs;
  cs.name = "cut";
  cs.env = &fe;
  NvList root, leaf;
  root.AddString("type", "root");
  leaf.AddString("type", "file");
  leaf.AddString("path", "/pc/d0");
  root.AddNvListArray("children", {leaf});
  cs.nvroot = root;
  auto p = Pool::Create(cs);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  if (!p.ok()) return false;
  EXPECT_TRUE((*p)->CreateFilesystem("cut/fs", {}).ok());
  EXPECT_TRUE((*p)->Sync().ok());
  (*p)->SetDirtyMax(4 << 20);
  ZTime now{1795400000, 0};
  using State = std::map<std::string, Bytes>;
  std::map<uint64_t, State> durable;  // txg → files
  State cur;
  durable[(*p)->txg()] = cur;
  uint64_t last_ok = (*p)->txg(), start = fe.io_count();
  if (cut) fe.FailNthIo(cut, /*sticky=*/true);
  bool hit = false;
  for (int i = 0; i < steps && !hit; i++) {
    State next = cur;
    Bytes big = cur.count("big") ? cur["big"] : Bytes(8 << 20, 0);
    for (size_t off = static_cast<size_t>(i) * 4096; off < big.size(); off += 1 << 20)
      std::fill_n(big.begin() + static_cast<long>(off), 300000, static_cast<uint8_t>(i + 1));
    next["big"] = big;
    next["s" + std::to_string(i)] = Bytes(5000 + i, static_cast<uint8_t>(i));
    Status w = (*p)->WithZpl("cut/fs", [&](ZplWriter& z, uint64_t txg) -> Status {
      for (auto& [name, data] : next) {
        if (cur.count(name) && cur[name] == data) continue;
        uint64_t obj;
        if (auto f = z.Lookup(z.root(), name); f.ok()) {
          obj = *f;
        } else {
          UZFS_ASSIGN(obj, z.Create(z.root(), name, S_IFREG | 0644, 0, 0, txg, now));
        }
        UZFS_TRY(z.Write(obj, 0, data, now));
      }
      return Status::Ok();
    });
    if (!w.ok()) {
      hit = true;  // a read after the cut failed
      break;
    }
    cur = next;
    uint64_t txg = (*p)->txg() + 1;
    durable[txg] = cur;  // may be on disk even when the sync reports a failure
    if (!(*p)->Sync().ok()) {
      hit = true;
      break;
    }
    last_ok = txg;
  }
  *ios_used = fe.io_count() - start;
  if (!cut) {
    EXPECT_GT((*p)->txg_stats().early_blocks, 0u);  // the sweep cuts early rounds too
  }
  p->reset();
  fe.DropUnsyncedWrites();
  uint64_t txg = 0;
  {
    SpaOpenOptions o;
    o.env = mem.get();
    auto spa = Spa::OpenDevices({"/pc/d0"}, "cut", o);
    EXPECT_TRUE(spa.ok()) << "cut " << cut << ": " << spa.status().ToString();
    if (!spa.ok()) return hit;
    txg = (*spa)->uberblock().txg;
  }
  PoolImportSpec is;
  is.devices = {"/pc/d0"};
  is.pool = "cut";
  is.env = mem.get();
  auto q = Pool::Import(is);
  EXPECT_TRUE(q.ok()) << "cut " << cut << ": " << q.status().ToString();
  if (!q.ok()) return hit;
  EXPECT_GE(txg, last_ok) << "cut " << cut << ": a sync that returned OK was lost";
  EXPECT_LE(txg, last_ok + 1) << "cut " << cut;
  EXPECT_TRUE(durable.count(txg)) << "cut " << cut;
  const State& want = durable[txg];
  EXPECT_TRUE((*q)->WithZpl("cut/fs", [&](ZplWriter& z, uint64_t) -> Status {
    for (auto& [name, data] : want) {
      UZFS_ASSIGN(uint64_t obj, z.Lookup(z.root(), name));
      UZFS_ASSIGN(Bytes got, z.Read(obj, 0, data.size() + 1));
      EXPECT_TRUE(got == data) << "cut " << cut << " txg " << txg << ": " << name;
    }
    auto extra = z.Lookup(z.root(), "s" + std::to_string(want.size() - 1));
    EXPECT_FALSE(extra.ok()) << "cut " << cut << " txg " << txg << ": a later txg's file";
    return Status::Ok();
  }).ok());
  // The space maps (with early allocations given back or used) load and the pool syncs on.
  EXPECT_TRUE((*q)->Export().ok()) << "cut " << cut;
  return hit;
}

TEST(TxgPowerCut, EveryFileIsTheLastSyncedTxgsAtManyPoints) {
  uint64_t total = 0;
  ASSERT_FALSE(CutWithData(0, 4, &total));  // no cut: measures the I/Os
  ASSERT_GT(total, 100u);
  uint64_t stride = std::max<uint64_t>(1, total / 60);
  int hits = 0;
  for (uint64_t cut = 1; cut <= total; cut += stride) {
    uint64_t used = 0;
    hits += CutWithData(cut, 4, &used);
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "first failing cut at I/O " << cut << " of " << total;
      return;
    }
  }
  EXPECT_GT(hits, 30);
}

}  // namespace
}  // namespace uzfs
