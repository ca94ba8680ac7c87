// Stream detection and the I/O threads of file read-ahead (see dmu_zfetch.h).
#include "libcore/dmu/dmu_zfetch.h"

#include <algorithm>

#include "libcore/base/taskq.h"

namespace uzfs {

namespace {

// Reads of one stream may reach us out of order by about one request each way (the kernel
// keeps two read-ahead requests in flight, served by different FUSE threads), so a read
// within this distance of where the stream was expected continues it (dmu_zfetch's
// zfetch_stream_t matching, which also allows a small gap).
constexpr uint64_t kSlack = 2u << 20;

TaskQueue& IoThreads() {
  static TaskQueue* q = new TaskQueue(kZfetchThreads);
  return *q;
}

}  // namespace

Zfetch::~Zfetch() { Drain(); }

Zfetch::Range Zfetch::Access(const ArcObjKey& k, uint64_t off, uint64_t len, uint64_t size,
                             uint64_t max_distance) {
  max_distance = std::min(max_distance, kZfetchMaxDistance);
  std::lock_guard<std::mutex> l(mu_);
  auto it = index_.find(k);
  if (it == index_.end()) {
    lru_.emplace_front(k, Stream{off + len, off + len, 0});
    index_[k] = lru_.begin();
    if (lru_.size() > kZfetchMaxStreams) {
      index_.erase(lru_.back().first);
      lru_.pop_back();
    }
    return {};
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  Stream& s = it->second->second;
  uint64_t lo = s.next > kSlack ? s.next - kSlack : 0;
  if (off < lo || off > s.next + kSlack) {  // a jump: a new stream starts here
    s = Stream{off + len, off + len, 0};
    return {};
  }
  s.next = std::max(s.next, off + len);
  s.window = s.window ? std::min(2 * s.window, max_distance)
                      : std::min(std::max<uint64_t>(2 * len, 256u << 10), max_distance);
  Range r{std::max(s.pf_end, off + len), std::min(off + len + s.window, size)};
  if (r.empty()) return {};
  s.pf_end = r.to;
  return r;
}

void Zfetch::Issue(std::vector<std::function<void()>> fills) {
  if (fills.empty()) return;
  bool now = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    now = draining_;
    if (!now) {
      inflight_ += fills.size();
      issued_ += fills.size();
    }
  }
  if (now) {  // the pool is going away: nothing more in the background
    for (auto& f : fills) f();
    return;
  }
  for (auto& f : fills) {
    IoThreads().Dispatch([this, f = std::move(f)] {
      f();
      std::lock_guard<std::mutex> l(mu_);
      if (--inflight_ == 0) idle_.notify_all();
    });
  }
}

void Zfetch::Drain() {
  std::unique_lock<std::mutex> l(mu_);
  draining_ = true;
  idle_.wait(l, [&] { return inflight_ == 0; });
}

uint64_t Zfetch::issued() const {
  std::lock_guard<std::mutex> l(mu_);
  return issued_;
}

}  // namespace uzfs
