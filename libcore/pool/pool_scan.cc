// The scrub of an imported pool (zfs-fuse dsl_scrub.c's syncing-context half, spa.c
// spa_scrub; the walk itself is libcore/dsl/dsl_scan.h).
//
// v23 walks a slice of the pool inside each txg's sync. Here the walk runs beside the txg
// engine, on zfsd's scan thread (ScanStep), over the MOS of the last synced txg T read from
// disk, without the pool lock: T's blocks stay allocated until a free made after T has
// waited out TXG_DEFER_SIZE, i.e. until txg T+3 is synced, so a step stops once T+2 is
// synced (and after its time budget), and the next step starts from the newer tree at the
// bookmark. What a step found (bookmark, queue, errors) is kept in memory and written to the
// MOS object directory by the next txg's sync (ScanSyncLocked), as dsl_pool_scrub_sync
// writes it at the end of its slice; a crash resumes from the last synced bookmark, and
// zfs-fuse resumes from it too.
//
// Snapshots and destroys made meanwhile move the queue as dsl_pool_ds_snapshotted and
// dsl_pool_ds_destroyed do; they make the step under way start over (its findings are
// dropped, its repairs stay), from a tree that has the change.
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <thread>

#include "libcore/base/taskq.h"
#include "libcore/pool/pool.h"
#include "libcore/zio/zio_inject.h"
#include "libcore/zio/zio_read.h"

namespace uzfs {

namespace {

constexpr uint64_t kLogPoolScrub = 14, kLogPoolScrubDone = 37;  // history_internal_events_t

std::string Hex(uint64_t v) {
  char b[24];
  snprintf(b, sizeof b, "%" PRIx64, v);
  return b;
}

uint64_t NowSec() { return static_cast<uint64_t>(std::time(nullptr)); }

// The scrub's own readers: level-0 blocks of one indirect block are read this wide.
TaskQueue& ScanQueue() {
  static TaskQueue q(4);
  return q;
}

}  // namespace

uint64_t Pool::RepairedBytes() const {
  uint64_t n = 0;
  std::function<void(const Vdev&)> walk = [&](const Vdev& v) {
    n += v.repair_bytes.load(std::memory_order_relaxed);
    for (const auto& c : v.children) walk(*c);
  };
  for (size_t i = 0; i < NumTops(); i++) walk(*Top(i));
  return n;
}

void Pool::LogInternalLocked(uint64_t event, uint64_t txg, const std::string& what) {
  NvList rec;
  rec.AddUint64("history time", NowSec());
  rec.AddUint64("history who", 0);
  rec.AddString("history hostname", HostName());
  rec.AddUint64("history internal event", event);  // ZPOOL_HIST_INT_EVENT
  rec.AddUint64("history txg", txg);
  rec.AddString("history internal str", what);
  pending_history_.push_back(std::move(rec));
}

Status Pool::LoadScanLocked() {
  UZFS_TRY(LoadErrlogLocked());
  UZFS_ASSIGN(auto dp, DslPool::Open(this, synced_rootbp_, name_));
  UZFS_ASSIGN(ScrubState st, LoadScrubState(*dp));
  std::lock_guard<std::mutex> sl(scan_mu_);
  scan_ = st;
  scan_disk_ = st;
  if (st.active()) {
    // Resumed after an import: the counts start anew (vdev_scrub_stat_update at resume).
    scan_stats_ = {};
    scan_stats_.state = "scanning";
    scan_stats_.start_time = scan_stats_.pass_start = NowSec();
    scan_stats_.errors = st.errors;
    // dp_scrub_isresilver: a scrub with a minimum txg is a resilver.
    scan_stats_.resilver = st.min_txg != 0;
    if (scan_stats_.resilver) SetResilveringLocked(true);
    scan_repaired_base_ = RepairedBytes();
  }
  return Status::Ok();
}

Status Pool::StartScrub() {
  std::unique_lock<std::mutex> l(mu_);
  if (readonly_) return Status::Error(EROFS, "pool is read-only");
  if (!failed_.ok()) return failed_;
  {
    std::lock_guard<std::mutex> sl(scan_mu_);
    if (scan_.active() && scan_.min_txg != 0)
      return Status::Error(EBUSY, "currently resilvering");
    if (scan_.active())
      return Status::Error(EBUSY, "currently scrubbing; use 'zpool scrub -s' to cancel scrub");
  }
  // dsl_pool_scrub_setup_sync: a scrub while some DTL is not empty is a resilver.
  uint64_t lo, hi;
  if (ResilverNeededLocked(&lo, &hi)) {
    StartResilverLocked();
    return Status::Ok();
  }
  {
    std::lock_guard<std::mutex> sl(scan_mu_);
    // dsl_pool_scrub_setup_sync: blocks born before the open txg are read.
    scan_ = {};
    scan_.func = kScrubFuncClean;
    scan_.max_txg = txg_.open();
    scan_action_ = ScanAction::kSetup;
    scan_gen_++;
    scan_view_txg_ = txg_.open();
    scan_stats_ = {};
    scan_stats_.state = "scanning";
    scan_stats_.start_time = scan_stats_.pass_start = NowSec();
    scan_repaired_base_ = RepairedBytes();
  }
  PostEvent("scrub_start");
  return Status::Ok();
}

Status Pool::CancelScrub() {
  std::unique_lock<std::mutex> l(mu_);
  if (readonly_) return Status::Error(EROFS, "pool is read-only");
  std::lock_guard<std::mutex> sl(scan_mu_);
  if (!scan_.active()) return Status::Error(ENOENT, "there is no active scrub");
  scan_.func = kScrubFuncNone;
  scan_action_ = ScanAction::kRemove;
  scan_complete_ = false;
  scan_gen_++;
  scan_stats_.state = "canceled";
  scan_stats_.end_time = NowSec();
  scan_stats_.repaired = RepairedBytes() - scan_repaired_base_;
  PostEvent("scrub_abort");
  return Status::Ok();
}

Pool::ScanStatus Pool::scan_status() {
  const uint64_t alloc = allocated();
  std::lock_guard<std::mutex> sl(scan_mu_);
  ScanStatus s = scan_stats_;
  s.to_examine = std::max(alloc, s.examined);
  if (s.state == "scanning") s.repaired = RepairedBytes() - scan_repaired_base_;
  return s;
}

void Pool::SetScanDelay(std::chrono::microseconds d) { scan_delay_us_ = d.count(); }

bool Pool::ScanPendingLocked() {
  std::lock_guard<std::mutex> sl(scan_mu_);
  return scan_action_ != ScanAction::kNone || !errlist_last_.empty() ||
         !errlist_scrub_.empty() || errlog_rotate_;
}

// dsl_pool_scrub_setup_sync, the "out:" half of dsl_pool_scrub_sync and
// dsl_pool_scrub_cancel_sync: what changed since the last txg goes into the MOS.
Status Pool::ScanSyncLocked(uint64_t txg) {
  UZFS_TRY(ScanStateSyncLocked(txg));
  return ErrlogSyncLocked();  // spa_sync: after dsl_pool_sync's scrub, spa_errlog_sync
}

Status Pool::ScanStateSyncLocked(uint64_t txg) {
  ScrubState st;
  ScanAction action;
  bool complete;
  {
    std::lock_guard<std::mutex> sl(scan_mu_);
    action = scan_action_;
    scan_action_ = ScanAction::kNone;
    st = scan_;
    complete = scan_complete_;
  }
  if (action == ScanAction::kNone) return Status::Ok();
  static const char* kEntries[] = {"scrub_queue", "scrub_min_txg", "scrub_max_txg",
                                   "scrub_bookmark", "scrub_func", "scrub_errors",
                                   "scrub_ddt_bookmark", "scrub_ddt_class_max"};
  if ((action == ScanAction::kSetup || action == ScanAction::kRemove) && scan_disk_.active()) {
    for (const char* e : kEntries) (void)mos_zaps_->Remove(1, e);
    if (scan_disk_.queue_obj) {
      UZFS_TRY(mos_->FreeObject(scan_disk_.queue_obj));
      mos_zaps_->Drop(scan_disk_.queue_obj);
    }
    LogInternalLocked(kLogPoolScrubDone, txg, "complete=" + std::to_string(complete ? 1 : 0));
    // dsl_pool_scrub_cancel_sync: vdev_dtl_reassess with the scrub's max txg when it ended
    // complete; a resilver cut short keeps the DTLs (the next one takes them up).
    if (scan_disk_.min_txg != 0) {
      if (complete && action == ScanAction::kRemove) DtlReassessLocked(scan_disk_.max_txg);
      else SetResilveringLocked(false);
    }
    scan_disk_ = {};
    std::lock_guard<std::mutex> sl(scan_mu_);
    errlog_rotate_ = true;  // spa_errlog_rotate: the scrub's log becomes the last one
  }
  if (action == ScanAction::kRemove) {
    // SPA_ASYNC_RESILVER_DONE: a leaf that missed txgs meanwhile gets its own resilver.
    uint64_t lo, hi;
    if (complete && ResilverNeededLocked(&lo, &hi)) StartResilverLocked();
    return Status::Ok();
  }
  if (action == ScanAction::kSetup) {
    SetResilveringLocked(st.min_txg != 0);
    UZFS_ASSIGN(st.queue_obj, mos_zaps_->Create(kOtScrubQueue));
    {
      std::lock_guard<std::mutex> sl(scan_mu_);
      scan_.queue_obj = st.queue_obj;
    }
    UZFS_TRY(mos_zaps_->Add(1, "scrub_func", 4, {st.func}));
    UZFS_TRY(mos_zaps_->AddInt(1, "scrub_queue", st.queue_obj));
    UZFS_TRY(mos_zaps_->AddInt(1, "scrub_min_txg", st.min_txg));
    UZFS_TRY(mos_zaps_->AddInt(1, "scrub_max_txg", st.max_txg));
    LogInternalLocked(kLogPoolScrub, txg,
                      "func=" + std::to_string(st.func) + " mintxg=" + std::to_string(st.min_txg) +
                          " maxtxg=" + std::to_string(st.max_txg));
    scan_disk_ = st;
    scan_disk_.queue.clear();
  }
  const ScanBookmark& b = st.bookmark;
  UZFS_TRY(mos_zaps_->Update(1, "scrub_bookmark", 8,
                             {b.objset, b.object, static_cast<uint64_t>(b.level), b.blkid}));
  UZFS_TRY(mos_zaps_->Update(1, "scrub_ddt_bookmark", 8,
                             {st.ddt_bookmark[0], st.ddt_bookmark[1], st.ddt_bookmark[2],
                              st.ddt_bookmark[3]}));
  UZFS_TRY(mos_zaps_->UpdateInt(1, "scrub_ddt_class_max", st.ddt_class_max));
  UZFS_TRY(mos_zaps_->UpdateInt(1, "scrub_errors", st.errors));
  // The queue object: the entries that left and those that joined since the last txg.
  for (uint64_t o : scan_disk_.queue)
    if (!st.queue.count(o)) UZFS_TRY(mos_zaps_->Remove(scan_disk_.queue_obj, Hex(o)));
  for (uint64_t o : st.queue)
    if (!scan_disk_.queue.count(o)) UZFS_TRY(mos_zaps_->AddInt(scan_disk_.queue_obj, Hex(o), o));
  scan_disk_.queue = st.queue;
  scan_disk_.bookmark = st.bookmark;
  scan_disk_.errors = st.errors;
  return Status::Ok();
}

// dsl_pool_ds_snapshotted: the dataset's blocks so far now belong to its new snapshot.
void Pool::ScanDsSnapshottedLocked(uint64_t ds_obj, uint64_t snap_obj) {
  std::lock_guard<std::mutex> sl(scan_mu_);
  if (!scan_.active()) return;
  if (scan_.bookmark.objset == ds_obj) scan_.bookmark.objset = snap_obj;
  else if (scan_.queue.erase(ds_obj)) scan_.queue.insert(snap_obj);
  else return;
  ScanChangedLocked();
}

// dsl_pool_ds_destroyed: its successor snapshot takes its place in the walk.
void Pool::ScanDsDestroyedLocked(uint64_t ds_obj, uint64_t next_snap_obj) {
  std::lock_guard<std::mutex> sl(scan_mu_);
  if (!scan_.active()) return;
  if (scan_.bookmark.objset == ds_obj) scan_.bookmark = {kZbDestroyedObjset, 0, 0, 0};
  else if (!scan_.queue.erase(ds_obj)) return;
  if (next_snap_obj) scan_.queue.insert(next_snap_obj);
  ScanChangedLocked();
}

void Pool::ScanChangedLocked() {
  if (scan_action_ == ScanAction::kNone) scan_action_ = ScanAction::kUpdate;
  scan_gen_++;                       // the step under way starts over
  scan_view_txg_ = txg_.open() + 1;  // from a tree that has the change
}

bool Pool::ScanStep(std::chrono::milliseconds budget) {
  const auto deadline = std::chrono::steady_clock::now() + budget;
  // spa_async_thread's SPA_ASYNC_RESILVER_DONE: replaced devices leave (takes sync_mu_).
  if (resilver_done_.load()) ResilverDone();
  std::unique_lock<std::mutex> l(mu_);
  if (closed_ || readonly_ || !failed_.ok()) return false;
  ScrubState work;
  uint64_t gen;
  {
    std::lock_guard<std::mutex> sl(scan_mu_);
    if (!scan_.active()) return false;
    // Not before the setup is on disk, nor over a tree older than the last change.
    if (scan_action_ == ScanAction::kSetup || txg_.synced() < scan_view_txg_) return true;
    work = scan_;
    gen = scan_gen_;
  }
  const uint64_t view = txg_.synced();
  const BlkPtr root = synced_rootbp_;
  l.unlock();

  auto top = [this](uint64_t id) { return Top(id); };
  const int64_t delay = scan_delay_us_.load();
  ScanIo io;
  io.scrub_read = [&](const BlkPtr& bp) {
    auto r = ReadBlock(bp, top, nullptr, /*scrub=*/true);
    if (delay > 0) std::this_thread::sleep_for(std::chrono::microseconds(delay));
    return r;
  };
  io.read = [this](const BlkPtr& bp) { return Read(bp); };
  io.parallel = [](size_t n, const std::function<void(size_t)>& fn) {
    ScanQueue().ParallelFor(n, fn);
  };
  io.on_error = [this](const ScanBookmark& zb) { LogScanError(zb); };
  io.injected = [this](const ScanBookmark& zb, const BlkPtr& bp) {
    return DataInjectionError(guid_, zb.objset, zb.object, zb.level, zb.blkid, bp.type());
  };
  io.should_pause = [&] {
    return std::chrono::steady_clock::now() >= deadline || txg_.synced() > view + 1 ||
           scan_gen_.load() != gen || suspended();
  };
  Result<bool> done = false;
  uint64_t examined = 0;
  {
    auto dp = DslPool::Open(this, root, name_);
    if (!dp.ok()) {
      done = dp.status();
    } else {
      ScanWalk walk(&work, dp->get(), io);
      done = walk.Run(root);
      examined = walk.examined();
    }
  }
  l.lock();
  std::lock_guard<std::mutex> sl(scan_mu_);
  if (scan_gen_ != gen || !scan_.active()) return true;  // changed meanwhile: start over
  if (!done.ok()) {
    // A MOS that cannot be read now is read again by the next step.
    scan_stats_.last_error = done.status().ToString();
    return true;
  }
  work.queue_obj = scan_.queue_obj;
  scan_ = work;
  scan_stats_.examined += examined;
  scan_stats_.pass_examined += examined;
  scan_stats_.errors = work.errors;
  if (scan_action_ == ScanAction::kNone) scan_action_ = ScanAction::kUpdate;
  if (*done) {
    // dsl_pool_scrub_cancel_sync with complete: the entries go in the next txg.
    scan_.func = kScrubFuncNone;
    scan_action_ = ScanAction::kRemove;
    scan_complete_ = true;
    scan_stats_.state = "finished";
    scan_stats_.end_time = NowSec();
    scan_stats_.repaired = RepairedBytes() - scan_repaired_base_;
    // Nothing stale is left on the resilvered leaves (their DTLs are reassessed by the sync
    // that removes the scan's entries).
    if (scan_stats_.resilver) SetResilveringLocked(false);
    PostEvent(scan_stats_.resilver ? "resilver_finish" : "scrub_finish");
  }
  return true;
}

}  // namespace uzfs
