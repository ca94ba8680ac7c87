// TaskQueue: a fixed set of worker threads that run the parallel steps of the write pipeline
// (OpenZFS's zio taskqs, taskq.c): compressing and checksumming the blocks of a txg, and
// issuing their device writes so several are in flight at once.
//
// ParallelFor(n, fn) runs fn(0) .. fn(n-1), each exactly once, on the workers and on the
// calling thread, and returns when all have finished. The caller takes part, so a call made
// from inside a task (or while every worker is busy with another caller's work) still
// completes. Calls from several threads at once are fine; their items interleave.
//
// Locks: mu_ guards the job queue and stop_; each ParallelFor's progress is in its own
// shared state (atomics and a mutex/condvar of its own).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace uzfs {

class TaskQueue {
 public:
  explicit TaskQueue(unsigned threads);
  ~TaskQueue();
  TaskQueue(const TaskQueue&) = delete;
  TaskQueue& operator=(const TaskQueue&) = delete;

  // Runs fn(i) for every i in [0, n); at most `width` items run at the same time (0: one per
  // worker plus the caller).
  void ParallelFor(size_t n, const std::function<void(size_t)>& fn, unsigned width = 0);
  // Runs job on a worker, some time later (fire and forget: the caller keeps whatever job
  // refers to alive until it has run).
  void Dispatch(std::function<void()> job);
  unsigned threads() const { return static_cast<unsigned>(workers_.size()); }

  // The process's queue for the write pipeline: 2 threads per core, at least 4 (the I/O
  // steps wait on devices, so more than the cores help keep several writes in flight).
  static TaskQueue& Shared();

 private:
  void Work();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace uzfs
