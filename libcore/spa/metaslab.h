// Metaslabs and the allocator of one top-level vdev (zfs-fuse metaslab.c, space_map.c).
//
// A top-level vdev's allocatable space is cut into 2^ms_shift metaslabs. Each has a space
// map object in the MOS (created the first time it changes) whose entries, replayed, give
// what is allocated; smo_alloc is their net sum. In memory each metaslab keeps:
//   free       what may be allocated now;
//   pending    this txg's allocations and frees not yet appended to the space map (the next
//              metaslab sync writes ALLOC then FREE entries, each run preceded by a debug
//              entry {action, sync pass, txg} as space_map_sync does);
//   defer[2]   what txgs T-1 and T freed: reusable only after two more syncs
//              (TXG_DEFER_SIZE), so the previous uberblocks' trees stay intact for rewind.
// Entries use units of 2^ashift, offsets relative to the metaslab start, runs of at most
// 2^15 units (SM_RUN_MAX).
//
// Thread safety: none; the spa serializes allocation under its lock.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "libcore/base/status.h"
#include "libcore/spa/range_tree.h"
#include "libcore/spa/space_map.h"

namespace uzfs {

struct Metaslab {
  uint64_t id = 0, start = 0, size = 0;
  uint64_t sm_object = 0;   // space map object in the MOS; 0 until the first change
  uint64_t sm_objsize = 0;  // smo_objsize: bytes of entries written
  uint64_t sm_alloc = 0;    // smo_alloc: net allocated bytes the map says
  RangeTree free;
  RangeTree pending_alloc, pending_free;
  RangeTree freed;                   // this txg's frees already in the space map
  std::array<RangeTree, 2> defer;    // frees of txg T kept in defer[T & 1] until T+2 synced
};

// What one metaslab sync appends to a space map.
struct SpaceMapAppend {
  uint64_t ms = 0;
  std::vector<uint64_t> words;  // entries to append (host values; stored little-endian)
  uint64_t new_alloc = 0;       // smo_alloc after them
};

// The allocation classes (metaslab_class_t): spa_normal_class (data and metadata),
// spa_log_class (separate intent log devices) and the dax class (device-DAX vdevs, whose
// space only dax=on file data takes).
enum class AllocClass { kNormal, kLog, kDax };

class MetaslabGroup {
 public:
  // A group for a top-level vdev of `asize` allocatable bytes with sectors of 2^ashift.
  MetaslabGroup(uint64_t vdev_id, uint64_t asize, uint64_t ms_shift, uint64_t ashift);

  // vdev_metaslab_set_size: ms_shift = highbit(asize / 200), at least 17 (SPA_MAXBLOCKSHIFT).
  static uint64_t MetaslabShiftFor(uint64_t asize);

  uint64_t vdev_id() const { return vdev_; }
  uint64_t ms_shift() const { return ms_shift_; }
  uint64_t ashift() const { return ashift_; }
  uint64_t asize() const { return asize_; }
  // The class the group allocates for (spa_normal_class / spa_log_class: a separate intent
  // log device's group is in the log class and serves only log blocks; a dax device's group
  // serves only dax=on file data). Only the normal class counts in the pool's size.
  AllocClass alloc_class() const { return class_; }
  void set_class(AllocClass c) { class_ = c; }
  bool is_log() const { return class_ == AllocClass::kLog; }
  bool is_normal() const { return class_ == AllocClass::kNormal; }
  // metaslab_group_activate / _passivate: a passive group takes no new allocations (a log
  // device being removed); frees and syncs go on.
  bool active() const { return active_; }
  void set_active(bool active) { active_ = active; }
  std::vector<Metaslab>& metaslabs() { return ms_; }
  const std::vector<Metaslab>& metaslabs() const { return ms_; }

  // Replays a metaslab's space map (entries decoded from its object) into its free tree.
  // ECORRUPT when the entries contradict each other (a double alloc or free) or the net sum
  // differs from smo_alloc.
  Status Load(uint64_t ms, uint64_t sm_object, uint64_t sm_objsize, uint64_t sm_alloc,
              const std::vector<SpaceMapEntry>& entries);

  // Allocates asize bytes (a multiple of 2^ashift). Copies of the same block already on this
  // vdev are passed in `near`: the allocation stays at least asize()/8 away from each of them
  // when any metaslab allows (ditto_same_vdev_distance_shift), else anywhere. ENOSPC when no
  // metaslab has room.
  Result<uint64_t> Alloc(uint64_t asize, const std::vector<uint64_t>& near);
  // Frees [offset, offset+size) in the syncing txg. EINVAL when it is not allocated.
  Status Free(uint64_t offset, uint64_t size);
  // metaslab_unalloc_dva: a block allocated since the last metaslab sync (no space map and no
  // synced tree ever held it) is given back at once, reusable in the same txg; anything else
  // is freed as Free does.
  Status Unalloc(uint64_t offset, uint64_t size);
  // Marks [offset, offset+size) allocated (import of a block a log or old pass holds): EEXIST
  // when it is not free.
  Status Claim(uint64_t offset, uint64_t size);

  // metaslab_sync: the entries each changed metaslab must append for (txg, pass); clears the
  // pending trees (the allocations stay allocated; the frees wait in `freed`).
  std::vector<SpaceMapAppend> Sync(uint64_t txg, int pass);
  // space_map condensing: the whole map of metaslab `ms` rewritten as one ALLOC run over the
  // metaslab then a FREE run per segment free on disk (free, deferred and this txg's frees), so
  // a map that grew by appends shrinks to its current content. Call after Sync() for the txg;
  // *alloc receives the allocated bytes the words describe (= the metaslab's sm_alloc).
  std::vector<uint64_t> CondensedWords(uint64_t ms, uint64_t txg, int pass, uint64_t* alloc) const;

  // metaslab_sync_done(txg): what txg-2 freed becomes allocatable; txg's frees are deferred.
  void SyncDone(uint64_t txg);

  uint64_t allocated() const;   // Σ smo_alloc + pending (what zpool list shows as ALLOC)
  uint64_t free_space() const;  // asize_usable − allocated
  // What an allocation can take now: free_space less the frees still deferred (this txg's
  // and the last two txgs', reusable only once those are on disk).
  uint64_t allocatable() const;
  // zio_alloc_zil's allocation (metaslab_ff_alloc from a metaslab's start): the lowest free
  // range that fits in the log metaslab, else in the others. Log blocks come back two txgs
  // after their records sync; taken again from the bottom of one metaslab, they land where
  // earlier log blocks were written, which a file vdev rewrites without allocating (see
  // Pool::AllocLogBlock). ENOSPC when none fits.
  Result<uint64_t> AllocLog(uint64_t asize);
  // The metaslab reserved for log blocks (OpenZFS's embedded log class; a policy only,
  // nothing on disk says it), chosen at the group's first allocation on a normal-class
  // vdev of more than kEmbeddedSlogMinMs metaslabs: the first when half of it is free,
  // else the emptiest; -1 for none. Data goes there only when no other has room
  // (metaslab.cc's log_metaslab says why the first).
  int log_metaslab();
  static constexpr size_t kEmbeddedSlogMinMs = 64;  // zfs_embedded_slog_min_ms
  uint64_t usable() const { return static_cast<uint64_t>(ms_.size()) << ms_shift_; }
  // vdev_expand / vdev_metaslab_init on a grown vdev: the group covers `asize` bytes, the
  // metaslabs past the old count added empty and free (their space maps are made at their
  // first sync). Returns how many were added; a smaller asize changes nothing.
  uint64_t Grow(uint64_t asize);

 private:
  int MetaslabOf(uint64_t offset) const;
  Result<uint64_t> AllocIn(uint64_t asize, const std::vector<uint64_t>& near, int skip);
  static constexpr int kLogMsUnchosen = -2;
  uint64_t vdev_, asize_, ms_shift_, ashift_;
  AllocClass class_ = AllocClass::kNormal;
  bool active_ = true;
  std::vector<Metaslab> ms_;
  uint64_t cursor_ = 0;  // where the last allocation ended (first-fit resumes there)
  int log_ms_ = kLogMsUnchosen;  // log_metaslab(): chosen at the first allocation
};

// Space map word encoding (space_map.h SM_* macros).
uint64_t SmDebugWord(uint64_t action, uint64_t syncpass, uint64_t txg);
uint64_t SmEntryWord(uint64_t offset_units, uint64_t run_units, bool free);
inline constexpr uint64_t kSmRunMax = 1ULL << 15;

}  // namespace uzfs
