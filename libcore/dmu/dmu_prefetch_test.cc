// PrefetchReader: prefetched blocks come back as the reader below returns them, several
// reads run at once, the window bounds what is read ahead, errors reach the Read that takes
// the block, holes are not read, a reader destroyed with blocks never taken drops the
// queued ones and does not hang, and adjacent blocks come in runs, each block verified.
#include "libcore/dmu/dmu_prefetch.h"

#include <gtest/gtest.h>

#include <atomic>
#include <bit>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <chrono>
#include <cerrno>
#include <thread>

#include "libcore/base/checksum.h"
#include "libcore/base/compress.h"

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

// A file of 4 KiB blocks (block n at n * 4096, each byte n) whose bps carry their fletcher4;
// the reader below returns the good bytes (as another copy would), the range reads return
// what the file holds. A compressed block is a gate: its read waits until opened.
class Disk : public BlockReader {
 public:
  Disk() : file_(64 * 4096) {
    for (size_t i = 0; i < file_.size(); i++) file_[i] = static_cast<uint8_t>(i / 4096);
  }
  static BlkPtr Bp(uint64_t n, bool gate = false) {
    BlkPtr bp = Block(n * 8);
    bp.set_checksum(static_cast<uint8_t>(ChecksumId::kFletcher4));
    bp.set_little_endian(std::endian::native == std::endian::little);
    bp.set_compress(static_cast<uint8_t>(gate ? CompressId::kLzjb : CompressId::kOff));
    bp.cksum = Fletcher4Native(Bytes(4096, static_cast<uint8_t>(n)));
    return bp;
  }
  Result<Bytes> Read(const BlkPtr& bp, ReadReport*) override {
    if (bp.compress() == static_cast<uint8_t>(CompressId::kLzjb)) {
      std::unique_lock<std::mutex> l(mu_);
      gated_ = true;
      cv_.wait(l, [&] { return open_; });
    } else {
      block_reads_++;
    }
    return Bytes(4096, static_cast<uint8_t>(bp.dva[0].offset() / 4096));
  }
  Status Range(uint64_t vdev, uint64_t offset, MutByteSpan out) {
    range_reads_++;
    if (vdev != 0 || offset + out.size() > file_.size()) return Status::Error(EIO, "out of range");
    std::memcpy(out.data(), file_.data() + offset, out.size());
    return Status::Ok();
  }
  void Open() {
    std::lock_guard<std::mutex> l(mu_);
    open_ = true;
    cv_.notify_all();
  }
  Bytes file_;
  std::atomic<int> block_reads_{0}, range_reads_{0};
  std::atomic<bool> gated_{false};

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

TEST(PrefetchReaderTest, AdjacentBlocksAreReadInRunsAndVerified) {
  Disk disk;
  disk.file_[5 * 4096 + 100] ^= 1;  // block 5 damaged where the run reads it
  PrefetchReader r(&disk, 1, 1 << 20,
                   [&](uint64_t v, uint64_t o, MutByteSpan out) { return disk.Range(v, o, out); },
                   8 * 4096);
  r.Prefetch(Disk::Bp(40, true));  // holds the one worker until all below are queued
  while (!disk.gated_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  for (uint64_t n = 1; n <= 16; n++) r.Prefetch(Disk::Bp(n));
  r.Prefetch(Disk::Bp(30));  // not next to 16: alone
  disk.Open();
  // The worker is let read all of them before they are taken (a Read of a block no worker
  // took yet reads it at once, alone).
  for (int i = 0; i < 5000 && disk.block_reads_ + disk.range_reads_ < 4; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(r.Read(Disk::Bp(40, true)).ok());
  for (uint64_t n : {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 30}) {
    auto b = r.Read(Disk::Bp(n));
    ASSERT_TRUE(b.ok()) << n << ": " << b.status().message();
    EXPECT_EQ(*b, Bytes(4096, static_cast<uint8_t>(n))) << n;
  }
  EXPECT_EQ(disk.range_reads_.load(), 2);  // blocks 1-8 and 9-16
  EXPECT_EQ(r.aggregated(), 16u);
  EXPECT_EQ(disk.block_reads_.load(), 2);  // block 5, which did not verify, and block 30
  EXPECT_EQ(r.hits(), 18u);
}

}  // namespace
}  // namespace uzfs
