// RangeTree: the add/remove/merge rules and FindFit, against a bitmap model for random
// operations.
#include "libcore/spa/range_tree.h"

#include <gtest/gtest.h>

#include <random>
#include <utility>
#include <vector>

namespace uzfs {
namespace {

using Segs = std::vector<std::pair<uint64_t, uint64_t>>;  // (start, size)

Segs SegsOf(const RangeTree& t) {
  Segs s;
  t.Walk([&](uint64_t start, uint64_t size) { s.emplace_back(start, size); });
  return s;
}

TEST(RangeTree, AddMergesNeighboursOnBothSides) {
  RangeTree t;
  EXPECT_TRUE(t.empty());
  ASSERT_TRUE(t.Add(100, 50));
  ASSERT_TRUE(t.Add(300, 50));
  EXPECT_EQ(t.segments(), 2u);
  ASSERT_TRUE(t.Add(150, 150));  // touches both: one segment [100, 350)
  EXPECT_EQ(SegsOf(t), (Segs{{100, 250}}));
  EXPECT_EQ(t.space(), 250u);
  ASSERT_TRUE(t.Add(350, 10));  // touches the end only
  ASSERT_TRUE(t.Add(90, 10));   // touches the start only
  EXPECT_EQ(SegsOf(t), (Segs{{90, 270}}));
  ASSERT_TRUE(t.Add(400, 1));   // not touching: a new segment
  EXPECT_EQ(SegsOf(t), (Segs{{90, 270}, {400, 1}}));
  EXPECT_EQ(t.space(), 271u);
  EXPECT_TRUE(t.Add(5, 0));  // empty range: a no-op
  EXPECT_EQ(t.segments(), 2u);
}

TEST(RangeTree, AddRefusesOverlapAndLeavesTreeUnchanged) {
  RangeTree t;
  ASSERT_TRUE(t.Add(100, 100));
  ASSERT_TRUE(t.Add(300, 100));
  for (auto [s, n] : Segs{{150, 10}, {50, 51}, {199, 2}, {0, 1000}, {250, 51}, {399, 1}}) {
    EXPECT_FALSE(t.Add(s, n)) << s << "+" << n;
  }
  EXPECT_EQ(SegsOf(t), (Segs{{100, 100}, {300, 100}}));
  EXPECT_EQ(t.space(), 200u);
  EXPECT_TRUE(t.Add(200, 100));  // exactly the gap
  EXPECT_EQ(SegsOf(t), (Segs{{100, 300}}));
}

TEST(RangeTree, RemoveSplitsAndRefusesWhatIsNotContained) {
  RangeTree t;
  ASSERT_TRUE(t.Add(0, 1000));
  ASSERT_TRUE(t.Remove(400, 100));
  EXPECT_EQ(SegsOf(t), (Segs{{0, 400}, {500, 500}}));
  EXPECT_EQ(t.space(), 900u);
  EXPECT_FALSE(t.Remove(350, 100));   // spans the hole
  EXPECT_FALSE(t.Remove(450, 10));    // inside the hole
  EXPECT_FALSE(t.Remove(900, 200));   // runs past the end
  EXPECT_EQ(SegsOf(t), (Segs{{0, 400}, {500, 500}}));
  ASSERT_TRUE(t.Remove(0, 400));      // a whole segment
  ASSERT_TRUE(t.Remove(900, 100));    // the tail
  ASSERT_TRUE(t.Remove(500, 1));      // the head
  EXPECT_EQ(SegsOf(t), (Segs{{501, 399}}));
  EXPECT_EQ(t.space(), 399u);
  t.Clear();
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.space(), 0u);
  EXPECT_FALSE(t.Remove(0, 1));
}

TEST(RangeTree, ContainsAndOverlapsAtTheEdges) {
  RangeTree t;
  ASSERT_TRUE(t.Add(100, 100));
  EXPECT_TRUE(t.Contains(100, 100));
  EXPECT_TRUE(t.Contains(150, 50));
  EXPECT_FALSE(t.Contains(99, 2));
  EXPECT_FALSE(t.Contains(199, 2));
  EXPECT_TRUE(t.Overlaps(199, 10));
  EXPECT_TRUE(t.Overlaps(90, 11));
  EXPECT_FALSE(t.Overlaps(90, 10));   // ends where the segment starts
  EXPECT_FALSE(t.Overlaps(200, 10));  // starts where it ends
  EXPECT_TRUE(t.Overlaps(0, 1000));   // covers it
  EXPECT_FALSE(t.Overlaps(150, 0));
}

TEST(RangeTree, FindFitAlignsAndResumesAtCursorThenWraps) {
  RangeTree t;
  ASSERT_TRUE(t.Add(100, 4900));     // [100, 5000)
  ASSERT_TRUE(t.Add(8192, 1024));    // [8192, 9216)
  ASSERT_TRUE(t.Add(20000, 10000));  // [20000, 30000)
  uint64_t out = 0;
  ASSERT_TRUE(t.FindFit(512, 4096, 0, &out));
  EXPECT_EQ(out, 4096u);  // first 4K-aligned piece of the first segment
  ASSERT_TRUE(t.FindFit(1024, 4096, 0, &out));
  EXPECT_EQ(out, 8192u);  // 4096+1024 > 5000: the next segment
  ASSERT_TRUE(t.FindFit(2048, 4096, 0, &out));
  EXPECT_EQ(out, 20480u);
  ASSERT_TRUE(t.FindFit(100, 1, 8500, &out));
  EXPECT_EQ(out, 8500u);  // cursor inside a segment: starts right there
  ASSERT_TRUE(t.FindFit(800, 1, 8500, &out));
  EXPECT_EQ(out, 20000u);  // the rest of that segment is too small
  ASSERT_TRUE(t.FindFit(1000, 1, 29500, &out));
  EXPECT_EQ(out, 100u);  // nothing after the cursor: wraps to the beginning
  EXPECT_FALSE(t.FindFit(10001, 1, 0, &out));
  EXPECT_FALSE(t.FindFit(8192, 8192, 0, &out));  // 10000 bytes free but no aligned 8K piece
  RangeTree empty;
  EXPECT_FALSE(empty.FindFit(1, 1, 0, &out));
}

// Random adds and removes over a small universe, checked against a bitmap; FindFit checked
// against a brute-force search of the bitmap.
TEST(RangeTree, RandomOperationsMatchBitmapModel) {
  constexpr uint64_t kU = 512;
  std::mt19937_64 rng(42);
  RangeTree t;
  std::vector<bool> in(kU, false);
  for (int op = 0; op < 20000; op++) {
    uint64_t s = rng() % kU, n = 1 + rng() % 24;
    if (s + n > kU) n = kU - s;
    bool any = false, all = true;
    for (uint64_t i = s; i < s + n; i++) {
      any |= in[i];
      all &= in[i];
    }
    ASSERT_EQ(t.Overlaps(s, n), any) << op;
    ASSERT_EQ(t.Contains(s, n), all) << op;
    if (rng() % 2) {
      ASSERT_EQ(t.Add(s, n), !any) << op;
      if (!any)
        for (uint64_t i = s; i < s + n; i++) in[i] = true;
    } else {
      ASSERT_EQ(t.Remove(s, n), all) << op;
      if (all)
        for (uint64_t i = s; i < s + n; i++) in[i] = false;
    }
    // Segments are the maximal runs of the bitmap (so adjacent ones were merged).
    Segs want;
    uint64_t space = 0;
    for (uint64_t i = 0; i < kU;) {
      if (!in[i]) {
        i++;
        continue;
      }
      uint64_t j = i;
      while (j < kU && in[j]) j++;
      want.emplace_back(i, j - i);
      space += j - i;
      i = j;
    }
    ASSERT_EQ(SegsOf(t), want) << op;
    ASSERT_EQ(t.space(), space);
    // FindFit: the smallest aligned fit at or after the cursor, else the smallest overall.
    uint64_t size = 1 + rng() % 16, align = 1ULL << (rng() % 4), cursor = rng() % kU;
    auto fits = [&](uint64_t p) {
      if (p + size > kU) return false;
      for (uint64_t i = p; i < p + size; i++)
        if (!in[i]) return false;
      return true;
    };
    int64_t expect = -1;
    for (uint64_t p = (cursor + align - 1) / align * align; p < kU && expect < 0; p += align)
      if (fits(p)) expect = static_cast<int64_t>(p);
    for (uint64_t p = 0; p < kU && expect < 0; p += align)
      if (fits(p)) expect = static_cast<int64_t>(p);
    uint64_t got = 0;
    bool ok = t.FindFit(size, align, cursor, &got);
    ASSERT_EQ(ok, expect >= 0) << op << " size " << size << " align " << align << " cursor "
                               << cursor;
    if (ok) {
      ASSERT_EQ(got, static_cast<uint64_t>(expect)) << op;
    }
  }
}

}  // namespace
}  // namespace uzfs
