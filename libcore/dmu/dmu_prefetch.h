// PrefetchReader: a BlockReader that reads blocks ahead on worker threads, for a traversal
// that knows which blocks it will visit next (dmu_traverse.c's TRAVERSE_PREFETCH: visiting
// an indirect block starts arc_read(ARC_NOWAIT | ARC_PREFETCH) of its children, so their
// reads are in flight, several at once, while the traversal works on the first ones).
//
// Prefetch(bp) is a hint: it starts a read of bp on a worker unless one is started already
// or the window (bytes read ahead and not yet taken) is full. Read(bp) takes a prefetched
// block, waiting for its read if it is in flight (or doing it at once if no worker took it
// yet), and reads anything else directly. Each prefetched block is taken once; a block
// prefetched and never read holds its part of the window until the reader is destroyed.
//
// With a RangeRead (raw reads of a top-level vdev's address space), a worker takes the
// queued blocks that lie back to back on disk with the one it starts, up to agg_max bytes,
// and reads them with one read (vdev_queue_aggregate's run of adjacent reads): each is then
// verified against its checksum as Read would; one that does not verify, or a run whose read
// fails, is read through `below` (which tries the other copies and reports the errors).
// Only blocks stored as they are in memory (not compressed, not gang) join a run.
//
// Thread safety: Prefetch and Read may be called from any thread. mu_ guards queue_, slots_,
// bytes_ and stop_; the workers read through `below` without it (below must allow
// concurrent Reads, as Pool::Read does). The destructor waits for the reads in flight.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>
#include <vector>

#include "libcore/zio/block_reader.h"

namespace uzfs {

// Reads out.size() raw bytes at offset of top-level vdev `vdev`'s address space (no checksum),
// or fails when that vdev cannot serve one read of several blocks (raidz, whose columns
// are laid out per block).
using RangeRead = std::function<Status(uint64_t vdev, uint64_t offset, MutByteSpan out)>;

class PrefetchReader : public BlockReader {
 public:
  // threads: workers reading at once; window: bytes (logical sizes) read ahead at most;
  // range, agg_max: the runs of adjacent blocks read at once (none without range).
  PrefetchReader(BlockReader* below, unsigned threads, uint64_t window, RangeRead range = {},
                 uint64_t agg_max = 0);
  ~PrefetchReader() override;
  PrefetchReader(const PrefetchReader&) = delete;
  PrefetchReader& operator=(const PrefetchReader&) = delete;

  void Prefetch(const BlkPtr& bp);
  // A caller wanting a report reads directly (the report is of that read).
  Result<Bytes> Read(const BlkPtr& bp, ReadReport* report = nullptr) override;
  // Reads answered from a prefetch, and blocks that came in a run of several (tests and
  // statistics).
  uint64_t hits() const;
  uint64_t aggregated() const;
  // A block that may join a run: stored as it is in memory (not compressed, not gang).
  static bool Joinable(const BlkPtr& bp);

 private:
  // A block by its first DVA, birth and checksum: one block while the snapshot is held.
  using Key = std::tuple<uint64_t, uint64_t, uint64_t, uint64_t>;
  static Key KeyOf(const BlkPtr& bp);
  struct Slot {
    BlkPtr bp;
    uint64_t size = 0;
    bool started = false, done = false;
    std::optional<Result<Bytes>> result;
  };
  void Work();
  // Reads the slots of one run (their DVA[0]s back to back from the first) and fills each.
  void ReadRun(const std::vector<std::shared_ptr<Slot>>& run, Bytes* buf);
  BlockReader* const below_;
  const uint64_t window_;
  const RangeRead range_;
  const uint64_t agg_max_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // with mu_: a job queued, or stop_
  std::condition_variable done_cv_;  // with mu_: a slot's read finished
  std::deque<Key> queue_;            // slots not started, oldest first
  std::map<Key, std::shared_ptr<Slot>> slots_;
  uint64_t bytes_ = 0;  // sizes of slots_
  uint64_t hits_ = 0;
  uint64_t aggregated_ = 0;
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace uzfs
