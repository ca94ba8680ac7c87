// The DMU, write side: an objset changed in memory and written copy-on-write, bottom up, at
// txg sync (zfs-fuse dbuf.c dbuf_sync_*, dnode_sync.c, dmu_objset.c dmu_objset_sync,
// dmu_object.c dmu_object_alloc, dmu.c dmu_write_policy).
//
// Model: objects are loaded on demand (dnode, then level-0 blocks); callers change dnodes and
// data in memory; Sync(txg) writes each dirty level-0 block, then the indirect blocks above
// them, the dnode blocks (object 0's data), the meta-dnode's indirects and finally the
// objset_phys, returning its block pointer. Every replaced block is handed to the sink's Kill
// (the DSL frees it or moves it to a deadlist); every new one to Born. Accounting follows
// ZFS: dn_used = Σ dsize of the object's blocks (DNODE_FLAG_USED_BYTES), bp fill = 1 for data
// blocks, allocated dnodes for dnode blocks, the sum of children for indirects; the objset
// bp's fill = allocated objects.
//
// Write policy (dmu_write_policy): level > 0 or a metadata type → fletcher4 + lzjb and
// copies + 1 DVAs (the MOS: 3); data → the objset's checksum / compression / copies unless
// the dnode names its own.
//
// File data and the ARC (set_cache): the level-0 blocks of file-data objects (IsFileData:
// plain files, a volume's data) are cached in the ARC, not in the writer. A read goes through
// Arc::Read in units: page-aligned ranges covering whole blocks — the block itself when the
// block size is a multiple of the page size, the page holding several blocks when it divides
// the page size, [0, block rounded up to a page) and then pages for an object of one block of
// another size; objects of several blocks of such a size bypass the ARC. A miss fills the unit
// from the blocks dirty in memory, else from disk (holes read as zeros). A write changes the
// block in memory (taken from the ARC when cached there: a client's mapped stores make it
// newer than disk) and writes through to the ARC. The object's segment is sized to the file
// size it was last told (NoteFileSize; writes past it and truncates move it too). Freeing an
// object or changing its block size drops its units (Arc::DropObject). Without an Arc, reads
// of file blocks not dirty in memory go to disk every time (and are not kept either).
// Invariant: a unit cached in the ARC is at least as new as the writer's copy of its blocks.
//
// Only little-endian objsets are writable (ENOTSUP otherwise). Thread safety: none; the pool
// serializes access.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "libcore/arc/arc.h"
#include "libcore/base/bytes.h"
#include "libcore/base/status.h"
#include "libcore/dmu/dmu.h"
#include "libcore/dmu/dmu_userused.h"
#include "libcore/zio/zio_pipeline.h"
#include "libcore/zio/zio_write.h"

namespace uzfs {

// Where the DMU's blocks go: the pool (allocation + I/O) and the dataset (accounting).
class ObjsetSink {
 public:
  virtual ~ObjsetSink() = default;
  // See BlockWriter::Write (rewrite in place when old was born in this txg and fits).
  virtual Result<BlkPtr> WriteBlock(ByteSpan data, const WriteProps& p, uint64_t txg,
                                    const BlkPtr* old) = 0;
  // The same for a batch (zio_pipeline.h): each entry's bp is set. The default writes them
  // one by one; the pool's sinks run the parallel pipeline.
  virtual Status WriteBlocks(std::vector<BlockWrite>& batch, uint64_t txg) {
    for (BlockWrite& w : batch) {
      UZFS_ASSIGN(w.bp, WriteBlock(w.data, w.props, txg, w.old));
    }
    return Status::Ok();
  }
  // dsl_dataset_block_born / block_kill. Kill decides: free now or keep for a snapshot.
  virtual void Born(const BlkPtr& bp, uint64_t txg) = 0;
  virtual void Kill(const BlkPtr& bp, uint64_t txg) = 0;
  // bp_get_dsize: what a block counts in dn_used and the DSL's used (raidz deflated).
  virtual uint64_t Dsize(const BlkPtr& bp) = 0;
};

struct ObjsetPolicy {
  uint8_t checksum = 7;  // data checksum (resolved; fletcher4 = "on")
  uint8_t compress = 2;  // data compression (resolved; off)
  int copies = 1;        // data copies
  int max_copies = 3;    // spa_max_replication
  bool mos = false;      // the MOS: every block gets max_copies DVAs
  // User/group space accounting (dmu_userused.h): set for ZPL objsets of pools at version 15
  // or later; nullptr keeps objsets as before (no accounting, flag left clear).
  UserUsedApply userused = nullptr;
};

class ObjsetWriter {
 public:
  // A new empty objset of os_type (2048-byte objset_phys; meta-dnode of 16K blocks, nlevels 1
  // for the MOS, 7 for datasets as dmu_objset_create_impl makes them).
  static std::unique_ptr<ObjsetWriter> Create(BlockReader* reader, uint64_t os_type,
                                              const ObjsetPolicy& policy);
  // An existing objset.
  static Result<std::unique_ptr<ObjsetWriter>> Open(BlockReader* reader, const BlkPtr& rootbp,
                                                    const ObjsetPolicy& policy);
  ~ObjsetWriter();

  uint64_t os_type() const { return os_type_; }
  void set_policy(const ObjsetPolicy& p) { policy_ = p; }
  ObjsetPolicy& policy_ref() { return policy_; }
  const BlkPtr& rootbp() const { return rootbp_; }

  // dmu_object_alloc: the first free object number (from 1, or from `want` when non-zero
  // and free); blocksize 0 = 512; bonustype/bonuslen set the bonus area (zeroed).
  Result<uint64_t> Allocate(uint8_t type, uint32_t blocksize, uint8_t bonustype,
                            uint16_t bonuslen, uint64_t want = 0);
  // dmu_object_free: releases every block and the dnode slot.
  Status FreeObject(uint64_t obj);
  // The dnode, for reading (ENOENT when not allocated).
  Result<const DnodePhys*> Dnode(uint64_t obj);
  // Bonus bytes of obj (bonuslen of them); Set replaces them (same length).
  Result<Bytes> Bonus(uint64_t obj);
  Status SetBonus(uint64_t obj, ByteSpan bonus);
  // Changes the data block size of an object with at most one block (dnode_set_blksz).
  Status SetBlockSize(uint64_t obj, uint32_t blocksize);
  // Sets the object's own checksum / compression (0 = inherit).
  Status SetChecksumCompress(uint64_t obj, uint8_t checksum, uint8_t compress);

  // dmu_read / dmu_write / dmu_free_range. Reads past the data read zeros (up to the
  // object's (maxblkid+1)*blocksize, clipped). write_through = false leaves the ARC's copy
  // alone (the pool writing mapped-dirty units out of the ARC itself).
  Result<Bytes> Read(uint64_t obj, uint64_t off, uint64_t len);
  Status Write(uint64_t obj, uint64_t off, ByteSpan data, bool write_through = true);
  // Frees [off, end of object): whole blocks beyond become holes, the block holding off is
  // zeroed past it; maxblkid drops to the last block still in use.
  Status Truncate(uint64_t obj, uint64_t off);
  // dmu_free_range inside the object: [off, off + len) reads as zeros after; the blocks it
  // covers whole become holes (freed at the sync), the partial ones at its ends are zeroed.
  Status FreeInside(uint64_t obj, uint64_t off, uint64_t len);
  // Bytes covered: (maxblkid + 1) * blocksize, 0 when the object has no block.
  Result<uint64_t> Length(uint64_t obj);

  // ---- Blocks placed by the caller (the extents of dax=on files, which live outside the
  // DMU's data path: written in place on their device, never cached or copied here).
  // The level-0 block pointer of blkid (a hole when none, or when a truncate of this txg
  // dropped it).
  Result<BlkPtr> BlockPointer(uint64_t obj, uint64_t blkid);
  // Puts bp at level 0, blkid in open context (dbuf_assign_arcbuf's effect on the tree): the
  // old block is killed and bp born through sink in txg, the indirect blocks above it become
  // dirty, maxblkid follows. A truncate pending in this txg is applied first, so it cannot
  // free bp at the sync. The object must hold no level-0 blocks of its own (no Write).
  Status PutBlock(uint64_t obj, uint64_t blkid, const BlkPtr& bp, ObjsetSink& sink, uint64_t txg);
  // Truncate without the partial block: blocks from first_blkid on become holes (freed at
  // the sync), maxblkid drops below them; the block before is left as it is.
  Status FreeBlocksFrom(uint64_t obj, uint64_t first_blkid);

  // The objset's zil_header_t (192 bytes at offset 512 of objset_phys_t), as it will be
  // written; setting it makes the objset_phys dirty (zil_sync's header update).
  ByteSpan zil_header() const { return ByteSpan(phys_tail_.data(), 192); }
  void set_zil_header(ByteSpan zh) {
    std::copy(zh.begin(), zh.begin() + 192, phys_tail_.begin());
    root_dirty_ = true;
  }

  bool dirty() const { return !dirty_.empty() || root_dirty_; }
  // Forces the objset_phys to be written at the next sync (e.g. a new objset).
  void MarkRootDirty() { root_dirty_ = true; }
  // Writes everything dirty in txg and returns the new root bp (also kept in rootbp()).
  // pass > 1 is a later sync pass of the same txg (the MOS): blocks born in txg are
  // rewritten in place when they fit; from pass 4 on nothing is compressed (convergence).
  Result<BlkPtr> Sync(ObjsetSink& sink, uint64_t txg, int pass = 1);
  // objset_phys_t's os_flags as they will be written (OBJSET_FLAG_USERACCOUNTING_COMPLETE).
  uint64_t os_flags() const { return LoadLE64(phys_tail_.data() + (kObjsetFlagsOffset - kDnodeSize)); }
  // Allocated object count (the root bp's fill).
  uint64_t object_count() const { return nobjects_; }

  // ---- Reads whose disk part runs without the caller's lock (dmu_plan.cc; dmu_read as
  // OpenZFS splits it: dbuf lookups under the dnode's locks, the zio reads after). PlanRead,
  // under the caller's serialization, copies what the ARC and the dirty blocks hold and, for
  // each unit missing from the ARC, registers its fill (Arc::BeginFill) and notes where its
  // blocks are: a dirty block's image (shared, never changed), a hole, or a bp on disk.
  // Complete then reads those bps without any lock of this writer, fills the ARC (a write
  // meanwhile made such a fill stale: the ARC drops it) and the caller's bytes. A bp read
  // after the caller let go may meet its block freed and its space reused by a later txg: the
  // checksum catches it (ECKSUM) and the caller plans again under its lock.
  struct CacheUnit;
  struct ReadPlan {
    Bytes out;
    struct Src {
      uint64_t at = 0;                      // the block's first byte in the file
      std::shared_ptr<const Bytes> image;   // a dirty block in memory, or
      BlkPtr bp;                            // a block on disk (hole: zeros)
    };
    struct Piece {
      uint64_t unit_off = 0, unit_len = 0;  // the unit (page-aligned)
      uint64_t at = 0, n = 0, pos = 0;      // its bytes [at, at+n) go to out[pos...]
      bool cache = false;                   // a unit of the ARC (else read around it)
      std::shared_ptr<Arc::FillTicket> ticket;  // this plan fills the unit
      uint64_t bs = 0;                      // the object's block size
      uint64_t end = 0;                     // bytes covered by blocks ((maxblkid+1)*bs)
      std::vector<Src> srcs;
      uint64_t held = 0;                    // by_ref: the ARC hold (bytes in seg at `at`)
      std::shared_ptr<const Bytes> data;    // by_ref, not held: the unit's bytes
    };
    std::vector<Piece> pieces;
    // by_ref (set before planning): a unit the ARC caches is held (Arc::HoldForRead) and
    // not copied into out, so that the caller can hand its pages on from the segment (the
    // FUSE reply splices them); the other pieces keep their own bytes. Parts() is the result.
    bool by_ref = false;
    std::shared_ptr<ArcSegment> seg;  // by_ref: the segment of the held units
    struct Part {
      int fd = -1;                      // bytes at off in this descriptor, or
      uint64_t off = 0;
      const uint8_t* mem = nullptr;     // in memory
      uint64_t n = 0;
    };
    // A completed by_ref plan's bytes in order, `length` of them (zeros past its pieces);
    // valid while the plan lives.
    std::vector<Part> Parts(uint64_t length);
    Bytes tail;  // Parts' zeros, or out for a plan without pieces
    ArcObjKey key;
    Arc* arc = nullptr;
    BlockReader* reader = nullptr;
    // The level-0 blocks (blkids) Complete could not read from any copy (EIO, ECKSUM):
    // the caller logs them in the pool's error log once it knows the failure is not a race
    // with a rewrite (spa_log_error of a logical read).
    std::vector<uint64_t> unreadable;
    // Runs the pieces (several at once on the TaskQueue when there are several). Every
    // ticket is finished, also on error; a plan dropped without Complete finishes its tickets
    // as failed fills.
    Status Complete();
    // Finishes every ticket as failed with why and lets every hold go (no pieces after).
    void Abandon(const Status& why);
    ReadPlan() = default;
    ReadPlan(const ReadPlan&) = delete;
    ReadPlan& operator=(const ReadPlan&) = delete;
    ~ReadPlan();
  };
  // Plans a read of a plain-file object (Read's semantics otherwise: clipped to the blocks).
  Status PlanRead(uint64_t obj, uint64_t off, uint64_t len, ReadPlan* plan);
  // FaultUnit's plan: makes nothing resident itself; an empty plan when the unit is cached,
  // else one piece that fills it (its own ticket, or a wait for another fill under way).
  Status PlanFault(uint64_t obj, uint64_t at, CacheUnit* unit, ReadPlan* plan);
  // Read-ahead's plans (dmu_zfetch.h): one plan per ARC unit of [from, to) that is neither
  // cached nor being filled, each holding its unit's ticket (Complete fills the unit, nothing
  // is copied out). Nothing for an object whose data bypasses the ARC.
  Status PlanPrefetch(uint64_t obj, uint64_t from, uint64_t to,
                      std::vector<std::unique_ptr<ReadPlan>>* plans);

  // ---- Early writeback (dmu_early.cc): the pool writes the bulk of a txg's file data
  // before it closes the txg, without holding its lock (Pool::Sync). Capture and Apply run
  // under the caller's serialization; what happens between them may change anything.
  struct EarlyBlock {
    uint64_t obj = 0, blkid = 0;
    uint64_t gen = 0;     // the block's generation when captured
    uint32_t blksz = 0;   // the object's block size then
    std::shared_ptr<const Bytes> data;  // the block's image as it was (never changed after)
    WriteProps props;
  };
  // Copies out the dirty level-0 blocks of plain-file objects, up to max_bytes.
  void CaptureEarly(std::vector<EarlyBlock>* out, uint64_t max_bytes);
  // A captured block written at bp in txg: when the object still holds the block at the same
  // generation (not changed, truncated, freed or resized since), bp takes its place as the
  // sync would have put it (SetBp: the old block killed, the new one born through sink) and
  // the block is clean; true then. False when it is stale: bp belongs to nobody (the caller
  // frees it) and the block stays dirty for the sync.
  Result<bool> ApplyEarly(const EarlyBlock& b, const BlkPtr& bp, ObjsetSink& sink, uint64_t txg);
  // dmu_sync's look at the level-0 block holding [off, off + len) of a plain-file object, for
  // a WR_INDIRECT log record (the pool writes it and puts it in place with ApplyEarly, which
  // is dbuf_sync_leaf's use of dr_overridden_by done at once). kDirty: the block is dirty,
  // *b holds its image to write. kWritten: clean, and *bp, born after `synced`, is on its
  // way to disk in a txg not yet synced (an early writeback's, or an earlier dmu_sync's). kNone:
  // anything else (a hole, the range past one block, the object or block being freed): the
  // caller logs the bytes instead.
  enum class SyncBlock { kNone, kDirty, kWritten };
  Result<SyncBlock> CaptureSync(uint64_t obj, uint64_t off, uint64_t len, uint64_t synced,
                                EarlyBlock* b, BlkPtr* bp);
  // Distinguishes writers (a new one may reuse a destroyed one's address).
  uint64_t serial() const { return serial_; }

  // ---- The ARC (see the top of the file). base.pool = pool guid, base.space = the head
  // dataset object; base.object is ignored (each object fills its own). nullptr: no cache.
  void set_cache(Arc* arc, ArcObjKey base);
  Arc* cache() const { return arc_; }
  ArcObjKey CacheKey(uint64_t obj) const { return ArcObjKey{cache_base_.pool, cache_base_.space, obj}; }
  // spa_log_error for this objset's logical reads: told of every block (object, level,
  // blkid; a dnode block is object 0's) a read from disk found without a good copy (EIO,
  // ECKSUM, ENXIO), data, indirect and dnode blocks alike. Set once, before the first read.
  using ReadErrorHook = std::function<void(uint64_t object, int level, uint64_t blkid)>;
  void set_read_error_hook(ReadErrorHook h) { read_error_ = std::move(h); }
  // A regular file's size changed or became known: its segment follows (Arc::Resize). A no-op
  // without an Arc or for other object types.
  Status NoteFileSize(uint64_t obj, uint64_t size);
  struct CacheUnit {
    uint64_t off = 0, len = 0;
  };
  // The unit holding byte `at` of a plain-file object. EINVAL without an Arc or for another
  // type, ENOTSUP when the object's blocks fit no unit.
  Result<CacheUnit> UnitAt(uint64_t obj, uint64_t at);
  // The object's segment (created at the size last noted; NoteFileSize first).
  Result<std::shared_ptr<ArcSegment>> CacheSegment(uint64_t obj);
  // Makes the unit holding `at` resident (the same fill as reads); true when it had to fill.
  // EINVAL when `at` lies past the segment.
  Result<bool> FaultUnit(uint64_t obj, uint64_t at, CacheUnit* unit);

 private:
  struct Obj;
  ObjsetWriter(BlockReader* r, const ObjsetPolicy& p);
  Result<Obj*> Load(uint64_t obj);
  Obj* LoadedOrNull(uint64_t obj);
  Result<BlkPtr> BpAt(Obj& o, int level, uint64_t blkid);
  Result<Bytes*> Block(Obj& o, uint64_t blkid, bool for_write);
  // Block(o, blkid, true) for a write of the whole block: its image is made from src, without
  // reading (disk, ARC) or zero-filling the old contents, or copying them for an early
  // writeback that still holds them.
  Result<Bytes*> WholeBlock(Obj& o, uint64_t blkid, ByteSpan src);
  Result<Bytes*> Indirect(Obj& o, int level, uint64_t blkid);
  Status GrowLevels(Obj& o, uint64_t blkid);
  Status SetBp(Obj& o, int level, uint64_t blkid, const BlkPtr& bp, ObjsetSink& sink,
               uint64_t txg);
  // Frees the level-0 blocks first_blkid..last_blkid (and the indirect blocks left empty).
  Status FreeRange(Obj& o, uint64_t first_blkid, ObjsetSink& sink, uint64_t txg,
                   uint64_t last_blkid = UINT64_MAX);
  Status FreeSubtree(Obj& o, const BlkPtr& bp, ObjsetSink& sink, uint64_t txg);
  Status SyncObject(Obj& o, ObjsetSink& sink, uint64_t txg, int pass);
  // User accounting (dmu_userused.h; dmu_write_userused.cc). Enabled: the policy says so and
  // this is a ZPL objset. Upgrade dirties every allocated object once and sets the flag.
  bool UserUsedEnabled() const;
  Status UserUsedUpgrade();
  // Loads objects -1 / -2 from objset_phys (ENOENT when not allocated).
  Result<Obj*> LoadSpecial(uint64_t obj);
  // Writes the two special objects (after the ZAP layer changed them) into objset_phys.
  Status SyncSpecials(ObjsetSink& sink, uint64_t txg, int pass);
  // ARC helpers. UseCache: the object's file data goes through the ARC (drops the ARC's units
  // first when their layout changed since the object last used them).
  bool UseCache(Obj& o);
  bool UnitOf(const Obj& o, uint64_t at, CacheUnit* u) const;
  // A unit's bytes from the blocks dirty in memory, else disk; holes and past the end zeros.
  Result<Bytes> FillUnit(Obj& o, uint64_t off, uint64_t len);
  // A planned piece's sources: its blocks' dirty images or bps (holes left out).
  Status PlanSources(Obj& o, ReadPlan::Piece* pc);
  // A level-0 block's bytes from memory or disk, not kept.
  Result<Bytes> BlockBytes(Obj& o, uint64_t blkid);
  // The segment, created at the noted file size (or the object's length when none was noted).
  Result<std::shared_ptr<ArcSegment>> SegmentOf(Obj& o);
  void RecutCached(Obj& o);  // block size changed: units cut anew, segment kept
  void DropCached(Obj& o);
  // After a read: clean indirect blocks of a clean object are not kept (the metadata ARC is).
  void TrimClean(Obj& o);
  WriteProps PropsFor(const DnodePhys& dn, int level) const;
  Status EncodeDnode(const DnodePhys& dn, uint8_t* p) const;
  void MarkDirty(Obj& o);

  BlockReader* reader_;
  ObjsetPolicy policy_;
  uint64_t os_type_ = 0;
  BlkPtr rootbp_;
  Bytes phys_tail_;  // objset_phys bytes past the meta-dnode (zil header, type, user dnodes)
  std::map<uint64_t, std::unique_ptr<Obj>> objs_;  // loaded objects; 0 = the meta-dnode
  std::set<uint64_t> dirty_;
  bool root_dirty_ = false;
  uint64_t nobjects_ = 0;
  uint64_t next_obj_ = 1;  // dmu_object_alloc's os_obj_next: allocation moves forward
  int pass_ = 1;
  uint64_t gen_ = 0;  // block write generations (Obj::gen)
  uint64_t serial_ = 0;
  Arc* arc_ = nullptr;
  ArcObjKey cache_base_;
  ReadErrorHook read_error_;
  // The read of block (level, blkid) of o from disk, injection handlers first; a failure
  // is told to read_error_.
  Result<Bytes> ReadFromDisk(Obj& o, int level, uint64_t blkid, const BlkPtr& bp);
};

// Encodes a dnode (little-endian) into 512 bytes.
void EncodeDnodePhys(const DnodePhys& dn, uint8_t* p);

}  // namespace uzfs
