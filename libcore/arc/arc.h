// The ARC: an adaptive replacement cache (Megiddo & Modha; OpenZFS arc.c) whose file-data
// buffers live in memfd segments, so a client that maps a file maps the ARC's own pages
// (docs/design.md sections 6-7).
//
// Model:
// - One Arc per process (zfsd), shared by every pool, bounded by c_max bytes (--arc-max).
// - Data: one ArcSegment (a memfd) per cached file object, keyed by (pool guid, dataset
//   object, file object). Its bytes at file offset X are the object's bytes at X. The unit of
//   caching is a page-aligned range of the file (a record, or a page holding several records
//   smaller than a page); eviction punches the unit out of the memfd (FALLOC_FL_PUNCH_HOLE),
//   which unmaps it from every process at once. A segment's size is the file's size rounded up
//   to a page: a client touching beyond it gets SIGBUS, as on a kernel file system.
// - Metadata (indirect blocks, dnodes, ZAPs, ...): ordinary memory, keyed by the block's first
//   DVA and its checksum (so a block rewritten in place within a txg never reads stale).
// - Lists: MRU (seen once), MFU (seen again), each with a ghost list of evicted keys; a ghost
//   hit adapts the MRU target p (up on an MRU-ghost hit, down on an MFU-ghost hit) as arc.c's
//   arc_adapt does; eviction takes from MRU while it is above p, else from MFU. Sizes in bytes.
// - Held units (dirty mapped pages, pinned mappings) are never evicted; c_max may be exceeded
//   by held bytes only.
//
// Thread safety: any thread. A fill (the Filler, then its memfd write) runs without the lock;
// Update/drops make one in flight stale, Resize/ForgetUnits wait for its write (arc.cc).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "libcore/base/bytes.h"
#include "libcore/base/status.h"

namespace uzfs {

inline constexpr uint64_t kArcPageSize = 4096;

// Which file object a data unit belongs to.
struct ArcObjKey {
  uint64_t pool = 0;   // pool guid
  uint64_t space = 0;  // dataset (head dsl_dataset object)
  uint64_t object = 0;
  auto operator<=>(const ArcObjKey&) const = default;
};

// A metadata block: its first DVA and checksum.
struct ArcMetaKey {
  uint64_t pool = 0, vdev = 0, offset = 0, cksum0 = 0, cksum1 = 0;
  auto operator<=>(const ArcMetaKey&) const = default;
};

// The memfd holding one object's cached data. Shared (SCM_RIGHTS) with clients that map it.
class ArcSegment {
 public:
  virtual ~ArcSegment() = default;
  virtual int fd() const = 0;
  virtual const ArcObjKey& key() const = 0;
  // The memfd's size (the file size rounded up to a page).
  virtual uint64_t size() const = 0;
  // What the kernel really holds for it: st_blocks * 512.
  virtual uint64_t ResidentBytes() const = 0;
};

struct ArcStats {
  uint64_t size = 0;       // bytes cached (data + metadata), as accounted
  uint64_t c = 0;          // target size
  uint64_t c_min = 0, c_max = 0;
  uint64_t p = 0;          // MRU target
  uint64_t mru_size = 0, mfu_size = 0, mru_ghost_size = 0, mfu_ghost_size = 0;
  uint64_t data_size = 0, meta_size = 0;
  uint64_t held_size = 0;  // bytes that cannot be evicted now
  uint64_t resident = 0;   // Σ ResidentBytes() of every segment (measured, not accounted)
  uint64_t segments = 0;
  uint64_t mapped = 0;     // bytes of segments mapped by clients (told by AddMapped)
  uint64_t hits = 0, misses = 0;
  uint64_t data_hits = 0, data_misses = 0, meta_hits = 0, meta_misses = 0;
  uint64_t mru_hits = 0, mfu_hits = 0, mru_ghost_hits = 0, mfu_ghost_hits = 0;
  uint64_t evictions = 0, evicted_bytes = 0;
};

class Arc {
 public:
  // Produces a unit's bytes on a miss (exactly len bytes, zeros where the file has holes).
  using Filler = std::function<Result<Bytes>()>;

  // c_max = max_bytes; c_min = max(c_max / 32, 16 MiB) clipped to c_max.
  explicit Arc(uint64_t max_bytes);
  ~Arc();
  Arc(const Arc&) = delete;
  Arc& operator=(const Arc&) = delete;

  // The default c_max: half of physical memory (as OpenZFS on Linux), at least 64 MiB.
  static uint64_t DefaultMax();
  // Changes c_max (and c, c_min) at run time; evicts down to it at once.
  void SetMax(uint64_t max_bytes);
  // The target size c (what Stats() reports, without walking the cache to count it).
  uint64_t Target();

  // ---- Data units. `off` is a unit's first byte (page-aligned), `len` its length (a multiple
  // of the page size); the caller decides the units (records, or pages of small records) and
  // must use the same ones for an object until DropObject.

  // The object's segment, created (size bytes, rounded up to a page) if it does not exist.
  // (An eviction that leaves a segment without cached units closes it unless someone else
  // holds it, so a reader calls this before each Read; FindSegment may then return nullptr.)
  Result<std::shared_ptr<ArcSegment>> Segment(const ArcObjKey& k, uint64_t size);
  // The segment if one exists.
  std::shared_ptr<ArcSegment> FindSegment(const ArcObjKey& k);
  // Sets the segment's size (file size, rounded up to a page) when it exists. Shrinking drops
  // the units past the new end and zeroes the last page past `size`.
  Status Resize(const ArcObjKey& k, uint64_t size);

  // Copies out.size() bytes at `at` (inside the unit [off, off+len)) into out. On a miss calls
  // fill for the whole unit and keeps it. Counts a hit or a miss.
  Status Read(const ArcObjKey& k, uint64_t off, uint64_t len, uint64_t at, MutByteSpan out,
              const Filler& fill);
  // Makes the unit resident (the fault service's fill); true when it had to fill.
  Result<bool> Fault(const ArcObjKey& k, uint64_t off, uint64_t len, const Filler& fill);
  // Two-step fill, for a caller that gathers a unit's sources under a lock of its own and
  // reads them after dropping it (the DMU's planned reads): BeginFill registers the fill of a
  // unit that is neither cached nor being filled (nullptr otherwise), so a write-through from
  // then on makes it stale; FinishFill inserts the bytes unless stale (or r failed) and wakes
  // readers waiting for the unit. Every ticket must be finished.
  struct FillTicket;
  std::shared_ptr<FillTicket> BeginFill(const ArcObjKey& k, uint64_t off, uint64_t len);
  void FinishFill(const std::shared_ptr<FillTicket>& t, const Result<Bytes>& r);
  // Copies the unit's bytes at `at` into out when it is cached, after waiting for a fill of it
  // under way (when wait); false when it is not cached (counted as neither hit nor miss then).
  Result<bool> ReadIfCached(const ArcObjKey& k, uint64_t off, uint64_t len, uint64_t at,
                            MutByteSpan out, bool wait = true);
  // Write-through from the DMU: when the unit is cached, its bytes at `at` become data.
  // Nothing happens when it is not cached (the next read fills from the DMU).
  Status Update(const ArcObjKey& k, uint64_t off, uint64_t len, uint64_t at, ByteSpan data);
  // Reads the unit's current bytes from the segment (for writing mapped-dirty pages out).
  Result<Bytes> Peek(const ArcObjKey& k, uint64_t off, uint64_t len);
  // A reader's hold, for a reply that hands the unit's pages on by reference (the FUSE read
  // splices them from the memfd) instead of copying them out: holds the unit when it is
  // cached in segment seg (after waiting for a fill of it under way, when wait), counting a
  // hit when hit. Returns a token for ReleaseRead, 0 when not cached. While a reader holds a
  // unit of an object, ForgetUnits (which punches the whole segment) waits for it.
  Result<uint64_t> HoldForRead(const ArcObjKey& k, uint64_t off, const ArcSegment* seg, bool wait, bool hit);
  void ReleaseRead(const ArcObjKey& k, uint64_t off, uint64_t token);
  // Holds and releases a cached unit (counted): a held unit is never evicted.
  Status Hold(const ArcObjKey& k, uint64_t off);
  void Release(const ArcObjKey& k, uint64_t off);
  bool Cached(const ArcObjKey& k, uint64_t off);
  // Drops every unit of an object and its segment (an object freed, its block size changed).
  // Clients that still map the old segment keep it; it is no longer the ARC's.
  void DropObject(const ArcObjKey& k);
  // Forgets every unit of an object (its block size changed: the units are cut anew) but keeps
  // its segment, whose pages are punched out: mappings of it stay the ARC's and refault.
  void ForgetUnits(const ArcObjKey& k);
  // Drops every object of a dataset (rollback, destroy) or of a pool (export, destroy).
  void DropSpace(uint64_t pool, uint64_t space);
  void DropPool(uint64_t pool);

  // ---- Metadata.
  std::optional<Bytes> GetMeta(const ArcMetaKey& k);
  void PutMeta(const ArcMetaKey& k, ByteSpan data);

  // ---- Statistics.
  void AddMapped(int64_t delta_bytes);
  ArcStats Stats();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace uzfs
