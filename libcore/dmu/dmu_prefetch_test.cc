// PrefetchReader: prefetched blocks come back as the reader below returns them, several
// reads run at once, the window bounds what is read ahead, errors reach the Read that takes
// the block, holes are not read, and a reader destroyed with blocks never taken drops the
// queued ones and does not hang.
#include "libcore/dmu/dmu_prefetch.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cerrno>
#include <thread>

namespace uzfs {
namespace {

// Blocks whose bytes are their offset's low byte; each read takes `delay`.
class SlowReader : public BlockReader {
 public:
  explicit SlowReader(std::chrono::milliseconds delay) : delay_(delay) {}
  Result<Bytes> Read(const BlkPtr& bp, ReadReport*) override {
    int now = ++active_;
    for (int m = max_; now > m && !max_.compare_exchange_weak(m, now);) {}
    std::this_thread::sleep_for(delay_);
    reads_++;
    --active_;
    if (bp.dva[0].offset() == bad_) return Status::Error(ECKSUM, "checksum mismatch");
    return Bytes(bp.lsize(), static_cast<uint8_t>(bp.dva[0].offset() >> 9));
  }
  std::atomic<int> active_{0}, max_{0}, reads_{0};
  uint64_t bad_ = UINT64_MAX;

 private:
  std::chrono::milliseconds delay_;
};

BlkPtr Block(uint64_t n, uint64_t size = 4096) {
  BlkPtr bp;
  bp.dva[0].Set(0, n << 9, size);
  bp.set_lsize(size);
  bp.set_psize(size);
  bp.birth = 10;
  bp.cksum.word[0] = n;
  return bp;
}

TEST(PrefetchReaderTest, PrefetchedBlocksReadInParallelAndComeBackWhole) {
  SlowReader below(std::chrono::milliseconds(20));
  PrefetchReader r(&below, 4, 1 << 20);
  for (uint64_t n = 1; n <= 8; n++) r.Prefetch(Block(n));
  for (uint64_t n = 1; n <= 8; n++) {
    auto b = r.Read(Block(n));
    ASSERT_TRUE(b.ok()) << b.status().message();
    EXPECT_EQ(*b, Bytes(4096, static_cast<uint8_t>(n)));
  }
  EXPECT_GE(below.max_.load(), 2);  // reads overlapped
  EXPECT_EQ(below.reads_.load(), 8);  // each block read once
  EXPECT_GE(r.hits(), 1u);
  // Taken blocks are gone: a second read goes to the disk again.
  ASSERT_TRUE(r.Read(Block(1)).ok());
  EXPECT_EQ(below.reads_.load(), 9);
}

TEST(PrefetchReaderTest, WindowBoundsWhatIsReadAhead) {
  SlowReader below(std::chrono::milliseconds(1));
  PrefetchReader r(&below, 2, 3 * 4096);
  for (uint64_t n = 1; n <= 6; n++) r.Prefetch(Block(n));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(below.reads_.load(), 3);  // the rest did not fit
  for (uint64_t n = 1; n <= 6; n++) {
    auto b = r.Read(Block(n));
    ASSERT_TRUE(b.ok());
    EXPECT_EQ((*b)[0], static_cast<uint8_t>(n));
  }
  EXPECT_EQ(r.hits(), 3u);
  EXPECT_EQ(below.reads_.load(), 6);
}

TEST(PrefetchReaderTest, ErrorsReachTheRead) {
  SlowReader below(std::chrono::milliseconds(1));
  below.bad_ = 3 << 9;
  PrefetchReader r(&below, 2, 1 << 20);
  for (uint64_t n = 1; n <= 4; n++) r.Prefetch(Block(n));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(r.Read(Block(2)).ok());
  auto b = r.Read(Block(3));
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), ECKSUM);
}

TEST(PrefetchReaderTest, HolesAreNotPrefetched) {
  SlowReader below(std::chrono::milliseconds(1));
  PrefetchReader r(&below, 2, 1 << 20);
  BlkPtr hole;
  hole.set_lsize(4096);
  r.Prefetch(hole);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(below.reads_.load(), 0);
}

TEST(PrefetchReaderTest, UntakenBlocksDoNotHang) {
  SlowReader below(std::chrono::milliseconds(5));
  {
    PrefetchReader r(&below, 2, 1 << 20);
    for (uint64_t n = 1; n <= 20; n++) r.Prefetch(Block(n));
  }  // destroyed with most of them queued or in flight
  EXPECT_LT(below.reads_.load(), 20);  // the queued ones were dropped, not read
  EXPECT_EQ(below.active_.load(), 0);
}

}  // namespace
}  // namespace uzfs
