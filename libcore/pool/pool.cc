#include "libcore/pool/pool.h"
#include "libcore/pool/pool_sinks.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>

#include "libcore/base/checksum.h"
#include "libcore/base/compress.h"
#include "libcore/dmu/dmu_nvlist_obj.h"
#include "libcore/pool/spare_registry.h"
#include "libcore/vdev/vdev_label.h"
#include "libcore/spa/metaslab_alloc.h"
#include "libcore/spa/spa_config.h"
#include "libcore/zio/zio_pipeline.h"
#include "libcore/zio/zio_read.h"

namespace uzfs {

namespace {

constexpr int kMaxSyncPasses = 40;
constexpr uint64_t kCondenseMin = 16 * 1024;  // space maps smaller than this are left alone

uint64_t Now() { return static_cast<uint64_t>(std::time(nullptr)); }

}  // namespace

Pool::Pool() = default;
Pool::~Pool() {
  zfetch_.Drain();  // its fills read through this pool and insert into the ARC
  // A pool going away without export (a failed import, a crash test) may leave unsynced data
  // in the ARC: it must not outlive the Pool.
  if (arc_ && !arc_dropped_) arc_->DropPool(guid_);
  // Its spares are no longer listed by it (shared spares: spare_registry.h).
  if (!closed_ && !spares_.empty()) spare_registry::DropPool(guid_);
  // Vdevs attach and detach replaced: their children belong to the live tree (or to another
  // retired entry), so they are released, not destroyed, with them.
  for (auto& r : retired_)
    if (!r->is_leaf())
      for (auto& c : r->children) (void)c.release();
}

Vdev* Pool::Top(uint64_t id) const {
  if (id >= NumTops()) return nullptr;
  return vroot_->children.data()[id].get();
}

void Pool::ArmLeaves(Vdev& v) {
  // A writable pool's mirrors write back what a side failed to return (self-healing).
  v.self_heal = !readonly_;
  // vdev_probe after an I/O error, through the pool's Env (vdev_health.h).
  if (v.is_leaf()) {
    Env* env = env_ ? env_ : PosixEnv();
    v.prober = [env](Vdev& leaf) { return ProbeLeaf(leaf, env); };
    v.on_error = [this](Vdev& leaf, const Vdev::ErrorReport& r) { PostVdevError(leaf, r); };
    return;
  }
  for (auto& c : v.children) ArmLeaves(*c);
}

void Pool::PublishTops(Vdev* root) {
  for (auto& t : root->children) ArmLeaves(*t);
  vroot_ = root;
  vroot_->children.reserve(kMaxTops);
  ntops_.store(vroot_->children.size(), std::memory_order_release);
}

Result<Bytes> Pool::Read(const BlkPtr& bp, ReadReport* report) {
  auto top = [this](uint64_t id) { return Top(id); };
  // Metadata goes through the ARC, keyed by where it is and what it checksums to. File data
  // has its own units (the DMU's); a caller collecting a report wants the disk itself.
  if (!arc_ || report || bp.is_hole() || bp.dva[0].empty() ||
      (bp.level() == 0 && IsFileData(bp.type())))
    return ReadBlock(bp, top, report);
  ArcMetaKey k{guid_, bp.dva[0].vdev(), bp.dva[0].offset(), bp.cksum.word[0], bp.cksum.word[1]};
  if (std::optional<Bytes> hit = arc_->GetMeta(k)) return std::move(*hit);
  UZFS_ASSIGN(Bytes b, ReadBlock(bp, top, nullptr));
  arc_->PutMeta(k, b);
  return b;
}

uint64_t Pool::Dsize(const BlkPtr& bp) const {
  uint64_t total = 0;
  for (const Dva& d : bp.dva) {
    if (d.empty()) continue;
    Vdev* top = Top(d.vdev());
    if (!top) continue;
    uint64_t ratio = (1ULL << 17) / (top->PsizeToAsize(1ULL << 17) >> 9);
    total += (d.asize() >> 9) * ratio;
  }
  return total;
}

Result<BlkPtr> Pool::WriteBlock(ByteSpan data, const WriteProps& p, uint64_t txg,
                                const BlkPtr* old) {
  std::vector<BlockWrite> batch(1);
  batch[0].data = data;
  batch[0].props = p;
  batch[0].old = old;
  UZFS_TRY(WriteBlocks(batch, txg));
  return batch[0].bp;
}

bool Pool::ConcurrentIo() {
  if (concurrent_io_ < 0) {
    bool all = true;
    size_t n = NumTops();
    for (size_t i = 0; i < n; i++)
      ForEachLeaf(*Top(i), [&](const Vdev& v) {
        File* f = const_cast<Vdev&>(v).file();
        all = all && f && f->ConcurrentWrites();
      });
    concurrent_io_ = all ? 1 : 0;
  }
  return concurrent_io_ == 1;
}

WritePipeline Pool::Pipeline(uint64_t txg) {
  WritePipeline pl;
  pl.top = [this](uint64_t id) { return Top(id); };
  pl.concurrent_io = ConcurrentIo();
  // The memory the dirty data was allowed (zfs_dirty_data_max) stays with zfsd for the next
  // txg's dirty data instead of faulting in again.
  pl.keep_free = dirty_.max();
  pl.allocate = [this, txg](BlockWrite& w) -> Status {
    const BlkPtr* old = w.old;
    const PreparedBlock& b = w.prepared;
    // An earlier pass's block of this txg that has room for the new image is rewritten in
    // place (the MOS's space maps converge this way).
    // Never a block a log record names (NoteLoggedBlockLocked).
    std::lock_guard<std::mutex> l(alloc_mu_);
    if (old && old->birth == txg && !old->is_hole() && old->psize() == b.psize &&
        old->ndvas() == std::min(w.props.copies, kSpaDvas) && !LoggedBlockLocked(*old)) {
      for (int d = 0; d < kSpaDvas; d++) w.bp.dva[d] = old->dva[d];
      return Status::Ok();
    }
    UZFS_TRY(MetaslabAlloc(groups_, rotor_, [this](uint64_t id) { return Top(id); }, b.psize,
                           w.props.copies, &w.bp));
    w.allocated = true;
    return Status::Ok();
  };
  return pl;
}

Status Pool::WriteBlocks(std::vector<BlockWrite>& batch, uint64_t txg) {
  if (!failed_.ok()) return failed_;
  std::vector<VdevIoError> errs;
  Status s = uzfs::WriteBlocks(batch, txg, Pipeline(txg), &errs);
  if (s.ok()) return s;
  if (s.code() == ENOSPC) {
    // Nothing was written: give the allocations back.
    std::lock_guard<std::mutex> l(alloc_mu_);
    for (BlockWrite& w : batch)
      if (w.allocated) (void)MetaslabFree(groups_, w.bp, /*unalloc=*/true);
    return s;
  }
  failed_ = s.Context("pool " + name_ + " suspended");
  return failed_;
}

bool Pool::DeferredFreesLocked() {
  std::lock_guard<std::mutex> l(alloc_mu_);
  for (auto& g : groups_)
    if (g->free_space() > g->allocatable()) return true;
  return false;
}

void Pool::FreeBlock(const BlkPtr& bp, uint64_t txg) {
  std::lock_guard<std::mutex> l(alloc_mu_);
  // A block born in this txg and gone before its space maps were written (an early writeback
  // image overwritten, a dropped dataset's) is reusable at once: no synced tree holds it.
  // Not one a log record names: its free goes into the txg's space maps (dbuf_unoverride's
  // dsl_free), so a crash before the txg syncs finds it unchanged for the claim.
  Status s = MetaslabFree(groups_, bp, /*unalloc=*/bp.birth == txg && !LoggedBlockLocked(bp));
  if (!s.ok() && failed_.ok()) failed_ = s;
}

// ---- configuration nvlists (spa_config.h builds them) ----

PoolIdentity Pool::Identity() const {
  PoolIdentity id{version_, name_, guid_, comment_, create_txg_, {}};
  id.features_for_read = label_features_;
  return id;
}

std::vector<const Vdev*> Pool::Tops() const {
  size_t n = NumTops();
  std::vector<const Vdev*> tops;
  for (size_t i = 0; i < n; i++) tops.push_back(Top(i));
  return tops;
}

NvList Pool::PoolConfig(uint64_t txg, uint64_t state) const {
  return uzfs::PoolConfig(Identity(), Tops(), txg, state);
}

NvList Pool::StatusConfig() {
  std::lock_guard<std::mutex> l(mu_);
  NvList cfg = PoolConfig(txg_.synced(), kPoolStateActive);
  NvList tree = *cfg.GetNvList("vdev_tree");
  std::vector<NvList> kids;
  size_t n = NumTops();
  for (size_t i = 0; i < n; i++) {
    NvList t = VdevStatusTree(*Top(i));
    struct stat st;
    if (Top(i)->is_dax() && ::stat(Top(i)->open_path.c_str(), &st) == 0 && S_ISREG(st.st_mode))
      t.AddUint64("dax_emulated", 1);  // a file standing in for a device-DAX device
    if (i < groups_.size()) {
      std::lock_guard<std::mutex> al(alloc_mu_);
      t.AddUint64("space", groups_[i]->usable());
      t.AddUint64("alloc", groups_[i]->allocated());
    }
    kids.push_back(std::move(t));
  }
  tree.AddNvListArray("children", std::move(kids));
  if (!spares_.empty()) tree.AddNvListArray("spares", SpareStatusLocked());  // spa_add_spares
  // The time the I/O counters cover, in ns (vdev_get_stats's vs_timestamp).
  tree.AddUint64("stats_ns", static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now() - stats_since_).count()));
  cfg.AddNvList("vdev_tree", std::move(tree));
  return cfg;
}

std::vector<std::string> Pool::devices() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::string> out;
  size_t n = NumTops();
  for (size_t i = 0; i < n; i++)
    ForEachLeaf(*Top(i), [&](const Vdev& v) { out.push_back(v.open_path.empty() ? v.path : v.open_path); });
  for (std::string& s : SparePathsLocked()) out.push_back(std::move(s));  // its spares too
  return out;
}

uint64_t Pool::size() {
  std::lock_guard<std::mutex> l(mu_);
  std::lock_guard<std::mutex> al(alloc_mu_);
  uint64_t s = 0;
  for (auto& g : groups_)
    if (g->is_normal()) s += g->usable();
  return s;
}

uint64_t Pool::allocated() {
  std::lock_guard<std::mutex> l(mu_);
  std::lock_guard<std::mutex> al(alloc_mu_);
  uint64_t s = 0;
  for (auto& g : groups_)
    if (g->is_normal()) s += g->allocated();
  return s;
}

// ---- sync ----

Status Pool::WriteConfigObject(uint64_t txg) {
  UZFS_ASSIGN(uint64_t obj, mos_zaps_->LookupInt(1, "config"));
  return WriteNvlistObject(*mos_, obj, PoolConfig(txg, kPoolStateActive));
}

Status Pool::ApplySpaceMapChanges(uint64_t txg, int pass, bool* changed) {
  *changed = false;
  for (auto& g : groups_) {
    Vdev* top = Top(g->vdev_id());
    for (SpaceMapAppend& a : g->Sync(txg, pass)) {
      *changed = true;
      Metaslab& m = g->metaslabs()[a.ms];
      if (m.sm_object == 0) {
        UZFS_ASSIGN(m.sm_object, mos_->Allocate(kOtSpaceMap, 4096, kOtSpaceMapHeader, 24));
        Bytes id(8);
        StoreLE64(id.data(), m.sm_object);
        UZFS_TRY(mos_->Write(top->metaslab_array, a.ms * 8, id));
      }
      // Condense a map that grew well past what its segments need (metaslab_should_condense),
      // in the first pass only so the passes still converge.
      uint64_t segs = m.free.segments() + m.defer[0].segments() + m.defer[1].segments() +
                      m.freed.segments() + 2;
      uint64_t optimal = segs * 8 * 2 + 64;
      if (pass == 1 && m.sm_objsize + a.words.size() * 8 > std::max<uint64_t>(kCondenseMin, 4 * optimal)) {
        uint64_t alloc = 0;
        a.words = g->CondensedWords(a.ms, txg, pass, &alloc);
        if (alloc != a.new_alloc)
          return Status::Error(EIO, "metaslab " + std::to_string(a.ms) + " condense mismatch");
        UZFS_TRY(mos_->Truncate(m.sm_object, 0));
        m.sm_objsize = 0;
      }
      Bytes words(a.words.size() * 8);
      for (size_t i = 0; i < a.words.size(); i++) StoreLE64(words.data() + 8 * i, a.words[i]);
      UZFS_TRY(mos_->Write(m.sm_object, m.sm_objsize, words));
      m.sm_objsize += words.size();
      Bytes hdr(24);
      StoreLE64(hdr.data(), m.sm_object);
      StoreLE64(hdr.data() + 8, m.sm_objsize);
      StoreLE64(hdr.data() + 16, a.new_alloc);
      UZFS_TRY(mos_->SetBonus(m.sm_object, hdr));
    }
  }
  return Status::Ok();
}

namespace {
uint64_t MicrosSince(std::chrono::steady_clock::time_point t0) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count());
}
}  // namespace

Status Pool::CloseTxgLocked(uint64_t state, TxgTail* tail) {
  // No txg closes while an early writeback is between capture and apply (it wrote for this
  // txg, and its allocations must land in this txg's space maps only if they are used), nor
  // while the previous txg's labels are being written (txgs end in order).
  txg_.WaitQuiet(mu_);
  tail->txg = 0;
  if (!failed_.ok()) return failed_;
  if (readonly_) return Status::Error(EROFS, "pool is read-only");
  auto t0 = std::chrono::steady_clock::now();
  UZFS_TRY(FlushMappedLocked());
  uint64_t txg = txg_.open();
  if (fault_config_.exchange(false, std::memory_order_relaxed)) config_dirty_ = true;
  bool anything = mos_->dirty() || mos_zaps_->dirty() || config_dirty_ || !pending_history_.empty();
  for (auto& [obj, od] : datasets_) anything |= od.os->dirty() || od.zaps->dirty();
  anything |= !sync_tasks_.empty() || ScanPendingLocked() || !dtl_dirty_.empty() || spares_dirty_;
  // Frees deferred by the last txgs become reusable only as txgs pass: a writer waiting for
  // that space needs a txg even when nothing else changed (spa_sync's metaslab_sync_done).
  anything |= DeferredFreesLocked();
  if (!anything) return Status::Ok();
  UZFS_TRY(SyncDatasets(txg));
  UZFS_TRY(RunSyncTasks(txg));  // dsl_sync_task_group_sync: after the objsets, as ZFS does
  UZFS_TRY(ScanSyncLocked(txg));  // dsl_pool_sync's dsl_pool_scrub_sync
  UZFS_TRY(DtlSyncLocked(txg));   // spa_sync's vdev_sync: the DTLs (vdev_dtl_sync)
  for (const NvList& rec : pending_history_) UZFS_TRY(LogHistoryLocked(rec));
  pending_history_.clear();
  UZFS_TRY(SyncSparesLocked());  // spa_sync's spa_sync_aux_dev, before the config object
  if (config_dirty_) UZFS_TRY(WriteConfigObject(txg));
  MosSink sink(this);
  BlkPtr rootbp;
  int pass = 1;
  for (;; pass++) {
    if (pass > kMaxSyncPasses) {
      failed_ = Status::Error(EIO, "txg " + std::to_string(txg) + " did not converge");
      return failed_;
    }
    UZFS_TRY(mos_zaps_->Flush());
    mos_used_ = mos_comp_ = mos_uncomp_ = 0;
    auto r = mos_->Sync(sink, txg, pass);
    if (!r.ok()) {
      failed_ = r.status();
      return failed_;
    }
    rootbp = *r;
    if (!failed_.ok()) return failed_;
    bool changed = false;
    UZFS_TRY(ApplySpaceMapChanges(txg, pass, &changed));
    // dsl_pool_sync: the MOS's space is charged to the $MOS dir (and up to the root dir).
    if (mos_used_ || mos_comp_ || mos_uncomp_) {
      changed = true;
      UZFS_TRY(ChargeDirs(mos_dir_obj_, mos_used_, mos_comp_, mos_uncomp_));
    }
    if (!changed && !mos_->dirty()) break;
  }
  // The uberblock, and what the labels of every leaf get.
  Uberblock& ub = tail->ub;
  ub.magic = kUberblockMagic;
  ub.version = version_;
  ub.txg = txg;
  size_t n = NumTops();
  uint64_t guid_sum = guid_;
  for (size_t i = 0; i < n; i++) guid_sum += Top(i)->GuidSum();
  ub.guid_sum = guid_sum;
  ub.timestamp = Now();
  ub.rootbp = rootbp;
  tail->config = config_dirty_ || state != kPoolStateActive;
  tail->leaves.clear();
  const std::vector<const Vdev*> tops = Tops();
  std::function<void(const Vdev&, Vdev&)> collect = [&](const Vdev& top, Vdev& v) {
    if (v.is_leaf()) {
      if (v.file() && !v.health.dead()) {  // vdev_config_sync skips what is not writeable
        LabelWrite w;
        w.file = v.file();
        w.leaf = &v;
        w.ashift = top.ashift;
        if (tail->config) w.config = LabelConfig(Identity(), tops, top, v, txg, state);
        tail->leaves.push_back(std::move(w));
      }
      return;
    }
    for (auto& c : v.children) collect(top, *c);
  };
  for (size_t i = 0; i < n; i++) collect(*Top(i), *Top(i));
  tail->txg = txg;
  // The txg is closed: its blocks are written, and changes from here on belong to the next.
  txg_.Closed(txg);
  {
    // Its frees are made: the blocks its log records named need no care any more.
    std::lock_guard<std::mutex> al(alloc_mu_);
    std::erase_if(logged_blocks_, [txg](const auto& e) { return e.second <= txg; });
  }
  config_dirty_ = false;
  mos_zaps_->Trim();
  // What was reserved in this txg (all that is dirty: reservations are made under mu_) is
  // now on disk and counted in its datasets: no longer dirty in memory, nor pending against
  // the space a writer may use.
  pending_write_.clear();
  dirty_.Closed();
  stats_.close_us += MicrosSince(t0);
  return Status::Ok();
}

Status Pool::FinishTxgLocked(const TxgTail& tail, Status labels_status) {
  if (!labels_status.ok()) {
    failed_ = labels_status.Context("pool " + name_ + " suspended");
    return failed_;
  }
  {
    std::lock_guard<std::mutex> al(alloc_mu_);
    for (auto& g : groups_) g->SyncDone(tail.txg);  // metaslab_sync_done
  }
  txg_.Synced(tail.txg);
  synced_rootbp_ = tail.ub.rootbp;
  stats_.syncs++;
  dirty_.Wake();
  return Status::Ok();
}

Status Pool::SyncLocked(uint64_t state, std::unique_lock<std::mutex>* release) {
  TxgTail tail;
  UZFS_TRY(CloseTxgLocked(state, &tail));
  if (!tail.txg) return Status::Ok();
  if (release) {
    txg_.BeginLabels();
    release->unlock();
  }
  auto t0 = std::chrono::steady_clock::now();
  Status s = VdevConfigSync(tail.leaves, tail.ub, tail.config);
  stats_.labels_us += MicrosSince(t0);
  if (release) {
    *release = SyncLock();
    txg_.EndLabels();
  }
  return FinishTxgLocked(tail, s);
}

Status Pool::Sync() {
  // A pool imported read-only writes nothing: there is no txg to wait for (txg_wait_synced
  // returns at once when !spa_writeable).
  if (readonly_) return Status::Ok();
  if (pre_sync_) pre_sync_(*this);
  std::lock_guard<std::mutex> one(sync_mu_);
  UZFS_TRY(WriteEarly());
  std::unique_lock<std::mutex> l = SyncLock();
  return SyncLocked(kPoolStateActive, &l);
}

Status Pool::Export() {
  if (pre_sync_) pre_sync_(*this);
  std::lock_guard<std::mutex> l(mu_);
  // A client's mapping of a DAX file is the device itself: nothing can take it back.
  if (!dax_maps_.empty()) return Status::Error(EBUSY, "pool is busy: a DAX file is mapped");
  // spa_export_common writes the labels' exported state only when the pool is writable.
  if (!readonly_) {
    config_dirty_ = true;
    UZFS_TRY(SyncLocked(kPoolStateExported));
  }
  closed_ = true;
  spare_registry::DropPool(guid_);
  if (arc_) arc_->DropPool(guid_);
  arc_dropped_ = true;
  return Status::Ok();
}

Status Pool::Destroy() {
  std::lock_guard<std::mutex> l(mu_);
  if (!dax_maps_.empty()) return Status::Error(EBUSY, "pool is busy: a DAX file is mapped");
  config_dirty_ = true;
  UZFS_TRY(SyncLocked(kPoolStateDestroyed));
  closed_ = true;
  spare_registry::DropPool(guid_);
  if (arc_) arc_->DropPool(guid_);
  arc_dropped_ = true;
  return Status::Ok();
}

}  // namespace uzfs
