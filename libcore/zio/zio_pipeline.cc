#include "libcore/zio/zio_pipeline.h"

#include <malloc.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <thread>

namespace uzfs {

namespace {
// Items of a batch small enough that handing them to other threads costs more than it saves.
constexpr uint64_t kParallelMinBytes = 64 * 1024;
// zfs_vdev_aggregation_limit of later OpenZFS: adjacent writes are joined up to this size.
constexpr uint64_t kAggregateMax = 1ULL << 20;
// A batch this large may give the heap's free memory back to the system (malloc_trim) when
// written.
constexpr uint64_t kTrimMinBytes = 4ULL << 20;

// The bytes free in glibc's arenas (every arena's free chunks: mallinfo2 sums them).
uint64_t FreeHeapBytes() { return mallinfo2().fordblks; }
// Aggregate buffers are aligned for O_DIRECT (env.h), so the device takes them as they are.
constexpr size_t kAggregateAlign = 4096;
}  // namespace

Status WriteRun::Write(std::vector<VdevIoError>* errs) const {
  if (bp) return WriteDvas(*bp, *prepared, *top, errs);
  if (!parts.empty()) return vdev->WriteV(offset, parts, errs);
  return vdev->Write(offset, data, errs);
}

std::vector<WriteRun> AggregateWrites(const std::vector<BlockWrite>& batch, const TopVdevLookup& top) {
  // A piece: one DVA of one block on a top-level vdev that stores a range as it is given
  // (a leaf or a mirror; raidz computes parity per block, so its blocks stay apart), padded
  // with zeros to whole sectors as WriteDvas pads it.
  struct Piece {
    Vdev* vdev;
    uint64_t offset;
    ByteSpan data;
    uint64_t len;  // data.size() rounded up to the sector
  };
  std::vector<Piece> pieces;
  std::vector<WriteRun> runs;
  for (const BlockWrite& w : batch) {
    if (w.prepared.hole()) continue;
    Piece mine[kSpaDvas];
    int n = 0;
    bool simple = true;
    for (int d = 0; d < kSpaDvas && simple; d++) {
      const Dva& dva = w.bp.dva[d];
      if (dva.empty()) continue;
      Vdev* v = top(dva.vdev());
      simple = v && v->type != "raidz";
      if (simple)
        mine[n++] = {v, dva.offset(), w.prepared.phys, P2RoundUp(w.prepared.phys.size(), 1ULL << v->ashift)};
    }
    if (simple) {
      pieces.insert(pieces.end(), mine, mine + n);
      continue;
    }
    WriteRun r;  // written alone, as WriteDvas pads and places it
    r.bp = &w.bp;
    r.prepared = &w.prepared;
    r.top = &top;
    runs.push_back(std::move(r));
  }
  std::sort(pieces.begin(), pieces.end(), [](const Piece& a, const Piece& b) {
    return a.vdev != b.vdev ? a.vdev < b.vdev : a.offset < b.offset;
  });
  for (size_t i = 0; i < pieces.size();) {
    size_t j = i + 1;
    uint64_t end = pieces[i].offset + pieces[i].len;
    while (j < pieces.size() && pieces[j].vdev == pieces[i].vdev && pieces[j].offset == end &&
           end + pieces[j].len - pieces[i].offset <= kAggregateMax) {
      end += pieces[j].len;
      j++;
    }
    WriteRun r;
    r.vdev = pieces[i].vdev;
    r.offset = pieces[i].offset;
    // A block of whole sectors in memory direct I/O takes is written from where it is; the
    // others (short of a sector, or small buffers not on a page) are copied, padded with
    // zeros, each to a page of one buffer of the run's; the run goes down as one vectored
    // write (a copy of every block into one buffer was a tenth of zfsd's time in a
    // sequential write through the mount).
    auto as_is = [&](size_t k) {
      return pieces[k].len == pieces[k].data.size() &&
             reinterpret_cast<uintptr_t>(pieces[k].data.data()) % kAggregateAlign == 0;
    };
    if (j == i + 1 && pieces[i].len == pieces[i].data.size()) {
      r.data = pieces[i].data;  // alone and whole sectors: written from where it is
    } else {
      uint64_t copied = 0;
      for (size_t k = i; k < j; k++)
        if (!as_is(k)) copied += P2RoundUp(pieces[k].len, kAggregateAlign);
      if (copied) r.buf.reset(static_cast<uint8_t*>(std::aligned_alloc(kAggregateAlign, copied)));
      uint8_t* at = r.buf.get();
      for (size_t k = i; k < j; k++) {
        if (as_is(k)) {
          r.parts.push_back(pieces[k].data);
          continue;
        }
        std::fill(std::copy(pieces[k].data.begin(), pieces[k].data.end(), at), at + pieces[k].len, 0);
        r.parts.push_back(ByteSpan(at, pieces[k].len));
        at += P2RoundUp(pieces[k].len, kAggregateAlign);
      }
    }
    runs.push_back(std::move(r));
    i = j;
  }
  return runs;
}

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
  // 3. write every DVA: contiguous ones aggregated (vdev_queue_aggregate), in parallel.
  std::vector<WriteRun> runs = AggregateWrites(batch, pl.top);
  std::mutex mu;
  Status first = Status::Ok();
  auto write = [&](size_t i) {
    std::vector<VdevIoError> mine;
    Status s = runs[i].Write(&mine);
    if (s.ok() && mine.empty()) return;
    std::lock_guard<std::mutex> l(mu);
    if (errs) errs->insert(errs->end(), mine.begin(), mine.end());
    if (!s.ok() && first.ok()) first = s;
  };
  if (parallel && pl.concurrent_io && runs.size() > 1) {
    q.ParallelFor(runs.size(), write);
  } else {
    for (size_t i = 0; i < runs.size(); i++) write(i);
  }
  // The runs' copies (of blocks not written from their own buffers) and the batch's
  // compressed images are freed now. Past pl.keep_free free bytes in the heap, its free
  // memory goes back to the system: zfsd writing at a 16 MiB dirty bound grew by 95-175 MiB
  // instead of ~60 without a trim. Below it the free memory stays for the next txg's dirty data: every page given back faults in
  // again, zeroed, when a buffer takes it (a 1 GiB sequential write through the mount: 494K
  // page faults in zfsd with a trim after every batch, 139K without).
  runs.clear();
  if (total >= kTrimMinBytes && FreeHeapBytes() > pl.keep_free) malloc_trim(0);
  return first;
}

}  // namespace uzfs
