// Read-ahead of file data read through the mount (OpenZFS dmu_zfetch.c): reads of an object
// that continue where the last one ended form a stream, and each read of a stream starts the
// ARC fills of the units ahead of it, a window that doubles from twice the read's size up to
// kZfetchMaxDistance (zfetch_max_distance). The fills run on a process-wide set of I/O
// threads, so the blocks of the window are read from the disks several at a time while the
// reader consumes the ones already in: a sequential reader sees the devices' bandwidth, not
// one request's latency.
//
// Stream detection (Access) is separate from issuing (Issue) so that the caller can plan the
// fills under its own lock (the pool's, which the block lookups need) and dispatch them after
// dropping it.
//
// Locks: mu_ guards streams_ and the in-flight count; the fills themselves run unlocked and
// finish their ARC tickets (Arc::FinishFill) on the I/O threads.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <mutex>

#include "libcore/arc/arc.h"

namespace uzfs {

// How far a stream reads ahead at most (OpenZFS's zfetch_max_distance, 8 MiB in the releases
// of zfs-fuse's era).
inline constexpr uint64_t kZfetchMaxDistance = 8u << 20;
// Streams remembered at once (zfetch_max_streams is per file; one per object here, the
// least recently used forgotten first).
inline constexpr size_t kZfetchMaxStreams = 64;
// The I/O threads filling windows (each fill is one blocking read of a unit).
inline constexpr unsigned kZfetchThreads = 8;

class Zfetch {
 public:
  struct Range {
    uint64_t from = 0, to = 0;
    bool empty() const { return to <= from; }
  };

  Zfetch() = default;
  ~Zfetch();  // waits for the fills it issued
  Zfetch(const Zfetch&) = delete;
  Zfetch& operator=(const Zfetch&) = delete;

  // Records a read of [off, off+len) of object k, whose data ends at size. Returns the part
  // of the window ahead of it not yet issued (empty for the first read of a stream, a read
  // that does not follow the last, or a window already issued to its end). The window is
  // at most max_distance (the caller's share of its cache: read-ahead that the cache evicts
  // before the reader comes is wasted reads).
  Range Access(const ArcObjKey& k, uint64_t off, uint64_t len, uint64_t size,
               uint64_t max_distance = kZfetchMaxDistance);

  // Runs each fill on the I/O threads (each one self-contained: it holds what it reads and
  // finishes its own ARC ticket). Fills issued after Drain are run at once on the caller.
  void Issue(std::vector<std::function<void()>> fills);

  // Waits until every issued fill has finished (a pool going away: the fills read through it).
  void Drain();

  // Fills issued since creation (tests, statistics).
  uint64_t issued() const;

 private:
  struct Stream {
    uint64_t next = 0;     // where the stream's next read is expected
    uint64_t pf_end = 0;   // the window issued so far ends here
    uint64_t window = 0;   // current distance ahead of the reader
  };
  mutable std::mutex mu_;
  std::condition_variable idle_;
  std::map<ArcObjKey, std::list<std::pair<ArcObjKey, Stream>>::iterator> index_;
  std::list<std::pair<ArcObjKey, Stream>> lru_;  // most recent first
  uint64_t inflight_ = 0;
  uint64_t issued_ = 0;
  bool draining_ = false;
};

}  // namespace uzfs
