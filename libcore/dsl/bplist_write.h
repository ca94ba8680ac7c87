// Block-pointer lists (zfs-fuse bplist.c, bplist.h; pool v15+ layout): the dead lists of
// datasets and the MOS's sync_bplist. An object of type BPLIST holding an array of 128-byte
// blkptrs (entry i at byte 128·i, in blocks of the object's block size) with a 32-byte
// BPLIST_HDR bonus {bpl_entries, bpl_bytes (Σ dsize), bpl_comp (Σ psize), bpl_uncomp
// (Σ BP_GET_UCSIZE)}; lists made before pool version 15 have the 16-byte header without
// the last two (BPLIST_SIZE_V0), which are then summed from the entries. Entries are stored as bplist_enqueue leaves them: blk_fill 0 and,
// unless the block is deduplicated, the checksum zeroed (the list compresses better).
//
// Thread safety: none; callers hold the pool's lock.
#pragma once

#include <cstdint>
#include <vector>

#include "libcore/base/status.h"
#include "libcore/dmu/dmu_write.h"

namespace uzfs {

struct BplistPhys {
  uint64_t entries = 0, bytes = 0, comp = 0, uncomp = 0;
  bool havecomp = true;  // the 32-byte header (comp, uncomp stored)
};

// BP_GET_UCSIZE: the "uncompressed" size the DSL charges: psize for indirect blocks and
// metadata types, lsize for user data.
uint64_t BpUcsize(const BlkPtr& bp);

// The header of bplist obj (ECORRUPT when obj is not a bplist); comp/uncomp summed from
// the entries for a 16-byte header.
Result<BplistPhys> LoadBplist(ObjsetWriter& mos, uint64_t obj);

// bplist_enqueue for each bp (holes refused with EINVAL); dsize[i] = bp_get_dsize of bps[i].
Status BplistAppend(ObjsetWriter& mos, uint64_t obj, const std::vector<BlkPtr>& bps,
                    const std::vector<uint64_t>& dsize);

// Every entry, in order (as stored: fill 0, checksum possibly zero).
Result<std::vector<BlkPtr>> BplistEntries(ObjsetWriter& mos, uint64_t obj);

// bplist_space_birthrange: Σ dsize of the entries with mintxg < birth <= maxtxg.
template <typename DsizeFn>
Result<uint64_t> BplistSpaceBirthrange(ObjsetWriter& mos, uint64_t obj, uint64_t mintxg,
                                       uint64_t maxtxg, DsizeFn&& dsize) {
  UZFS_ASSIGN(std::vector<BlkPtr> all, BplistEntries(mos, obj));
  uint64_t total = 0;
  for (const BlkPtr& bp : all)
    if (bp.birth > mintxg && bp.birth <= maxtxg) total += dsize(bp);
  return total;
}

}  // namespace uzfs
