// metaslab_alloc for one of a pool's allocation classes (zfs-fuse metaslab.c metaslab_alloc /
// metaslab_alloc_dva / metaslab_free): which top-level vdev gets each copy of a block.
//
// A class is the groups whose alloc_class() matches (spa_normal_class: the pool's data vdevs;
// spa_log_class: its separate intent log devices; the dax class); a passive group (a log device being
// removed) and an empty one (a hole) are never chosen. Each class has its own rotor.
//
// The rotor moves to the next top-level vdev once metaslab_aliquot (512K) times its number
// of children has been allocated on the current one, so consecutive blocks of a stream stay
// together on one vdev. Ditto copies go to another top-level vdev when there is one, and on
// the same vdev at least 1/8 of it away from the other copies (MetaslabGroup::Alloc's near).
// A group without room makes the copy try the others before the block fails with ENOSPC
// (then the copies already placed are given back).
//
// Thread safety: none; the caller serializes (Pool's alloc_mu_ guards the groups and rotor).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "libcore/base/status.h"
#include "libcore/spa/metaslab.h"
#include "libcore/base/blkptr.h"
#include "libcore/zio/zio_read.h"

namespace uzfs {

struct MetaslabRotor {
  size_t vdev = 0;     // mc_rotor
  uint64_t bytes = 0;  // allocated on it since it became current (mg_aliquot's count)
};

// The class a top-level vdev's group serves (vdev_alloc's class choice).
inline AllocClass ClassOf(const Vdev& top) {
  return top.is_log ? AllocClass::kLog : top.is_dax() ? AllocClass::kDax : AllocClass::kNormal;
}

// Fills bp->dva[0 .. copies) (clamped to 1..3) for a block of psize bytes, from the groups of
// class cls (ENOSPC when the class has none with room).
Status MetaslabAlloc(std::vector<std::unique_ptr<MetaslabGroup>>& groups, MetaslabRotor& rotor,
                     const TopVdevLookup& top, uint64_t psize, int copies, BlkPtr* bp,
                     AllocClass cls = AllocClass::kNormal);

// metaslab_free of every DVA of bp in the syncing txg. unalloc: bp was born in the open txg,
// so its DVAs still allocated since the last metaslab sync are given back at once
// (MetaslabGroup::Unalloc; metaslab_free with now).
Status MetaslabFree(std::vector<std::unique_ptr<MetaslabGroup>>& groups, const BlkPtr& bp,
                    bool unalloc = false);

}  // namespace uzfs
