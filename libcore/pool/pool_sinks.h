// The ObjsetSinks of a Pool (internal to libcore/pool): where the MOS's and a head
// dataset's blocks go, and how their space is charged (dsl_pool_sync, dsl_dataset_block_born /
// block_kill).
#pragma once

#include "libcore/pool/pool.h"

namespace uzfs {


class Pool::MosSink : public ObjsetSink {
 public:
  explicit MosSink(Pool* p) : p_(p) {}
  Result<BlkPtr> WriteBlock(ByteSpan data, const WriteProps& wp, uint64_t txg,
                            const BlkPtr* old) override {
    return p_->WriteBlock(data, wp, txg, old);
  }
  void Born(const BlkPtr& bp, uint64_t) override {
    p_->mos_used_ += static_cast<int64_t>(p_->Dsize(bp));
    p_->mos_comp_ += static_cast<int64_t>(bp.psize());
    p_->mos_uncomp_ += static_cast<int64_t>(bp.lsize());
  }
  void Kill(const BlkPtr& bp, uint64_t txg) override {
    p_->mos_used_ -= static_cast<int64_t>(p_->Dsize(bp));
    p_->mos_comp_ -= static_cast<int64_t>(bp.psize());
    p_->mos_uncomp_ -= static_cast<int64_t>(bp.lsize());
    p_->FreeBlock(bp, txg);
  }
  uint64_t Dsize(const BlkPtr& bp) override { return p_->Dsize(bp); }

 private:
  Pool* p_;
};

// A head dataset's objset: blocks born after the previous snapshot are freed when killed;
// older ones belong to the snapshot and would go to the deadlist (not written yet: such a
// kill makes the sync fail visibly rather than lose a snapshot's block).
class Pool::DatasetSink : public ObjsetSink {
 public:
  DatasetSink(Pool* p, uint64_t prev_snap_txg) : p_(p), prev_snap_txg_(prev_snap_txg) {}
  Result<BlkPtr> WriteBlock(ByteSpan data, const WriteProps& wp, uint64_t txg,
                            const BlkPtr* old) override {
    return p_->WriteBlock(data, wp, txg, old);
  }
  void Born(const BlkPtr& bp, uint64_t) override {
    used += static_cast<int64_t>(p_->Dsize(bp));
    comp += static_cast<int64_t>(bp.psize());
    uncomp += static_cast<int64_t>(bp.lsize());
  }
  void Kill(const BlkPtr& bp, uint64_t txg) override {
    if (bp.birth <= prev_snap_txg_) {
      error = Status::Error(ENOTSUP, "block of a snapshot replaced: deadlists not written yet");
      return;
    }
    used -= static_cast<int64_t>(p_->Dsize(bp));
    comp -= static_cast<int64_t>(bp.psize());
    uncomp -= static_cast<int64_t>(bp.lsize());
    p_->FreeBlock(bp, txg);
  }
  uint64_t Dsize(const BlkPtr& bp) override { return p_->Dsize(bp); }
  int64_t used = 0, comp = 0, uncomp = 0;
  Status error = Status::Ok();

 private:
  Pool* p_;
  uint64_t prev_snap_txg_;
};

}  // namespace uzfs
