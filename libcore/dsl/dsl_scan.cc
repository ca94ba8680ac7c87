#include "libcore/dsl/dsl_scan.h"

#include <algorithm>

#include "libcore/zil/zil.h"

namespace uzfs {

namespace {

constexpr int kBlkPtrShift = 7;       // SPA_BLKPTRSHIFT
constexpr int kDnodeBlockShift = 14;  // DNODE_BLOCK_SHIFT
constexpr size_t kLeafBatch = 64;     // level-0 blocks read in parallel at most

// bookmark_is_before: zb1 (a block of the object dnp describes) and everything below it come
// before zb2 (a level-0 bookmark) in the walk's order.
bool BookmarkIsBefore(const DnodePhys* dnp, const ScanBookmark& zb1, const ScanBookmark& zb2) {
  if (dnp == nullptr) return false;  // the objset_phys_t is before nothing
  const uint64_t zb1next_l0 = (zb1.blkid + 1)
                              << (zb1.level * (dnp->indblkshift - kBlkPtrShift));
  const uint64_t zb2thisobj =
      zb2.object ? zb2.object : zb2.blkid << (kDnodeBlockShift - kDnodeShift);
  if (zb1.object == 0) {  // the meta-dnode: compare the objects its blocks hold
    const uint64_t nextobj = zb1next_l0 * dnp->datablksz() >> kDnodeShift;
    return nextobj <= zb2thisobj;
  }
  if (zb1.object < zb2thisobj) return true;
  if (zb1.object > zb2thisobj) return false;
  if (zb2.object == 0) return false;
  return zb1next_l0 <= zb2.blkid;
}

}  // namespace

Result<ScrubState> LoadScrubState(DslPool& dp) {
  ScrubState st;
  const Zap& dir = dp.object_directory();
  auto func = dir.Lookup("scrub_func");
  if (!func.ok()) return st;  // no scrub under way
  st.func = static_cast<uint32_t>(*func);
  auto get = [&](const char* name, uint64_t* v) -> Status {
    auto r = dir.Lookup(name);
    if (!r.ok()) return r.status().Context(name);
    *v = *r;
    return Status::Ok();
  };
  UZFS_TRY(get("scrub_queue", &st.queue_obj));
  UZFS_TRY(get("scrub_min_txg", &st.min_txg));
  UZFS_TRY(get("scrub_max_txg", &st.max_txg));
  (void)get("scrub_errors", &st.errors);
  if (const ZapEntry* e = dir.Find("scrub_bookmark"); e && e->value.size() == 4) {
    st.bookmark = {e->value[0], e->value[1], static_cast<int64_t>(e->value[2]), e->value[3]};
  }
  if (const ZapEntry* e = dir.Find("scrub_ddt_bookmark"); e && e->value.size() == 4)
    std::copy_n(e->value.begin(), 4, st.ddt_bookmark);
  (void)get("scrub_ddt_class_max", &st.ddt_class_max);
  UZFS_ASSIGN(Zap q, Zap::Open(dp.mos(), st.queue_obj));
  for (const ZapEntry& e : q.entries()) st.queue.insert(e.first());
  return st;
}

bool ScanWalk::InRange(const BlkPtr& bp) const {
  const uint64_t b = bp.physical_birth();
  return b > st_.min_txg && b < st_.max_txg;
}

void ScanWalk::Count(const BlkPtr& bp) {
  for (const Dva& d : bp.dva) examined_ += d.asize();
  blocks_++;
}

// scrub_pause: only at a level-0 block, and not while still looking for the bookmark.
bool ScanWalk::Pause(const ScanBookmark* zb) {
  if (pausing_) return true;
  if (!st_.bookmark.zero()) return false;
  if (zb && zb->level != 0) return false;
  if (!io_.should_pause()) return false;
  if (zb) st_.bookmark = *zb;
  pausing_ = true;
  return true;
}

void ScanWalk::Error(const ScanBookmark& zb) {
  st_.errors++;
  if (io_.on_error) io_.on_error(zb);
}

Result<Bytes> ScanWalk::Scrub(const BlkPtr& bp, const ScanBookmark& zb) {
  if (io_.injected)
    if (int e = io_.injected(zb, bp)) return Status::Error(e, "injected");
  return io_.scrub_read(bp);
}

Result<Bytes> ScanWalk::ScrubAndRead(const BlkPtr& bp, const ScanBookmark& zb) {
  if (!InRange(bp)) return io_.read(bp);
  Count(bp);
  auto r = Scrub(bp, zb);
  if (!r.ok()) Error(zb);
  return r;
}

void ScanWalk::FlushLeaves() {
  if (leaves_.empty()) return;
  std::vector<char> failed(leaves_.size(), 0);
  io_.parallel(leaves_.size(),
               [&](size_t i) { failed[i] = !Scrub(leaves_[i].first, leaves_[i].second).ok(); });
  for (size_t i = 0; i < failed.size(); i++)
    if (failed[i]) Error(leaves_[i].second);
  leaves_.clear();
}

void ScanWalk::VisitBp(const DnodePhys* dnp, const BlkPtr& bp, const ScanBookmark& zb) {
  if (bp.is_hole() || bp.birth <= st_.min_txg) return;
  if (Pause(&zb)) return;
  if (!st_.bookmark.zero()) {
    // Visited, with everything below it, by an earlier pass.
    if (BookmarkIsBefore(dnp, zb, st_.bookmark)) return;
    // The block to resume from, or past it into another object: look for pauses again.
    if (zb == st_.bookmark || zb.object > st_.bookmark.object) st_.bookmark = {};
  }
  const uint8_t type = bp.type();
  if (bp.level() == 0 && type != kOtDnode && type != kOtObjset) {
    // A leaf of the tree: only its scrub read (dsl_pool_scrub_clean_cb), batched.
    if (!InRange(bp)) return;
    Count(bp);
    leaves_.push_back({bp, zb});
    if (leaves_.size() >= kLeafBatch) FlushLeaves();
    return;
  }
  auto data = ScrubAndRead(bp, zb);
  if (!data.ok()) return;
  const Bytes& buf = *data;
  const bool le = bp.little_endian();
  if (bp.level() > 0) {
    const uint64_t epb = buf.size() >> kBlkPtrShift;
    for (uint64_t i = 0; i < epb && !pausing_; i++) {
      BlkPtr cbp = BlkPtr::Decode(buf.data() + (i << kBlkPtrShift), le);
      VisitBp(dnp, cbp, {zb.objset, zb.object, zb.level - 1, zb.blkid * epb + i});
    }
    FlushLeaves();
  } else if (type == kOtDnode) {
    const uint64_t epb = buf.size() >> kDnodeShift;
    for (uint64_t i = 0; i < epb && !pausing_; i++) {
      auto dn = DnodePhys::Decode(buf.data() + (i << kDnodeShift), le);
      if (!dn.ok()) {
        Error({zb.objset, zb.blkid * epb + i, 0, 0});
        continue;
      }
      VisitDnode(*dn, zb.objset, zb.blkid * epb + i);
    }
  } else {  // the objset_phys_t
    if (buf.size() < kObjsetPhysSizeV1) return;
    TraverseZil(buf, bp, zb.objset);
    auto meta = DnodePhys::Decode(buf.data(), le);
    if (meta.ok()) VisitDnode(*meta, zb.objset, 0);
    if (buf.size() >= kObjsetPhysSize) {
      for (int i = 0; i < 2; i++) {
        auto d = DnodePhys::Decode(buf.data() + 1024 + 512 * i, le);
        if (d.ok()) VisitDnode(*d, zb.objset, i == 0 ? kUserUsedObject : kGroupUsedObject);
      }
    }
  }
}

void ScanWalk::VisitDnode(const DnodePhys& dn, uint64_t objset, uint64_t object) {
  for (size_t j = 0; j < dn.blkptr.size() && !pausing_; j++)
    VisitBp(&dn, dn.blkptr[j], {objset, object, static_cast<int64_t>(dn.nlevels) - 1, j});
  FlushLeaves();
}

// traverse_zil: the log blocks (and the blocks of TX_WRITE records) of a claimed log not yet
// replayed; a failed read there is expected (the chain's unwritten tail) and not an error.
void ScanWalk::TraverseZil(const Bytes& objset_block, const BlkPtr& objset_bp, uint64_t objset) {
  ZilHeader zh = ZilHeader::Decode(objset_block.data() + kZilHeaderOffset, objset_bp.little_endian());
  if (zh.claim_txg == 0) return;  // writable pools visit claimed logs only
  struct Reader : BlockReader {
    ScanWalk* w;
    Result<Bytes> Read(const BlkPtr& bp, ReadReport*) override {
      if (!w->InRange(bp) || bp.birth <= w->st_.min_txg) return w->io_.read(bp);
      w->Count(bp);
      return w->io_.scrub_read(bp);
    }
  } reader;
  reader.w = this;
  (void)ParseZil(
      reader, zh, [](const BlkPtr&) { return Status::Ok(); },
      [&](const LogRecord& lr) {
        const auto* w = std::get_if<LrWrite>(&lr.body);
        if (!w || !w->indirect || w->blkptr.is_hole()) return Status::Ok();
        if (w->blkptr.birth <= st_.min_txg || w->blkptr.birth < zh.claim_txg) return Status::Ok();
        if (InRange(w->blkptr)) {
          Count(w->blkptr);
          const uint64_t bs = w->blkptr.lsize() ? w->blkptr.lsize() : 1;
          if (!io_.scrub_read(w->blkptr).ok())
            Error({objset, w->foid, kZbZilLevel, w->offset / bs});
        }
        return Status::Ok();
      });
}

void ScanWalk::VisitRootBp(uint64_t ds_obj, const BlkPtr& bp) {
  VisitBp(nullptr, bp, {ds_obj, 0, kZbRootLevel, 0});
  FlushLeaves();
}

Result<uint64_t> ScanWalk::OriginSnapshot() {
  UZFS_ASSIGN(uint64_t root_dir, dp_.DirectoryEntry("root_dataset"));
  UZFS_ASSIGN(DslDirPhys rd, dp_.Dir(root_dir));
  UZFS_ASSIGN(Zap children, Zap::Open(dp_.mos(), rd.child_dir_zapobj));
  UZFS_ASSIGN(uint64_t origin_dir, children.Lookup("$ORIGIN"));
  UZFS_ASSIGN(DslDirPhys od, dp_.Dir(origin_dir));
  UZFS_ASSIGN(DslDatasetPhys head, dp_.Dataset(od.head_dataset_obj));
  return head.prev_snap_obj;
}

// enqueue_clones_cb: each clone of ds (a head whose dir's origin is ds) joins the queue by its
// first snapshot after the origin (or itself).
Status ScanWalk::EnqueueClones(uint64_t ds_obj) {
  UZFS_ASSIGN(std::vector<DatasetInfo> all, dp_.ListAll());
  for (const DatasetInfo& d : all) {
    if (d.snapshot) continue;
    UZFS_ASSIGN(DslDirPhys dir, dp_.Dir(d.dir_obj));
    if (dir.origin_obj != ds_obj) continue;
    uint64_t obj = d.ds_obj;
    DslDatasetPhys cur = d.ds;
    for (int n = 0; cur.prev_snap_obj != ds_obj && cur.prev_snap_obj != 0 && n < (1 << 20); n++) {
      obj = cur.prev_snap_obj;
      UZFS_ASSIGN(cur, dp_.Dataset(obj));
    }
    st_.queue.insert(obj);
  }
  return Status::Ok();
}

// scrub_visitds.
Status ScanWalk::VisitDs(uint64_t ds_obj) {
  auto ds = dp_.Dataset(ds_obj);
  if (!ds.ok()) return Status::Ok();  // destroyed since it was queued: nothing to visit
  const uint64_t saved = st_.min_txg;
  st_.min_txg = std::max(st_.min_txg, ds->prev_snap_txg);
  VisitRootBp(ds_obj, ds->bp);
  st_.min_txg = saved;
  if (pausing_) return Status::Ok();
  if (ds->next_snap_obj != 0) st_.queue.insert(ds->next_snap_obj);
  if (ds->num_children > 1) {
    bool usenext = false;
    std::vector<uint64_t> clones;
    if (ds->next_clones_obj != 0) {
      auto z = Zap::Open(dp_.mos(), ds->next_clones_obj);
      if (z.ok() && z->entries().size() == ds->num_children - 1) {
        usenext = true;
        for (const ZapEntry& e : z->entries()) clones.push_back(e.first());
      }
    }
    if (usenext) st_.queue.insert(clones.begin(), clones.end());
    else UZFS_TRY(EnqueueClones(ds_obj));
  }
  return Status::Ok();
}

Result<bool> ScanWalk::Run(const BlkPtr& mos_rootbp) {
  pausing_ = false;
  // The dedup table phase (dsl_pool_scrub_ddt): no tables, so ddt_walk runs off their end.
  if (st_.ddt_bookmark[0] <= st_.ddt_class_max) {
    st_.ddt_bookmark[0] = kDdtClasses;
    st_.ddt_bookmark[1] = st_.ddt_bookmark[2] = st_.ddt_bookmark[3] = 0;
  }
  if (st_.bookmark.objset == 0) {
    // The MOS first, then $ORIGIN's snapshot (whose successors and clones are every dataset).
    VisitRootBp(0, mos_rootbp);
    if (pausing_) return false;
    UZFS_ASSIGN(uint64_t origin, OriginSnapshot());
    UZFS_TRY(VisitDs(origin));
    if (pausing_) return false;
  } else if (st_.bookmark.objset != kZbDestroyedObjset) {
    UZFS_TRY(VisitDs(st_.bookmark.objset));
    if (pausing_) return false;
  }
  st_.bookmark = {};
  while (!st_.queue.empty()) {
    const uint64_t ds_obj = *st_.queue.begin();
    st_.queue.erase(st_.queue.begin());
    UZFS_TRY(VisitDs(ds_obj));
    if (pausing_) return false;
  }
  return true;
}

}  // namespace uzfs
