#include "libcore/base/taskq.h"

#include <algorithm>
#include <atomic>
#include <memory>

namespace uzfs {

TaskQueue::TaskQueue(unsigned threads) {
  for (unsigned i = 0; i < threads; i++) workers_.emplace_back([this] { Work(); });
}

TaskQueue::~TaskQueue() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void TaskQueue::Work() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [this] { return stop_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, nothing left
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

void TaskQueue::Dispatch(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> l(mu_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void TaskQueue::ParallelFor(size_t n, const std::function<void(size_t)>& fn, unsigned width) {
  if (n == 0) return;
  unsigned helpers = static_cast<unsigned>(workers_.size());
  if (width) helpers = std::min(helpers, width - 1);
  helpers = static_cast<unsigned>(std::min<size_t>(helpers, n - 1));
  if (helpers == 0) {
    for (size_t i = 0; i < n; i++) fn(i);
    return;
  }
  // Shared with the helpers, which may still be starting after the caller returns: every
  // helper holds a reference and leaves without touching fn once no item is left.
  struct State {
    std::atomic<size_t> next{0};
    std::mutex mu;
    std::condition_variable cv;
    size_t done = 0;     // items finished
    unsigned active = 0;  // helpers between taking their first item and leaving
  };
  auto st = std::make_shared<State>();
  const std::function<void(size_t)>* f = &fn;
  auto run = [st, f, n] {
    size_t finished = 0;
    {
      std::lock_guard<std::mutex> l(st->mu);
      if (st->next.load() >= n) return;  // all taken: fn may already be gone
      st->active++;
    }
    for (size_t i; (i = st->next.fetch_add(1)) < n;) {
      (*f)(i);
      finished++;
    }
    std::lock_guard<std::mutex> l(st->mu);
    st->done += finished;
    st->active--;
    st->cv.notify_all();
  };
  {
    std::lock_guard<std::mutex> l(mu_);
    for (unsigned i = 0; i < helpers; i++) jobs_.push_back(run);
  }
  cv_.notify_all();
  size_t mine = 0;
  for (size_t i; (i = st->next.fetch_add(1)) < n;) {
    fn(i);
    mine++;
  }
  std::unique_lock<std::mutex> l(st->mu);
  st->done += mine;
  st->cv.wait(l, [&] { return st->done == n && st->active == 0; });
}

TaskQueue& TaskQueue::Shared() {
  static TaskQueue* q = new TaskQueue(std::max(4u, 2 * std::max(1u, std::thread::hardware_concurrency())));
  return *q;
}

}  // namespace uzfs
