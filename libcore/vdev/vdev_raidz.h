// RAID-Z geometry and parity, exactly as zfs-fuse 0.7.0 (pool v23) lays blocks out
// (zfs-fuse src/lib/libzpool/vdev_raidz.c: vdev_raidz_map_alloc, vdev_raidz_generate_parity_*,
// vdev_raidz_reconstruct_*). The same layout is what OpenZFS still reads.
//
// Layout: a block of `size` bytes (already rounded up to 2^ashift) at DVA offset `offset` is
// cut into sectors of 2^ashift; b = offset >> ashift; the first column is on child
// b % dcols at child offset (b / dcols) << ashift, following columns on the next children
// (wrapping to the next row). Columns 0..nparity-1 hold parity P, Q, R; the rest hold data,
// the first `bigcols` columns one sector longer. For single parity, when bit 20 of the offset
// is set (odd MiB), columns 0 and 1 swap places on disk (the "parity every 1MB" rule, an
// on-disk format requirement kept forever).
//
// Parity over GF(2^8) with polynomial x^8+x^4+x^3+x^2+1 (0x11d): P = xor of data columns,
// Q = sum 2^(n-1-i) D_i, R = sum 4^(n-1-i) D_i (Horner's rule; short columns count as zeros).
// Reconstruction solves for up to nparity missing data columns with any remaining parity
// columns by inverting the coefficient matrix (vdev_raidz_reconstruct_general's idea).
#pragma once

#include <cstdint>
#include <vector>

#include "libcore/base/bytes.h"
#include "libcore/base/status.h"

namespace uzfs {

struct RaidzCol {
  uint64_t devidx = 0;  // child index
  uint64_t offset = 0;  // offset in the child's allocatable space (leaf adds 4 MiB)
  uint64_t size = 0;    // bytes; 0 for the skip columns past `cols`
};

struct RaidzMap {
  uint64_t cols = 0;       // rm_cols: columns that carry data or parity
  uint64_t scols = 0;      // rm_scols: including skip columns
  uint64_t bigcols = 0;
  uint64_t skipstart = 0;
  uint64_t nskip = 0;      // skip sectors after the block (write side; reads ignore them)
  uint64_t asize = 0;      // bytes allocated (what DVA asize holds)
  uint64_t firstdatacol = 0;  // = nparity
  std::vector<RaidzCol> col;  // scols entries
};

// vdev_raidz_map_alloc. EINVAL for geometry zfs-fuse could not have written (dcols < 2,
// nparity outside 1..3, nparity >= dcols, size not a non-zero multiple of 2^unit_shift,
// size > 16 MiB, unit_shift outside 9..17).
Result<RaidzMap> RaidzMapAlloc(uint64_t offset, uint64_t size, uint64_t unit_shift,
                               uint64_t dcols, uint64_t nparity);

// Buffers for a map's columns: data[c] has map.col[c].size bytes (c < map.cols).
using RaidzColumns = std::vector<Bytes>;

// Fills the parity columns 0..nparity-1 from the data columns.
void RaidzGenerateParity(const RaidzMap& map, RaidzColumns& cols);

// Rebuilds the columns listed in `targets` (indexes < map.cols; parity or data, at most
// nparity of them) from the others, which must be intact. EINVAL when too many targets or
// when the buffers do not match the map.
Status RaidzReconstruct(const RaidzMap& map, RaidzColumns& cols, const std::vector<int>& targets);

// GF(2^8) multiply used by the parity (exposed for tests).
uint8_t GfMul(uint8_t a, uint8_t b);

}  // namespace uzfs
