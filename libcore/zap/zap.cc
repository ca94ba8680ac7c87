#include "libcore/zap/zap.h"

#include <algorithm>
#include <map>

namespace uzfs {
namespace {

constexpr uint64_t kCrc64Poly = 0xC96C5795D7870F42ULL;
constexpr size_t kMzeSize = 64;
constexpr size_t kMzeNameLen = 50;
constexpr size_t kLeafChunk = 24;
constexpr uint8_t kChunkEntry = 252, kChunkArray = 251;
constexpr size_t kArrayBytes = 21;
constexpr size_t kMaxEntries = 1 << 24;

struct Crc64Table {
  uint64_t t[256];
  Crc64Table() {
    for (int i = 0; i < 256; i++) {
      uint64_t c = static_cast<uint64_t>(i);
      for (int j = 0; j < 8; j++) c = (c >> 1) ^ (-(c & 1) & kCrc64Poly);
      t[i] = c;
    }
  }
};

Status Corrupt(uint64_t obj, const std::string& what) {
  return Status::Error(ECORRUPT, "zap object " + std::to_string(obj) + ": " + what);
}

// Reads an array-chunk chain of n integers of intsize bytes (big-endian) from a leaf.
bool ReadArray(const Bytes& leaf, size_t chunks_off, size_t nchunks, uint16_t chunk, uint64_t n,
               int intsize, std::vector<uint64_t>* out, std::string* bytes) {
  uint64_t total = n * static_cast<uint64_t>(intsize);
  if (total > leaf.size() * 2) return false;
  std::string raw;
  size_t guard = 0;
  while (raw.size() < total) {
    if (chunk >= nchunks || ++guard > nchunks) return false;
    const uint8_t* c = leaf.data() + chunks_off + chunk * kLeafChunk;
    if (c[0] != kChunkArray) return false;
    size_t take = std::min<size_t>(kArrayBytes, total - raw.size());
    raw.append(reinterpret_cast<const char*>(c + 1), take);
    chunk = LoadRaw<uint16_t>(c + 22);  // la_next, in the leaf's order (fixed up by caller)
  }
  if (bytes) *bytes = raw;
  if (out) {
    for (uint64_t i = 0; i < n; i++) {
      uint64_t v = 0;
      for (int k = 0; k < intsize; k++) v = (v << 8) | static_cast<uint8_t>(raw[i * intsize + k]);
      out->push_back(v);
    }
  }
  return true;
}

}  // namespace

uint64_t ZapHash(uint64_t salt, std::string_view name) {
  static const Crc64Table table;
  uint64_t h = salt;
  for (unsigned char c : name) h = (h >> 8) ^ table.t[(h ^ c) & 0xFF];
  return h & ~((1ULL << (64 - kZapHashBits)) - 1);
}

Result<Zap> Zap::Open(ObjSet& os, uint64_t obj) {
  UZFS_ASSIGN(DnodePhys dn, os.Dnode(obj));
  return Open(os, dn, obj);
}

Result<Zap> Zap::Open(ObjSet& os, const DnodePhys& dn, uint64_t obj) {
  return Parse(dn, obj, [&](uint64_t blkid) { return os.ReadBlock(dn, blkid); });
}

Result<Zap> Zap::Parse(const DnodePhys& dn, uint64_t obj, const BlockFn& read_block) {
  const uint64_t bs = dn.datablksz();
  UZFS_ASSIGN(Bytes b0, read_block(0));
  if (b0.size() < 128) return Corrupt(obj, "block too small");
  // The block type word tells the byte order as well.
  bool le = true;
  uint64_t type = LoadLE64(b0.data());
  if (type != kZbtMicro && type != kZbtHeader) {
    le = false;
    type = LoadBE64(b0.data());
  }
  Zap z;
  z.block_type = type;
  if (type == kZbtMicro) {
    z.micro_ = true;
    z.salt_ = Load64(b0.data() + 8, le);
    for (size_t off = kMzeSize; off + kMzeSize <= b0.size(); off += kMzeSize) {
      const uint8_t* e = b0.data() + off;
      if (e[14] == 0) continue;  // empty slot
      ZapEntry ze;
      const char* nm = reinterpret_cast<const char*>(e + 14);
      size_t len = 0;
      while (len < kMzeNameLen && nm[len] != 0) len++;
      if (len == kMzeNameLen) return Corrupt(obj, "microzap name without NUL");
      ze.name.assign(nm, len);
      ze.value.push_back(Load64(e, le));
      ze.cd = Load32(e + 8, le);
      ze.hash = ZapHash(z.salt_, ze.name);
      z.entries_.push_back(std::move(ze));
    }
  } else if (type == kZbtHeader) {
    if (Load64(b0.data() + 8, le) != kZapMagic) return Corrupt(obj, "bad fat zap magic");
    z.ptrtbl_blk = Load64(b0.data() + 16, le);
    z.ptrtbl_numblks = Load64(b0.data() + 24, le);
    z.ptrtbl_shift = Load64(b0.data() + 32, le);
    z.ptrtbl_nextblk = Load64(b0.data() + 40, le);
    z.ptrtbl_blks_copied = Load64(b0.data() + 48, le);
    z.magic = kZapMagic;
    z.freeblk = Load64(b0.data() + 56, le);
    z.num_leafs = Load64(b0.data() + 64, le);
    z.hdr_num_entries = Load64(b0.data() + 72, le);
    z.salt_ = Load64(b0.data() + 80, le);
    const int bs_shift = HighBit(bs) - 1;
    if ((1ULL << bs_shift) != bs || bs_shift < 9) return Corrupt(obj, "bad block size");
    // Collect the leaf block ids from the pointer table, in table order.
    std::vector<uint64_t> ptrs;
    if (z.ptrtbl_numblks == 0) {
      const size_t n = 1ULL << (bs_shift - 3 - 1);
      for (size_t i = 0; i < n; i++) ptrs.push_back(Load64(b0.data() + bs / 2 + 8 * i, le));
    } else {
      if (z.ptrtbl_numblks > (1ULL << 20)) return Corrupt(obj, "pointer table too large");
      for (uint64_t k = 0; k < z.ptrtbl_numblks; k++) {
        UZFS_ASSIGN(Bytes pb, read_block(z.ptrtbl_blk + k));
        for (size_t i = 0; i + 8 <= pb.size(); i += 8) ptrs.push_back(Load64(pb.data() + i, le));
      }
    }
    std::map<uint64_t, Bytes> leaves;  // each distinct leaf, read once
    const size_t hash_entries = 1ULL << (bs_shift - 5);
    const size_t chunks_off = 48 + 2 * hash_entries;
    const size_t nchunks = (bs - 2 * hash_entries) / kLeafChunk - 2;
    for (uint64_t blk : ptrs) {
      if (leaves.count(blk)) continue;
      if (blk == 0 || blk > dn.maxblkid) return Corrupt(obj, "leaf pointer out of range");
      UZFS_ASSIGN(Bytes leaf, read_block(blk));
      bool lle = LoadLE64(leaf.data()) == kZbtLeaf;
      if (!lle && LoadBE64(leaf.data()) != kZbtLeaf) return Corrupt(obj, "bad leaf block type");
      if (Load32(leaf.data() + 24, lle) != kZapLeafMagic) return Corrupt(obj, "bad leaf magic");
      // Normalise la_next / entry fields by decoding each chunk in the leaf's order.
      if (!lle) {
        for (size_t c = 0; c < nchunks; c++) {
          uint8_t* ch = leaf.data() + chunks_off + c * kLeafChunk;
          if (ch[0] == kChunkArray) StoreRaw<uint16_t>(ch + 22, Bswap16(LoadRaw<uint16_t>(ch + 22)));
        }
      }
      for (size_t c = 0; c < nchunks; c++) {
        const uint8_t* e = leaf.data() + chunks_off + c * kLeafChunk;
        if (e[0] != kChunkEntry) continue;
        ZapEntry ze;
        ze.int_size = e[1];
        uint16_t name_chunk = Load16(e + 4, lle), name_n = Load16(e + 6, lle);
        uint16_t value_chunk = Load16(e + 8, lle), value_n = Load16(e + 10, lle);
        ze.cd = Load32(e + 12, lle);
        ze.hash = Load64(e + 16, lle);
        if (ze.int_size != 1 && ze.int_size != 2 && ze.int_size != 4 && ze.int_size != 8)
          return Corrupt(obj, "bad value integer size");
        std::string nm;
        if (name_n == 0 || !ReadArray(leaf, chunks_off, nchunks, name_chunk, name_n, 1, nullptr, &nm))
          return Corrupt(obj, "bad name chain");
        if (nm.back() == '\0') nm.pop_back();
        ze.name = std::move(nm);
        if (!ReadArray(leaf, chunks_off, nchunks, value_chunk, value_n, ze.int_size, &ze.value, nullptr))
          return Corrupt(obj, "bad value chain");
        z.entries_.push_back(std::move(ze));
        if (z.entries_.size() > kMaxEntries) return Corrupt(obj, "too many entries");
      }
      leaves.emplace(blk, std::move(leaf));
    }
    // zap_stats_ptrtbl: consecutive table entries naming the same leaf count it once.
    auto bucket = [](uint64_t n) { return std::min<uint64_t>(n, kHistogramSize - 1); };
    uint64_t lastblk = 0;
    for (uint64_t blk : ptrs) {
      if (blk == lastblk) continue;
      lastblk = blk;
      const Bytes& leaf = leaves.at(blk);
      bool lle = LoadLE64(leaf.data()) == kZbtLeaf;
      uint16_t nfree = Load16(leaf.data() + 28, lle), nentries = Load16(leaf.data() + 30, lle);
      uint16_t prefix_len = Load16(leaf.data() + 32, lle);
      z.leafs_with_2n_pointers[bucket(z.ptrtbl_shift >= prefix_len ? z.ptrtbl_shift - prefix_len : 0)]++;
      z.blocks_with_n5_entries[bucket(nentries / 5)]++;
      uint64_t used = bs > nfree * (kArrayBytes + 1) ? bs - nfree * (kArrayBytes + 1) : 0;
      z.blocks_n_tenths_full[bucket(used * 10 / bs)]++;
      for (size_t h = 0; h < hash_entries; h++) {
        uint16_t chunk = Load16(leaf.data() + 48 + 2 * h, lle);
        uint64_t n = 0;
        while (chunk != 0xffff && chunk < nchunks && n <= nchunks) {
          const uint8_t* e = leaf.data() + chunks_off + chunk * kLeafChunk;
          if (e[0] != kChunkEntry) break;
          uint64_t name_n = Load16(e + 6, lle), value_n = Load16(e + 10, lle);
          z.entries_using_n_chunks[bucket(1 + (name_n + kArrayBytes - 1) / kArrayBytes +
                                          (value_n * e[1] + kArrayBytes - 1) / kArrayBytes)]++;
          chunk = Load16(e + 2, lle);
          n++;
        }
        z.buckets_with_n_entries[bucket(n)]++;
      }
    }
  } else {
    return Corrupt(obj, "not a ZAP block");
  }
  std::stable_sort(z.entries_.begin(), z.entries_.end(), [](const ZapEntry& a, const ZapEntry& b) {
    return a.hash != b.hash ? a.hash < b.hash : a.cd < b.cd;
  });
  return z;
}

const ZapEntry* Zap::Find(std::string_view name) const {
  for (const auto& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

Result<uint64_t> Zap::Lookup(std::string_view name) const {
  const ZapEntry* e = Find(name);
  if (e == nullptr) return Status::Error(ENOENT, std::string(name));
  if (e->value.size() != 1) return Status::Error(EOVERFLOW, std::string(name));
  return e->value[0];
}

}  // namespace uzfs
