// ZapStore over an ObjsetWriter on an in-memory pool: micro → fat upgrades, large ZAPs written,
// synced, re-opened from the root bp and parsed by the read side, removals, hash collisions
// (distinct cd), and the leaf invariants of EncodeFatZap's output.
#include "libcore/zap/zap_write.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>

#include "libcore/base/compress.h"
#include "libcore/dmu/dmu_test_util.h"

namespace uzfs {
namespace {

using test::FakePool;  // libcore/dmu/dmu_test_util.h

using Content = std::map<std::string, std::vector<uint64_t>>;

class ZapWriteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    os_ = ObjsetWriter::Create(&pool_, /*os_type=ZFS*/ 2, ObjsetPolicy{});
    zaps_ = std::make_unique<ZapStore>(os_.get());
  }
  // Flush, sync, and re-open both the objset (from the new root bp) and the store.
  void SyncAndReopen() {
    ASSERT_TRUE(zaps_->Flush().ok());
    auto r = os_->Sync(pool_, txg_++);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    auto o = ObjsetWriter::Open(&pool_, *r, ObjsetPolicy{});
    ASSERT_TRUE(o.ok()) << o.status().ToString();
    os_ = std::move(o).value();
    zaps_ = std::make_unique<ZapStore>(os_.get());
  }
  // The object as the read side parses it.
  Result<Zap> Parsed(uint64_t obj) {
    UZFS_ASSIGN(const DnodePhys* dn, os_->Dnode(obj));
    DnodePhys copy = *dn;
    uint64_t bs = copy.datablksz();
    return Zap::Parse(copy, obj, [&](uint64_t blkid) { return os_->Read(obj, blkid * bs, bs); });
  }
  void ExpectContent(uint64_t obj, const Content& want) {
    auto z = Parsed(obj);
    ASSERT_TRUE(z.ok()) << z.status().ToString();
    Content got;
    for (const ZapEntry& e : z->entries()) {
      EXPECT_TRUE(got.emplace(e.name, e.value).second) << "duplicate " << e.name;
      EXPECT_EQ(e.hash, ZapHash(z->salt(), e.name)) << e.name;
    }
    EXPECT_EQ(got.size(), want.size());
    EXPECT_TRUE(got == want) << "content differs";
    // Cursor order and the header's entry count.
    for (size_t i = 1; i < z->entries().size(); i++) {
      const ZapEntry &a = z->entries()[i - 1], &b = z->entries()[i];
      EXPECT_TRUE(a.hash < b.hash || (a.hash == b.hash && a.cd < b.cd));
    }
    if (!z->micro()) {
      EXPECT_EQ(z->hdr_num_entries, want.size());
    }
  }

  FakePool pool_;
  std::unique_ptr<ObjsetWriter> os_;
  std::unique_ptr<ZapStore> zaps_;
  uint64_t txg_ = 10;
};

TEST_F(ZapWriteTest, MicroZapGrowsByDoublingThenUpgradesPast2047Entries) {
  auto obj = zaps_->Create(kOtZapOther);
  ASSERT_TRUE(obj.ok());
  Content want;
  auto add_upto = [&](size_t n) {
    for (size_t i = want.size(); i < n; i++) {
      std::string name = "entry-" + std::to_string(i);
      ASSERT_TRUE(zaps_->AddInt(*obj, name, i * 3).ok());
      want[name] = {i * 3};
    }
  };
  add_upto(7);  // 7 entries + header = 512 bytes
  SyncAndReopen();
  {
    auto dn = os_->Dnode(*obj);
    ASSERT_TRUE(dn.ok());
    EXPECT_EQ((*dn)->datablksz(), 512u);
    auto z = Parsed(*obj);
    ASSERT_TRUE(z.ok());
    EXPECT_TRUE(z->micro());
  }
  ExpectContent(*obj, want);
  add_upto(8);
  SyncAndReopen();
  EXPECT_EQ((*os_->Dnode(*obj))->datablksz(), 1024u);
  ExpectContent(*obj, want);
  add_upto(2047);  // (2047 + 1) * 64 = 128K: the largest microzap
  SyncAndReopen();
  EXPECT_EQ((*os_->Dnode(*obj))->datablksz(), 128u * 1024);
  EXPECT_TRUE(Parsed(*obj)->micro());
  ExpectContent(*obj, want);
  add_upto(2048);
  SyncAndReopen();
  auto z = Parsed(*obj);
  ASSERT_TRUE(z.ok());
  EXPECT_FALSE(z->micro());
  EXPECT_EQ((*os_->Dnode(*obj))->datablksz(), 16384u);
  ExpectContent(*obj, want);
  // A fat ZAP stays fat when it shrinks.
  for (size_t i = 1; i < 2048; i++) {
    std::string name = "entry-" + std::to_string(i);
    ASSERT_TRUE(zaps_->Remove(*obj, name).ok());
    want.erase(name);
  }
  SyncAndReopen();
  EXPECT_FALSE(Parsed(*obj)->micro());
  ExpectContent(*obj, want);
}

TEST_F(ZapWriteTest, LongNameOrStringValueMakesItFat) {
  auto a = zaps_->Create(kOtZapOther);
  auto b = zaps_->Create(kOtZapOther);
  auto c = zaps_->Create(kOtZapOther);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  std::string n49(49, 'x'), n50(50, 'y');
  ASSERT_TRUE(zaps_->AddInt(*a, n49, 1).ok());  // fits mze_name[50] with its NUL
  ASSERT_TRUE(zaps_->AddInt(*b, n49, 1).ok());
  ASSERT_TRUE(zaps_->AddInt(*b, n50, 2).ok());
  ASSERT_TRUE(zaps_->AddInt(*c, "n", 1).ok());
  ASSERT_TRUE(zaps_->UpdateString(*c, "comment", "hello world").ok());
  SyncAndReopen();
  EXPECT_TRUE(Parsed(*a)->micro());
  EXPECT_FALSE(Parsed(*b)->micro());
  EXPECT_FALSE(Parsed(*c)->micro());
  ExpectContent(*a, {{n49, {1}}});
  ExpectContent(*b, {{n49, {1}}, {n50, {2}}});
  std::vector<uint64_t> s;
  for (char ch : std::string("hello world")) s.push_back(static_cast<uint8_t>(ch));
  s.push_back(0);
  ExpectContent(*c, {{"n", {1}}, {"comment", s}});
  auto e = zaps_->Lookup(*c, "comment");
  ASSERT_TRUE(e.ok() && e->has_value());
  EXPECT_EQ((*e)->int_size, 1);
  EXPECT_EQ((*e)->value, s);
  EXPECT_EQ(zaps_->LookupInt(*c, "comment").status().code(), EOVERFLOW);
  EXPECT_EQ(zaps_->LookupInt(*c, "missing").status().code(), ENOENT);
  // Multi-integer values of other widths survive too.
  ASSERT_TRUE(zaps_->Update(*c, "u16s", 2, {1, 0xfffe, 3}).ok());
  ASSERT_TRUE(zaps_->Update(*c, "u32s", 4, {0xdeadbeef}).ok());
  ASSERT_TRUE(zaps_->Update(*c, "u64s", 8, std::vector<uint64_t>(40, 0x0123456789abcdefULL)).ok());
  SyncAndReopen();
  ExpectContent(*c, {{"n", {1}}, {"comment", s}, {"u16s", {1, 0xfffe, 3}},
                     {"u32s", {0xdeadbeef}},
                     {"u64s", std::vector<uint64_t>(40, 0x0123456789abcdefULL)}});
}

TEST_F(ZapWriteTest, AddUpdateRemoveErrors) {
  auto z = zaps_->Create(kOtZapOther);
  ASSERT_TRUE(z.ok());
  ASSERT_TRUE(zaps_->AddInt(*z, "a", 1).ok());
  EXPECT_EQ(zaps_->AddInt(*z, "a", 2).code(), EEXIST);
  ASSERT_TRUE(zaps_->UpdateInt(*z, "a", 3).ok());
  EXPECT_EQ(*zaps_->LookupInt(*z, "a"), 3u);
  EXPECT_EQ(zaps_->Remove(*z, "b").code(), ENOENT);
  EXPECT_EQ(zaps_->AddInt(*z, "", 1).code(), ENAMETOOLONG);
  EXPECT_EQ(zaps_->AddInt(*z, std::string(256, 'q'), 1).code(), ENAMETOOLONG);
  EXPECT_EQ(zaps_->Update(*z, "c", 3, {1}).code(), EINVAL);
  SyncAndReopen();
  EXPECT_EQ(*zaps_->LookupInt(*z, "a"), 3u);
  EXPECT_EQ(*zaps_->Count(*z), 1u);
}

TEST_F(ZapWriteTest, TwentyThousandRandomNamesRoundTripThenHalfRemoved) {
  auto obj = zaps_->Create(kOtDirectoryContents);
  ASSERT_TRUE(obj.ok());
  std::mt19937_64 rng(99);
  Content want;
  const std::string alphabet = "abcdefghijklmnopqrstuvwxyz0123456789._-ABCXYZ";
  while (want.size() < 20000) {
    std::string name(1 + rng() % 60, ' ');
    for (char& ch : name) ch = alphabet[rng() % alphabet.size()];
    uint64_t v = rng();
    if (want.count(name)) continue;
    ASSERT_TRUE(zaps_->AddInt(*obj, name, v).ok());
    want[name] = {v};
  }
  SyncAndReopen();
  ExpectContent(*obj, want);
  auto z = Parsed(*obj);
  ASSERT_TRUE(z.ok());
  EXPECT_GT(z->num_leafs, 64u);
  // Remove every other name (by map order), change some values, add a few.
  int k = 0;
  for (auto it = want.begin(); it != want.end();) {
    if (k++ % 2 == 0) {
      ASSERT_TRUE(zaps_->Remove(*obj, it->first).ok());
      it = want.erase(it);
    } else {
      if (k % 7 == 0) {
        ASSERT_TRUE(zaps_->UpdateInt(*obj, it->first, 42).ok());
        it->second = {42};
      }
      ++it;
    }
  }
  for (int i = 0; i < 100; i++) {
    std::string name = "new-" + std::to_string(i);
    ASSERT_TRUE(zaps_->AddInt(*obj, name, i).ok());
    want[name] = {static_cast<uint64_t>(i)};
  }
  SyncAndReopen();
  ExpectContent(*obj, want);
  EXPECT_EQ(*zaps_->Count(*obj), want.size());
  auto list = zaps_->List(*obj);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), want.size());
}

// Names with the same 28-bit hash under the object's salt get cd 0, 1, 2; a freed cd is
// reused; the read side finds each one.
TEST_F(ZapWriteTest, HashCollisionsGetDistinctCd) {
  for (bool fat : {false, true}) {
    auto obj = zaps_->Create(kOtZapOther);
    ASSERT_TRUE(obj.ok());
    ASSERT_TRUE(zaps_->AddInt(*obj, "seed", 0).ok());
    if (fat) {
      ASSERT_TRUE(zaps_->MakeFat(*obj).ok());
    }
    SyncAndReopen();
    auto z = Parsed(*obj);
    ASSERT_TRUE(z.ok());
    ASSERT_EQ(z->micro(), !fat);
    uint64_t salt = z->salt();
    // Birthday search for three names sharing a 28-bit hash: 2M pseudo-random names give
    // about 18 triples on average.
    auto name_of = [](uint64_t i) {
      uint64_t z = (i + 1) * 0x9E3779B97F4A7C15ULL;  // splitmix64
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
      char buf[24];
      snprintf(buf, sizeof buf, "c%016llx", static_cast<unsigned long long>(z ^ (z >> 31)));
      return std::string(buf);
    };
    std::vector<std::pair<uint64_t, uint32_t>> hashes;
    for (uint32_t i = 0; i < 2000000; i++) hashes.emplace_back(ZapHash(salt, name_of(i)), i);
    std::sort(hashes.begin(), hashes.end());
    std::vector<std::string> triple;
    for (size_t i = 2; i < hashes.size() && triple.empty(); i++)
      if (hashes[i].first == hashes[i - 2].first)
        triple = {name_of(hashes[i - 2].second), name_of(hashes[i - 1].second),
                  name_of(hashes[i].second)};
    ASSERT_EQ(triple.size(), 3u);
    ASSERT_EQ(ZapHash(salt, triple[0]), ZapHash(salt, triple[2]));
    Content want{{"seed", {0}}};
    for (size_t i = 0; i < 3; i++) {
      ASSERT_TRUE(zaps_->AddInt(*obj, triple[i], 100 + i).ok());
      want[triple[i]] = {100 + i};
    }
    SyncAndReopen();
    ExpectContent(*obj, want);
    auto cds = [&]() {
      std::map<std::string, uint32_t> m;
      auto p = Parsed(*obj);
      EXPECT_TRUE(p.ok());
      for (const ZapEntry& e : p->entries()) m[e.name] = e.cd;
      return m;
    };
    auto m = cds();
    EXPECT_EQ(m[triple[0]], 0u);
    EXPECT_EQ(m[triple[1]], 1u);
    EXPECT_EQ(m[triple[2]], 2u);
    // Free cd 0 and 1, re-add the second name: it takes the lowest free cd (0), and the
    // third keeps its 2.
    ASSERT_TRUE(zaps_->Remove(*obj, triple[0]).ok());
    ASSERT_TRUE(zaps_->Remove(*obj, triple[1]).ok());
    ASSERT_TRUE(zaps_->AddInt(*obj, triple[1], 7).ok());
    want.erase(triple[0]);
    want[triple[1]] = {7};
    SyncAndReopen();
    ExpectContent(*obj, want);
    m = cds();
    EXPECT_EQ(m[triple[1]], 0u);
    EXPECT_EQ(m[triple[2]], 2u);
    auto p = Parsed(*obj);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(*p->Lookup(triple[1]), 7u);
    EXPECT_EQ(*p->Lookup(triple[2]), 102u);
    EXPECT_EQ(p->Lookup(triple[0]).status().code(), ENOENT);
  }
}

// EncodeFatZap's blocks checked field by field: every pointer-table entry points at a leaf
// whose prefix is that entry's index prefix, every entry sits in the leaf and hash bucket its
// hash selects, chunk accounting adds up.
TEST(EncodeFatZap, LeafInvariants) {
  const uint64_t salt = 0x5eed5eed5eedULL;
  std::mt19937_64 rng(1);
  std::vector<ZapEntry> store;
  std::set<std::string> names;
  while (store.size() < 30000) {
    std::string n = "f" + std::to_string(rng() % 100000000);
    if (!names.insert(n).second) continue;
    ZapEntry e;
    e.name = n;
    e.value = {rng()};
    e.hash = ZapHash(salt, n);
    store.push_back(e);
  }
  std::vector<const ZapEntry*> sorted;
  for (const ZapEntry& e : store) sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(), [](const ZapEntry* a, const ZapEntry* b) {
    return a->hash != b->hash ? a->hash < b->hash : a->cd < b->cd;
  });
  auto r = EncodeFatZap(salt, sorted);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const std::vector<Bytes>& blocks = *r;
  const Bytes& h = blocks[0];
  ASSERT_EQ(h.size(), 16384u);
  EXPECT_EQ(LoadLE64(h.data()), kZbtHeader);
  EXPECT_EQ(LoadLE64(h.data() + 8), kZapMagic);
  const uint64_t shift = LoadLE64(h.data() + 32);
  ASSERT_EQ(shift, 10u);
  EXPECT_EQ(LoadLE64(h.data() + 56), blocks.size());
  EXPECT_EQ(LoadLE64(h.data() + 64), blocks.size() - 1);
  EXPECT_EQ(LoadLE64(h.data() + 72), store.size());
  EXPECT_EQ(LoadLE64(h.data() + 80), salt);
  std::set<uint64_t> referenced;
  for (uint64_t idx = 0; idx < (1u << shift); idx++) {
    uint64_t blk = LoadLE64(h.data() + 8192 + 8 * idx);
    ASSERT_GE(blk, 1u);
    ASSERT_LT(blk, blocks.size());
    referenced.insert(blk);
    const Bytes& l = blocks[blk];
    uint64_t plen = LoadLE16(l.data() + 32), prefix = LoadLE64(l.data() + 16);
    ASSERT_LE(plen, shift);
    EXPECT_EQ(idx >> (shift - plen), prefix) << "ptrtbl[" << idx << "] -> leaf " << blk;
  }
  EXPECT_EQ(referenced.size(), blocks.size() - 1) << "a leaf no pointer reaches";
  constexpr size_t kChunksOff = 48 + 2 * 512, kNumChunks = 638;
  size_t total = 0;
  std::set<std::string> seen;
  for (size_t blk = 1; blk < blocks.size(); blk++) {
    const Bytes& l = blocks[blk];
    ASSERT_EQ(l.size(), 16384u);
    EXPECT_EQ(LoadLE64(l.data()), kZbtLeaf);
    EXPECT_EQ(LoadLE32(l.data() + 24), kZapLeafMagic);
    uint64_t plen = LoadLE16(l.data() + 32), prefix = LoadLE64(l.data() + 16);
    uint16_t nfree = LoadLE16(l.data() + 28), nentries = LoadLE16(l.data() + 30);
    auto chunk = [&](size_t i) { return l.data() + kChunksOff + 24 * i; };
    // Walk the hash chains: each entry is in the bucket of its hash and under the prefix.
    size_t found = 0;
    for (size_t bucket = 0; bucket < 512; bucket++) {
      for (uint16_t c = LoadLE16(l.data() + 48 + 2 * bucket); c != 0xffff;) {
        ASSERT_LT(c, kNumChunks);
        const uint8_t* e = chunk(c);
        ASSERT_EQ(e[0], 252) << "chain reaches a non-entry chunk";
        uint64_t hash = LoadLE64(e + 16);
        EXPECT_EQ((hash >> (64 - 9 - plen)) & 511, bucket);
        if (plen) {
          EXPECT_EQ(hash >> (64 - plen), prefix);
        }
        // The name, from its array chunks.
        std::string name;
        uint16_t numints = LoadLE16(e + 6);
        for (uint16_t a = LoadLE16(e + 4); a != 0xffff && name.size() < numints;) {
          const uint8_t* ac = chunk(a);
          ASSERT_EQ(ac[0], 251);
          for (int k = 0; k < 21 && name.size() < numints; k++) name.push_back(static_cast<char>(ac[1 + k]));
          a = LoadLE16(ac + 22);
        }
        ASSERT_EQ(name.size(), numints);
        ASSERT_EQ(name.back(), '\0');
        name.pop_back();
        EXPECT_EQ(ZapHash(salt, name), hash) << name;
        EXPECT_TRUE(seen.insert(name).second) << name << " stored twice";
        found++;
        c = LoadLE16(e + 2);
      }
    }
    EXPECT_EQ(found, nentries);
    // Free list length = nfree; free + used chunks = all.
    size_t free_len = 0;
    for (uint16_t c = LoadLE16(l.data() + 34); c != 0xffff; c = LoadLE16(chunk(c) + 22)) {
      ASSERT_LT(c, kNumChunks);
      ASSERT_EQ(chunk(c)[0], 253);
      ASSERT_LE(++free_len, kNumChunks);
    }
    EXPECT_EQ(free_len, nfree);
    size_t used = 0;
    for (size_t i = 0; i < kNumChunks; i++) used += chunk(i)[0] != 253;
    EXPECT_EQ(used + nfree, kNumChunks);
    total += nentries;
  }
  EXPECT_EQ(total, store.size());
  EXPECT_EQ(seen.size(), store.size());
}

TEST(EncodeFatZap, TooManyLongNamesIsEnospc) {
  std::vector<ZapEntry> store;
  for (int i = 0; i < 70000; i++) {
    ZapEntry e;
    e.name = std::string(200, 'n') + std::to_string(i);
    e.value = {1};
    e.hash = ZapHash(3, e.name);
    store.push_back(std::move(e));
  }
  std::vector<const ZapEntry*> sorted;
  for (const ZapEntry& e : store) sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(),
            [](const ZapEntry* a, const ZapEntry* b) { return a->hash < b->hash; });
  EXPECT_EQ(EncodeFatZap(3, sorted).status().code(), ENOSPC);
}

TEST(EncodeMicroZap, LayoutAndLimits) {
  ZapEntry a{"alpha", 8, {0x1122334455667788ULL}, 0, 3};
  ZapEntry b{std::string(49, 'b'), 8, {9}, 0, 0};
  auto r = EncodeMicroZap(77, {&a, &b}, 512);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(LoadLE64(r->data()), kZbtMicro);
  EXPECT_EQ(LoadLE64(r->data() + 8), 77u);
  EXPECT_EQ(LoadLE64(r->data() + 64), 0x1122334455667788ULL);
  EXPECT_EQ(LoadLE32(r->data() + 72), 3u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(r->data() + 78)), "alpha");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(r->data() + 128 + 14)), b.name);
  std::vector<ZapEntry> eight(8, a);
  std::vector<const ZapEntry*> p;
  for (auto& e : eight) p.push_back(&e);
  EXPECT_EQ(EncodeMicroZap(1, p, 512).status().code(), ENOSPC);  // 8 + header > 512
  ZapEntry s{"s", 1, {'x', 0}, 0, 0};
  EXPECT_FALSE(EncodeMicroZap(1, {&s}, 512).ok());
}

}  // namespace
}  // namespace uzfs
