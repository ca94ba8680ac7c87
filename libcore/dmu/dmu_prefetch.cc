// Reads ahead for a traversal (see dmu_prefetch.h; dmu_traverse.c traverse_prefetch_metadata
// and the ARC_PREFETCH reads of traverse_visitbp).
#include "libcore/dmu/dmu_prefetch.h"

#include <algorithm>

namespace uzfs {

PrefetchReader::PrefetchReader(BlockReader* below, unsigned threads, uint64_t window)
    : below_(below), window_(window) {
  for (unsigned i = 0; i < std::max(threads, 1u); i++) workers_.emplace_back([this] { Work(); });
}

PrefetchReader::~PrefetchReader() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
    queue_.clear();
  }
  work_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

PrefetchReader::Key PrefetchReader::KeyOf(const BlkPtr& bp) {
  return {bp.dva[0].vdev(), bp.dva[0].offset(), bp.birth, bp.cksum.word[0]};
}

uint64_t PrefetchReader::hits() const {
  std::lock_guard<std::mutex> l(mu_);
  return hits_;
}

void PrefetchReader::Prefetch(const BlkPtr& bp) {
  if (bp.is_hole() || bp.dva[0].empty()) return;
  Key k = KeyOf(bp);
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stop_ || slots_.count(k) || bytes_ + bp.lsize() > window_) return;
    auto s = std::make_shared<Slot>();
    s->bp = bp;
    s->size = bp.lsize();
    slots_.emplace(k, std::move(s));
    bytes_ += bp.lsize();
    queue_.push_back(k);
  }
  work_cv_.notify_one();
}

Result<Bytes> PrefetchReader::Read(const BlkPtr& bp, ReadReport* report) {
  if (report || bp.is_hole() || bp.dva[0].empty()) return below_->Read(bp, report);
  Key k = KeyOf(bp);
  std::unique_lock<std::mutex> l(mu_);
  auto it = slots_.find(k);
  if (it == slots_.end()) {
    l.unlock();
    return below_->Read(bp);
  }
  std::shared_ptr<Slot> s = it->second;
  slots_.erase(it);
  bytes_ -= s->size;
  if (!s->started) {
    // No worker took it yet: read it here rather than wait behind the queue.
    queue_.erase(std::find(queue_.begin(), queue_.end(), k));
    l.unlock();
    return below_->Read(bp);
  }
  done_cv_.wait(l, [&] { return s->done; });
  hits_++;
  return std::move(*s->result);
}

void PrefetchReader::Work() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    work_cv_.wait(l, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    Key k = queue_.front();
    queue_.pop_front();
    auto it = slots_.find(k);
    if (it == slots_.end()) continue;
    std::shared_ptr<Slot> s = it->second;
    s->started = true;
    l.unlock();
    Result<Bytes> r = below_->Read(s->bp);
    l.lock();
    s->result.emplace(std::move(r));
    s->done = true;
    done_cv_.notify_all();
  }
}

}  // namespace uzfs
