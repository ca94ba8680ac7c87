// The DSL, write side, for datasets with snapshots (zfs-fuse dsl_dataset.c at pool v23):
// block birth and death with dead lists (dsl_dataset_block_born / block_kill), snapshots
// (dsl_dataset_snapshot_sync), snapshot destruction (dsl_dataset_destroy_sync),
// rollback (zfs_ioc_rollback: clone of the latest snapshot + dsl_dataset_clone_swap_sync +
// destroy of the clone, done here in one step with the same result), promotion
// (dsl_dataset_promote_sync).
//
// Space accounting, as ZFS keeps it:
//   ds_used/compressed/uncompressed = Σ of the blocks the dataset references;
//   ds_unique (head) = blocks referenced by the head and not by its previous snapshot;
//   ds_unique (snapshot S) = blocks referenced by S only (not by S.prev nor S.next);
//   dead list of X (head or snapshot) = blocks of X.prev that X no longer references;
//   dd_used_breakdown[HEAD] = blocks the head references born after the dir's origin;
//   dd_used_breakdown[SNAP] = blocks only snapshots of the dir reference, born after the
//   origin; [CHILD] = Σ used of the child dirs; [CHILD_RSRV] = Σ over the child dirs of
//   max(0, dd_reserved − dd_used); [REFRSRV] = max(0, refreservation − head unique).
//   dd_used = Σ breakdown.
//
// Every function changes the MOS in memory (through the writer and the ZAP store) in the
// txg being built; freed blocks go to DslBlockOps::Free. Thread safety: none.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "libcore/dsl/bplist_write.h"
#include "libcore/dsl/dsl_write.h"

namespace uzfs {

// What the DSL needs from the pool: sizes as the pool charges them, and frees.
class DslBlockOps {
 public:
  virtual ~DslBlockOps() = default;
  virtual uint64_t Dsize(const BlkPtr& bp) = 0;  // bp_get_dsize
  virtual void Free(const BlkPtr& bp) = 0;       // dsl_free in the txg being built
};

// The births and deaths of one sync of a head dataset's objset, applied at once.
class DatasetBlockAccounting {
 public:
  explicit DatasetBlockAccounting(uint64_t prev_snap_txg) : prev_snap_txg_(prev_snap_txg) {}
  void Born(const BlkPtr& bp, uint64_t dsize);
  // True: the block is the head's alone (born after the previous snapshot) and must be freed
  // now; false: a snapshot still holds it and it goes to the dead list at Apply.
  bool Kill(const BlkPtr& bp, uint64_t dsize);
  // The dataset's new ds_bp and space, its dead list, its previous snapshot's unique bytes
  // and its dir's (and ancestors') space.
  Status Apply(ObjsetWriter& mos, ZapStore& zaps, uint64_t ds_obj, const BlkPtr& new_bp);

 private:
  uint64_t prev_snap_txg_;
  int64_t used_ = 0, comp_ = 0, uncomp_ = 0;         // every birth and death
  int64_t fused_ = 0, fcomp_ = 0, funcomp_ = 0;      // births and frees only
  std::vector<BlkPtr> dead_;
  std::vector<uint64_t> dead_dsize_;
};

// dsl_dataset_snapshot_sync: snapshot `snapname` of head dataset head_obj taken in txg
// (after the head's objset was synced in it). Returns the snapshot's object. The caller has
// checked that the name is free and that the head has no snapshot of this txg yet.
Result<uint64_t> SnapshotSync(ObjsetWriter& mos, ZapStore& zaps, uint64_t head_obj,
                              const std::string& snapname, uint64_t txg, uint64_t now);

// dsl_dataset_destroy_sync of snapshot snap_obj (named snapname in its head's snapnames),
// which has no clones (EBUSY "snapshot has dependent clones") nor user holds (EBUSY "dataset
// is busy"): its unique blocks are freed, the next dataset's dead list is split.
Status DestroySnapshotSync(ObjsetWriter& mos, ZapStore& zaps, DslBlockOps& ops,
                           uint64_t snap_obj, const std::string& snapname);

// The blocks of an objset (its root bp os_bp) born after txg — a head's own, none of its
// snapshots' — and their space as the pool charges it (ops.Dsize), psize and lsize.
struct OwnBlocks {
  std::vector<BlkPtr> bps;
  int64_t used = 0, comp = 0, uncomp = 0;
};
Result<OwnBlocks> BlocksBornAfter(DslBlockOps& ops, BlockReader* reader, const BlkPtr& os_bp,
                                  uint64_t txg);

// Head head_obj back to its previous snapshot: its blocks born after it freed (the dataset's
// synced objset is what is walked; unsynced changes are the caller's to drop), ds_bp and
// space taken from the snapshot, a new empty dead list.
Status RollbackSync(ObjsetWriter& mos, ZapStore& zaps, DslBlockOps& ops, BlockReader* reader,
                    uint64_t head_obj);

// dsl_dataset_clone_swap_sync as a receive into an existing filesystem uses it: head head_obj,
// whose contents are its previous snapshot S's (unchanged since it, or just rolled back:
// no blocks of its own, an empty dead list), takes the objset of clone clone_obj of S (the
// temporary "%snap" clone the stream was received into), with its space, unique bytes and
// dead list; the clone is left with S's objset and the head's empty dead list, to be
// destroyed. EINVAL when the clone is not of S or the head has blocks of its own.
Status CloneSwapSync(ObjsetWriter& mos, ZapStore& zaps, uint64_t clone_obj, uint64_t head_obj,
                     const std::function<uint64_t(const BlkPtr&)>& dsize);

// dsl_dataset_promote_sync: clone head head_obj takes over the snapshots of its origin's
// filesystem up to and including the origin; that filesystem becomes a clone of the origin.
// pool_origin_snap is $ORIGIN@$ORIGIN (whose clones are not "real" clones). EINVAL "not a
// cloned filesystem"; EEXIST when a moving snapshot's name is taken (*conflict = the name).
Status PromoteSync(ObjsetWriter& mos, ZapStore& zaps, DslBlockOps& ops, uint64_t head_obj,
                   uint64_t pool_origin_snap, std::string* conflict);

// The refreservation of a head dataset (ds_reserved: its local or received value; 0 for a
// snapshot). The DSL charges its dir max(refreservation, unique) for the head's own blocks;
// the part not yet used sits in dd_used_breakdown[REFRSRV].
Result<uint64_t> HeadRefreservation(ObjsetWriter& mos, ZapStore& zaps, uint64_t ds_obj);

// The accounting half of dsl_dataset_set_reservation_sync, for the caller that has stored the
// new refreservation of head head_obj: REFRSRV changes by max(0, new − unique) −
// max(0, old − unique).
Status RefreservationChanged(ObjsetWriter& mos, uint64_t head_obj, uint64_t old_value,
                             uint64_t new_value);
// dsl_dir_set_reservation_sync's accounting: dd_reserved = value, the ancestors' CHILD_RSRV
// changes by max(used, new) − max(used, old).
Status ReservationChanged(ObjsetWriter& mos, uint64_t dir_obj, uint64_t value);

// dsl_dataset_recalc_head_uniq: unique = used − (prev.used − dead list bytes).
Status RecalcHeadUnique(ObjsetWriter& mos, uint64_t head_obj);

// The txg before which blocks a dir's head references were not born in the dir: the
// creation txg of its origin snapshot (ds_origin_txg; 1 for $ORIGIN, 0 without origin).
Result<uint64_t> OriginTxg(ObjsetWriter& mos, uint64_t dir_obj);

}  // namespace uzfs
