// The raw reads of runs of adjacent blocks (see pool_run_read.h).
#include "libcore/pool/pool_run_read.h"

#include <cerrno>

#include "libcore/vdev/vdev.h"
#include "libcore/vdev/vdev_label.h"

namespace uzfs {

RangeRead VdevRunRead(std::function<Vdev*(uint64_t)> top_of) {
  return [top_of = std::move(top_of)](uint64_t vdev, uint64_t offset, MutByteSpan out) -> Status {
    Vdev* top = top_of(vdev);
    if (!top || !top->is_leaf() || top->is_dax() || !top->available())
      return Status::Error(ENOTSUP, "no run reads on this vdev");
    // A run read that fails is not counted as the device's error: its blocks are then read
    // one by one, and those reads count (vdev_queue's aggregate zio propagates its error to
    // the zios it stood for, which are retried alone; vdev_stat_update counts theirs).
    File* f = top->file();
    if (!f) return Status::Error(ENXIO, "device unavailable");
    if (int e = top->inject.Hit(false)) return Status::Error(e, "injected");
    UZFS_TRY(f->ReadAt(offset + kVdevLabelStartSize, out));
    top->io.Count(false, out.size());
    return Status::Ok();
  };
}

}  // namespace uzfs
