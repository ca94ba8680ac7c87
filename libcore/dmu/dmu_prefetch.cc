// Reads ahead for a traversal (see dmu_prefetch.h; dmu_traverse.c traverse_prefetch_metadata
// and the ARC_PREFETCH reads of traverse_visitbp).
#include "libcore/dmu/dmu_prefetch.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "libcore/base/compress.h"
#include "libcore/zio/zio_read.h"

namespace uzfs {

PrefetchReader::PrefetchReader(BlockReader* below, unsigned threads, uint64_t window, RangeRead range,
                               uint64_t agg_max)
    : below_(below), window_(window), range_(std::move(range)), agg_max_(range_ ? agg_max : 0) {
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

uint64_t PrefetchReader::aggregated() const {
  std::lock_guard<std::mutex> l(mu_);
  return aggregated_;
}

bool PrefetchReader::Joinable(const BlkPtr& bp) {
  const uint8_t c = bp.compress();
  return !bp.dva[0].empty() && !bp.dva[0].gang() && bp.psize() == bp.lsize() &&
         (c == static_cast<uint8_t>(CompressId::kOff) || c == static_cast<uint8_t>(CompressId::kInherit) ||
          c == static_cast<uint8_t>(CompressId::kOn));
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
  Bytes buf;  // this worker's run buffer
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
    if (agg_max_ == 0 || !Joinable(s->bp)) {
      l.unlock();
      Result<Bytes> r = below_->Read(s->bp);
      l.lock();
      s->result.emplace(std::move(r));
      s->done = true;
      done_cv_.notify_all();
      continue;
    }
    // The queued blocks right after it on the same vdev join its run (the traversal queues
    // a file's blocks in order, and a file written in order lies mostly in order).
    std::vector<std::shared_ptr<Slot>> run{s};
    const Dva& first = s->bp.dva[0];
    uint64_t end = first.offset() + first.asize();
    while (!queue_.empty() && end - first.offset() < agg_max_) {
      auto next = slots_.find(queue_.front());
      if (next == slots_.end()) {
        queue_.pop_front();
        continue;
      }
      const BlkPtr& bp = next->second->bp;
      if (!Joinable(bp) || bp.dva[0].vdev() != first.vdev() || bp.dva[0].offset() != end ||
          end + bp.dva[0].asize() - first.offset() > agg_max_)
        break;
      queue_.pop_front();
      next->second->started = true;
      end += bp.dva[0].asize();
      run.push_back(next->second);
    }
    if (run.size() > 1) aggregated_ += run.size();
    l.unlock();
    ReadRun(run, &buf);
    l.lock();
    for (auto& r : run) r->done = true;
    done_cv_.notify_all();
  }
}

void PrefetchReader::ReadRun(const std::vector<std::shared_ptr<Slot>>& run, Bytes* buf) {
  Status s = Status::Ok();
  const Dva& first = run.front()->bp.dva[0];
  const Dva& last = run.back()->bp.dva[0];
  const uint64_t len = last.offset() + last.asize() - first.offset();
  if (run.size() > 1) {
    if (buf->size() < len) buf->resize(len);  // kept by the worker for its next run
    s = range_(first.vdev(), first.offset(), MutByteSpan(buf->data(), len));
  }
  for (const auto& slot : run) {
    const BlkPtr& bp = slot->bp;
    Result<Bytes> r = Status::Error(EIO, "not read");
    if (run.size() > 1 && s.ok()) {
      ByteSpan phys(buf->data() + (bp.dva[0].offset() - first.offset()), bp.psize());
      if (VerifyBlockChecksum(bp, phys)) {
        Bytes b(phys.size());
        std::memcpy(b.data(), phys.data(), phys.size());
        r = std::move(b);
      }
    }
    // Alone, or not verified in the run: the whole read, with its other copies and reports.
    if (!r.ok()) r = below_->Read(bp);
    slot->result.emplace(std::move(r));
  }
}

}  // namespace uzfs
