// Vdev labels and the uberblock ring of one leaf device.
//
// Format facts (docs/ondisk-v23.md sections 3-4; zfs-fuse vdev_impl.h, uberblock_impl.h,
// vdev_label.c, zio_checksum.c): a device holds 4 labels of 256 KiB at 0, 256K, psize-512K and
// psize-256K, psize = size rounded down to 256 KiB. A label is 16K of pad, the 112K vdev_phys
// (XDR nvlist + 40-byte zio_eck_t, SHA-256 with verifier = absolute offset of the vdev_phys),
// then the 128K uberblock ring: slots of 2^max(ashift,10) bytes, each with its own embedded
// SHA-256 whose verifier is the slot's absolute offset. zfs-fuse does not cap the slot shift;
// we cap it at 17 (one slot per ring) so a corrupt ashift cannot give an empty ring.
//
// Nothing here trusts the device: every label and slot is verified before use, and a bad one
// is reported, not fatal. Thread safety: plain functions and values.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "libcore/base/env.h"
#include "libcore/base/nvlist.h"
#include "libcore/base/status.h"
#include "libcore/base/blkptr.h"

namespace uzfs {

inline constexpr uint64_t kVdevLabelSize = 256 * 1024;
inline constexpr uint64_t kVdevPhysOffset = 16 * 1024;
inline constexpr uint64_t kVdevPhysSize = 112 * 1024;
inline constexpr uint64_t kUberblockRingOffset = 128 * 1024;
inline constexpr uint64_t kUberblockRingSize = 128 * 1024;
// The regions of a label (vdev_label_t) as bits, zinject -L's names: pad1 (8K), the boot
// header pad2 (8K), the config nvlist (vdev_phys, 112K) and the uberblock ring (128K).
inline constexpr unsigned kLabelPad1 = 1, kLabelPad2 = 2, kLabelNvlist = 4, kLabelUber = 8;
inline constexpr uint64_t kVdevLabelStartSize = 4 * 1024 * 1024;  // 2 labels + boot region
inline constexpr uint64_t kVdevLabelEndSize = 512 * 1024;          // 2 labels
inline constexpr int kVdevLabels = 4;
inline constexpr uint64_t kUberblockMagic = 0x00bab10cULL;
inline constexpr int kUberblockMinShift = 10;
inline constexpr int kUberblockMaxShift = 17;
inline constexpr uint64_t kSpaVersion = 23;  // the newest pool version we read

// Absolute byte offset of label l (0..3) on a device of psize bytes (already 256K-aligned).
uint64_t VdevLabelOffset(uint64_t psize, int l);
// Uberblock slot shift for a top-level vdev of this ashift.
int UberblockShift(uint64_t ashift);

struct Uberblock {
  uint64_t magic = 0;  // as decoded in the slot's own order: always kUberblockMagic
  uint64_t version = 0;
  uint64_t txg = 0;
  uint64_t guid_sum = 0;
  uint64_t timestamp = 0;
  BlkPtr rootbp;
  bool byteswapped = false;  // slot was written in the byte order opposite to the host
  // Where it came from.
  std::string device;   // leaf path (filled by ReadDeviceLabels)
  int label = -1;       // 0..3
  int slot = -1;        // index in the ring
  int slot_shift = 0;   // ring slot size = 1 << slot_shift
  uint64_t offset = 0;  // absolute device offset of the slot
};

// Parses one ring slot whose first byte is at absolute device offset slot_offset: checks the
// embedded label checksum and the magic (either byte order). ECKSUM on a bad checksum,
// ECORRUPT on a bad magic, EINVAL when the slot is smaller than an uberblock + eck.
Result<Uberblock> ParseUberblock(ByteSpan slot, uint64_t slot_offset);

// vdev_uberblock_compare: higher txg wins, then higher timestamp. True when a beats b.
bool UberblockBetter(const Uberblock& a, const Uberblock& b);

// Verifies and decodes one vdev_phys (112K) read at absolute offset phys_offset.
Result<NvList> ParseVdevPhys(ByteSpan phys, uint64_t phys_offset);

struct LabelRead {
  int index = 0;
  uint64_t offset = 0;               // absolute offset of the label
  Status status;                     // OK when the vdev_phys checksum and nvlist are good
  NvList config;                     // empty unless status.ok()
  std::vector<Uberblock> uberblocks; // every slot that verified, in slot order
};

struct DeviceLabels {
  std::string path;
  uint64_t size = 0;   // device size in bytes
  uint64_t psize = 0;  // size rounded down to 256K
  std::array<LabelRead, kVdevLabels> labels;

  // Config of the first label that decoded, or nullptr when none did.
  const NvList* config() const;
  // All uberblocks of all labels, best first (UberblockBetter).
  std::vector<Uberblock> AllUberblocks() const;
};

// --- Write side (vdev_label.c vdev_label_init / vdev_config_sync / vdev_uberblock_sync) ---

// The 112K vdev_phys for config (XDR nvlist, zero padding, SHA-256 eck with verifier =
// phys_offset). E2BIG when the packed config does not fit.
Result<Bytes> EncodeVdevPhys(const NvList& config, uint64_t phys_offset);
// One uberblock ring slot of 2^slot_shift bytes, native byte order, eck verifier = offset.
Bytes EncodeUberblock(const Uberblock& ub, int slot_shift, uint64_t slot_offset);
// Zeroes all 4 labels (pad, vdev_phys and ring) and the 3.5 MiB boot region of a device that
// is becoming a pool member (vdev_label_init's clean slate).
Status ClearLabels(File& f, uint64_t psize);
// Writes config into the vdev_phys of the labels in `which` (bit l = label l).
Status WriteLabelConfig(File& f, uint64_t psize, const NvList& config, unsigned which);
// Writes ub into ring slot (txg mod slots) of the labels in `which`.
Status WriteUberblock(File& f, uint64_t psize, const Uberblock& ub, uint64_t ashift,
                      unsigned which);
// Label sets for the safe update order (even labels, uberblocks, odd labels).
inline constexpr unsigned kEvenLabels = 0b0101, kOddLabels = 0b1010, kAllLabels = 0b1111;

// Reads all 4 labels of a device. The ring's slot size comes from ashift_hint when non-zero,
// else from the ashift in this device's own label config (vdev_tree.ashift); when no label
// decodes, every slot size from 2^10 to 2^13 is tried (a wrong size cannot pass the checksum,
// whose verifier is the slot offset). Fails only when the device cannot be sized or is smaller
// than two labels (EINVAL); per-label failures are in LabelRead::status.
// failed (kLabel* bits, a label fault's: vdev_inject.h): the reads of those regions fail
// with EIO, as vdev_label_read_config's and vdev_uberblock_load's reads would (nvlist: no
// label's config; uber: no uberblock).
Result<DeviceLabels> ReadDeviceLabels(File& f, uint64_t ashift_hint = 0, unsigned failed = 0);

}  // namespace uzfs
