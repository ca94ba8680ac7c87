// The ARC on known traces: MRU → MFU promotion, ghost hits moving p by the amounts arc_adapt
// gives, a scan that does not flush the working set (the point of ARC over LRU), held units,
// the c_max bound, SetMax, memfd residency measured by fstat, Resize, DropObject/Space/Pool,
// metadata, and several threads reading at once.
#include "libcore/arc/arc.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <random>
#include <thread>
#include <vector>

namespace uzfs {
namespace {

constexpr uint64_t P = kArcPageSize;

ArcObjKey K(uint64_t obj, uint64_t space = 2, uint64_t pool = 1) { return {pool, space, obj}; }

// The bytes of object obj at file offset x, version gen.
uint8_t Pat(uint64_t obj, uint64_t x, uint64_t gen = 0) {
  return static_cast<uint8_t>(x * 131 + (x >> 12) * 17 + obj * 7 + gen * 59 + 1);
}

struct Fills {
  std::atomic<int> n{0};
  std::atomic<uint64_t> gen{0};
};

Arc::Filler PatFill(uint64_t obj, uint64_t off, uint64_t len, Fills* f = nullptr) {
  return [=]() -> Result<Bytes> {
    uint64_t gen = 0;
    if (f) {
      f->n++;
      gen = f->gen.load();
    }
    Bytes b(len);
    for (uint64_t i = 0; i < len; i++) b[i] = Pat(obj, off + i, gen);
    return b;
  };
}

// Reads unit `unit` (of `pages` pages) of obj whole and checks its bytes against gen.
void ReadUnit(Arc& a, uint64_t obj, uint64_t unit, uint64_t pages = 1, Fills* f = nullptr,
              uint64_t space = 2) {
  uint64_t off = unit * pages * P, len = pages * P;
  Bytes out(len);
  Status s = a.Read(K(obj, space), off, len, off, out, PatFill(obj, off, len, f));
  ASSERT_TRUE(s.ok()) << s.ToString();
  uint64_t gen = f ? f->gen.load() : 0;
  for (uint64_t i = 0; i < len; i += 509)
    ASSERT_EQ(Pat(obj, off + i, gen), out[i]) << "obj " << obj << " at " << off + i;
}

uint64_t Resident(const ArcSegment& s) {
  struct stat st;
  EXPECT_EQ(0, fstat(s.fd(), &st));
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

// The ARC's invariants (held bytes may push size past c).
void CheckBounds(Arc& a) {
  ArcStats s = a.Stats();
  EXPECT_LE(s.size, s.c + s.held_size);
  EXPECT_LE(s.mru_size + s.mru_ghost_size, s.c + s.held_size);
  EXPECT_LE(s.size + s.mru_ghost_size + s.mfu_ghost_size, 2 * s.c + s.held_size);
  EXPECT_LE(s.p, s.c);
  EXPECT_EQ(s.size, s.mru_size + s.mfu_size);
  EXPECT_EQ(s.size, s.data_size + s.meta_size);
}

TEST(ArcTest, LimitsAndDefaults) {
  Arc a(1ULL << 30);
  ArcStats s = a.Stats();
  EXPECT_EQ(1ULL << 30, s.c_max);
  EXPECT_EQ(1ULL << 30, s.c);
  EXPECT_EQ(32ULL << 20, s.c_min);  // c_max / 32
  EXPECT_EQ(s.c / 2, s.p);
  Arc small(64 << 10);
  EXPECT_EQ(64u << 10, small.Stats().c_min);  // max(c_max/32, 16 MiB) clipped to c_max
  Arc mid(100ULL << 20);
  EXPECT_EQ(16ULL << 20, mid.Stats().c_min);
  EXPECT_GE(Arc::DefaultMax(), 64ULL << 20);
}

TEST(ArcTest, SecondAccessPromotesToMfu) {
  Arc a(1 << 20);
  ASSERT_TRUE(a.Segment(K(1), 64 << 10).ok());
  Fills f;
  ReadUnit(a, 1, 0, 1, &f);
  ArcStats s = a.Stats();
  EXPECT_EQ(1, f.n);
  EXPECT_EQ(1u, s.misses);
  EXPECT_EQ(P, s.mru_size);
  EXPECT_EQ(0u, s.mfu_size);
  ReadUnit(a, 1, 0, 1, &f);
  s = a.Stats();
  EXPECT_EQ(1, f.n);
  EXPECT_EQ(1u, s.mru_hits);
  EXPECT_EQ(0u, s.mru_size);
  EXPECT_EQ(P, s.mfu_size);
  // A partial read inside the unit, served from the memfd.
  Bytes part(100);
  ASSERT_TRUE(a.Read(K(1), 0, P, 1000, part, PatFill(1, 0, P)).ok());
  for (uint64_t i = 0; i < part.size(); i++) EXPECT_EQ(Pat(1, 1000 + i), part[i]);
  s = a.Stats();
  EXPECT_EQ(1u, s.mfu_hits);
  EXPECT_EQ(2u, s.hits);
  EXPECT_EQ(2u, s.data_hits);
  EXPECT_EQ(1u, s.data_misses);
  EXPECT_EQ(1u, s.segments);
  EXPECT_EQ(P, s.resident);
  // A read outside its unit is a caller's error.
  EXPECT_EQ(EINVAL, a.Read(K(1), 0, P, P - 10, part, PatFill(1, 0, P)).code());
  EXPECT_EQ(EINVAL, a.Read(K(1), 100, P, 100, part, PatFill(1, 0, P)).code());
}

// c = 16 units of 4 KiB, p = 8 units. Every number below follows from arc.cc's rules.
TEST(ArcTest, GhostHitsMovePUpAndDown) {
  const uint64_t c = 16 * P;
  Arc a(c);
  ASSERT_TRUE(a.Segment(K(1), 1 << 20).ok());
  EXPECT_EQ(8 * P, a.Stats().p);
  for (int u = 0; u < 8; u++) ReadUnit(a, 1, u);
  for (int u = 0; u < 8; u++) ReadUnit(a, 1, u);  // u0..u7 in MFU (u7 at its front)
  for (int u = 8; u < 16; u++) ReadUnit(a, 1, u);  // u8..u15 in MRU
  ArcStats s = a.Stats();
  EXPECT_EQ(8 * P, s.mru_size);
  EXPECT_EQ(8 * P, s.mfu_size);
  EXPECT_EQ(0u, s.evictions);
  // u16: MRU (9 units) is above p → MRU's tail, u8, becomes an MRU ghost.
  ReadUnit(a, 1, 16);
  s = a.Stats();
  EXPECT_EQ(1u, s.evictions);
  EXPECT_FALSE(a.Cached(K(1), 8 * P));
  EXPECT_EQ(P, s.mru_ghost_size);
  EXPECT_EQ(8 * P, s.mfu_size);
  // u8 again: an MRU-ghost hit. p += max(1, mfu_ghost 0 / mru_ghost 1) * 4K = 9 units.
  // u8 enters MFU; MRU (8 units) is not above p → MFU's tail, u0, becomes an MFU ghost.
  ReadUnit(a, 1, 8);
  s = a.Stats();
  EXPECT_EQ(1u, s.mru_ghost_hits);
  EXPECT_EQ(9 * P, s.p);
  EXPECT_TRUE(a.Cached(K(1), 8 * P));
  EXPECT_FALSE(a.Cached(K(1), 0));
  EXPECT_EQ(0u, s.mru_ghost_size);
  EXPECT_EQ(P, s.mfu_ghost_size);
  EXPECT_EQ(8 * P, s.mfu_size);  // u8 in, u0 out
  // u0 again: an MFU-ghost hit. p -= max(1, 0 / 1) * 4K = 8 units; u1 is evicted from MFU.
  ReadUnit(a, 1, 0);
  s = a.Stats();
  EXPECT_EQ(1u, s.mfu_ghost_hits);
  EXPECT_EQ(8 * P, s.p);
  EXPECT_FALSE(a.Cached(K(1), P));
  EXPECT_EQ(P, s.mfu_ghost_size);
  // Promote u9..u12, then miss u17..u20: MRU stays at or under p, so MFU gives way:
  // u2, u3, u4, u5 become MFU ghosts (5 units of them with u1).
  for (int u = 9; u <= 12; u++) ReadUnit(a, 1, u);
  for (int u = 17; u <= 20; u++) ReadUnit(a, 1, u);
  s = a.Stats();
  EXPECT_EQ(5 * P, s.mfu_ghost_size);
  EXPECT_EQ(0u, s.mru_ghost_size);
  EXPECT_EQ(8 * P, s.mru_size);  // u13..u20
  // u21: MRU above p → u13 is an MRU ghost. Then u13 again: p += max(1, 5/1) * 4K = 13 units.
  ReadUnit(a, 1, 21);
  ReadUnit(a, 1, 13);
  s = a.Stats();
  EXPECT_EQ(2u, s.mru_ghost_hits);
  EXPECT_EQ(13 * P, s.p);
  CheckBounds(a);
}

// A random skewed trace: at every ghost hit p moves by exactly max(1, other/this) * size,
// clipped to [0, c], and the bounds hold after every access.
TEST(ArcTest, RandomTraceFollowsAdaptRule) {
  const uint64_t c = 16 * P;
  Arc a(c);
  ASSERT_TRUE(a.Segment(K(1), 1 << 20).ok());
  std::mt19937_64 rng(42);
  int up_mult = 0, down_mult = 0, ups = 0, downs = 0;
  for (int i = 0; i < 20000; i++) {
    // Half the accesses from a hot set that drifts, half from a wide range.
    uint64_t u = (rng() % 2) ? (i / 500 * 3 + rng() % 12) % 64 : rng() % 64;
    ArcStats b = a.Stats();
    ReadUnit(a, 1, u);
    ArcStats s = a.Stats();
    if (s.mru_ghost_hits != b.mru_ghost_hits) {
      uint64_t mult = std::max<uint64_t>(1, b.mfu_ghost_size / b.mru_ghost_size);
      ASSERT_EQ(std::min(c, b.p + mult * P), s.p) << "at access " << i;
      up_mult += mult > 1;
      ups++;
    } else if (s.mfu_ghost_hits != b.mfu_ghost_hits) {
      uint64_t mult = std::max<uint64_t>(1, b.mru_ghost_size / b.mfu_ghost_size);
      ASSERT_EQ(b.p > mult * P ? b.p - mult * P : 0, s.p) << "at access " << i;
      down_mult += mult > 1;
      downs++;
    } else {
      ASSERT_EQ(b.p, s.p);
    }
    CheckBounds(a);
    if (HasFailure()) return;
  }
  EXPECT_GT(ups, 0);
  EXPECT_GT(downs, 0);
  EXPECT_GT(up_mult + down_mult, 0);
}

// The point of ARC over LRU: a working set read more than once survives a long scan of
// units read once (an LRU of the same size would hold only the last scanned units).
TEST(ArcTest, ScanDoesNotFlushWorkingSet) {
  Arc a(64 * P);
  ASSERT_TRUE(a.Segment(K(1), 1 << 20).ok());
  ASSERT_TRUE(a.Segment(K(2), 64 << 20).ok());
  for (int round = 0; round < 3; round++)
    for (int u = 0; u < 16; u++) ReadUnit(a, 1, u);
  for (int u = 0; u < 4000; u++) ReadUnit(a, 2, u);
  ArcStats s = a.Stats();
  EXPECT_GT(s.evictions, 3000u);
  for (int u = 0; u < 16; u++) EXPECT_TRUE(a.Cached(K(1), u * P)) << "working unit " << u;
  uint64_t misses = s.misses;
  for (int u = 0; u < 16; u++) ReadUnit(a, 1, u);
  EXPECT_EQ(misses, a.Stats().misses);
  CheckBounds(a);
}

TEST(ArcTest, HeldUnitsAreNeverEvicted) {
  Arc a(16 * P);
  ASSERT_TRUE(a.Segment(K(1), 4 << 20).ok());
  EXPECT_EQ(ENOENT, a.Hold(K(1), 0).code());  // not cached
  for (int u = 0; u < 4; u++) {
    ReadUnit(a, 1, u);
    ASSERT_TRUE(a.Hold(K(1), u * P).ok());
  }
  ASSERT_TRUE(a.Hold(K(1), 0).ok());  // counted: two holds on u0
  for (int u = 4; u < 200; u++) {
    ReadUnit(a, 1, u);
    CheckBounds(a);
  }
  ArcStats s = a.Stats();
  EXPECT_EQ(4 * P, s.held_size);
  EXPECT_LE(s.size, s.c_max);
  for (int u = 0; u < 4; u++) {
    EXPECT_TRUE(a.Cached(K(1), u * P));
    auto b = a.Peek(K(1), u * P, P);
    ASSERT_TRUE(b.ok());
    for (uint64_t i = 0; i < P; i += 97) EXPECT_EQ(Pat(1, u * P + i), (*b)[i]);
  }
  // Holding everything: the ARC may exceed c by held bytes only.
  a.SetMax(2 * P);
  s = a.Stats();
  EXPECT_EQ(4 * P, s.size);
  EXPECT_EQ(4 * P, s.held_size);
  ReadUnit(a, 1, 300);  // brought in and evicted at once: nothing else can go
  EXPECT_EQ(4 * P, a.Stats().size);
  for (int u = 1; u < 4; u++) a.Release(K(1), u * P);
  s = a.Stats();
  EXPECT_TRUE(a.Cached(K(1), 0));  // still held once
  EXPECT_EQ(P, s.held_size);
  EXPECT_LE(s.size, 2 * P);
  a.Release(K(1), 0);
  EXPECT_TRUE(a.Cached(K(1), 0));
  a.Release(K(1), 0);
  EXPECT_EQ(0u, a.Stats().held_size);
  a.Release(K(1), 0);  // more releases than holds: ignored
  CheckBounds(a);
}

// A reader's hold (HoldForRead, the FUSE reply's splice): the unit stays in the memfd while
// held, even past c_max; a token does not outlive its unit (truncated away and cached anew,
// the new unit is not released by the old token); ForgetUnits, which punches the segment,
// waits for the holders; a unit of a replaced segment is not handed out.
TEST(ArcTest, ReaderHoldsKeepTheBytesUntilReleased) {
  Arc a(4 * P);
  auto seg = a.Segment(K(1), 64 * P);
  ASSERT_TRUE(seg.ok());
  EXPECT_EQ(0u, *a.HoldForRead(K(1), 0, seg->get(), false, true));  // not cached
  ReadUnit(a, 1, 0);
  uint64_t hits = a.Stats().hits;
  auto t = a.HoldForRead(K(1), 0, seg->get(), false, /*hit=*/false);
  ASSERT_TRUE(t.ok());
  ASSERT_NE(0u, *t);
  EXPECT_EQ(hits, a.Stats().hits);  // hit=false: not counted
  EXPECT_EQ(0u, *a.HoldForRead(K(1), 0, nullptr, false, true));  // another segment's
  for (int u = 1; u < 40; u++) ReadUnit(a, 1, u);  // a scan that evicts everything else
  EXPECT_TRUE(a.Cached(K(1), 0));
  uint8_t v = 0;
  ASSERT_EQ(1, pread((*seg)->fd(), &v, 1, 5));
  EXPECT_EQ(Pat(1, 5), v);
  EXPECT_EQ(P, a.Stats().held_size);
  // ForgetUnits waits for the holder.
  std::atomic<bool> forgot{false};
  std::thread forget([&] {
    a.ForgetUnits(K(1));
    forgot = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(forgot.load());
  ASSERT_EQ(1, pread((*seg)->fd(), &v, 1, 5));
  EXPECT_EQ(Pat(1, 5), v);  // not punched yet
  a.ReleaseRead(K(1), 0, *t);
  forget.join();
  EXPECT_TRUE(forgot.load());
  EXPECT_FALSE(a.Cached(K(1), 0));
  // A stale token: the unit cached anew and held by someone else keeps that hold.
  ReadUnit(a, 1, 0);
  auto t1 = a.HoldForRead(K(1), 0, seg->get(), false, true);
  ASSERT_TRUE(t1.ok() && *t1);
  ASSERT_TRUE(a.Resize(K(1), 0).ok());  // truncated away
  ASSERT_TRUE(a.Resize(K(1), 64 * P).ok());
  ReadUnit(a, 1, 0);
  ASSERT_TRUE(a.Hold(K(1), 0).ok());
  a.ReleaseRead(K(1), 0, *t1);  // the old token: no effect on the new unit
  EXPECT_EQ(P, a.Stats().held_size);
  a.Release(K(1), 0);
  EXPECT_EQ(0u, a.Stats().held_size);
  CheckBounds(a);
}

TEST(ArcTest, SizeStaysWithinCMaxAndSetMaxEvictsAtOnce) {
  Arc a(1 << 20);
  auto seg = a.Segment(K(1), 8 << 20);
  ASSERT_TRUE(seg.ok());
  for (int u = 0; u < 60; u++) ReadUnit(a, 1, u, 4);  // 16 KiB units
  ArcStats s = a.Stats();
  EXPECT_EQ(60u * 4 * P, s.size);
  EXPECT_EQ(s.size, s.resident);
  EXPECT_EQ(s.size, Resident(**seg));
  for (int u = 60; u < 300; u++) {
    ReadUnit(a, 1, u, 4);
    ASSERT_LE(a.Stats().size, 1u << 20);
  }
  s = a.Stats();
  EXPECT_EQ(1u << 20, s.size);
  EXPECT_EQ(1u << 20, Resident(**seg));  // evicted units are punched out of the memfd
  EXPECT_EQ(s.size, s.data_size);
  a.SetMax(128 << 10);
  s = a.Stats();
  EXPECT_EQ(128u << 10, s.c_max);
  EXPECT_EQ(128u << 10, s.c);
  EXPECT_EQ(128u << 10, s.c_min);
  EXPECT_LE(s.size, 128u << 10);
  EXPECT_LE(Resident(**seg), 128u << 10);
  EXPECT_EQ(s.resident, Resident(**seg));
  CheckBounds(a);
}

TEST(ArcTest, RefillAfterEvictionReadsTheFillersBytes) {
  Arc a(8 * P);
  ASSERT_TRUE(a.Segment(K(7), 1 << 20).ok());
  Fills f;
  for (int u = 0; u < 8; u++) ReadUnit(a, 7, u, 1, &f);
  EXPECT_EQ(8, f.n);
  for (int u = 8; u < 40; u++) ReadUnit(a, 7, u, 1, &f);  // u0..u7 evicted
  EXPECT_FALSE(a.Cached(K(7), 0));
  f.gen = 5;  // the object's bytes changed behind the evicted units
  ReadUnit(a, 7, 0, 1, &f);  // refilled: the new bytes
  EXPECT_EQ(41, f.n);
  ReadUnit(a, 7, 0, 1, &f);  // and a hit now
  EXPECT_EQ(41, f.n);
}

TEST(ArcTest, UpdateWritesThroughOnlyCachedUnits) {
  Arc a(1 << 20);
  ASSERT_TRUE(a.Segment(K(1), 3 * P + 100).ok());
  Bytes data(50, 0xee);
  ASSERT_TRUE(a.Update(K(1), 0, P, 10, data).ok());  // not cached: nothing happens
  EXPECT_FALSE(a.Cached(K(1), 0));
  EXPECT_EQ(ENOENT, a.Peek(K(1), 0, P).status().code());
  ReadUnit(a, 1, 0);
  ASSERT_TRUE(a.Update(K(1), 0, P, 10, data).ok());
  Bytes out(P);
  ASSERT_TRUE(a.Read(K(1), 0, P, 0, out, PatFill(1, 0, P)).ok());
  for (uint64_t i = 0; i < P; i++) ASSERT_EQ(i >= 10 && i < 60 ? 0xee : Pat(1, i), out[i]) << i;
  // A unit straddling the segment's end takes bytes up to the end only.
  Bytes big(2 * P);
  ASSERT_TRUE(a.Read(K(1), 2 * P, 4 * P, 2 * P, big, PatFill(1, 2 * P, 4 * P)).ok());
  EXPECT_EQ(3 * P, a.Stats().size);  // unit 0 (1 page) + the 2 pages inside the segment
  ASSERT_TRUE(a.Update(K(1), 2 * P, 4 * P, 4 * P - 20, data).ok());  // clipped at 4P
  auto b = a.Peek(K(1), 2 * P, 4 * P);
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(4 * P, b->size());
  EXPECT_EQ(0xee, (*b)[2 * P - 1]);
  EXPECT_EQ(0, (*b)[2 * P]);  // past the segment: zeros
  EXPECT_EQ(EINVAL, a.Update(K(1), 0, P, P - 10, data).code());
}

// The two-step fill: a write-through between BeginFill and FinishFill makes the fill stale
// (its bytes are older than the writer's), so it is not kept; a fill nobody disturbed is.
TEST(ArcTest, TwoStepFillsAreDroppedWhenAWriteMetThem) {
  Arc a(1 << 20);
  ASSERT_TRUE(a.Segment(K(3), 4 * P).ok());
  auto t = a.BeginFill(K(3), 0, P);
  ASSERT_NE(nullptr, t);
  EXPECT_EQ(nullptr, a.BeginFill(K(3), 0, P));  // one fill of a unit at a time
  ASSERT_TRUE(a.Update(K(3), 0, P, 0, Bytes(10, 0xaa)).ok());  // the writer's newer bytes
  a.FinishFill(t, Bytes(P, 0x11));
  EXPECT_FALSE(a.Cached(K(3), 0));
  Bytes out(P);
  EXPECT_FALSE(*a.ReadIfCached(K(3), 0, P, 0, out, /*wait=*/false));
  auto t2 = a.BeginFill(K(3), P, P);
  ASSERT_NE(nullptr, t2);
  a.FinishFill(t2, Bytes(P, 0x22));
  ASSERT_TRUE(*a.ReadIfCached(K(3), P, P, P, out));
  EXPECT_EQ(Bytes(P, 0x22), out);
  EXPECT_EQ(nullptr, a.BeginFill(K(3), P, P));  // cached: nothing to fill
  // A failed fill keeps nothing and lets the next one start.
  auto t3 = a.BeginFill(K(3), 2 * P, P);
  a.FinishFill(t3, Status::Error(EIO, "disk"));
  EXPECT_FALSE(a.Cached(K(3), 2 * P));
  EXPECT_NE(nullptr, a.BeginFill(K(3), 2 * P, P));
}

// A reader waiting in ReadIfCached for a two-step fill gets its bytes when it finishes.
TEST(ArcTest, ReadIfCachedWaitsForAFillUnderWay) {
  Arc a(1 << 20);
  ASSERT_TRUE(a.Segment(K(4), 4 * P).ok());
  auto t = a.BeginFill(K(4), 0, P);
  std::thread filler([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    a.FinishFill(t, Bytes(P, 0x33));
  });
  Bytes out(100);
  auto hit = a.ReadIfCached(K(4), 0, P, 7, out);
  filler.join();
  ASSERT_TRUE(hit.ok());
  EXPECT_TRUE(*hit);
  EXPECT_EQ(Bytes(100, 0x33), out);
}

TEST(ArcTest, FaultAndPeek) {
  Arc a(1 << 20);
  EXPECT_EQ(ENOENT, a.Fault(K(1), 0, P, PatFill(1, 0, P)).status().code());  // no segment
  ASSERT_TRUE(a.Segment(K(1), 10 * P).ok());
  auto r = a.Fault(K(1), 2 * P, 2 * P, PatFill(1, 2 * P, 2 * P));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r);
  r = a.Fault(K(1), 2 * P, 2 * P, PatFill(1, 2 * P, 2 * P));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  auto b = a.Peek(K(1), 2 * P, 2 * P);
  ASSERT_TRUE(b.ok());
  for (uint64_t i = 0; i < 2 * P; i += 7) EXPECT_EQ(Pat(1, 2 * P + i), (*b)[i]);
  ArcStats s = a.Stats();
  EXPECT_EQ(1u, s.hits);  // Peek is no access
  EXPECT_EQ(1u, s.misses);
}

TEST(ArcTest, ResizeShrinksDropsAndZeroesTail) {
  Arc a(1 << 20);
  auto sr = a.Segment(K(1), 10000);
  ASSERT_TRUE(sr.ok());
  std::shared_ptr<ArcSegment> seg = *sr;
  EXPECT_EQ(3 * P, seg->size());
  for (int u = 0; u < 3; u++) ReadUnit(a, 1, u);
  auto byte_at = [&](uint64_t x) {
    uint8_t v = 0xaa;
    EXPECT_EQ(1, pread(seg->fd(), &v, 1, static_cast<off_t>(x)));
    return v;
  };
  // Within the last page: bytes past the new size read zero, the segment keeps its pages.
  ASSERT_TRUE(a.Resize(K(1), 9000).ok());
  EXPECT_EQ(3 * P, seg->size());
  EXPECT_EQ(Pat(1, 8999), byte_at(8999));
  EXPECT_EQ(0, byte_at(9000));
  EXPECT_EQ(0, byte_at(3 * P - 1));
  EXPECT_TRUE(a.Cached(K(1), 2 * P));
  // Below: the last unit goes, the memfd shrinks, the tail of page 1 is zero.
  ASSERT_TRUE(a.Resize(K(1), 5000).ok());
  EXPECT_EQ(2 * P, seg->size());
  struct stat st;
  ASSERT_EQ(0, fstat(seg->fd(), &st));
  EXPECT_EQ(2 * P, static_cast<uint64_t>(st.st_size));
  EXPECT_FALSE(a.Cached(K(1), 2 * P));
  EXPECT_TRUE(a.Cached(K(1), P));
  EXPECT_EQ(Pat(1, 4999), byte_at(4999));
  EXPECT_EQ(0, byte_at(5000));
  EXPECT_EQ(2 * P, a.Stats().size);
  EXPECT_EQ(2 * P, Resident(*seg));
  // Growing: the new range reads zeros until filled.
  ASSERT_TRUE(a.Resize(K(1), 20000).ok());
  EXPECT_EQ(5 * P, seg->size());
  EXPECT_EQ(0, byte_at(3 * P));
  EXPECT_EQ(0, byte_at(5 * P - 1));
  ReadUnit(a, 1, 4);
  EXPECT_EQ(Pat(1, 4 * P), byte_at(4 * P));
  // Resize of an object without a segment: nothing to do.
  EXPECT_TRUE(a.Resize(K(99), 5).ok());
  EXPECT_EQ(nullptr, a.FindSegment(K(99)));
}

TEST(ArcTest, ResizeRecountsAUnitStraddlingTheEnd) {
  Arc a(1 << 20);
  ASSERT_TRUE(a.Segment(K(1), 5000).ok());  // 2 pages
  ReadUnit(a, 1, 0, 4);                      // a 16 KiB unit: 2 pages of it are inside
  EXPECT_EQ(2 * P, a.Stats().size);
  ASSERT_TRUE(a.Resize(K(1), 12000).ok());  // 3 pages
  EXPECT_EQ(3 * P, a.Stats().size);
  auto b = a.Peek(K(1), 0, 4 * P);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(Pat(1, 4999), (*b)[4999]);
  for (uint64_t i = 5000; i < 4 * P; i++) ASSERT_EQ(0, (*b)[i]) << i;  // old tail zeroed, new zero
  ASSERT_TRUE(a.Resize(K(1), 100).ok());
  EXPECT_EQ(P, a.Stats().size);
  EXPECT_TRUE(a.Cached(K(1), 0));
  CheckBounds(a);
}

TEST(ArcTest, DropObjectLeavesTheClientsSegmentIntact) {
  Arc a(1 << 20);
  auto sr = a.Segment(K(1), 4 * P);
  ASSERT_TRUE(sr.ok());
  std::shared_ptr<ArcSegment> client = *sr;
  for (int u = 0; u < 4; u++) ReadUnit(a, 1, u);
  a.DropObject(K(1));
  EXPECT_EQ(nullptr, a.FindSegment(K(1)));
  EXPECT_FALSE(a.Cached(K(1), 0));
  ArcStats s = a.Stats();
  EXPECT_EQ(0u, s.size);
  EXPECT_EQ(0u, s.segments);
  EXPECT_EQ(0u, s.resident);
  // The client still reads what was there.
  uint8_t v = 0;
  ASSERT_EQ(1, pread(client->fd(), &v, 1, 3 * P + 5));
  EXPECT_EQ(Pat(1, 3 * P + 5), v);
  EXPECT_EQ(4 * P, Resident(*client));
  // A new segment for the object is a new memfd.
  auto again = a.Segment(K(1), 4 * P);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(client->fd(), (*again)->fd());
  EXPECT_EQ(0u, Resident(**again));
}

TEST(ArcTest, DropSpaceAndDropPool) {
  Arc a(1 << 20);
  for (uint64_t space : {2, 3})
    for (uint64_t obj : {1, 2}) {
      ASSERT_TRUE(a.Segment(K(obj, space), 4 * P).ok());
      ReadUnit(a, obj, 0, 1, nullptr, space);
    }
  ASSERT_TRUE(a.Segment(K(1, 2, 9), 4 * P).ok());  // another pool
  Bytes out(P);
  ASSERT_TRUE(a.Read(K(1, 2, 9), 0, P, 0, out, PatFill(1, 0, P)).ok());
  a.PutMeta({1, 0, 512, 11, 12}, Bytes(512, 1));
  a.PutMeta({9, 0, 512, 11, 12}, Bytes(512, 2));
  EXPECT_EQ(5u, a.Stats().segments);
  a.DropSpace(1, 2);
  EXPECT_FALSE(a.Cached(K(1, 2), 0));
  EXPECT_FALSE(a.Cached(K(2, 2), 0));
  EXPECT_TRUE(a.Cached(K(1, 3), 0));
  EXPECT_TRUE(a.Cached(K(1, 2, 9), 0));
  EXPECT_EQ(3u, a.Stats().segments);
  a.DropPool(1);
  EXPECT_FALSE(a.Cached(K(1, 3), 0));
  EXPECT_TRUE(a.Cached(K(1, 2, 9), 0));
  EXPECT_FALSE(a.GetMeta({1, 0, 512, 11, 12}).has_value());
  EXPECT_TRUE(a.GetMeta({9, 0, 512, 11, 12}).has_value());
  ArcStats s = a.Stats();
  EXPECT_EQ(1u, s.segments);
  EXPECT_EQ(P + 512, s.size);
  CheckBounds(a);
}

TEST(ArcTest, MetadataSharesTheLists) {
  Arc a(16 * P);
  ArcMetaKey k{1, 0, 4096, 0x1234, 0x5678};
  EXPECT_FALSE(a.GetMeta(k).has_value());
  Bytes blk(P);
  for (uint64_t i = 0; i < P; i++) blk[i] = static_cast<uint8_t>(i);
  a.PutMeta(k, blk);
  ArcStats s = a.Stats();
  EXPECT_EQ(P, s.meta_size);
  EXPECT_EQ(P, s.mru_size);
  auto got = a.GetMeta(k);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(blk, *got);
  s = a.Stats();
  EXPECT_EQ(1u, s.meta_hits);
  EXPECT_EQ(1u, s.meta_misses);
  EXPECT_EQ(P, s.mfu_size);
  // Another checksum at the same place is another block.
  EXPECT_FALSE(a.GetMeta({1, 0, 4096, 0x1234, 0x5679}).has_value());
  // Data pressure evicts metadata too (MFU's tail once MRU is at p); it comes back as a ghost hit.
  ASSERT_TRUE(a.Segment(K(1), 1 << 20).ok());
  for (int u = 0; u < 8; u++) ReadUnit(a, 1, u);
  for (int u = 0; u < 7; u++) ReadUnit(a, 1, u);  // MFU: 7 data units + the metadata block
  for (int u = 8; u < 16; u++) ReadUnit(a, 1, u);
  for (int u = 0; u < 8; u++) ReadUnit(a, 1, u);  // the metadata block is MFU's tail now
  ReadUnit(a, 1, 100);
  EXPECT_FALSE(a.GetMeta(k).has_value());
  a.PutMeta(k, blk);
  s = a.Stats();
  EXPECT_EQ(1u, s.mfu_ghost_hits);
  EXPECT_EQ(P, s.meta_size);
  CheckBounds(a);
}

// The Filler runs without the ARC's lock: it may call the ARC itself (the DMU's filler reads
// indirect blocks through the metadata cache), and other readers are not blocked by it.
TEST(ArcTest, FillerRunsOutsideTheLock) {
  Arc a(1 << 20);
  ASSERT_TRUE(a.Segment(K(1), 1 << 20).ok());
  ReadUnit(a, 1, 5);
  std::promise<void> entered, go;
  std::shared_future<void> go_f = go.get_future().share();
  std::thread slow([&] {
    Bytes out(P);
    Status s = a.Read(K(1), 0, P, 0, out, [&]() -> Result<Bytes> {
      (void)a.Stats();
      (void)a.GetMeta({1, 2, 3, 4, 5});
      entered.set_value();
      go_f.wait();
      return PatFill(1, 0, P)();
    });
    EXPECT_TRUE(s.ok());
    EXPECT_EQ(Pat(1, 10), out[10]);
  });
  entered.get_future().wait();
  ReadUnit(a, 1, 5);  // a hit while the fill is under way
  ReadUnit(a, 1, 6);  // and another unit's fill
  // A write-through that meets the fill in flight makes it stale: not cached afterwards.
  ASSERT_TRUE(a.Update(K(1), 0, P, 0, Bytes(10, 9)).ok());
  go.set_value();
  slow.join();
  EXPECT_FALSE(a.Cached(K(1), 0));
  EXPECT_TRUE(a.Cached(K(1), 6 * P));
}

TEST(ArcTest, ConcurrentReaders) {
  Arc a(32 * P);
  std::vector<std::shared_ptr<ArcSegment>> segs;  // kept open, as a reader would
  for (uint64_t obj = 1; obj <= 3; obj++) {
    auto sr = a.Segment(K(obj), 64 * P);
    ASSERT_TRUE(sr.ok());
    segs.push_back(*sr);
  }
  Fills f;
  std::atomic<int> bad{0};
  const int kThreads = 4, kReads = 3000;
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; t++)
    ts.emplace_back([&, t] {
      std::mt19937_64 rng(t);
      for (int i = 0; i < kReads; i++) {
        uint64_t obj = 1 + rng() % 3, u = (rng() % 4 == 0) ? rng() % 64 : rng() % 12;
        uint64_t at = u * P + rng() % P, n = std::min<uint64_t>(1 + rng() % 200, (u + 1) * P - at);
        Bytes out(n);
        Status s = a.Read(K(obj), u * P, P, at, out, PatFill(obj, u * P, P, &f));
        if (!s.ok()) {
          bad++;
          continue;
        }
        for (uint64_t j = 0; j < n; j++)
          if (out[j] != Pat(obj, at + j)) {
            bad++;
            break;
          }
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(0, bad);
  ArcStats s = a.Stats();
  EXPECT_EQ(static_cast<uint64_t>(kThreads * kReads), s.hits + s.misses);
  EXPECT_EQ(static_cast<uint64_t>(f.n), s.misses);  // one fill per miss, never two at once
  EXPECT_GT(s.hits, 0u);
  EXPECT_GT(s.evictions, 0u);
  EXPECT_LE(s.size, 32 * P);
  EXPECT_EQ(s.size, s.resident);
  CheckBounds(a);
}

// A segment whose every unit was evicted and that nobody else holds is closed (one descriptor
// per cached object, not per object ever read); its ghosts remain.
TEST(ArcTest, EmptySegmentsAreClosed) {
  Arc a(4 * P);
  ASSERT_TRUE(a.Segment(K(1), 16 * P).ok());
  auto held = a.Segment(K(2), 16 * P);
  ASSERT_TRUE(held.ok());
  for (int i = 0; i < 2; i++) ReadUnit(a, 1, 0);  // MFU
  for (int i = 0; i < 2; i++) ReadUnit(a, 2, 0);
  ASSERT_TRUE(a.Segment(K(3), 16 * P).ok());
  for (int u = 0; u < 4; u++)  // MFU fills with K(3)'s units; K(1)'s and K(2)'s become ghosts
    for (int i = 0; i < 2; i++) ReadUnit(a, 3, u);
  EXPECT_FALSE(a.Cached(K(1), 0));
  EXPECT_FALSE(a.Cached(K(2), 0));
  EXPECT_EQ(nullptr, a.FindSegment(K(1)));
  EXPECT_NE(nullptr, a.FindSegment(K(2)));  // a client holds it
  ArcStats s = a.Stats();
  EXPECT_EQ(2u, s.segments);
  EXPECT_EQ(2 * P, s.mfu_ghost_size);
  ASSERT_TRUE(a.Segment(K(1), 16 * P).ok());
  ReadUnit(a, 1, 0);
  EXPECT_EQ(1u, a.Stats().mfu_ghost_hits);  // remembered across the new memfd
  EXPECT_TRUE(a.Cached(K(1), 0));
}

TEST(ArcTest, MappedBytesAreCounted) {
  Arc a(1 << 20);
  a.AddMapped(8192);
  a.AddMapped(4096);
  a.AddMapped(-8192);
  EXPECT_EQ(4096u, a.Stats().mapped);
}

// Fills write their bytes into the memfd without the ARC's lock. Readers fill 8 MiB units
// while writes through (Update of a page whose version moved), shrinks (Resize) and block-size
// changes (ForgetUnits) come in: a cached unit always holds every page's latest version, a
// shrunk memfd is never grown back by a late write, and no stale write leaves pages behind.
TEST(ArcTest, FillWritesOutsideTheLockYieldToChanges) {
  constexpr uint64_t U = 8 << 20, kUnits = 3, kSize = kUnits * U, kPages = kSize / P;
  Arc a(64 << 20);
  auto seg = a.Segment(K(1), kSize);
  ASSERT_TRUE(seg.ok());
  std::vector<std::atomic<uint64_t>> ver(kPages);  // the file: page x holds Pat(1, x * P, ver[x])
  auto fill = [&](uint64_t off) {
    return [&, off]() -> Result<Bytes> {
      Bytes b(U);
      for (uint64_t x = 0; x < U / P; x++)
        std::memset(b.data() + x * P, Pat(1, off + x * P, ver[off / P + x]), P);
      return b;
    };
  };
  std::mt19937 rng(7);
  auto check = [&](uint64_t size) {
    for (uint64_t off = 0; off < size; off += U) {
      auto b = a.Peek(K(1), off, U);
      if (!b.ok()) continue;
      for (uint64_t x = 0; x < U / P; x++)
        ASSERT_EQ(Pat(1, off + x * P, ver[off / P + x]), (*b)[x * P + x % P]) << "page " << off / P + x;
    }
    struct stat st;
    ASSERT_EQ(0, fstat((*seg)->fd(), &st));
    EXPECT_EQ(size, static_cast<uint64_t>(st.st_size));
  };
  for (int round = 0; round < 40; round++) {
    // Every unit is filled anew by two readers, and a change meets the fills at a random time.
    a.ForgetUnits(K(1));
    std::atomic<bool> stop{false};
    std::vector<std::thread> readers;
    for (uint64_t t = 0; t < 2; t++)
      readers.emplace_back([&, t] {
        Bytes out(P);
        for (uint64_t i = t; !stop; i++) {
          uint64_t off = (i % kUnits) * U;
          (void)a.Read(K(1), off, U, off, out, fill(off));
        }
      });
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 4000));
    if (round % 2) {  // writes of pages: the data changes, then the write-through
      for (uint64_t x = rng() % 64; x < kPages; x += 64) {
        uint64_t v = ++ver[x];
        ASSERT_TRUE(a.Update(K(1), x * P / U * U, U, x * P, Bytes(P, Pat(1, x * P, v))).ok());
      }
      stop = true;
    } else {
      ASSERT_TRUE(a.Resize(K(1), U).ok());
      stop = true;
      check(U);
      ASSERT_TRUE(a.Resize(K(1), kSize).ok());
    }
    for (auto& t : readers) t.join();
    check(kSize);
    ASSERT_EQ(a.Stats().data_size, (*seg)->ResidentBytes()) << "round " << round;  // no stray page
  }
  CheckBounds(a);
}

}  // namespace
}  // namespace uzfs
