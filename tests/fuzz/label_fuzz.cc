// libFuzzer target: the input is a device image. Exercises the label + uberblock ring parser
// (ReadDeviceLabels), the pool assembly from those labels (Spa::OpenDevices, which builds the
// vdev tree from the label nvlist and tries to read the MOS through the zio pipeline), and the
// raidz column mapping with geometry taken from the input's first bytes, and the space map
// entry decoder over the raw input.
//
// Small inputs are expanded to a device of 1 MiB + (input size) so all 4 labels exist: the input
// is written at offset 0 (label 0) and again at label 2's position, so label-shaped inputs reach
// the nvlist and uberblock decoders through both the front and the end labels.
//
// Checksums would stop almost every mutation at the door, so when byte 16 of the input (inside
// the label's unused pad) is odd, the harness re-seals the copies it writes: it recomputes the
// vdev_phys checksum and every uberblock slot's checksum (slot size 2^12 when byte 17 is odd,
// else 2^10) for the offsets they land at. The parsers behind the checksums then see fuzzed data.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "libcore/base/checksum.h"
#include "libcore/base/env.h"
#include "libcore/spa/space_map.h"
#include "libcore/spa/spa.h"
#include "libcore/vdev/vdev_label.h"
#include "libcore/vdev/vdev_raidz.h"

using namespace uzfs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > (4u << 20)) return 0;
  ByteSpan in(data, size);

  if (size >= 24) {
    uint64_t off = LoadLE64(data) & ((1ULL << 40) - 1);
    uint64_t sz = LoadLE32(data + 8) & ((1u << 25) - 1);
    uint64_t shift = data[12] % 20;
    uint64_t dcols = data[13];
    uint64_t np = data[14] % 5;
    auto m = RaidzMapAlloc(off << 9, sz, shift, dcols, np);
    if (m.ok() && m->cols <= 64 && m->col[0].size <= 65536) {
      RaidzColumns cols(m->cols);
      for (uint64_t c = 0; c < m->cols; c++) cols[c].assign(m->col[c].size, static_cast<uint8_t>(c));
      RaidzGenerateParity(*m, cols);
      std::vector<int> t;
      for (uint64_t k = 0; k < np && k < m->cols; k++) t.push_back(static_cast<int>((data[15] + k * 7) % m->cols));
      std::sort(t.begin(), t.end());
      t.erase(std::unique(t.begin(), t.end()), t.end());
      (void)RaidzReconstruct(*m, cols, t);
    }
  }

  if (size >= 20) (void)DecodeSpaceMap(in, size & ~size_t{7}, 0, data[18] % 64, data[19] & 1);

  auto env = NewMemEnv();
  {
    auto f = env->Open("/dev", OpenOptions{.write = true, .create = true});
    if (!f.ok()) return 0;
    uint64_t dev = std::max<uint64_t>(P2RoundUp(size, kVdevLabelSize) + 4 * kVdevLabelSize,
                                      size);
    Bytes zero(dev, 0);
    if (!(*f)->WriteAt(0, zero).ok()) return 0;
    uint64_t l2 = VdevLabelOffset(P2Align(dev, kVdevLabelSize), 2);
    bool seal = size > 17 && (data[16] & 1);
    int shift = size > 17 && (data[17] & 1) ? 12 : 10;
    for (uint64_t base : {uint64_t{0}, l2}) {
      if (base + size > dev) continue;
      Bytes img(in.begin(), in.end());
      if (seal) {
        if (img.size() >= kVdevPhysOffset + kVdevPhysSize) {
          ZioCksum v;
          v.word[0] = base + kVdevPhysOffset;
          SetEmbeddedChecksum(static_cast<uint8_t>(ChecksumId::kLabel),
                              MutByteSpan(img).subspan(kVdevPhysOffset, kVdevPhysSize), v);
        }
        uint64_t slot = 1ULL << shift;
        for (uint64_t o = kUberblockRingOffset; o + slot <= img.size() && o < kVdevLabelSize;
             o += slot) {
          ZioCksum v;
          v.word[0] = base + o;
          SetEmbeddedChecksum(static_cast<uint8_t>(ChecksumId::kLabel),
                              MutByteSpan(img).subspan(o, slot), v);
        }
      }
      if (!(*f)->WriteAt(base, img).ok()) return 0;
    }
    auto dl = ReadDeviceLabels(**f);
    if (dl.ok()) {
      (void)dl->config();
      (void)dl->AllUberblocks();
    }
  }
  SpaOpenOptions o;
  o.env = env.get();
  auto spa = Spa::OpenDevices({"/dev"}, "", o);
  if (spa.ok()) {
    (void)(*spa)->Read((*spa)->uberblock().rootbp);
    (void)(*spa)->ReadRaw(0, 0, 4096);
  }
  return 0;
}
