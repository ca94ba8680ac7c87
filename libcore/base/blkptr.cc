// Names and text form of block pointers. Format facts: zfs-fuse spa.h SPRINTF_BLKPTR,
// dmu.c dmu_ot[], zio_checksum.c / zio_compress.c name tables (pool v23).
#include "libcore/base/blkptr.h"

#include <cinttypes>
#include <cstdio>

namespace uzfs {

namespace {

constexpr const char* kObjectTypeNames[] = {
    "unallocated",           "object directory",        "object array",
    "packed nvlist",         "packed nvlist size",      "bplist",
    "bplist header",         "SPA space map header",    "SPA space map",
    "ZIL intent log",        "DMU dnode",               "DMU objset",
    "DSL directory",         "DSL directory child map", "DSL dataset snap map",
    "DSL props",             "DSL dataset",             "ZFS znode",
    "ZFS V0 ACL",            "ZFS plain file",          "ZFS directory",
    "ZFS master node",       "ZFS delete queue",        "zvol object",
    "zvol prop",             "other uint8[]",           "other uint64[]",
    "other ZAP",             "persistent error log",    "SPA history",
    "SPA history offsets",   "Pool properties",         "DSL permissions",
    "ZFS ACL",               "ZFS SYSACL",              "FUID table",
    "FUID table size",       "DSL dataset next clones", "scrub work queue",
    "ZFS user/group used",   "ZFS user/group quota",    "snapshot refcount tags",
    "DDT ZAP algorithm",     "DDT statistics",
};

constexpr const char* kChecksumNames[] = {
    "inherit",   "on",        "off",    "label",  "gang_header",
    "zilog",     "fletcher2", "fletcher4", "sha256", "zilog2",
};

constexpr const char* kCompressNames[] = {
    "inherit", "on",     "uncompressed", "lzjb",   "empty",  "gzip-1", "gzip-2", "gzip-3",
    "gzip-4",  "gzip-5", "gzip-6",       "gzip-7", "gzip-8", "gzip-9", "zle",
};

template <size_t N>
const char* Lookup(const char* const (&table)[N], uint8_t id) {
  return id < N ? table[id] : "unknown";
}

}  // namespace

const char* ObjectTypeName(uint8_t type) {
  // The ZAP "new types" (DMU_OT_NEWTYPE 0x80 with DMU_BSWAP_ZAP, 4: DMU_OTN_ZAP_DATA and
  // _METADATA, which pool version 5000's feature ZAPs are) by OpenZFS's name for them
  // (dmu_ot_byteswap's, zdb_ot_name); other new types stay "unknown" as zfs-fuse has them.
  if ((type & 0x80) && (type & 0x1f) == 4) return "zap";
  return Lookup(kObjectTypeNames, type);
}
const char* BpCompressName(uint8_t id) { return Lookup(kCompressNames, id); }

void Dva::Set(uint64_t vdev, uint64_t off, uint64_t asz, bool g) {
  word[0] = 0;
  word[0] = BF64Set(word[0], 32, 32, vdev);
  word[0] = BF64Set(word[0], 0, 24, asz >> kSpaMinBlockShift);
  word[1] = BF64Set(0, 0, 63, off >> kSpaMinBlockShift);
  word[1] = BF64Set(word[1], 63, 1, g ? 1 : 0);
}

int BlkPtr::ndvas() const {
  int n = 0;
  for (const Dva& d : dva) n += d.asize() != 0;
  return n;
}

uint64_t BlkPtr::total_asize() const {
  uint64_t s = 0;
  for (const Dva& d : dva) s += d.asize();
  return s;
}

std::string BlkPtr::ToString() const {
  if (is_hole()) return "<hole>";
  static const char* const kCopies[] = {"zero", "single", "double", "triple"};
  std::string out;
  char buf[160];
  int n = ndvas();
  int copies = 0;
  for (int d = 0; d < n; d++) {
    if (dva[d].asize() != 0) copies++;
    std::snprintf(buf, sizeof buf, "DVA[%d]=<%" PRIu64 ":%" PRIx64 ":%" PRIx64 "> ", d,
                  dva[d].vdev(), dva[d].offset(), dva[d].asize());
    out += buf;
  }
  // BP_IS_GANG looks at DVA 0 only; the "copies--" quirk is zfs-fuse's, kept for identical text.
  bool gang = dva[0].gang();
  if (gang && dva[2].asize() <= dva[1].asize() / 2) copies--;
  if (copies < 0) copies = 0;
  std::snprintf(buf, sizeof buf, "[L%d %s] %s %s %s %s %s %s ", level(), ObjectTypeName(type()),
                Lookup(kChecksumNames, checksum()), BpCompressName(compress()),
                little_endian() ? "LE" : "BE", gang ? "gang" : "contiguous",
                dedup() ? "dedup" : "unique", kCopies[copies]);
  out += buf;
  std::snprintf(buf, sizeof buf,
                "size=%" PRIx64 "L/%" PRIx64 "P birth=%" PRIu64 "L/%" PRIu64 "P fill=%" PRIu64
                " cksum=%" PRIx64 ":%" PRIx64 ":%" PRIx64 ":%" PRIx64,
                lsize(), psize(), birth, physical_birth(), fill, cksum.word[0], cksum.word[1],
                cksum.word[2], cksum.word[3]);
  out += buf;
  return out;
}

}  // namespace uzfs
