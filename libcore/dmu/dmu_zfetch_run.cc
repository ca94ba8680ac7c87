// Read-ahead's runs of adjacent blocks, read at once (see dmu_zfetch_run.h).
#include "libcore/dmu/dmu_zfetch_run.h"

#include <atomic>
#include <cstring>

#include "libcore/zio/zio_read.h"

namespace uzfs {

namespace {

std::atomic<uint64_t> g_run_blocks{0};

// The one block a plan reads from disk (a whole unit of one block, as read-ahead plans it),
// or null.
const BlkPtr* SoleBlock(const ObjsetWriter::ReadPlan& p) {
  if (p.pieces.size() != 1 || p.pieces[0].srcs.size() != 1) return nullptr;
  const auto& src = p.pieces[0].srcs[0];
  if (src.image || src.bp.is_hole() || !src.bp.little_endian() || !PrefetchReader::Joinable(src.bp))
    return nullptr;
  return &src.bp;
}

// Serves a plan's block from the run's bytes when they verify, else reads through below (a
// caller wanting a report reads there too: the report is of that read).
class RunReader : public BlockReader {
 public:
  RunReader(BlockReader* below, const BlkPtr& bp, ByteSpan phys) : below_(below), bp_(bp), phys_(phys) {}
  Result<Bytes> Read(const BlkPtr& bp, ReadReport* report = nullptr) override {
    if (!report && !phys_.empty() && bp == bp_ && VerifyBlockChecksum(bp, phys_)) {
      Bytes b(phys_.size());
      std::memcpy(b.data(), phys_.data(), phys_.size());
      phys_ = {};
      g_run_blocks.fetch_add(1, std::memory_order_relaxed);
      return b;
    }
    return below_->Read(bp, report);
  }

 private:
  BlockReader* const below_;
  const BlkPtr bp_;
  ByteSpan phys_;
};

using Plan = std::shared_ptr<ObjsetWriter::ReadPlan>;

// Reads the run (its plans' blocks back to back from the first) with one read, then
// completes each plan from it. A failed fill is not cached; the demand read reports it.
void FillRun(const std::vector<Plan>& run, const RangeRead& range) {
  const Dva& first = SoleBlock(*run.front())->dva[0];
  const Dva& last = SoleBlock(*run.back())->dva[0];
  const uint64_t len = last.offset() + last.asize() - first.offset();
  thread_local Bytes buf;  // kept for the thread's next run (no zeroing per run)
  if (buf.size() < len) buf.resize(len);
  const bool read = range(first.vdev(), first.offset(), MutByteSpan(buf.data(), len)).ok();
  for (const Plan& p : run) {
    const BlkPtr& bp = *SoleBlock(*p);
    ByteSpan phys;
    if (read) phys = ByteSpan(buf.data() + (bp.dva[0].offset() - first.offset()), bp.psize());
    BlockReader* below = p->reader;
    RunReader rr(below, bp, phys);
    p->reader = &rr;
    (void)p->Complete();
    p->reader = below;
  }
}

}  // namespace

std::vector<std::function<void()>> ZfetchRunFills(std::vector<std::unique_ptr<ObjsetWriter::ReadPlan>> plans,
                                                  const RangeRead& range, uint64_t agg_max) {
  std::vector<std::function<void()>> fills;
  std::vector<Plan> run;
  uint64_t run_len = 0;
  auto flush = [&] {
    if (run.size() == 1) {
      fills.push_back([p = std::move(run.front())] { (void)p->Complete(); });
    } else if (run.size() > 1) {
      fills.push_back([r = std::move(run), range] { FillRun(r, range); });
    }
    run.clear();
    run_len = 0;
  };
  for (auto& up : plans) {
    Plan p(std::move(up));
    const BlkPtr* bp = SoleBlock(*p);
    if (!bp || !range) {
      flush();
      fills.push_back([p] { (void)p->Complete(); });
      continue;
    }
    const Dva& d = bp->dva[0];
    if (!run.empty()) {
      const Dva& prev = SoleBlock(*run.back())->dva[0];
      if (d.vdev() != prev.vdev() || d.offset() != prev.offset() + prev.asize() ||
          run_len + d.asize() > agg_max)
        flush();
    }
    run.push_back(std::move(p));
    run_len += d.asize();
  }
  flush();
  return fills;
}

uint64_t ZfetchRunBlocks() { return g_run_blocks.load(std::memory_order_relaxed); }

}  // namespace uzfs
