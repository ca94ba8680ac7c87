// The scrub: its state in the MOS and the walk over every block of the pool (zfs-fuse
// dsl_scrub.c, pool versions 11-24; OpenZFS's dsl_scan.c is its successor).
//
// State (the MOS object directory, written in syncing context by the pool): "scrub_func"
// (uint32: 0 none, 1 clean), "scrub_queue" (a SCRUB_QUEUE ZAP of dataset objects still to
// visit, entries named by the object in hex, as zap_add_int makes them), "scrub_min_txg",
// "scrub_max_txg" (only blocks born in (min, max) are read), "scrub_bookmark" (zbookmark_t,
// where the walk paused), "scrub_ddt_bookmark" and "scrub_ddt_class_max" (the dedup table
// phase; uzfs pools have no dedup tables, so it ends at once, as ddt_walk does without them),
// "scrub_errors". A pool version 23 implementation (zfs-fuse) that imports the pool resumes
// the scrub where uzfs paused, and the reverse.
//
// The walk (dsl_pool_scrub_sync): the MOS first, then the $ORIGIN snapshot, then the datasets
// of the queue; each dataset's objset from its previous snapshot's txg on (blocks older than
// that belong to the snapshot, visited on its own), and after it its next snapshot and its
// clones join the queue. Each block is visited depth-first in bookmark order; the walk pauses
// only at a level-0 block, recording it as the bookmark, and a later walk skips every subtree
// before the bookmark (bookmark_is_before) and resumes there.
//
// Thread safety: a ScanWalk is used by one thread; ScanIo's calls may come from several at
// once (level-0 blocks are read in parallel).
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <vector>

#include "libcore/base/blkptr.h"
#include "libcore/base/bytes.h"
#include "libcore/base/status.h"
#include "libcore/dsl/dsl.h"

namespace uzfs {

inline constexpr uint32_t kScrubFuncNone = 0, kScrubFuncClean = 1;
inline constexpr uint64_t kZbDestroyedObjset = ~0ULL;  // ZB_DESTROYED_OBJSET
inline constexpr int64_t kZbRootLevel = -1, kZbZilLevel = -2;
// enum ddt_class: a full scrub walks DITTO and DUPLICATE before the tree; DDT_CLASSES past all.
inline constexpr uint64_t kDdtClassDitto = 0, kDdtClassDuplicate = 1, kDdtClasses = 3;

struct ScanBookmark {  // zbookmark_t
  uint64_t objset = 0, object = 0;
  int64_t level = 0;
  uint64_t blkid = 0;
  bool zero() const { return objset == 0 && object == 0 && level == 0 && blkid == 0; }
  bool operator==(const ScanBookmark&) const = default;
};

// The MOS object directory's scrub entries.
struct ScrubState {
  uint32_t func = kScrubFuncNone;
  uint64_t queue_obj = 0, min_txg = 0, max_txg = 0, ddt_class_max = kDdtClassDuplicate,
           errors = 0;
  ScanBookmark bookmark;
  uint64_t ddt_bookmark[4] = {0, 0, 0, 0};  // ddt_bookmark_t: class, type, checksum, cursor
  std::set<uint64_t> queue;                 // scrub_queue's dataset objects
  bool active() const { return func != kScrubFuncNone; }
};

// Reads the scrub entries of a synced MOS (func none when there are none).
Result<ScrubState> LoadScrubState(DslPool& dp);

// What the walk needs from the pool.
struct ScanIo {
  // The scrub read of one block (ZIO_FLAG_SCRUB): every copy read and verified, bad ones
  // repaired by the vdevs; the verified, decompressed data.
  std::function<Result<Bytes>(const BlkPtr& bp)> scrub_read;
  // A plain read, for blocks the walk must descend but not scrub (born after max_txg).
  std::function<Result<Bytes>(const BlkPtr& bp)> read;
  // Level-0 blocks to scrub-read in parallel: calls fn(i) for every i in [0, n).
  std::function<void(size_t n, const std::function<void(size_t)>& fn)> parallel;
  // A block without a good copy, by its bookmark (spa_log_error's entry for the error log).
  std::function<void(const ScanBookmark& zb)> on_error;
  // zio_handle_fault_injection for a scrub read: the error an injection handler gives the
  // block at zb (0: none, the block is read). Unset: no injection.
  std::function<int(const ScanBookmark& zb, const BlkPtr& bp)> injected;
  // True when the walk must stop at its next chance (time is up, the txg it reads moved on
  // too far, the scrub was stopped).
  std::function<bool()> should_pause;
};

// One pass of the walk from the state in *st (dsl_pool_scrub_sync's body), over the MOS
// dp holds (a synced txg's). On return *st says where it paused (bookmark, queue) and how
// many errors it met.
class ScanWalk {
 public:
  ScanWalk(ScrubState* st, DslPool* dp, ScanIo io) : st_(*st), dp_(*dp), io_(std::move(io)) {}
  // True when the scrub finished (nothing left to visit), false when it paused.
  Result<bool> Run(const BlkPtr& mos_rootbp);
  // The scrub read of bp at zb, unless an injection handler fails it first.
  Result<Bytes> Scrub(const BlkPtr& bp, const ScanBookmark& zb);
  // Bytes examined (Σ DVA asize of the blocks scrubbed; vs_scrub_examined) and blocks read.
  uint64_t examined() const { return examined_; }
  uint64_t blocks() const { return blocks_; }

 private:
  void VisitBp(const DnodePhys* dnp, const BlkPtr& bp, const ScanBookmark& zb);
  void VisitDnode(const DnodePhys& dn, uint64_t objset, uint64_t object);
  void VisitRootBp(uint64_t ds_obj, const BlkPtr& bp);
  Status VisitDs(uint64_t ds_obj);
  void TraverseZil(const Bytes& objset_block, const BlkPtr& objset_bp, uint64_t objset);
  bool Pause(const ScanBookmark* zb);
  bool InRange(const BlkPtr& bp) const;
  void Count(const BlkPtr& bp);
  // dsl_pool_scrub_clean_cb for a block the walk also needs the contents of.
  Result<Bytes> ScrubAndRead(const BlkPtr& bp, const ScanBookmark& zb);
  void Error(const ScanBookmark& zb);
  void FlushLeaves();
  Result<uint64_t> OriginSnapshot();
  Status EnqueueClones(uint64_t ds_obj);

  ScrubState& st_;
  DslPool& dp_;
  ScanIo io_;
  bool pausing_ = false;
  uint64_t examined_ = 0, blocks_ = 0;
  // Level-0 blocks waiting for their parallel scrub read, with their bookmarks.
  std::vector<std::pair<BlkPtr, ScanBookmark>> leaves_;
};

}  // namespace uzfs
