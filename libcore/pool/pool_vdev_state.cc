// A leaf's life in an imported pool beyond faults: zpool offline and online (zfs-fuse vdev.c
// vdev_offline, vdev_online, vdev_reopen), its dirty time log (vdev_dtl_dirty, vdev_dtl_sync,
// vdev_dtl_load, vdev_dtl_reassess; libcore/vdev/vdev_dtl.h) and the resilver that brings
// it up to date (dsl_scrub.c: a scrub whose scrub_min_txg is not 0, over the txgs the DTLs
// hold; the walk is the scrub's, pool_scan.cc).
//
// How a resilver writes: every block born in the DTLs' range is read as a scrub reads it,
// every copy verified; a leaf flagged resilvering returns its stale copy, which is then
// rewritten from a good one (mirror and raidz self-healing, vdev.cc) without being counted
// as a checksum error. The bytes so rewritten are what zpool status reports as resilvered.
//
// Locking: everything here runs under mu_ (the pool's lock; sync_mu_ first for the
// operations that sync); scan_mu_ is taken under mu_ for the scan state.
#include <ctime>
#include <functional>

#include "libcore/pool/pool.h"
#include "libcore/pool/pool_events.h"
#include "libcore/spa/metaslab.h"
#include "libcore/spa/space_map.h"
#include "libcore/vdev/vdev_label.h"

namespace uzfs {

bool Pool::ReopenLeafLocked(Vdev& v) {
  // vdev_reopen: the device at the leaf's path, as import opens it; vdev_validate: its
  // labels must name this leaf of this pool.
  const std::string& path = !v.open_path.empty() ? v.open_path : v.path;
  OpenOptions oo;
  oo.write = !readonly_;
  oo.direct = true;
  oo.direct_min_io = uint64_t{1} << std::min<uint64_t>(v.ashift ? v.ashift : 9, 17);
  auto f = env_->Open(path, oo);
  bool ok = f.ok() && !v.inject.gone();  // an injected ENXIO fails reopens too
  if (ok) {
    auto dl = ReadDeviceLabels(**f, 0, v.inject.labels());
    ok = false;
    if (dl.ok())
      for (const LabelRead& lr : dl->labels)
        if (lr.status.ok() && lr.config.GetUint64("guid").value_or(0) == v.guid &&
            lr.config.GetUint64("pool_guid").value_or(0) == guid_)
          ok = true;
  }
  if (!ok) return false;
  v.ReplaceFile(std::move(f).value());
  return true;
}

Result<Pool::LeafChange> Pool::BeginLeafChange(uint64_t guid) {
  LeafChange c{std::unique_lock<std::mutex>(sync_mu_), std::unique_lock<std::mutex>(mu_)};
  if (closed_) return Status::Error(ENOENT, "no such pool");
  if (readonly_) return Status::Error(EROFS, "pool is read-only");
  if (!failed_.ok()) return failed_;
  c.leaf = LookupVdevLocked(guid);
  if (!c.leaf) return Status::Error(ENODEV, "no such device in pool");
  if (!c.leaf->is_leaf())
    return Status::Error(ENOTSUP, "operation not supported on this type of pool");
  return c;
}

Vdev* Pool::TopOfLocked(const Vdev* v) const {
  for (size_t i = 0; i < NumTops(); i++)
    if (!Top(i)->is_hole() && (Top(i) == v || FindParent(*Top(i), v))) return Top(i);
  return nullptr;
}

Status Pool::OfflineVdev(uint64_t guid, bool temporary) {
  UZFS_ASSIGN(LeafChange c, BeginLeafChange(guid));
  Vdev* v = c.leaf;
  const LeafState before = v->health.state();
  if (before != LeafState::kOffline) {
    // vdev_dtl_required, then vdev_is_dead(tvd) after the reopen: the top-level vdev must
    // still hold every block with this leaf gone (a log device may go: its records are in
    // the main pool once synced).
    Vdev* top = TopOfLocked(v);
    v->health.Set(LeafState::kOffline);
    if (top && !top->is_log && !VdevComplete(*top)) {
      v->health.Set(before);
      return Status::Error(EBUSY, "no valid replicas");
    }
  }
  v->offline_temporary = temporary;
  config_dirty_ = true;
  concurrent_io_ = -1;
  PostStateChange(events_.load(), *this, *v, before, LeafState::kOffline);
  return SyncLocked(kPoolStateActive);
}

Result<LeafState> Pool::OnlineVdev(uint64_t guid, bool expand) {
  UZFS_ASSIGN(LeafChange c, BeginLeafChange(guid));
  Vdev* v = c.leaf;
  // vdev_online: ZFS_ONLINE_EXPAND or spa_autoexpand; a hot spare (vdev_aux) cannot grow.
  if (!expand) {
    UZFS_ASSIGN(PropValue ae, GetPropLocked("autoexpand"));
    expand = ae.value == "on" || ae.value == "1";
  }
  v->offline_temporary = false;
  const LeafState before = v->health.state();
  // vdev_open bails out on vdev_faulted: a leaf faulted by its errors stays FAULTED through
  // zpool online ("use 'zpool clear' to restore a faulted device"); a DEGRADED one stays
  // DEGRADED (vdev_degraded), an ONLINE one ONLINE.
  if (before != LeafState::kFaulted && v->health.dead()) {
    if (ReopenLeafLocked(*v)) {
      v->health.Clear();
      v->health.Set(LeafState::kOnline);
      // Writes of the open txg made before now (early writeback, intent log blocks) missed
      // the device: the txg joins its DTL if it missed any earlier one.
      if (!v->dtl.empty() && v->dtl.Add(txg_.open(), txg_.open())) dtl_dirty_.insert(v);
    } else {
      v->health.Set(LeafState::kCantOpen);
    }
  }
  // vdev_online's *newstate, read before the sync below (whose errors may change it).
  const LeafState now = v->health.state();
  const bool dead = now == LeafState::kFaulted || now == LeafState::kCantOpen;
  config_dirty_ = true;
  concurrent_io_ = -1;
  PostStateChange(events_.load(), *this, *v, before, v->health.state());
  PostEvent("vdev_online", v);  // vdev_online's ESC_ZFS_VDEV_ONLINE
  if (expand && !dead) {
    // vdev_reopen with vdev_expanding set, then spa_config_update's vdev_expand.
    Vdev* top = TopOfLocked(v);
    bool grew = false;
    if (top && !top->is_dax()) UZFS_TRY(ExpandTopLocked(*top, &grew));
  }
  // spa_vdev_state_exit: SPA_ASYNC_RESILVER when vdev_resilver_needed.
  uint64_t lo, hi;
  if (ResilverNeededLocked(&lo, &hi)) StartResilverLocked();
  UZFS_TRY(SyncLocked(kPoolStateActive));
  return now;
}

// ---- expansion ----

uint64_t Pool::DeviceAsizeLocked(const Vdev& v) {
  if (v.is_leaf()) {
    // vdev_file_open / vdev_disk_open's psize, then vdev_open: the labels' room taken off.
    File* f = const_cast<Vdev&>(v).file();
    if (!f || v.health.dead()) return 0;
    auto size = f->Size();
    if (!size.ok()) return 0;
    const uint64_t psize = P2Align(*size, kVdevLabelSize);
    if (psize < kVdevLabelStartSize + kVdevLabelEndSize) return 0;
    return psize - kVdevLabelStartSize - kVdevLabelEndSize;
  }
  // vdev_mirror_open / vdev_raidz_open: the smallest child that opened.
  uint64_t min = 0;
  for (const auto& c : v.children) {
    const uint64_t a = DeviceAsizeLocked(*c);
    if (a && (!min || a < min)) min = a;
  }
  if (!min) return 0;
  if (v.type == "raidz") {
    if (v.ashift) min = P2Align(min, uint64_t{1} << v.ashift);
    return min * v.children.size();
  }
  return min;
}

Status Pool::ExpandTopLocked(Vdev& top, bool* grew) {
  *grew = false;
  if (top.is_hole() || top.is_dax()) return Status::Ok();
  uint64_t asize = DeviceAsizeLocked(top);
  if (top.ashift) asize = P2Align(asize, uint64_t{1} << top.ashift);
  if (asize <= top.asize) return Status::Ok();  // vdev_open never shrinks a vdev
  {
    // The new metaslabs become allocatable at once; their space maps and their entries in
    // the metaslab array are written by their first sync (ApplySpaceMapChanges), the array
    // read back zero-filled past its end at import (LoadMetaslabs).
    std::lock_guard<std::mutex> al(alloc_mu_);
    top.asize = asize;
    groups_[top.id]->Grow(asize);
  }
  *grew = true;
  config_dirty_ = true;  // vdev_config_dirty: asize in the MOS config and every label
  return Status::Ok();
}

// ---- DTLs ----

Status Pool::LoadDtlsLocked() {
  for (size_t i = 0; i < NumTops(); i++) {
    if (Top(i)->is_hole()) continue;
    Status bad = Status::Ok();
    ForEachLeaf(*Top(i), [&](Vdev& v) {
      if (!v.dtl_object || !bad.ok()) return;
      auto dn = mos_->Dnode(v.dtl_object);
      if (!dn.ok()) { bad = dn.status(); return; }
      if ((*dn)->bonus.size() < 24) { bad = Status::Error(ECORRUPT, "DTL header too short"); return; }
      const uint64_t objsize = LoadLE64((*dn)->bonus.data() + 8);
      auto raw = mos_->Read(v.dtl_object, 0, objsize);
      if (!raw.ok()) { bad = raw.status(); return; }
      auto entries = DecodeSpaceMap(*raw, objsize, 0, 0, true);
      if (!entries.ok()) { bad = entries.status(); return; }
      for (const SpaceMapEntry& e : *entries) {
        if (e.debug || e.run == 0) continue;
        if (e.alloc) v.dtl.Add(e.offset, e.offset + e.run - 1);
        // FREE entries are not written by vdev_dtl_sync (it truncates and writes ALLOC).
      }
    });
    UZFS_TRY(bad);
  }
  // Leaves whose DTL holds txgs are stale until a resilver (started by the import) ends.
  SetResilveringLocked(true);
  return Status::Ok();
}

Status Pool::DtlSyncLocked(uint64_t txg) {
  // vdev_dtl_dirty from the failed writes of a dead leaf: a whole txg is missed.
  for (size_t i = 0; i < NumTops(); i++) {
    if (Top(i)->is_hole()) continue;
    ForEachLeaf(*Top(i), [&](Vdev& v) {
      if (v.health.dead() && v.dtl.Add(txg, txg)) dtl_dirty_.insert(&v);
    });
  }
  for (Vdev* v : dtl_dirty_) {
    if (v->dtl_object == 0) {
      if (v->dtl.empty()) continue;
      UZFS_ASSIGN(v->dtl_object, mos_->Allocate(kOtSpaceMap, 4096, kOtSpaceMapHeader, 24));
      config_dirty_ = true;  // the leaf's config names it
    }
    // space_map_truncate, then space_map_sync of every range as ALLOC entries (unit: txg).
    std::vector<uint64_t> words;
    uint64_t alloc = 0;
    if (!v->dtl.empty()) {
      words.push_back(SmDebugWord(0, 1, txg));
      for (auto [a, b] : v->dtl.ranges()) {
        uint64_t off = a, run = b - a + 1;
        alloc += run;
        while (run) {
          const uint64_t r = std::min(run, kSmRunMax);
          words.push_back(SmEntryWord(off, r, false));
          off += r;
          run -= r;
        }
      }
    }
    UZFS_TRY(mos_->Truncate(v->dtl_object, 0));
    if (!words.empty()) {
      Bytes raw(words.size() * 8);
      for (size_t k = 0; k < words.size(); k++) StoreLE64(raw.data() + 8 * k, words[k]);
      UZFS_TRY(mos_->Write(v->dtl_object, 0, raw));
    }
    Bytes hdr(24);
    StoreLE64(hdr.data(), v->dtl_object);
    StoreLE64(hdr.data() + 8, words.size() * 8);
    StoreLE64(hdr.data() + 16, alloc);
    UZFS_TRY(mos_->SetBonus(v->dtl_object, hdr));
  }
  dtl_dirty_.clear();
  return Status::Ok();
}

bool Pool::ResilverNeededLocked(uint64_t* min_txg, uint64_t* max_txg) const {
  bool needed = false;
  uint64_t lo = UINT64_MAX, hi = 0;
  for (size_t i = 0; i < NumTops(); i++) {
    if (Top(i)->is_hole()) continue;
    ForEachLeaf(*Top(i), [&](Vdev& v) {
      if (v.dtl.empty() || v.health.dead()) return;  // vdev_writeable
      lo = std::min(lo, v.dtl.min() - 1);
      hi = std::max(hi, v.dtl.max() + 1);
      needed = true;
    });
  }
  if (needed) {
    *min_txg = lo;
    *max_txg = hi;
  }
  return needed;
}

void Pool::SetResilveringLocked(bool on) {
  for (size_t i = 0; i < NumTops(); i++) {
    if (Top(i)->is_hole()) continue;
    ForEachLeaf(*Top(i), [&](Vdev& v) {
      v.resilvering.store(on && !v.dtl.empty() && !v.health.dead(), std::memory_order_relaxed);
    });
  }
}

void Pool::StartResilverLocked() {
  uint64_t lo, hi;
  if (!ResilverNeededLocked(&lo, &hi)) return;
  // dsl_pool_scrub_setup_sync with vdev_resilver_needed: a CLEAN scrub over (lo, hi); a
  // scrub under way is cancelled by the setup (its entries replaced).
  SetResilveringLocked(true);
  std::lock_guard<std::mutex> sl(scan_mu_);
  scan_ = {};
  scan_.func = kScrubFuncClean;
  scan_.min_txg = lo;
  scan_.max_txg = std::min(hi, txg_.open() + 1);
  // An incremental scrub walks only the dedup table's ditto class (uzfs has none).
  if (scan_.min_txg > kTxgInitial) scan_.ddt_class_max = kDdtClassDitto;
  scan_action_ = ScanAction::kSetup;
  scan_complete_ = false;
  scan_gen_++;
  scan_view_txg_ = txg_.open();
  scan_stats_ = {};
  scan_stats_.state = "scanning";
  scan_stats_.resilver = true;
  scan_stats_.start_time = scan_stats_.pass_start = static_cast<uint64_t>(std::time(nullptr));
  scan_repaired_base_ = RepairedBytes();
  PostEvent("resilver_start");
}

void Pool::DtlReassessLocked(uint64_t max_txg) {
  // vdev_dtl_reassess(rvd, txg, scrub_txg, scrub_done): the txgs the resilver covered leave
  // the DTL of every leaf that took its writes.
  for (size_t i = 0; i < NumTops(); i++) {
    if (Top(i)->is_hole()) continue;
    ForEachLeaf(*Top(i), [&](Vdev& v) {
      if (v.health.dead()) return;
      if (v.dtl.RemoveBelow(max_txg)) dtl_dirty_.insert(&v);
    });
  }
  SetResilveringLocked(false);
  resilver_done_ = true;  // spa_async_request(SPA_ASYNC_RESILVER_DONE)
}

}  // namespace uzfs
