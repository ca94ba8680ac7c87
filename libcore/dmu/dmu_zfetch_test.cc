// Zfetch: a stream starts on its second read, its window doubles up to kZfetchMaxDistance and
// is issued only once, a jump starts a new stream, reads out of order by a request still
// continue it without issuing a range twice, the window stops at the data's end and within
// the caller's bound, streams are per object and the least
// recently used is forgotten; issued fills run on the I/O threads, several at once, and Drain
// waits for them.
#include "libcore/dmu/dmu_zfetch.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace uzfs {
namespace {

constexpr uint64_t kMiB = 1 << 20;
const ArcObjKey kA{1, 2, 3}, kB{1, 2, 4};

TEST(ZfetchTest, SecondSequentialReadStartsTheWindowWhichDoublesAndIsIssuedOnce) {
  Zfetch z;
  EXPECT_TRUE(z.Access(kA, 0, kMiB, 1 << 30).empty());  // the first read only records
  Zfetch::Range r = z.Access(kA, kMiB, kMiB, 1 << 30);
  EXPECT_EQ(2 * kMiB, r.from);
  EXPECT_EQ(4 * kMiB, r.to);  // twice the read ahead
  r = z.Access(kA, 2 * kMiB, kMiB, 1 << 30);
  EXPECT_EQ(4 * kMiB, r.from);  // what was issued is not issued again
  EXPECT_EQ(7 * kMiB, r.to);    // window 4 MiB from the read's end
  uint64_t end = r.to;
  for (uint64_t off = 3 * kMiB; off < 40 * kMiB; off += kMiB) {
    r = z.Access(kA, off, kMiB, 1 << 30);
    if (r.empty()) continue;
    EXPECT_EQ(end, r.from);
    EXPECT_LE(r.to - (off + kMiB), kZfetchMaxDistance);
    end = r.to;
  }
  EXPECT_EQ(40 * kMiB + kZfetchMaxDistance, end);  // the window stays at its bound
}

TEST(ZfetchTest, AJumpStartsANewStreamAndOutOfOrderReadsContinueOne) {
  Zfetch z;
  z.Access(kA, 0, kMiB, 1 << 30);
  EXPECT_FALSE(z.Access(kA, kMiB, kMiB, 1 << 30).empty());
  EXPECT_TRUE(z.Access(kA, 500 * kMiB, kMiB, 1 << 30).empty());  // a seek: no read-ahead
  // The kernel's two read-ahead requests served in the other order: still one stream.
  EXPECT_FALSE(z.Access(kA, 502 * kMiB, kMiB, 1 << 30).empty());
  Zfetch::Range r = z.Access(kA, 501 * kMiB, kMiB, 1 << 30);
  EXPECT_EQ(505 * kMiB, r.from);  // what 502's read issued is not issued again
  EXPECT_TRUE(z.Access(kA, 0, kMiB, 1 << 30).empty());            // back to the start: new
}

TEST(ZfetchTest, WindowStopsAtTheEndAndStreamsArePerObject) {
  Zfetch z;
  z.Access(kA, 0, kMiB, 3 * kMiB);
  Zfetch::Range r = z.Access(kA, kMiB, kMiB, 3 * kMiB);
  EXPECT_EQ(2 * kMiB, r.from);
  EXPECT_EQ(3 * kMiB, r.to);
  EXPECT_TRUE(z.Access(kA, 2 * kMiB, kMiB, 3 * kMiB).empty());  // nothing left ahead
  EXPECT_TRUE(z.Access(kB, kMiB, kMiB, 1 << 30).empty());       // B's first read
  EXPECT_FALSE(z.Access(kB, 2 * kMiB, kMiB, 1 << 30).empty());
}

TEST(ZfetchTest, WindowStaysWithinTheCallersBound) {
  Zfetch z;
  z.Access(kA, 0, kMiB, 1 << 30, kMiB / 2);
  for (uint64_t off = kMiB; off < 10 * kMiB; off += kMiB) {
    Zfetch::Range r = z.Access(kA, off, kMiB, 1 << 30, kMiB / 2);
    EXPECT_EQ(off + kMiB + kMiB / 2, r.to);
  }
  z.Access(kB, 0, kMiB, 1 << 30, 0);
  EXPECT_TRUE(z.Access(kB, kMiB, kMiB, 1 << 30, 0).empty());  // no cache: no read-ahead
}

TEST(ZfetchTest, LeastRecentlyUsedStreamIsForgotten) {
  Zfetch z;
  z.Access(kA, 0, kMiB, 1 << 30);
  for (uint64_t i = 0; i < kZfetchMaxStreams; i++) z.Access(ArcObjKey{9, 9, i}, 0, kMiB, 1 << 30);
  EXPECT_TRUE(z.Access(kA, kMiB, kMiB, 1 << 30).empty());  // A's stream was dropped: new one
  EXPECT_FALSE(z.Access(kA, 2 * kMiB, kMiB, 1 << 30).empty());
}

TEST(ZfetchTest, FillsRunSeveralAtOnceAndDrainWaitsForThem) {
  std::atomic<int> active{0}, most{0}, done{0};
  {
    Zfetch z;
    std::vector<std::function<void()>> fills;
    for (int i = 0; i < 16; i++)
      fills.push_back([&] {
        int now = ++active;
        for (int m = most; now > m && !most.compare_exchange_weak(m, now);) {}
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        --active;
        ++done;
      });
    z.Issue(std::move(fills));
    EXPECT_EQ(16u, z.issued());
    z.Drain();
    EXPECT_EQ(16, done.load());
    // After Drain (a pool going away) a fill runs on the caller, at once.
    bool ran = false;
    z.Issue({[&] { ran = true; }});
    EXPECT_TRUE(ran);
  }
  EXPECT_GE(most.load(), 4);  // reads overlap: a stream is not read one unit at a time
}

}  // namespace
}  // namespace uzfs
