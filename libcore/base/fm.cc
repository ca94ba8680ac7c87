// EventLog (fm.h): zfs_zevent_post, zfs_zevent_next, zfs_zevent_drain_all.
#include "libcore/base/fm.h"

#include <time.h>

namespace uzfs {

void EventLog::Post(NvList ev) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  NvValue t;
  t.type = NvType::kInt64Array;
  t.i_arr = {static_cast<int64_t>(ts.tv_sec), static_cast<int64_t>(ts.tv_nsec)};
  ev.Remove("time");
  ev.AddValue("time", std::move(t));
  {
    std::lock_guard<std::mutex> l(mu_);
    ev.Remove("eid");
    ev.AddUint64("eid", next_eid_++);
    q_.push_back(std::move(ev));
    while (q_.size() > max_) q_.pop_front();
  }
}

EventLog::Batch EventLog::Next(uint64_t after, size_t max) {
  std::lock_guard<std::mutex> l(mu_);
  Batch b;
  const uint64_t first = next_eid_ - q_.size();  // the oldest eid still queued
  if (after == 0) {  // a new reader starts at the oldest event queued (nothing dropped)
    after = first - 1;
  } else if (after + 1 < first) {
    b.dropped = first - after - 1;
    after = first - 1;
  }
  for (uint64_t eid = after + 1; eid < next_eid_ && b.events.size() < max; eid++)
    b.events.push_back(q_[eid - first]);
  b.last = after + b.events.size();
  if (after >= next_eid_) b.last = next_eid_ - 1;  // a cursor from before a restart
  return b;
}

uint64_t EventLog::Clear() {
  std::lock_guard<std::mutex> l(mu_);
  uint64_t n = q_.size();
  q_.clear();
  return n;
}

}  // namespace uzfs
