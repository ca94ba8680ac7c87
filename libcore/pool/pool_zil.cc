// The pool's side of the intent log (zfs-fuse zil.c as spa and dsl drive it): commits
// (zil_commit: records into log blocks, written and flushed without the pool lock), the
// header each txg's sync writes (zil_sync), claim at import (zil_claim via spa_load),
// replay when a filesystem's ZPL is first opened (zil_replay at zfs_domount), and the
// destruction of a log with its dataset's unsynced state (zil_destroy). The log's own
// rules are in libcore/zil/zil_log.h.
#include <algorithm>
#include <ctime>
#include <random>
#include <set>

#include "libcore/pool/pool.h"
#include "libcore/base/compress.h"
#include "libcore/spa/metaslab_alloc.h"
#include "libcore/zil/zil_write.h"
#include "libcore/zpl/zpl_replay.h"

namespace uzfs {

namespace {

// A commit with more than this much to log syncs the txg instead: one txg sync writes the
// data once, where the log would write it twice (zfs_immediate_write_sz's trade, by bytes).
constexpr uint64_t kZilMaxCommitBytes = 16ULL << 20;

uint64_t RandomWord() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t v;
  do v = rng(); while (v == 0);
  return v;
}

// The header the objset's next sync writes (zil_header_t at offset 512 of objset_phys_t).
void PutHeader(ObjsetWriter& os, const ZilHeader& zh) {
  uint8_t buf[kZilHeaderSize];
  zh.Encode(buf);
  os.set_zil_header(ByteSpan(buf, sizeof buf));
}

}  // namespace

void Pool::StartNewLogLocked(OpenDataset& od) {
  PutHeader(*od.os, ZilHeader{});
  od.zil = std::make_shared<ZilWriter>(od.objset_id, ZilHeader{});
  if (od.zpl) od.zpl->set_log(od.zil.get());
}

void Pool::FreeLogBlock(const BlkPtr& bp) {
  // zio_free_zil: a log block is freed into the txg's frees and deferred like any other,
  // never given back at once even when born in the open txg: until the txg that frees it is
  // on disk, a crash may still need it (claim walks the chain of the previous txg).
  std::lock_guard<std::mutex> l(alloc_mu_);
  Status s = MetaslabFree(groups_, bp, /*unalloc=*/false);
  if (!s.ok() && failed_.ok()) failed_ = s;
}

Result<BlkPtr> Pool::AllocLogBlock(uint64_t size, const BlkPtr* hint, uint64_t txg) {
  (void)hint;
  BlkPtr bp;
  // The lowest free space of the first top-level vdev of a class that has it
  // (metaslab_ff_alloc), not the data's rotor: log blocks then cycle through space written
  // before (see MetaslabGroup::AllocLog). Passive groups (a log device being removed)
  // and holes take none.
  auto place = [&](AllocClass cls) {
    for (size_t i = 0; i < groups_.size(); i++) {
      MetaslabGroup* g = groups_[i].get();
      Vdev* top = Top(i);
      if (!g || !top || g->alloc_class() != cls || !g->active() || g->usable() == 0) continue;
      // metaslab_alloc's vdev_allocatable: a FAULTED or UNAVAIL log device takes no block
      // (the normal class does, below).
      if (!top->available()) continue;
      const uint64_t asize = top->PsizeToAsize(size);
      auto off = g->AllocLog(asize);
      if (!off.ok()) continue;
      bp.dva[0].Set(i, *off, asize);
      return true;
    }
    return false;
  };
  // zio_alloc_zil with use_slog: a separate log device first; its space is no dataset's.
  bool placed = false;
  {
    std::lock_guard<std::mutex> l(alloc_mu_);
    placed = place(AllocClass::kLog);
  }
  if (!placed) {
    // Then the normal class. Log blocks live until the txg after their records syncs,
    // outside the datasets' accounting: they must not take the space the open txg's writes
    // reserved, nor the slop the sync itself needs (spa_get_slop's 1/32), or the txg that
    // would free them could not be written. Short of it, the commit syncs the txg instead
    // (ENOSPC).
    uint64_t reserved = DspaceLocked() / 32;
    for (auto& [o, b] : pending_write_) reserved += b;
    std::lock_guard<std::mutex> l(alloc_mu_);
    uint64_t free = 0;
    for (auto& g : groups_)
      if (g->is_normal()) free += g->allocatable();
    if (free < reserved + 2 * size) return Status::Error(ENOSPC, "out of space for the intent log");
    if (!place(AllocClass::kNormal)) return Status::Error(ENOSPC, "out of space for the intent log");
  }
  // zio_alloc_zil's block pointer: uncompressed, ZILOG2 checksum, intent log, level 0.
  bp.set_lsize(size);
  bp.set_psize(size);
  bp.set_compress(static_cast<uint8_t>(CompressId::kOff));
  bp.set_checksum(static_cast<uint8_t>(ChecksumId::kZilog2));
  bp.set_type(kOtIntentLog);
  bp.set_level(0);
  bp.set_little_endian(true);
  bp.birth = txg;
  bp.fill = 0;
  return bp;
}

Status Pool::FreeLogChainLocked(const ZilHeader& zh) {
  // zil_destroy's parse: every block the chain walk passes (the unwritten one it ends with
  // too), and the claimed blocks of logged writes (zil_free_log_record).
  if (zh.log.is_hole()) return Status::Ok();
  // zil_bp_tree_add: a block several records name (writes into one block, each logged by
  // pointer) is freed once.
  std::set<std::pair<uint64_t, uint64_t>> freed;
  ZilParseResult r = ParseZil(
      *this, zh,
      [&](const BlkPtr& bp) -> Status {
        FreeLogBlock(bp);
        return Status::Ok();
      },
      [&](const LogRecord& lr) -> Status {
        const auto* w = std::get_if<LrWrite>(&lr.body);
        if (zh.claim_txg && w && w->indirect && !w->blkptr.is_hole() &&
            w->blkptr.birth >= zh.claim_txg &&
            freed.insert({w->blkptr.dva[0].vdev(), w->blkptr.dva[0].offset()}).second)
          FreeLogBlock(w->blkptr);
        return Status::Ok();
      });
  (void)r;  // the chain ends where it ends; what it did not reach was never allocated
  return Status::Ok();
}

void Pool::DropLogLocked(uint64_t ds_obj) {
  auto it = datasets_.find(ds_obj);
  if (it != datasets_.end() && it->second.zil) {
    it->second.zil->Destroy([this](const BlkPtr& bp) { FreeLogBlock(bp); });
    return;
  }
  ZilHeader zh;
  if (it != datasets_.end()) {
    zh = ZilHeader::Decode(it->second.os->zil_header().data(), true);
  } else {
    auto ds = LoadDataset(*mos_, ds_obj);
    if (!ds.ok() || ds->bp.is_hole()) return;
    auto h = ReadZilHeader(*this, ds->bp);
    if (!h.ok()) return;
    zh = *h;
  }
  (void)FreeLogChainLocked(zh);
}

Status Pool::ZilDestroyLocked(uint64_t ds_obj) {
  auto it = datasets_.find(ds_obj);
  if (it == datasets_.end()) {
    UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(*mos_, ds_obj));
    UZFS_ASSIGN(ZilHeader zh, ReadZilHeader(*this, ds.bp));
    if (zh.log.is_hole() && zh.claim_txg == 0) return Status::Ok();
    UZFS_TRY(OpenDatasetLocked(ds.dir_obj, ds_obj));
    it = datasets_.find(ds_obj);
  }
  OpenDataset& od = it->second;
  DropLogLocked(ds_obj);
  StartNewLogLocked(od);
  return Status::Ok();
}

void Pool::RestartLogLocked(uint64_t ds_obj, uint64_t bytes) {
  (void)ZilDestroyLocked(ds_obj);
  // zil_create for the new log at once, so the sync that follows (the caller's) also puts
  // its first block in the header: the next commit writes its records there. The block
  // goes where log blocks can go now (a dead log device takes none).
  auto it = datasets_.find(ds_obj);
  if (it == datasets_.end() || !it->second.zil || !it->second.zil->empty_chain()) return;
  const uint64_t txg = txg_.open();
  auto first = AllocLogBlock(ZilWriter::BlockSize(bytes), nullptr, txg);
  if (first.ok()) it->second.zil->StartChain(*first, txg, RandomWord(), RandomWord());
}

Status Pool::ClaimLogsLocked() {
  const uint64_t first_txg = txg_.open();
  std::function<Status(uint64_t)> walk = [&](uint64_t dir) -> Status {
    UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, dir));
    if (dd.head_dataset_obj) {
      UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(*mos_, dd.head_dataset_obj));
      if (!ds.bp.is_hole()) {
        // A header CheckLogsLocked cleared in this txg is the open objset's, not the disk's.
        auto open = datasets_.find(dd.head_dataset_obj);
        ZilHeader zh;
        if (open != datasets_.end()) zh = ZilHeader::Decode(open->second.os->zil_header().data(), true);
        else {
          UZFS_ASSIGN(zh, ReadZilHeader(*this, ds.bp));
        }
        if (zh.claim_txg == 0 && !zh.log.is_hole()) UZFS_TRY(ClaimLogLocked(dir, dd.head_dataset_obj, zh, first_txg));
      }
    }
    UZFS_ASSIGN(auto kids, mos_zaps_->List(dd.child_dir_zapobj));
    for (const ZapEntry& e : kids) {
      if (!e.name.empty() && e.name[0] == '$') continue;
      UZFS_TRY(walk(e.first()));
    }
    return Status::Ok();
  };
  UZFS_ASSIGN(uint64_t root, mos_zaps_->LookupInt(1, "root_dataset"));
  return walk(root);
}

Status Pool::CheckLogsLocked(bool discard) {
  // spa_check_logs / zil_check_log_chain (zfs-fuse, pool version 23): a chain that reaches
  // a block on an unavailable log device cannot be claimed (whether that block was written
  // cannot be told), and the pool is not imported (VDEV_AUX_BAD_LOG; OpenZFS refuses with
  // the missing log devices listed, ZPOOL_CONFIG_MISSING_DEVICES). A chain ending before
  // it (an empty log after a clean export, or blocks all on readable devices) is claimed
  // as usual. -m (ZFS_IMPORT_MISSING_LOG): the chains that cannot be claimed are cleared
  // as zil_claim does under SPA_LOG_CLEAR (zil_clear_log_block: the blocks born before
  // the first txg, which reached a space map, are freed; the walk stops at the first one
  // born after, or at the first it cannot read) and the header emptied; what those logs
  // held is lost. Deviation: OpenZFS clears every dataset's log under SPA_LOG_CLEAR; here
  // the logs wholly readable are kept and replayed.
  const uint64_t first_txg = txg_.open();
  auto on_dead_vdev = [&](const BlkPtr& bp) {
    for (int d = 0; d < bp.ndvas(); d++) {
      const Vdev* top = Top(bp.dva[d].vdev());
      if (top && top->available()) return false;
    }
    return true;
  };
  bool lost = false;
  std::function<Status(uint64_t)> walk = [&](uint64_t dir) -> Status {
    UZFS_ASSIGN(DslDirPhys dd, LoadDir(*mos_, dir));
    if (dd.head_dataset_obj) {
      UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(*mos_, dd.head_dataset_obj));
      if (!ds.bp.is_hole()) {
        UZFS_ASSIGN(ZilHeader zh, ReadZilHeader(*this, ds.bp));
        bool dead = false;
        if (!zh.log.is_hole())
          (void)ParseZil(*this, zh, [&](const BlkPtr& bp) -> Status {
            if (!on_dead_vdev(bp)) return Status::Ok();
            dead = true;
            return Status::Error(ENXIO, "log block on a missing device");
          }, nullptr);
        if (dead && !discard) lost = true;
        if (dead && discard) {
          (void)ParseZil(*this, zh, [&](const BlkPtr& bp) -> Status {
            if (zh.claim_txg == 0 && bp.birth >= first_txg) return Status::Error(ENOENT, "");
            FreeLogBlock(bp);
            return Status::Ok();
          }, nullptr);
          UZFS_ASSIGN(OpenDataset * od, OpenDatasetObjsetLocked(dir, dd.head_dataset_obj));
          PutHeader(*od->os, ZilHeader{});
        }
      }
    }
    UZFS_ASSIGN(auto kids, mos_zaps_->List(dd.child_dir_zapobj));
    for (const ZapEntry& e : kids) {
      if (!e.name.empty() && e.name[0] == '$') continue;
      UZFS_TRY(walk(e.first()));
    }
    return Status::Ok();
  };
  UZFS_ASSIGN(uint64_t root, mos_zaps_->LookupInt(1, "root_dataset"));
  UZFS_TRY(walk(root));
  if (!lost) return Status::Ok();
  // The hint zpool_import_props prints (print_vdev_tree of the missing log devices, names
  // as zpool_vdev_name's VDEV_NAME_TYPE_ID gives them, " [log]" on the top-level vdev).
  std::string msg = "one or more devices is currently unavailable\n"
                    "The devices below are missing or corrupted, use '-m' to import the pool anyway:";
  std::function<void(const Vdev&, int, bool)> list = [&](const Vdev& v, int indent, bool top) {
    const std::string name = v.is_leaf() ? v.path : v.type + "-" + std::to_string(v.id);
    msg += "\n\t" + std::string(indent, ' ') + name + (top ? " [log]" : "");
    for (const auto& c : v.children) list(*c, indent + 2, false);
  };
  for (uint64_t i = 0; i < spa_->vdev_children(); i++) {
    const Vdev* t = spa_->top(i);
    if (t && t->is_log && !t->available()) list(*t, 4, true);
  }
  return Status::Error(ENXIO, msg + "\n");
}

Status Pool::ClaimLogLocked(uint64_t dir, uint64_t ds_obj, ZilHeader zh, uint64_t first_txg) {
  // zil_claim: the blocks born after the last synced txg are allocated again (their
  // allocation never reached a space map), and the header remembers how far the claim went,
  // so a later walk never passes it even if more of the chain becomes readable.
  auto claim = [&](const BlkPtr& bp) -> Status {
    if (bp.birth < first_txg) return Status::Ok();
    std::lock_guard<std::mutex> l(alloc_mu_);
    for (int d = 0; d < bp.ndvas(); d++) {
      const Dva& dva = bp.dva[d];
      if (dva.vdev() >= groups_.size()) return Status::Error(ECORRUPT, "log block on a missing vdev");
      Status s = groups_[dva.vdev()]->Claim(dva.offset(), dva.asize());
      if (!s.ok() && s.code() != EEXIST) return s;  // EEXIST: a block seen twice
    }
    return Status::Ok();
  };
  ZilParseResult r = ParseZil(*this, zh, claim, [&](const LogRecord& lr) -> Status {
    const auto* w = std::get_if<LrWrite>(&lr.body);
    if (w && w->indirect && !w->blkptr.is_hole() && w->blkptr.birth >= first_txg) {
      // zil_claim_log_record: an unreadable block ends the log there.
      UZFS_TRY(ReadLogWriteData(*this, *w).status());
      return claim(w->blkptr);
    }
    return Status::Ok();
  });
  // However the walk ended (the unwritten tail, a damaged or unreadable block), the log
  // ends there: what lies past it is not claimed and never replayed.
  zh.claim_txg = first_txg;
  zh.claim_blk_seq = r.blk_seq;
  zh.claim_lr_seq = r.lr_seq;
  if (r.lr_count || r.blk_count > 1) zh.flags |= kZilReplayNeeded;
  zh.flags |= kZilClaimLrSeqValid;
  UZFS_ASSIGN(OpenDataset * od, OpenDatasetObjsetLocked(dir, ds_obj));
  PutHeader(*od->os, zh);
  return Status::Ok();
}

Status Pool::ReplayLogLocked(OpenDataset& od) {
  // A filesystem's records go through its ZPL (zfs_replay_vector); a volume's, writes only,
  // to its data object (zvol_replay_vector).
  ZilHeader zh = ZilHeader::Decode(od.os->zil_header().data(), true);
  if (zh.claim_txg == 0) {
    od.zil = std::make_shared<ZilWriter>(od.objset_id, zh);
    if (od.zpl) od.zpl->set_log(od.zil.get());
    return Status::Ok();
  }
  // zil_replay: the records past replay_seq whose txg did not sync, in order, each in the
  // open txg; then the log is destroyed. A record that cannot be replayed ends the replay
  // there (zil_replay_error), as a break in the chain does.
  if (zh.flags & kZilReplayNeeded) {
    ZTime now{static_cast<uint64_t>(std::time(nullptr)), 0};
    od.zil.reset();  // nothing replayed is logged again
    if (od.zpl) od.zpl->set_log(nullptr);
    ZilHeader progress = zh;  // zh_replay_seq as the records are applied
    auto apply = [&](const LogRecord& rec) {
      if (!od.zpl) return ZvolReplay(*od.os, *od.zaps, rec);
      od.zpl->set_txg(txg_.open());
      od.zpl->set_replaying(true);  // no quota check on replay (z_replay)
      Status s = ReplayRecord(*od.zpl, rec, txg_.open(), now);
      od.zpl->set_replaying(false);
      return s;
    };
    ZilParseResult r = ParseZil(*this, zh, [](const BlkPtr&) { return Status::Ok(); },
                                [&](const LogRecord& lr) -> Status {
                                  if (lr.seq <= zh.replay_seq || lr.txg < zh.claim_txg)
                                    return Status::Ok();
                                  LogRecord rec = lr;
                                  if (auto* w = std::get_if<LrWrite>(&rec.body); w && w->indirect) {
                                    UZFS_ASSIGN(w->data, ReadLogWriteData(*this, *w));
                                  }
                                  Status s = apply(rec);
                                  if (!s.ok()) {
                                    // zil_replay_log_record: an object freed by an earlier
                                    // record is reusable only once that txg synced; sync
                                    // (the header saying how far replay got) and try again.
                                    PutHeader(*od.os, progress);
                                    UZFS_TRY(SyncLocked(kPoolStateActive));
                                    s = apply(rec);
                                  }
                                  if (!s.ok()) return s.Context(std::string("replay of ") + TxTypeName(rec.type()));
                                  progress.replay_seq = rec.seq;
                                  stats_.replayed++;
                                  return Status::Ok();
                                });
    if (!r.error.ok() && r.error.code() != ECKSUM && r.error.code() != EIO)
      replay_error_ = r.error.Context("intent log replay stopped at seq " +
                                      std::to_string(progress.replay_seq + 1));
  }
  (void)FreeLogChainLocked(zh);
  StartNewLogLocked(od);
  return Status::Ok();
}

void Pool::SyncLogLocked(OpenDataset& od, uint64_t txg) {
  if (!od.zil) return;
  if (od.zil->Sync(txg, [this](const BlkPtr& bp) { FreeLogBlock(bp); }))
    PutHeader(*od.os, od.zil->header());
}

Pool::ZilStats Pool::zil_stats() const {
  ZilStats z;
  z.commits = stats_.commits;
  z.commit_syncs = stats_.commit_syncs;
  z.commit_joined = stats_.commit_joined;
  z.log_blocks = stats_.log_blocks;
  z.log_bytes = stats_.log_bytes;
  z.replayed = stats_.replayed;
  z.indirect_blocks = stats_.indirect_blocks;
  return z;
}

Status Pool::TakeReplayError() {
  std::lock_guard<std::mutex> l(mu_);
  Status s = replay_error_;
  replay_error_ = Status::Ok();
  return s;
}

Status Pool::ZilCommit(const std::string& fs, bool changes_only) {
  if (changes_only && !any_sync_always_) return Status::Ok();
  std::shared_ptr<ZilWriter> zil;
  uint64_t ds_obj = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (readonly_ || closed_) return Status::Ok();
    if (!failed_.ok()) return failed_;
    uint64_t dir = 0;
    UZFS_TRY(ResolveFs(fs, &dir, &ds_obj));
    auto it = datasets_.find(ds_obj);
    if (it == datasets_.end() || !it->second.zil) return Status::Ok();  // nothing changed
    const uint64_t mode = it->second.sync_mode;
    if (mode == kSyncDisabled || (changes_only && mode != kSyncAlways)) return Status::Ok();
    zil = it->second.zil;
  }
  const uint64_t upto = zil->last_itx();
  const uint64_t ticket = zil->BeginCommit(upto);
  if (!ticket) {
    stats_.commit_joined++;
    return Status::Ok();
  }
  uint64_t covered = 0;
  Status s = ZilWrite(ds_obj, zil, &covered);
  // Answered once this commit's blocks and every earlier commit's are durable.
  if (!zil->EndCommit(ticket, covered, s.ok()) && s.ok()) {
    std::lock_guard<std::mutex> l(mu_);  // an earlier commit failed: say why
    s = !failed_.ok() ? failed_ : Status::Error(EIO, "intent log write failed");
  }
  return s;
}

Status Pool::ZilWrite(uint64_t ds_obj, const std::shared_ptr<ZilWriter>& zil, uint64_t* covered) {
  StepAsideForSync();
  std::unique_lock<std::mutex> l(mu_);
  if (closed_) return Status::Ok();
  if (!failed_.ok()) return failed_;
  auto it = datasets_.find(ds_obj);
  // The dataset was rolled back or destroyed meanwhile: its unsynced changes are gone.
  if (it == datasets_.end() || it->second.zil != zil) return Status::Ok();
  OpenDataset& od = it->second;
  ZilWriter::Batch b = zil->TakeBatch(txg_.synced());
  *covered = b.last;
  if (b.itxs.empty() && !b.need_sync) return Status::Ok();
  // The chain goes on from a block on a device that died (a FAULTED or UNAVAIL log device,
  // vdev_health.h): its next write could only fail. As zil_vdev_offline, the log is given
  // up in the open txg (which holds every change its records describe) and a new chain
  // starts where blocks can go now (the normal class when no log device is left); one txg
  // sync carries this commit and puts the new chain's first block in the header.
  if (const BlkPtr t = zil->tail(); !t.is_hole()) {
    bool dead = false;
    for (int d = 0; d < t.ndvas(); d++) {
      const Vdev* top = Top(t.dva[d].vdev());
      dead |= !top || !top->available();
    }
    if (dead) {
      RestartLogLocked(ds_obj, b.bytes);
      stats_.commit_syncs++;
      l.unlock();
      return Sync();
    }
  }
  const bool ready = zil->ready(txg_.synced());
  // zfs_log_write's choice of WR_INDIRECT: a write chunk of one block larger than
  // zfs_immediate_write_sz (none with logbias=throughput), unless the pool has log devices
  // and logbias=latency (slogging: the log device takes the bytes faster). A volume's
  // candidates are its whole blocks (LogWriteVolume: zvol_log_write's rule).
  bool slogging = false;
  if (!od.logbias_throughput) {
    std::lock_guard<std::mutex> al(alloc_mu_);
    for (auto& g : groups_) slogging |= g && g->is_log() && g->active();
  }
  const uint64_t immediate = od.logbias_throughput ? 0 : kZfsImmediateWriteSz;
  auto indirect = [&](const Itx& itx) {
    return itx.need_copy && itx.one_block && !slogging && itx.len > immediate;
  };
  // What the log itself would hold: an indirect record's data goes to the file's block.
  uint64_t log_bytes = 0;
  for (const Itx& itx : b.itxs)
    log_bytes += itx.lr.size() + (itx.need_copy && !indirect(itx) ? P2RoundUp(itx.len, 8) : 0);
  b.bytes = log_bytes;
  // A log holding much space until the next sync (frequent small commits of large records,
  // say msyncs of random pages) would take the room later writes reserve: past 1/16 of the
  // pool (at least 4 MiB) the txg's sync commits, and frees the log's blocks.
  const uint64_t live_max = std::max<uint64_t>(4ULL << 20, DspaceLocked() / 16);
  if (b.need_sync || !ready || b.bytes > kZilMaxCommitBytes || zil->live_bytes() + b.bytes > live_max) {
    // zil_create: a chain starts by a txg sync that puts its first block in the header;
    // until then (and for what no record describes, or too much to log) the txg's sync is
    // the commit.
    if (zil->empty_chain()) {
      uint64_t txg = txg_.open();
      auto first = AllocLogBlock(ZilWriter::BlockSize(b.bytes), nullptr, txg);
      if (first.ok()) zil->StartChain(*first, txg, RandomWord(), RandomWord());
    }
    stats_.commit_syncs++;
    l.unlock();
    return Sync();
  }
  // zfs_get_data: a write's bytes are read now, as the file holds them (a later write of
  // the same range is logged after it, so replay ends with the newest bytes either way).
  std::vector<Itx> itxs;
  itxs.reserve(b.itxs.size());
  // A volume's size, once for the batch (zvol_get_data); a file's, per record.
  uint64_t volsize = 0;
  if (!od.zpl)
    if (auto st = ZvolGetStats(*od.os, *od.zaps); st.ok()) volsize = st->volsize;
  auto copy = [&](Itx itx) {
    if (itx.need_copy) {
      uint64_t size = volsize;
      if (od.zpl) {
        auto attr = od.zpl->GetAttr(itx.foid);
        if (!attr.ok()) return;  // gone: nothing to log
        size = attr->size;
      }
      if (itx.off >= size) return;  // cut: nothing to log
      // A write cut short by a later truncate logs what is left (the truncate's own record
      // follows), so replay never makes the file longer than it was.
      const uint64_t len = std::min(itx.len, size - itx.off);
      auto data = od.zpl ? od.zpl->Read(itx.foid, itx.off, len) : od.os->Read(itx.foid, itx.off, len);
      if (!data.ok()) return;
      data->resize(len, 0);
      StoreLE64(itx.lr.data() + kLrSize + 16, len);  // lr_length
      AppendWriteData(&itx.lr, *data);
    }
    itxs.push_back(std::move(itx));
  };
  std::vector<DmuSyncWrite> writes;
  std::map<std::pair<uint64_t, uint64_t>, size_t> write_of;  // (object, blkid) → writes[i]
  for (Itx& itx : b.itxs) {
    if (indirect(itx)) {
      // zfs_get_data for WR_INDIRECT: the block holding the write, written at once
      // (dmu_sync) or already on its way to disk; the record names it. A write cut by a
      // later truncate, or a block the sync will not keep, logs its bytes instead.
      uint64_t size = volsize;  // zvol_get_data: the volume's, zfs_get_data: the file's
      if (od.zpl) {
        auto attr = od.zpl->GetAttr(itx.foid);
        if (!attr.ok()) continue;  // gone: nothing to log
        size = attr->size;
      }
      if (itx.off >= size) continue;  // cut: nothing to log
      ObjsetWriter::EarlyBlock blk;
      BlkPtr bp;
      auto st = itx.off + itx.len <= size
                    ? od.os->CaptureSync(itx.foid, itx.off, itx.len, txg_.synced(), &blk, &bp)
                    : Result<ObjsetWriter::SyncBlock>(ObjsetWriter::SyncBlock::kNone);
      if (st.ok() && *st == ObjsetWriter::SyncBlock::kWritten) {
        SetLrWriteBlock(&itx.lr, itx.off % bp.lsize(), bp);
        {
          std::lock_guard<std::mutex> al(alloc_mu_);
          NoteLoggedBlockLocked(bp);
        }
        itx.need_copy = false;
        itxs.push_back(std::move(itx));
        continue;
      }
      if (st.ok() && *st == ObjsetWriter::SyncBlock::kDirty) {
        // One write per block, however many records of this commit name it.
        auto [at, fresh] = write_of.try_emplace({blk.obj, blk.blkid}, writes.size());
        if (fresh) {
          writes.emplace_back();
          writes.back().blk = std::move(blk);
        }
        DmuSyncWrite& w = writes[at->second];
        w.recs.push_back({itxs.size(), itx.off % w.blk.blksz});
        itx.need_copy = false;
        itxs.push_back(std::move(itx));
        continue;
      }
    }
    if (itx.need_copy && itx.one_block) {
      for (Itx& p : SplitNeedCopy(std::move(itx))) copy(std::move(p));
    } else {
      copy(std::move(itx));
    }
  }
  if (itxs.empty()) return Status::Ok();
  std::set<uint64_t> data_tops;  // written by dmu_sync: flushed with the log blocks
  if (!writes.empty()) {
    bool sync = false, gone = false;
    UZFS_TRY(DmuSyncLocked(ds_obj, zil, itxs, writes, l, &data_tops, &sync, &gone));
    if (gone) return Status::Ok();
    if (sync) {
      stats_.commit_syncs++;
      l.unlock();
      return Sync();
    }
  }
  // The txg the blocks are allocated in stays open until they are written: the first of
  // them is named by the previous tail, already on disk (zil_lwb_write_start's dmu_tx).
  const uint64_t txg = txg_.open();
  txg_.Hold();
  auto images = zil->Pack(itxs, [&](uint64_t size, const BlkPtr& hint) {
    return AllocLogBlock(size, &hint, txg);
  });
  if (!images.ok()) {
    txg_.Release();
    stats_.commit_syncs++;
    l.unlock();
    return Sync();  // out of log space: the txg is the commit (zil_commit's fallback)
  }
  // zil_lwb_write_issue: the chain moved on; the next commit packs from the new tail while
  // these blocks are written.
  zil->Issued(b.last);
  l.unlock();
  Status ws = Status::Ok();
  std::set<uint64_t> tops;
  auto write = [&](const ZilWriter::BlockImage& im, bool durable) {
    for (int d = 0; d < im.bp.ndvas(); d++) {
      const Dva& dva = im.bp.dva[d];
      Vdev* top = Top(dva.vdev());
      // Only the part the checksum covers (zil_lwb_write_issue's wsz): a 12K block holding
      // one 4K write record goes to disk as 8K. Not on raidz, whose columns follow the
      // block's whole size.
      ByteSpan bytes(im.data);
      if (top->type != "raidz") {
        const uint64_t n = P2RoundUp(LogBlockUsedBytes(im.data), 1ULL << top->ashift);
        if (n < bytes.size()) bytes = bytes.first(n);
      }
      std::vector<VdevIoError> errs;
      Status s = top->Write(dva.offset(), bytes, &errs, durable);
      if (!s.ok() && ws.ok()) ws = s;
      tops.insert(dva.vdev());
      stats_.log_bytes += bytes.size();
    }
    stats_.log_blocks++;
  };
  // Each block is made durable by its own write (O_DSYNC where the device takes it), not by
  // flushing the vdevs, which would also wait for a txg's writes in flight (zil_flush_vdevs'
  // role). A commit of several blocks becomes visible at once: the first block (the old
  // tail, the one the chain on disk already reaches) is written only after the others are
  // durable, so a crash in between replays none of it rather than the first part of a write
  // split over two blocks (a torn file). More than two: the rest written, then one flush.
  const size_t n = images->size();
  if (n == 2) write((*images)[1], true);
  if (n > 2) {
    for (size_t i = 1; i < n; i++) write((*images)[i], false);
    if (ws.ok())
      for (uint64_t v : tops)
        if (Status s = Top(v)->Flush(); !s.ok() && ws.ok()) ws = s;
  }
  // With blocks written by dmu_sync, the last log block is written as they were, and one
  // flush of every vdev written makes the commit durable.
  write((*images)[0], data_tops.empty());
  if (!data_tops.empty() && ws.ok()) {
    data_tops.insert(tops.begin(), tops.end());
    for (uint64_t v : data_tops)
      if (Status s = Top(v)->Flush(); !s.ok() && ws.ok()) ws = s;
  }
  {
    std::lock_guard<std::mutex> g(mu_);
    txg_.Release();
  }
  if (!ws.ok()) {
    // The chain breaks here on disk: the txg carries the records, and the log starts anew
    // (records written after a broken block could never be reached).
    {
      std::lock_guard<std::mutex> g(mu_);
      auto again = datasets_.find(ds_obj);
      if (again != datasets_.end() && again->second.zil == zil) RestartLogLocked(ds_obj, 0);
    }
    stats_.commit_syncs++;
    return Sync();
  }
  stats_.commits++;
  return Status::Ok();
}

}  // namespace uzfs
