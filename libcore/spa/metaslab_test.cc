// MetaslabGroup: metaslab sizing as zfs-fuse labels show it, the allocator against a sector
// model (no overlap, deferred frees), ditto distance, and the space map words a sync emits
// (decoded with the read side's DecodeSpaceMap and replayed with Load).
#include "libcore/spa/metaslab.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <utility>
#include <vector>

#include "libcore/spa/space_map.h"

namespace uzfs {
namespace {

using Segs = std::vector<std::pair<uint64_t, uint64_t>>;

Segs SegsOf(const RangeTree& t) {
  Segs s;
  t.Walk([&](uint64_t start, uint64_t size) { s.emplace_back(start, size); });
  return s;
}

Bytes LeWords(const std::vector<uint64_t>& words) {
  Bytes b(words.size() * 8);
  for (size_t i = 0; i < words.size(); i++) StoreLE64(b.data() + 8 * i, words[i]);
  return b;
}

std::vector<SpaceMapEntry> Decode(const std::vector<uint64_t>& words, uint64_t start,
                                  unsigned shift, SpaceMapSummary* sum = nullptr) {
  Bytes raw = LeWords(words);
  auto r = DecodeSpaceMap(raw, raw.size(), start, shift, true, sum);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::vector<SpaceMapEntry>{};
}

// What is free on disk for a metaslab: free + deferred + this txg's frees.
RangeTree DiskFree(const Metaslab& m) {
  RangeTree t;
  for (const RangeTree* r : {&m.free, &m.defer[0], &m.defer[1], &m.freed, &m.pending_free})
    r->Walk([&](uint64_t s, uint64_t n) { EXPECT_TRUE(t.Add(s, n)); });
  return t;
}

TEST(Metaslab, ShiftMatchesZfsFuseLabels) {
  // vdev_tree.metaslab_shift in the labels of zfs-fuse pools of these asizes.
  EXPECT_EQ(MetaslabGroup::MetaslabShiftFor(129499136), 20u);
  EXPECT_EQ(MetaslabGroup::MetaslabShiftFor(517996544), 22u);
  // highbit(asize / 200), never below 17.
  EXPECT_EQ(MetaslabGroup::MetaslabShiftFor(64ULL << 20), 19u);    // 335544 -> bit 19
  EXPECT_EQ(MetaslabGroup::MetaslabShiftFor(1ULL << 20), 17u);
  EXPECT_EQ(MetaslabGroup::MetaslabShiftFor(0), 17u);
  EXPECT_EQ(MetaslabGroup::MetaslabShiftFor(1ULL << 40), 33u);    // 5497558138 -> bit 33
}

TEST(Metaslab, GroupCutsWholeMetaslabs) {
  MetaslabGroup g(3, 129499136, 20, 9);
  EXPECT_EQ(g.vdev_id(), 3u);
  ASSERT_EQ(g.metaslabs().size(), 123u);  // 129499136 >> 20: the tail is not used
  EXPECT_EQ(g.usable(), 123ULL << 20);
  EXPECT_EQ(g.allocated(), 0u);
  EXPECT_EQ(g.free_space(), 123ULL << 20);
  for (const Metaslab& m : g.metaslabs()) {
    EXPECT_EQ(m.start, m.id << 20);
    EXPECT_EQ(m.size, 1ULL << 20);
    EXPECT_EQ(m.free.space(), 1ULL << 20);
  }
}

TEST(Metaslab, GrowAddsFreeMetaslabsAndKeepsAllocations) {
  // vdev_expand: the old metaslabs keep what they hold, the new ones start empty.
  MetaslabGroup g(0, 10ULL << 20, 20, 9);
  ASSERT_EQ(g.metaslabs().size(), 10u);
  auto a = g.Alloc(4096, {});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(g.Grow(9ULL << 20), 0u);                   // never shrinks
  EXPECT_EQ(g.Grow((10ULL << 20) + 4096), 0u);         // a partial metaslab is not used
  EXPECT_EQ(g.metaslabs().size(), 10u);
  EXPECT_EQ(g.Grow((16ULL << 20) + 12345), 6u);
  ASSERT_EQ(g.metaslabs().size(), 16u);
  EXPECT_EQ(g.asize(), (16ULL << 20) + 12345);
  EXPECT_EQ(g.usable(), 16ULL << 20);
  EXPECT_EQ(g.allocated(), 4096u);
  for (uint64_t i = 10; i < 16; i++) {
    EXPECT_EQ(g.metaslabs()[i].id, i);
    EXPECT_EQ(g.metaslabs()[i].start, i << 20);
    EXPECT_EQ(g.metaslabs()[i].free.space(), 1ULL << 20);
    EXPECT_EQ(g.metaslabs()[i].sm_object, 0u);
  }
  // The new space is allocatable: fill the group and the allocations reach the new metaslabs.
  uint64_t highest = 0;
  for (;;) {
    auto r = g.Alloc(1ULL << 17, {});
    if (!r.ok()) break;
    highest = std::max(highest, *r);
  }
  EXPECT_GE(highest, 15ULL << 20);
}

TEST(Metaslab, AllocRejectsUnalignedAndReportsEnospc) {
  MetaslabGroup g(0, 1ULL << 18, 17, 12);  // 2 metaslabs of 128K, 4K sectors
  EXPECT_EQ(g.Alloc(0, {}).status().code(), EINVAL);
  EXPECT_EQ(g.Alloc(512, {}).status().code(), EINVAL);
  EXPECT_EQ(g.Alloc(256 << 10, {}).status().code(), ENOSPC);  // larger than any metaslab
  auto a = g.Alloc(128 << 10, {});
  auto b = g.Alloc(128 << 10, {});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_EQ(g.Alloc(4096, {}).status().code(), ENOSPC);
  EXPECT_EQ(g.allocated(), 256u << 10);
  EXPECT_EQ(g.free_space(), 0u);
}

TEST(Metaslab, FreeOfSpaceNotAllocatedIsEinval) {
  MetaslabGroup g(0, 1ULL << 20, 17, 9);
  EXPECT_EQ(g.Free(0, 512).code(), EINVAL);  // never allocated
  auto a = g.Alloc(4096, {});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(g.Free(*a, 8192).code(), EINVAL);      // runs into free space
  EXPECT_EQ(g.Free(*a + 4096, 512).code(), EINVAL);
  EXPECT_EQ(g.Free(1ULL << 20, 512).code(), EINVAL);  // past the vdev
  ASSERT_TRUE(g.Free(*a, 1024).ok());
  EXPECT_EQ(g.Free(*a, 512).code(), EINVAL);       // freed twice in the txg
  g.Sync(5, 1);
  EXPECT_EQ(g.Free(*a, 512).code(), EINVAL);       // freed, already in the space map
  g.SyncDone(5);
  EXPECT_EQ(g.Free(*a, 512).code(), EINVAL);       // deferred
  ASSERT_TRUE(g.Free(*a + 1024, 3072).ok());       // the rest is still allocated
}

TEST(Metaslab, ClaimTakesFreeSpaceOnly) {
  MetaslabGroup g(0, 1ULL << 20, 17, 9);
  ASSERT_TRUE(g.Claim(8192, 4096).ok());
  EXPECT_EQ(g.Claim(8192 + 2048, 4096).code(), EEXIST);
  EXPECT_EQ(g.allocated(), 4096u);
  EXPECT_FALSE(g.metaslabs()[0].free.Overlaps(8192, 4096));
}

// Thousands of random allocations and frees over several txgs: no allocation ever overlaps
// space that is allocated or whose free is still deferred; allocated() follows the model.
TEST(Metaslab, RandomAllocFreeNeverOverlapsAndHonoursDeferral) {
  constexpr uint64_t kAsize = 64ULL << 20, kShift = 20, kAshift = 9;
  MetaslabGroup g(0, kAsize, kShift, kAshift);
  const uint64_t sectors = g.usable() >> kAshift;
  enum : uint8_t { kFree, kAlloc, kDeferred };
  std::vector<uint8_t> state(sectors, kFree);
  std::vector<uint64_t> deferred_txg(sectors, 0);  // txg whose sync freed it
  std::vector<std::pair<uint64_t, uint64_t>> live;  // (offset, size) allocated extents
  std::mt19937_64 rng(7);
  uint64_t txg = 4, allocated = 0;
  int allocs = 0, frees = 0, enospc = 0;
  for (int op = 0; op < 6000; op++) {
    if (rng() % 100 < 55 || live.empty()) {
      uint64_t size = (1 + rng() % 256) << kAshift;
      std::vector<uint64_t> near;
      if (!live.empty() && rng() % 4 == 0) near.push_back(live[rng() % live.size()].first);
      auto r = g.Alloc(size, near);
      if (!r.ok()) {
        ASSERT_EQ(r.status().code(), ENOSPC);
        // Only when no metaslab has `size` contiguous bytes that are neither allocated nor
        // deferred.
        const uint64_t need = size >> kAshift, per_ms = 1ULL << (kShift - kAshift);
        for (uint64_t m = 0; m < sectors / per_ms; m++) {
          uint64_t run = 0;
          for (uint64_t s = m * per_ms; s < (m + 1) * per_ms; s++) {
            run = state[s] == kFree ? run + 1 : 0;
            ASSERT_LT(run, need) << "op " << op << ": ENOSPC for " << size
                                 << " bytes but metaslab " << m << " has room";
          }
        }
        enospc++;
        continue;
      }
      uint64_t off = *r;
      ASSERT_EQ(off % (1ULL << kAshift), 0u);
      ASSERT_LE(off + size, g.usable());
      ASSERT_EQ(off >> kShift, (off + size - 1) >> kShift) << "allocation crosses metaslabs";
      for (uint64_t s = off >> kAshift; s < (off + size) >> kAshift; s++) {
        ASSERT_EQ(state[s], kFree) << "op " << op << ": sector " << s << " handed out while "
                                   << (state[s] == kAlloc ? "allocated" : "deferred");
        state[s] = kAlloc;
      }
      live.emplace_back(off, size);
      allocated += size;
      allocs++;
    } else {
      size_t i = rng() % live.size();
      auto [off, size] = live[i];
      live[i] = live.back();
      live.pop_back();
      ASSERT_TRUE(g.Free(off, size).ok()) << op;
      for (uint64_t s = off >> kAshift; s < (off + size) >> kAshift; s++) {
        state[s] = kDeferred;
        deferred_txg[s] = txg;
      }
      allocated -= size;
      frees++;
    }
    ASSERT_EQ(g.allocated(), allocated) << op;
    if (op % 200 == 199) {
      g.Sync(txg, 1);
      g.SyncDone(txg);
      for (uint64_t s = 0; s < sectors; s++)
        if (state[s] == kDeferred && deferred_txg[s] + 2 <= txg) state[s] = kFree;
      txg++;
      ASSERT_EQ(g.allocated(), allocated);
    }
    // Occasionally fill up a lot so that space gets tight and reuse is exercised.
    if (op == 3000) {
      for (int k = 0; k < 40; k++) {
        auto r = g.Alloc(1ULL << 19, {});
        if (!r.ok()) break;
        for (uint64_t s = *r >> kAshift; s < (*r + (1ULL << 19)) >> kAshift; s++) {
          ASSERT_EQ(state[s], kFree);
          state[s] = kAlloc;
        }
        live.emplace_back(*r, 1ULL << 19);
        allocated += 1ULL << 19;
      }
    }
  }
  EXPECT_GT(allocs, 2000);
  EXPECT_GT(frees, 1500);
  EXPECT_GT(enospc, 0) << "the test meant to fill the vdev up";
  // Every metaslab's trees are disjoint and together cover the metaslab exactly once
  // with what the model calls free, deferred and allocated.
  for (const Metaslab& m : g.metaslabs()) {
    RangeTree disk_free = DiskFree(m);
    uint64_t model_free = 0;
    for (uint64_t s = m.start >> kAshift; s < (m.start + m.size) >> kAshift; s++)
      model_free += state[s] != kAlloc;
    EXPECT_EQ(disk_free.space(), model_free << kAshift) << "metaslab " << m.id;
  }
}

TEST(Metaslab, DittoCopyLandsAnEighthOfTheVdevAway) {
  constexpr uint64_t kAsize = 129499136;
  MetaslabGroup g(0, kAsize, MetaslabGroup::MetaslabShiftFor(kAsize), 9);
  const uint64_t dist = kAsize / 8;
  auto dist_of = [](uint64_t a, uint64_t b) { return a > b ? a - b : b - a; };
  for (int i = 0; i < 50; i++) {
    auto a = g.Alloc(4096, {});
    ASSERT_TRUE(a.ok());
    auto b = g.Alloc(4096, {*a});
    ASSERT_TRUE(b.ok());
    EXPECT_GE(dist_of(*a, *b), dist) << i;
    auto c = g.Alloc(4096, {*a, *b});
    ASSERT_TRUE(c.ok());
    EXPECT_GE(dist_of(*a, *c), dist) << i;
    EXPECT_GE(dist_of(*b, *c), dist) << i;
  }
}

TEST(Metaslab, DittoCopyFallsBackToNearSpaceWhenNothingFarIsFree) {
  // 16 metaslabs of 1 MiB; the distance wanted is 2 MiB. Everything from metaslab 2 on is
  // taken, so a copy of a block in metaslab 0 can only go to metaslab 0 or 1.
  MetaslabGroup g(0, 16ULL << 20, 20, 9);
  for (uint64_t m = 2; m < 16; m++) ASSERT_TRUE(g.Claim(m << 20, 1ULL << 20).ok()) << m;
  auto a = g.Alloc(4096, {});
  ASSERT_TRUE(a.ok());
  ASSERT_LT(*a, 2ULL << 20);
  auto b = g.Alloc(4096, {*a});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_LT(*b, 2ULL << 20);
  EXPECT_NE(*a, *b);
}

TEST(Metaslab, SyncWordsDecodeToThePendingRangesAndLoadReplaysThem) {
  constexpr uint64_t kShift = 25, kAshift = 9;  // 32 MiB metaslabs: long runs get split
  MetaslabGroup g(1, 4ULL << 25, kShift, kAshift);
  std::map<uint64_t, std::vector<uint64_t>> maps;  // ms -> every word appended so far
  std::map<uint64_t, uint64_t> sm_alloc;
  std::mt19937_64 rng(3);
  std::vector<std::pair<uint64_t, uint64_t>> live;
  for (uint64_t txg = 10; txg < 20; txg++) {
    // Allocations (one of 20 MiB = 40960 sectors, more than one run of 2^15) and frees.
    for (int i = 0; i < 40; i++) {
      uint64_t size = (txg == 10 && i == 0) ? 20ULL << 20 : (1 + rng() % 64) << kAshift;
      auto r = g.Alloc(size, {});
      ASSERT_TRUE(r.ok());
      live.emplace_back(*r, size);
    }
    for (int i = 0; i < 15 && !live.empty(); i++) {
      size_t k = rng() % live.size();
      ASSERT_TRUE(g.Free(live[k].first, live[k].second).ok());
      live[k] = live.back();
      live.pop_back();
    }
    // What the sync must describe.
    std::map<uint64_t, std::pair<Segs, Segs>> want;
    for (const Metaslab& m : g.metaslabs())
      if (!m.pending_alloc.empty() || !m.pending_free.empty())
        want[m.id] = {SegsOf(m.pending_alloc), SegsOf(m.pending_free)};
    auto appends = g.Sync(txg, 1);
    ASSERT_EQ(appends.size(), want.size());
    for (const SpaceMapAppend& a : appends) {
      const Metaslab& m = g.metaslabs()[a.ms];
      EXPECT_TRUE(m.pending_alloc.empty() && m.pending_free.empty());
      SpaceMapSummary sum;
      auto entries = Decode(a.words, m.start, kAshift, &sum);
      RangeTree alloc, freed;
      int debug = 0;
      bool seen_free = false;
      for (const SpaceMapEntry& e : entries) {
        if (e.debug) {
          EXPECT_EQ(e.txg, txg);
          EXPECT_EQ(e.syncpass, 1u);
          EXPECT_EQ(e.action, debug == 0 && !want[a.ms].first.empty() ? 0u : 1u);
          debug++;
          continue;
        }
        EXPECT_LE(e.run, kSmRunMax << kAshift);
        if (e.alloc) {
          EXPECT_FALSE(seen_free) << "ALLOC entries come before FREE entries";
          EXPECT_TRUE(alloc.Add(e.offset, e.run));
        } else {
          seen_free = true;
          EXPECT_TRUE(freed.Add(e.offset, e.run));
        }
      }
      EXPECT_EQ(debug, (want[a.ms].first.empty() ? 0 : 1) + (want[a.ms].second.empty() ? 0 : 1));
      EXPECT_EQ(SegsOf(alloc), want[a.ms].first) << "ms " << a.ms;
      EXPECT_EQ(SegsOf(freed), want[a.ms].second) << "ms " << a.ms;
      uint64_t before = sm_alloc[a.ms];
      EXPECT_EQ(a.new_alloc, before + alloc.space() - freed.space());
      EXPECT_EQ(static_cast<int64_t>(sum.alloc_bytes),
                static_cast<int64_t>(alloc.space() - freed.space()));
      EXPECT_EQ(m.sm_alloc, a.new_alloc);
      sm_alloc[a.ms] = a.new_alloc;
      auto& all = maps[a.ms];
      all.insert(all.end(), a.words.begin(), a.words.end());
    }
    g.SyncDone(txg);
  }
  // Replaying each whole map into a fresh group gives the free space the disk has (free,
  // deferred and just-freed space are all free in the maps).
  MetaslabGroup h(1, 4ULL << 25, kShift, kAshift);
  for (auto& [ms, words] : maps) {
    SpaceMapSummary sum;
    auto entries = Decode(words, g.metaslabs()[ms].start, kAshift, &sum);
    EXPECT_EQ(sum.alloc_bytes, sm_alloc[ms]);
    ASSERT_TRUE(h.Load(ms, 100 + ms, words.size() * 8, sm_alloc[ms], entries).ok());
    EXPECT_EQ(SegsOf(h.metaslabs()[ms].free), SegsOf(DiskFree(g.metaslabs()[ms]))) << ms;
    EXPECT_EQ(h.metaslabs()[ms].sm_alloc, sm_alloc[ms]);
    EXPECT_EQ(h.metaslabs()[ms].sm_object, 100 + ms);
    // The condensed form says the same in fewer words.
    uint64_t calloc = 0;
    auto cw = g.CondensedWords(ms, 99, 1, &calloc);
    EXPECT_EQ(calloc, sm_alloc[ms]);
    MetaslabGroup c(1, 4ULL << 25, kShift, kAshift);
    auto centries = Decode(cw, g.metaslabs()[ms].start, kAshift);
    ASSERT_TRUE(c.Load(ms, 1, cw.size() * 8, calloc, centries).ok());
    EXPECT_EQ(SegsOf(c.metaslabs()[ms].free), SegsOf(h.metaslabs()[ms].free));
  }
  EXPECT_EQ(h.allocated(), g.allocated());
  // A header that disagrees with the entries, or entries that allocate twice, are corrupt.
  auto& [ms0, words0] = *maps.begin();
  auto entries0 = Decode(words0, g.metaslabs()[ms0].start, kAshift);
  EXPECT_EQ(h.Load(ms0, 1, words0.size() * 8, sm_alloc[ms0] + 512, entries0).code(), ECORRUPT);
  std::vector<SpaceMapEntry> twice = entries0;
  for (const SpaceMapEntry& e : entries0)
    if (!e.debug && e.alloc) {
      twice.push_back(e);
      break;
    }
  EXPECT_EQ(h.Load(ms0, 1, 0, sm_alloc[ms0], twice).code(), ECORRUPT);
  EXPECT_EQ(h.Load(1000, 1, 0, 0, {}).code(), ECORRUPT);
}

TEST(Metaslab, FreedSpaceWaitsForTwoMoreSyncs) {
  MetaslabGroup g(0, 256 << 10, 17, 9);  // 2 metaslabs of 128K
  ASSERT_TRUE(g.Claim(0, 128 << 10).ok());
  ASSERT_TRUE(g.Claim(128 << 10, 128 << 10).ok());
  g.Sync(10, 1);
  g.SyncDone(10);
  EXPECT_EQ(g.Alloc(512, {}).status().code(), ENOSPC);
  ASSERT_TRUE(g.Free(4096, 1024).ok());  // freed in txg 11
  EXPECT_EQ(g.Alloc(512, {}).status().code(), ENOSPC);
  g.Sync(11, 1);
  EXPECT_EQ(g.allocated(), (256u << 10) - 1024);  // gone from the space map at once
  g.SyncDone(11);
  EXPECT_EQ(g.Alloc(512, {}).status().code(), ENOSPC) << "reusable right after its txg";
  g.Sync(12, 1);
  g.SyncDone(12);
  EXPECT_EQ(g.Alloc(512, {}).status().code(), ENOSPC) << "reusable one txg later";
  g.Sync(13, 1);
  g.SyncDone(13);
  auto a = g.Alloc(1024, {});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(*a, 4096u);
}

// metaslab_unalloc_dva: space allocated since the last metaslab sync comes back at once and
// never reaches the space map; after a sync, Unalloc is an ordinary (deferred) free.
TEST(Metaslab, UnallocGivesBackWhatNoSyncSaw) {
  MetaslabGroup g(0, 1ULL << 18, 17, 12);  // 2 metaslabs of 128K, 4K sectors
  uint64_t free0 = g.free_space();
  auto a = g.Alloc(8192, {});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(free0 - 8192, g.free_space());
  ASSERT_TRUE(g.Unalloc(*a, 8192).ok());
  EXPECT_EQ(free0, g.free_space());
  EXPECT_TRUE(g.Sync(5, 1).empty());  // nothing for the space map
  auto b = g.Alloc(8192, {});
  ASSERT_TRUE(b.ok());
  ASSERT_FALSE(g.Sync(5, 1).empty());  // now it was synced as allocated
  g.SyncDone(5);
  ASSERT_TRUE(g.Unalloc(*b, 8192).ok());
  auto frees = g.Sync(6, 1);
  ASSERT_EQ(1u, frees.size());  // a synced block is freed (a FREE entry), not given back
  EXPECT_EQ(EINVAL, g.Unalloc(*b, 8192).code());  // freed twice
}

}  // namespace
}  // namespace uzfs

namespace uzfs {
namespace {

TEST(Metaslab, AllocLogTakesTheLowestFitAndFreedSpaceOnceItsTxgsPassed) {
  MetaslabGroup g(0, 1ULL << 20, 17, 12);  // 8 metaslabs of 128K, 4K sectors
  auto a = g.AllocLog(4096);
  auto b = g.AllocLog(8192);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, 0u);
  EXPECT_EQ(*b, 4096u);
  // The data's allocator moves on from its cursor; the lowest fit does not follow it.
  ASSERT_TRUE(g.Alloc(4096, {}).ok());
  (void)g.Sync(5, 1);
  g.SyncDone(5);
  ASSERT_TRUE(g.Free(*a, 4096).ok());
  (void)g.Sync(6, 1);
  g.SyncDone(6);
  // Freed in txg 6: not reusable until two more txgs are on disk.
  EXPECT_EQ(*g.AllocLog(4096), 16384u);
  for (uint64_t t = 7; t <= 8; t++) {
    (void)g.Sync(t, 1);
    g.SyncDone(t);
  }
  EXPECT_EQ(*g.AllocLog(4096), 0u);
  EXPECT_EQ(g.AllocLog(3000).status().code(), EINVAL);
  EXPECT_EQ(g.AllocLog(2ULL << 20).status().code(), ENOSPC);
}

// The embedded log metaslab (spa_embedded_log_class): with more than 64 metaslabs one is
// the log's; data never lands there while another metaslab has room, log blocks always do
// while it has room, and then fall back to the lowest free space elsewhere.
TEST(Metaslab, LogMetaslabTakesLogBlocksAndNoData) {
  MetaslabGroup few(0, 64ULL << 17, 17, 12);  // 64 metaslabs: too few for one of its own
  EXPECT_EQ(few.log_metaslab(), -1);
  MetaslabGroup dax(0, 80ULL << 17, 17, 12);
  dax.set_class(AllocClass::kDax);
  EXPECT_EQ(dax.log_metaslab(), -1);

  MetaslabGroup g(0, 80ULL << 17, 17, 12);  // 80 metaslabs of 128K, all empty: the first
  for (int i = 0; i < 79 * 32; i++) {        // every 4K of the other 79
    auto d = g.Alloc(4096, {});
    ASSERT_TRUE(d.ok()) << i;
    EXPECT_GE(*d, 1ULL << 17) << "data in the log metaslab while others have room";
  }
  EXPECT_EQ(g.log_metaslab(), 0);
  auto l1 = g.AllocLog(8192), l2 = g.AllocLog(4096);
  ASSERT_TRUE(l1.ok() && l2.ok());
  EXPECT_EQ(*l1, 0u);
  EXPECT_EQ(*l2, 8192u);
  // Only the log metaslab has room now: data takes it rather than fail.
  auto d = g.Alloc(4096, {});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, 12288u);
  // Log metaslab full: log blocks fall back to the lowest free space of the others.
  for (uint64_t off = 16384; off < (1ULL << 17); off += 4096) ASSERT_TRUE(g.AllocLog(4096).ok());
  (void)g.Sync(5, 1);
  g.SyncDone(5);
  ASSERT_TRUE(g.Free(5ULL << 17, 4096).ok());  // in txg 6: reusable once 8 is synced
  for (uint64_t t = 6; t <= 8; t++) {
    (void)g.Sync(t, 1);
    g.SyncDone(t);
  }
  EXPECT_EQ(*g.AllocLog(4096), 5ULL << 17);
  EXPECT_EQ(g.AllocLog(4096).status().code(), ENOSPC);

  // A loaded group's log metaslab is its first while half of it is free (the same one at
  // every import), else its emptiest (the lowest of equals).
  auto loaded = [](uint64_t first_alloc) {
    auto h = std::make_unique<MetaslabGroup>(0, 80ULL << 17, 17, 12);
    for (uint64_t m = 0; m < 80; m++) {
      if (m == 7 || m == 9) continue;
      const uint64_t run = m == 0 ? first_alloc : 4096;
      std::vector<SpaceMapEntry> e{{.alloc = true, .offset = m << 17, .run = run}};
      EXPECT_TRUE(h->Load(m, 100 + m, 8, run, e).ok());
    }
    return h;
  };
  EXPECT_EQ(loaded(64 << 10)->log_metaslab(), 0);
  EXPECT_EQ(loaded(68 << 10)->log_metaslab(), 7);
}

}  // namespace
}  // namespace uzfs
