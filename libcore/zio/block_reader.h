// BlockReader: the one call the object layers (dmu and up) need from the pool below them.
// Implemented by the spa (spa/spa.h); tests may implement it over a map of blocks.
#pragma once

#include <string>
#include <vector>

#include "libcore/base/bytes.h"
#include "libcore/base/status.h"
#include "libcore/base/blkptr.h"

namespace uzfs {

// One failure met while reading a block: a DVA whose copy failed, a mirror side or a raidz
// column that had to be repaired. Recorded even when another copy then succeeded.
struct ReadError {
  int dva = -1;          // index of the DVA in the blkptr
  uint64_t vdev = 0;     // top-level vdev id of that DVA
  uint64_t offset = 0;   // DVA offset (bytes, relative to the allocatable area)
  std::string device;    // leaf path when one leaf is known to be at fault, else empty
  int code = 0;          // ECKSUM, EIO, ECORRUPT ...
  std::string what;      // human text ("checksum mismatch on raidz column 2")
};

struct ReadReport {
  std::vector<ReadError> errors;
  bool recovered = false;  // data came back correct despite errors
};

class BlockReader {
 public:
  virtual ~BlockReader() = default;
  // Reads the block bp points to: tries each DVA (and for each, every mirror side or raidz
  // reconstruction) until one verifies against bp's checksum, then decompresses. Returns
  // exactly bp.lsize() bytes, in the byte order the block was written (bp.little_endian()).
  // A hole returns lsize zero bytes. Fails with ECKSUM when no copy verifies, EIO when none
  // can be read. report (optional) collects every failure met on the way.
  virtual Result<Bytes> Read(const BlkPtr& bp, ReadReport* report = nullptr) = 0;
};

}  // namespace uzfs
