#include "libcore/zap/zap_write.h"

#include <algorithm>
#include <cstring>
#include <random>

namespace uzfs {

namespace {

constexpr size_t kMzeSize = 64;
constexpr size_t kMzeNameLen = 50;
constexpr uint32_t kMzapMaxBlock = 128 * 1024;
constexpr size_t kLeafChunk = 24;
constexpr uint16_t kChainEnd = 0xffff;
constexpr uint8_t kChunkEntry = 252, kChunkArray = 251, kChunkFree = 253;
constexpr size_t kArrayBytes = 21;

uint64_t NewSalt() {
  static std::mt19937_64 rng{std::random_device{}()};
  uint64_t s;
  do s = rng(); while (s == 0);
  return s;
}

bool MicroOk(const ZapEntry& e) {
  return e.int_size == 8 && e.value.size() == 1 && e.name.size() < kMzeNameLen;
}

// Entries sorted by (hash, cd): the cursor order.
std::vector<const ZapEntry*> Sorted(const std::map<std::string, ZapEntry, std::less<>>& m) {
  std::vector<const ZapEntry*> v;
  for (auto& [k, e] : m) v.push_back(&e);
  std::sort(v.begin(), v.end(), [](const ZapEntry* a, const ZapEntry* b) {
    return a->hash != b->hash ? a->hash < b->hash : a->cd < b->cd;
  });
  return v;
}

size_t ChunksFor(const ZapEntry& e) {
  size_t name = (e.name.size() + 1 + kArrayBytes - 1) / kArrayBytes;
  size_t val = (e.value.size() * e.int_size + kArrayBytes - 1) / kArrayBytes;
  return 1 + name + std::max<size_t>(val, 1);
}

}  // namespace

Result<Bytes> EncodeMicroZap(uint64_t salt, const std::vector<const ZapEntry*>& entries,
                             uint32_t blocksize) {
  if ((entries.size() + 1) * kMzeSize > blocksize)
    return Status::Error(ENOSPC, "microzap full");
  Bytes b(blocksize, 0);
  StoreLE64(b.data(), kZbtMicro);
  StoreLE64(b.data() + 8, salt);
  size_t off = kMzeSize;
  for (const ZapEntry* e : entries) {
    if (!MicroOk(*e)) return Status::Error(EINVAL, "entry not microzap-able");
    StoreLE64(b.data() + off, e->value[0]);
    StoreLE32(b.data() + off + 8, e->cd);
    std::memcpy(b.data() + off + 14, e->name.data(), e->name.size());
    off += kMzeSize;
  }
  return b;
}

namespace {

class LeafBuilder {
 public:
  LeafBuilder(uint64_t prefix, int prefix_len) : b_(1u << kFatZapBlockShift, 0) {
    StoreLE64(b_.data(), kZbtLeaf);
    StoreLE64(b_.data() + 16, prefix);
    StoreLE32(b_.data() + 24, kZapLeafMagic);
    StoreLE16(b_.data() + 32, static_cast<uint16_t>(prefix_len));
    for (size_t h = 0; h < kHashEntries; h++) StoreLE16(b_.data() + 48 + 2 * h, kChainEnd);
    prefix_len_ = prefix_len;
  }
  static size_t Capacity() { return kChunks; }

  void Add(const ZapEntry& e) {
    uint16_t ec = next_++;
    uint16_t name_chunk = WriteArray(reinterpret_cast<const uint8_t*>(e.name.data()),
                                     e.name.size(), 1, true);
    std::vector<uint8_t> raw;
    for (uint64_t v : e.value)
      for (int k = e.int_size - 1; k >= 0; k--) raw.push_back(static_cast<uint8_t>(v >> (8 * k)));
    uint16_t value_chunk = WriteArray(raw.data(), raw.size(), 1, false);
    uint8_t* c = Chunk(ec);
    c[0] = kChunkEntry;
    c[1] = static_cast<uint8_t>(e.int_size);
    size_t bucket = ((1u << kHashShift) - 1) & (e.hash >> (64 - kHashShift - prefix_len_));
    uint8_t* head = b_.data() + 48 + 2 * bucket;
    StoreLE16(c + 2, LoadLE16(head));
    StoreLE16(head, ec);
    StoreLE16(c + 4, name_chunk);
    StoreLE16(c + 6, static_cast<uint16_t>(e.name.size() + 1));
    StoreLE16(c + 8, value_chunk);
    StoreLE16(c + 10, static_cast<uint16_t>(e.value.size()));
    StoreLE32(c + 12, e.cd);
    StoreLE64(c + 16, e.hash);
    nentries_++;
  }

  Bytes Finish() {
    // Free chunks chained in order.
    for (size_t i = next_; i < kChunks; i++) {
      uint8_t* c = Chunk(static_cast<uint16_t>(i));
      c[0] = kChunkFree;
      StoreLE16(c + 22, i + 1 < kChunks ? static_cast<uint16_t>(i + 1) : kChainEnd);
    }
    StoreLE16(b_.data() + 28, static_cast<uint16_t>(kChunks - next_));
    StoreLE16(b_.data() + 30, nentries_);
    StoreLE16(b_.data() + 34, next_ < kChunks ? next_ : kChainEnd);
    return std::move(b_);
  }

 private:
  static constexpr int kHashShift = kFatZapBlockShift - 5;
  static constexpr size_t kHashEntries = 1u << kHashShift;
  static constexpr size_t kChunksOff = 48 + 2 * kHashEntries;
  static constexpr size_t kChunks = ((1u << kFatZapBlockShift) - 2 * kHashEntries) / kLeafChunk - 2;
  uint8_t* Chunk(uint16_t i) { return b_.data() + kChunksOff + i * kLeafChunk; }
  uint16_t WriteArray(const uint8_t* p, size_t n, int, bool nul) {
    size_t total = n + (nul ? 1 : 0);
    uint16_t first = next_;
    size_t pos = 0;
    do {
      uint16_t ci = next_++;
      uint8_t* c = Chunk(ci);
      c[0] = kChunkArray;
      for (size_t k = 0; k < kArrayBytes && pos < total; k++, pos++) c[1 + k] = pos < n ? p[pos] : 0;
      StoreLE16(c + 22, pos < total ? next_ : kChainEnd);
    } while (pos < total);
    return first;
  }
  Bytes b_;
  int prefix_len_ = 0;
  uint16_t next_ = 0;
  uint16_t nentries_ = 0;
};

}  // namespace

Result<std::vector<Bytes>> EncodeFatZap(uint64_t salt, const std::vector<const ZapEntry*>& entries) {
  constexpr int kShift = kFatZapBlockShift - 3 - 1;  // embedded pointer table: 1024 entries
  std::vector<Bytes> blocks(1);
  std::vector<uint64_t> ptrtbl(1u << kShift, 0);
  // Partition by hash prefix until each part fits a leaf (ZFS grows the same way by splits).
  std::function<Status(size_t, size_t, uint64_t, int)> build =
      [&](size_t lo, size_t hi, uint64_t prefix, int len) -> Status {
    size_t chunks = 0;
    for (size_t i = lo; i < hi; i++) chunks += ChunksFor(*entries[i]);
    if (chunks <= LeafBuilder::Capacity() || (hi - lo <= 1 && chunks <= LeafBuilder::Capacity())) {
      LeafBuilder lb(prefix, len);
      for (size_t i = lo; i < hi; i++) lb.Add(*entries[i]);
      uint64_t blk = blocks.size();
      blocks.push_back(lb.Finish());
      uint64_t first = prefix << (kShift - len), n = 1ULL << (kShift - len);
      for (uint64_t k = 0; k < n; k++) ptrtbl[first + k] = blk;
      return Status::Ok();
    }
    if (len >= kShift)
      return Status::Error(ENOSPC, "ZAP too large for an embedded pointer table");
    // Split at the next hash bit.
    size_t mid = lo;
    uint64_t bit = 1ULL << (63 - len);
    while (mid < hi && !(entries[mid]->hash & bit)) mid++;
    UZFS_TRY(build(lo, mid, prefix << 1, len + 1));
    return build(mid, hi, (prefix << 1) | 1, len + 1);
  };
  UZFS_TRY(build(0, entries.size(), 0, 0));
  Bytes& h = blocks[0];
  h.assign(1u << kFatZapBlockShift, 0);
  StoreLE64(h.data(), kZbtHeader);
  StoreLE64(h.data() + 8, kZapMagic);
  StoreLE64(h.data() + 16, 0);        // zt_blk: embedded
  StoreLE64(h.data() + 24, 0);        // zt_numblks
  StoreLE64(h.data() + 32, kShift);   // zt_shift
  StoreLE64(h.data() + 56, blocks.size());       // zap_freeblk
  StoreLE64(h.data() + 64, blocks.size() - 1);   // zap_num_leafs
  StoreLE64(h.data() + 72, entries.size());      // zap_num_entries
  StoreLE64(h.data() + 80, salt);
  size_t half = h.size() / 2;
  for (size_t i = 0; i < ptrtbl.size(); i++) StoreLE64(h.data() + half + 8 * i, ptrtbl[i]);
  return blocks;
}

Result<ZapStore::State*> ZapStore::Get(uint64_t obj) {
  auto it = zaps_.find(obj);
  if (it != zaps_.end()) return &it->second;
  UZFS_ASSIGN(const DnodePhys* dnp, os_->Dnode(obj));
  DnodePhys dn = *dnp;
  uint64_t bs = dn.datablksz();
  UZFS_ASSIGN(Zap z, Zap::Parse(dn, obj, [&](uint64_t blkid) -> Result<Bytes> {
                return os_->Read(obj, blkid * bs, bs);
              }));
  State st;
  st.fat = !z.micro();
  st.salt = z.salt();
  st.type = dn.type;
  for (const ZapEntry& e : z.entries()) {
    st.entries.emplace(e.name, e);
    st.cds.emplace(e.hash, e.cd);
  }
  return &(zaps_[obj] = std::move(st));
}

Result<uint64_t> ZapStore::Create(uint8_t type, uint8_t bonustype, uint16_t bonuslen,
                                  uint32_t blocksize) {
  UZFS_ASSIGN(uint64_t obj, os_->Allocate(type, blocksize, bonustype, bonuslen));
  State st;
  st.salt = NewSalt();
  st.type = type;
  st.dirty = true;
  zaps_[obj] = std::move(st);
  return obj;
}

Status ZapStore::CreateAt(uint64_t obj, uint8_t type, uint8_t bonustype, uint16_t bonuslen) {
  UZFS_TRY(os_->Allocate(type, 512, bonustype, bonuslen, obj).status());
  State st;
  st.salt = NewSalt();
  st.type = type;
  st.dirty = true;
  zaps_[obj] = std::move(st);
  return Status::Ok();
}

Status ZapStore::MakeFat(uint64_t obj) {
  UZFS_ASSIGN(State * st, Get(obj));
  st->fat = true;
  st->dirty = true;
  return Status::Ok();
}

Result<std::optional<ZapEntry>> ZapStore::Lookup(uint64_t obj, std::string_view name) {
  UZFS_ASSIGN(State * st, Get(obj));
  auto it = st->entries.find(name);
  if (it == st->entries.end()) return std::optional<ZapEntry>{};
  return std::optional<ZapEntry>{it->second};
}

Result<uint64_t> ZapStore::LookupInt(uint64_t obj, std::string_view name) {
  UZFS_ASSIGN(State * st, Get(obj));
  auto it = st->entries.find(name);
  if (it == st->entries.end()) return Status::Error(ENOENT, std::string(name) + ": no such entry");
  if (it->second.value.size() != 1) return Status::Error(EOVERFLOW, "not one integer");
  return it->second.value[0];
}

Status ZapStore::Add(uint64_t obj, std::string_view name, int int_size,
                     std::vector<uint64_t> value) {
  UZFS_ASSIGN(State * st, Get(obj));
  if (st->entries.count(name)) return Status::Error(EEXIST, std::string(name) + ": exists");
  return Update(obj, name, int_size, std::move(value));
}

Status ZapStore::Update(uint64_t obj, std::string_view name, int int_size,
                        std::vector<uint64_t> value) {
  if (name.empty() || name.size() >= 256) return Status::Error(ENAMETOOLONG, "bad ZAP name");
  if (int_size != 1 && int_size != 2 && int_size != 4 && int_size != 8)
    return Status::Error(EINVAL, "bad integer size");
  UZFS_ASSIGN(State * st, Get(obj));
  auto it = st->entries.find(name);
  if (it != st->entries.end()) {
    it->second.int_size = int_size;
    it->second.value = std::move(value);
  } else {
    ZapEntry e;
    e.name = std::string(name);
    e.int_size = int_size;
    e.value = std::move(value);
    e.hash = ZapHash(st->salt, e.name);
    // Lowest cd not used by another entry with the same hash.
    std::vector<uint32_t> used;
    auto [lo, hi] = st->cds.equal_range(e.hash);
    for (auto c = lo; c != hi; ++c) used.push_back(c->second);
    while (std::find(used.begin(), used.end(), e.cd) != used.end()) e.cd++;
    st->cds.emplace(e.hash, e.cd);
    st->entries.emplace(e.name, std::move(e));
  }
  st->dirty = true;
  return Status::Ok();
}

Status ZapStore::UpdateString(uint64_t obj, std::string_view name, std::string_view v) {
  std::vector<uint64_t> bytes(v.begin(), v.end());
  bytes.push_back(0);
  return Update(obj, name, 1, std::move(bytes));
}

Status ZapStore::Remove(uint64_t obj, std::string_view name) {
  UZFS_ASSIGN(State * st, Get(obj));
  auto it = st->entries.find(name);
  if (it == st->entries.end()) return Status::Error(ENOENT, std::string(name) + ": no such entry");
  auto [lo, hi] = st->cds.equal_range(it->second.hash);
  for (auto c = lo; c != hi; ++c)
    if (c->second == it->second.cd) {
      st->cds.erase(c);
      break;
    }
  st->entries.erase(it);
  st->dirty = true;
  return Status::Ok();
}

Result<std::vector<ZapEntry>> ZapStore::List(uint64_t obj) {
  UZFS_ASSIGN(State * st, Get(obj));
  std::vector<ZapEntry> out;
  for (const ZapEntry* e : Sorted(st->entries)) out.push_back(*e);
  return out;
}

Result<uint64_t> ZapStore::Count(uint64_t obj) {
  UZFS_ASSIGN(State * st, Get(obj));
  return st->entries.size();
}

Status ZapStore::Encode(uint64_t obj, State& st) {
  std::vector<const ZapEntry*> sorted = Sorted(st.entries);
  if (!st.fat) {
    bool ok = std::all_of(sorted.begin(), sorted.end(), [](const ZapEntry* e) { return MicroOk(*e); });
    uint32_t need = static_cast<uint32_t>((sorted.size() + 1) * kMzeSize);
    if (ok && need <= kMzapMaxBlock) {
      UZFS_ASSIGN(const DnodePhys* dn, os_->Dnode(obj));
      uint32_t bs = static_cast<uint32_t>(dn->datablksz());
      while (bs < need) bs *= 2;  // mzap grows by doubling while it has one block
      if (bs != dn->datablksz()) UZFS_TRY(os_->SetBlockSize(obj, bs));
      UZFS_ASSIGN(Bytes b, EncodeMicroZap(st.salt, sorted, bs));
      return os_->Write(obj, 0, b);
    }
    st.fat = true;  // mzap_upgrade
  }
  UZFS_ASSIGN(std::vector<Bytes> blocks, EncodeFatZap(st.salt, sorted));
  UZFS_ASSIGN(const DnodePhys* dn, os_->Dnode(obj));
  constexpr uint32_t fbs = 1u << kFatZapBlockShift;
  if (dn->datablksz() != fbs) UZFS_TRY(os_->SetBlockSize(obj, fbs));
  UZFS_ASSIGN(uint64_t len, os_->Length(obj));
  if (len > blocks.size() * fbs) UZFS_TRY(os_->Truncate(obj, blocks.size() * fbs));
  for (size_t i = 0; i < blocks.size(); i++) UZFS_TRY(os_->Write(obj, i * fbs, blocks[i]));
  return Status::Ok();
}

Status ZapStore::Flush() {
  for (auto& [obj, st] : zaps_) {
    if (!st.dirty) continue;
    UZFS_TRY(Encode(obj, st));
    st.dirty = false;
  }
  return Status::Ok();
}

void ZapStore::Trim() {
  for (auto it = zaps_.begin(); it != zaps_.end();) {
    if (!it->second.dirty) it = zaps_.erase(it);
    else ++it;
  }
}

}  // namespace uzfs
