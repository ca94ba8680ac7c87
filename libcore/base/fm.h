// EventLog: the queue of ZFS events zfsd keeps for `zpool events` (OpenZFS's fm.c: the zevent
// list that zfs_zevent_post appends to and ZFS_IOC_EVENTS_NEXT reads; zfs_zevent_len_max).
//
// An event is an nvlist as OpenZFS builds it (zfs_fm.c, spa.c spa_event_create): "class"
// (ereport.fs.zfs.checksum, ereport.fs.zfs.io, resource.fs.zfs.statechange,
// sysevent.fs.zfs.pool_create ...), the pool and vdev it is about, and, added by Post, "time"
// (int64 array {seconds, nanoseconds}) and "eid" (its number, counting from 1). The queue
// keeps the newest kMaxEvents; readers hold a cursor (the last eid they saw) and are told how
// many they missed when older events were dropped (zpool events' "dropped N events").
// Clear empties it (zpool events -c); eids keep counting.
//
// Thread safety: every method may be called from any thread; mu_ guards the queue and the
// counters.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "libcore/base/nvlist.h"

namespace uzfs {

class EventLog {
 public:
  static constexpr size_t kMaxEvents = 512;  // zfs_zevent_len_max's default

  explicit EventLog(size_t max_events = kMaxEvents) : max_(max_events) {}

  // Appends ev with its time and eid; the oldest event goes when the queue is full.
  void Post(NvList ev);

  struct Batch {
    std::vector<NvList> events;  // eid > after, oldest first
    uint64_t dropped = 0;        // events after `after` no longer in the queue
    uint64_t last = 0;           // the cursor to pass next time
  };
  // Events newer than eid `after` (0: a new reader, from the oldest queued), at most `max`.
  // Never waits (zfsd runs operations one at a time): a follower polls.
  Batch Next(uint64_t after, size_t max);
  // Drops every event; returns how many there were.
  uint64_t Clear();

 private:
  const size_t max_;
  std::mutex mu_;
  std::deque<NvList> q_;   // eids first_eid_ .. next_eid_-1
  uint64_t next_eid_ = 1;  // the eid the next Post gives
};

}  // namespace uzfs
