#include "libcore/zio/zio_pipeline.h"

#include <algorithm>
#include <mutex>
#include <thread>

namespace uzfs {

namespace {
// Items of a batch small enough that handing them to other threads costs more than it saves.
constexpr uint64_t kParallelMinBytes = 64 * 1024;
}  // namespace

Status WriteBlocks(std::vector<BlockWrite>& batch, uint64_t txg, const WritePipeline& pl,
                   std::vector<VdevIoError>* errs) {
  TaskQueue& q = pl.taskq ? *pl.taskq : TaskQueue::Shared();
  uint64_t total = 0;
  for (const BlockWrite& w : batch) total += w.data.size();
  bool parallel = batch.size() > 1 && total >= kParallelMinBytes;
  // 1. compress + checksum (CPU: as wide as the machine)
  auto prepare = [&](size_t i) {
    BlockWrite& w = batch[i];
    w.prepared = PrepareBlock(w.data, w.props);
    w.bp = BlkPtr{};
    FillBlkPtr(&w.bp, w.prepared, w.props, txg);
  };
  if (parallel) {
    q.ParallelFor(batch.size(), prepare, std::max(1u, std::thread::hardware_concurrency()));
  } else {
    for (size_t i = 0; i < batch.size(); i++) prepare(i);
  }
  // 2. allocate, in order
  for (BlockWrite& w : batch) {
    if (w.prepared.hole()) continue;
    UZFS_TRY(pl.allocate(w));
  }
  // 3. write every DVA
  std::mutex mu;
  Status first = Status::Ok();
  auto write = [&](size_t i) {
    BlockWrite& w = batch[i];
    if (w.prepared.hole()) return;
    std::vector<VdevIoError> mine;
    Status s = WriteDvas(w.bp, w.prepared, pl.top, &mine);
    if (s.ok() && mine.empty()) return;
    std::lock_guard<std::mutex> l(mu);
    if (errs) errs->insert(errs->end(), mine.begin(), mine.end());
    if (!s.ok() && first.ok()) first = s;
  };
  if (parallel && pl.concurrent_io) {
    q.ParallelFor(batch.size(), write);
  } else {
    for (size_t i = 0; i < batch.size(); i++) write(i);
  }
  return first;
}

}  // namespace uzfs
