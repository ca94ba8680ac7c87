#include "libcore/vdev/vdev_label.h"

#include <algorithm>
#include <set>

#include "libcore/base/checksum.h"

namespace uzfs {

namespace {

constexpr size_t kEckSize = 40;
constexpr size_t kUberblockUsed = 5 * 8 + kBlkPtrSize;  // fields up to and including rootbp

ZioCksum OffsetVerifier(uint64_t off) {
  ZioCksum v;
  v.word[0] = off;
  return v;
}

}  // namespace

uint64_t VdevLabelOffset(uint64_t psize, int l) {
  return static_cast<uint64_t>(l) * kVdevLabelSize +
         (l < kVdevLabels / 2 ? 0 : psize - kVdevLabels * kVdevLabelSize);
}

int UberblockShift(uint64_t ashift) {
  uint64_t s = std::max<uint64_t>(ashift, kUberblockMinShift);
  return static_cast<int>(std::min<uint64_t>(s, kUberblockMaxShift));
}

Result<Uberblock> ParseUberblock(ByteSpan slot, uint64_t slot_offset) {
  if (slot.size() < kUberblockUsed + kEckSize)
    return Status::Error(EINVAL, "uberblock slot too small");
  if (!VerifyEmbeddedChecksum(static_cast<uint8_t>(ChecksumId::kLabel), slot,
                              OffsetVerifier(slot_offset)))
    return Status::Error(ECKSUM, "uberblock checksum");
  const uint8_t* p = slot.data();
  bool little;
  if (LoadLE64(p) == kUberblockMagic) {
    little = true;
  } else if (LoadBE64(p) == kUberblockMagic) {
    little = false;
  } else {
    return Status::Error(ECORRUPT, "bad uberblock magic");
  }
  Uberblock ub;
  ub.magic = kUberblockMagic;
  ub.version = Load64(p + 8, little);
  ub.txg = Load64(p + 16, little);
  ub.guid_sum = Load64(p + 24, little);
  ub.timestamp = Load64(p + 32, little);
  ub.rootbp = BlkPtr::Decode(p + 40, little);
  ub.byteswapped = little != (std::endian::native == std::endian::little);
  ub.offset = slot_offset;
  return ub;
}

bool UberblockBetter(const Uberblock& a, const Uberblock& b) {
  if (a.txg != b.txg) return a.txg > b.txg;
  return a.timestamp > b.timestamp;
}

Result<NvList> ParseVdevPhys(ByteSpan phys, uint64_t phys_offset) {
  if (phys.size() != kVdevPhysSize) return Status::Error(EINVAL, "vdev_phys size");
  if (!VerifyEmbeddedChecksum(static_cast<uint8_t>(ChecksumId::kLabel), phys,
                              OffsetVerifier(phys_offset)))
    return Status::Error(ECKSUM, "label checksum");
  auto nv = NvList::DecodeXdr(phys.first(kVdevPhysSize - kEckSize));
  if (!nv.ok()) return nv.status().Context("label nvlist");
  return nv;
}

Result<Bytes> EncodeVdevPhys(const NvList& config, uint64_t phys_offset) {
  Bytes packed = config.EncodeXdr();
  if (packed.size() > kVdevPhysSize - kEckSize)
    return Status::Error(E2BIG, "label config too large (" + std::to_string(packed.size()) +
                                    " bytes)");
  Bytes phys(kVdevPhysSize, 0);
  std::copy(packed.begin(), packed.end(), phys.begin());
  SetEmbeddedChecksum(static_cast<uint8_t>(ChecksumId::kLabel), phys,
                      OffsetVerifier(phys_offset));
  return phys;
}

Bytes EncodeUberblock(const Uberblock& ub, int slot_shift, uint64_t slot_offset) {
  Bytes slot(1ULL << slot_shift, 0);
  uint8_t* p = slot.data();
  StoreLE64(p, kUberblockMagic);
  StoreLE64(p + 8, ub.version);
  StoreLE64(p + 16, ub.txg);
  StoreLE64(p + 24, ub.guid_sum);
  StoreLE64(p + 32, ub.timestamp);
  ub.rootbp.Encode(p + 40);
  SetEmbeddedChecksum(static_cast<uint8_t>(ChecksumId::kLabel), slot,
                      OffsetVerifier(slot_offset));
  return slot;
}

Status ClearLabels(File& f, uint64_t psize) {
  Bytes zero(kVdevLabelSize, 0);
  for (int l = 0; l < kVdevLabels; l++)
    UZFS_TRY(f.WriteAt(VdevLabelOffset(psize, l), zero));
  Bytes boot(kVdevLabelStartSize - 2 * kVdevLabelSize, 0);
  return f.WriteAt(2 * kVdevLabelSize, boot);
}

Status WriteLabelConfig(File& f, uint64_t psize, const NvList& config, unsigned which) {
  for (int l = 0; l < kVdevLabels; l++) {
    if (!(which & (1u << l))) continue;
    uint64_t off = VdevLabelOffset(psize, l) + kVdevPhysOffset;
    UZFS_ASSIGN(Bytes phys, EncodeVdevPhys(config, off));
    UZFS_TRY(f.WriteAt(off, phys));
  }
  return Status::Ok();
}

Status WriteUberblock(File& f, uint64_t psize, const Uberblock& ub, uint64_t ashift,
                      unsigned which) {
  int shift = UberblockShift(ashift);
  uint64_t slots = kUberblockRingSize >> shift;
  uint64_t n = ub.txg % slots;
  for (int l = 0; l < kVdevLabels; l++) {
    if (!(which & (1u << l))) continue;
    uint64_t off = VdevLabelOffset(psize, l) + kUberblockRingOffset + (n << shift);
    UZFS_TRY(f.WriteAt(off, EncodeUberblock(ub, shift, off)));
  }
  return Status::Ok();
}

const NvList* DeviceLabels::config() const {
  for (const LabelRead& l : labels)
    if (l.status.ok()) return &l.config;
  return nullptr;
}

std::vector<Uberblock> DeviceLabels::AllUberblocks() const {
  std::vector<Uberblock> all;
  for (const LabelRead& l : labels) all.insert(all.end(), l.uberblocks.begin(), l.uberblocks.end());
  std::stable_sort(all.begin(), all.end(), UberblockBetter);
  return all;
}

Result<DeviceLabels> ReadDeviceLabels(File& f, uint64_t ashift_hint, unsigned failed) {
  DeviceLabels dl;
  dl.path = f.Name();
  UZFS_ASSIGN(dl.size, f.Size());
  dl.psize = P2Align(dl.size, kVdevLabelSize);
  if (dl.psize < kVdevLabels * kVdevLabelSize)
    return Status::Error(EINVAL, dl.path + ": device too small to hold ZFS labels (" +
                                     std::to_string(dl.size) + " bytes)");
  Bytes buf(kVdevLabelSize);
  std::vector<Bytes> rings(kVdevLabels);
  uint64_t ashift = ashift_hint;
  for (int l = 0; l < kVdevLabels; l++) {
    LabelRead& lr = dl.labels[l];
    lr.index = l;
    lr.offset = VdevLabelOffset(dl.psize, l);
    Status s = f.ReadAt(lr.offset, buf);
    if (!s.ok()) {
      lr.status = s.Context("reading label " + std::to_string(l));
      continue;
    }
    auto nv = (failed & kLabelNvlist)
                  ? Result<NvList>(Status::Error(EIO, "reading label " + std::to_string(l) + ": injected"))
                  : ParseVdevPhys(ByteSpan(buf).subspan(kVdevPhysOffset, kVdevPhysSize),
                                  lr.offset + kVdevPhysOffset);
    if (nv.ok()) {
      lr.config = std::move(nv).value();
      if (ashift == 0) {
        const NvList* tree = lr.config.GetNvList("vdev_tree");
        if (tree) ashift = tree->GetUint64("ashift").value_or(0);
      }
    } else {
      lr.status = nv.status().Context("label " + std::to_string(l));
    }
    if (!(failed & kLabelUber)) rings[l].assign(buf.begin() + kUberblockRingOffset, buf.end());
  }
  std::vector<int> shifts;
  if (ashift != 0) {
    shifts.push_back(UberblockShift(ashift));
  } else {
    for (int s = kUberblockMinShift; s <= 13; s++) shifts.push_back(s);
  }
  for (int l = 0; l < kVdevLabels; l++) {
    if (rings[l].empty()) continue;
    uint64_t ring_off = dl.labels[l].offset + kUberblockRingOffset;
    for (int shift : shifts) {
      uint64_t slot_size = 1ULL << shift;
      for (uint64_t n = 0; n < kUberblockRingSize / slot_size; n++) {
        auto ub = ParseUberblock(ByteSpan(rings[l]).subspan(n * slot_size, slot_size),
                                 ring_off + n * slot_size);
        if (!ub.ok()) continue;
        ub->device = dl.path;
        ub->label = l;
        ub->slot = static_cast<int>(n);
        ub->slot_shift = shift;
        dl.labels[l].uberblocks.push_back(std::move(ub).value());
      }
    }
  }
  return dl;
}

}  // namespace uzfs
