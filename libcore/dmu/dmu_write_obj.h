// The in-memory object of an ObjsetWriter (internal to libcore/dmu): its dnode and the
// blocks loaded or changed in the open txg, dbuf.c's dbufs and dirty records reduced to what
// this writer needs. Guarded by whatever serializes the ObjsetWriter (the pool's lock).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "libcore/dmu/dmu_write.h"

namespace uzfs {

inline constexpr uint64_t kUnknownFileSize = UINT64_MAX;

struct ObjsetWriter::Obj {
  uint64_t id = 0;
  DnodePhys dn;
  // Level-0 blocks in memory. Shared so an early writeback can write an image without a
  // copy; whoever changes a block it shares copies it first (ObjsetWriter::Block).
  std::map<uint64_t, std::shared_ptr<Bytes>> blocks;
  std::set<uint64_t> dirty_blocks;
  // Each dirty level-0 block's write generation (ObjsetWriter::gen_ when last changed): an
  // early-written copy is still current while its generation is (dmu_early.cc).
  std::map<uint64_t, uint64_t> gen;
  std::map<std::pair<int, uint64_t>, Bytes> ind;  // indirect blocks in memory
  std::set<std::pair<int, uint64_t>> dirty_ind;
  uint64_t free_from = UINT64_MAX;  // level-0 blkids >= this are freed at sync
  // Level-0 ranges [first, last] freed inside the object (FreeInside), made holes at sync;
  // until then their on-disk blocks read as holes and are never written early.
  std::vector<std::pair<uint64_t, uint64_t>> punched;
  bool Punched(uint64_t blkid) const {
    for (const auto& [a, b] : punched)
      if (blkid >= a && blkid <= b) return true;
    return false;
  }
  bool freeing = false;             // the whole object is being freed
  // ARC: the file size last given to the object's segment (kUnknownFileSize: none yet), and the
  // unit layout its cached units were made with (-1: none yet).
  uint64_t file_size = kUnknownFileSize;
  int unit_mode = -1;
  int epbs() const { return dn.indblkshift - 7; }
};

}  // namespace uzfs
