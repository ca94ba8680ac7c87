// The ObjsetSinks of a Pool (internal to libcore/pool): where the MOS's and a head
// dataset's blocks go, and how their space is charged (dsl_pool_sync, dsl_dataset_block_born /
// block_kill).
#pragma once

#include <map>
#include <utility>

#include "libcore/dsl/dsl_dataset_write.h"
#include "libcore/pool/pool.h"

namespace uzfs {

// What the DSL's sync functions free and charge through: the pool's sizes, and frees in the
// open txg (DslBlockOps).
class Pool::TxgBlockOps : public DslBlockOps {
 public:
  TxgBlockOps(Pool* p, uint64_t txg) : p_(p), txg_(txg) {}
  uint64_t Dsize(const BlkPtr& bp) override { return p_->Dsize(bp); }
  void Free(const BlkPtr& bp) override { p_->FreeBlock(bp, txg_); }

 private:
  Pool* p_;
  uint64_t txg_;
};

class Pool::MosSink : public ObjsetSink {
 public:
  explicit MosSink(Pool* p) : p_(p) {}
  Result<BlkPtr> WriteBlock(ByteSpan data, const WriteProps& wp, uint64_t txg,
                            const BlkPtr* old) override {
    return p_->WriteBlock(data, wp, txg, old);
  }
  Status WriteBlocks(std::vector<BlockWrite>& batch, uint64_t txg) override {
    return p_->WriteBlocks(batch, txg);
  }
  void Born(const BlkPtr& bp, uint64_t) override {
    p_->mos_used_ += static_cast<int64_t>(p_->Dsize(bp));
    p_->mos_comp_ += static_cast<int64_t>(bp.psize());
    p_->mos_uncomp_ += static_cast<int64_t>(BpUcsize(bp));
  }
  void Kill(const BlkPtr& bp, uint64_t txg) override {
    p_->mos_used_ -= static_cast<int64_t>(p_->Dsize(bp));
    p_->mos_comp_ -= static_cast<int64_t>(bp.psize());
    p_->mos_uncomp_ -= static_cast<int64_t>(BpUcsize(bp));
    p_->FreeBlock(bp, txg);
  }
  uint64_t Dsize(const BlkPtr& bp) override { return p_->Dsize(bp); }

 private:
  Pool* p_;
};

// A head dataset's objset: blocks born after the previous snapshot are freed when killed;
// older ones stay allocated for the snapshot and go to the dataset's dead list
// (dsl_dataset_block_kill). The accounting is applied by Finish once the objset is synced.
class Pool::DatasetSink : public ObjsetSink {
 public:
  DatasetSink(Pool* p, uint64_t prev_snap_txg) : p_(p), acct_(prev_snap_txg) {}
  Result<BlkPtr> WriteBlock(ByteSpan data, const WriteProps& wp, uint64_t txg,
                            const BlkPtr* old) override {
    return p_->WriteBlock(data, wp, txg, old);
  }
  Status WriteBlocks(std::vector<BlockWrite>& batch, uint64_t txg) override {
    return p_->WriteBlocks(batch, txg);
  }
  void Born(const BlkPtr& bp, uint64_t) override {
    acct_.Born(bp, p_->Dsize(bp));
    born_[Key(bp)] = bp;
  }
  void Kill(const BlkPtr& bp, uint64_t txg) override {
    born_.erase(Key(bp));
    if (acct_.Kill(bp, p_->Dsize(bp))) p_->FreeBlock(bp, txg);
  }
  uint64_t Dsize(const BlkPtr& bp) override { return p_->Dsize(bp); }
  // The dataset's unsynced changes are being dropped (destroy, rollback) after early
  // writeback put blocks in its tree: those still there belong to nothing on disk.
  void FreeUnsynced(uint64_t txg) {
    for (auto& [k, bp] : born_) p_->FreeBlock(bp, txg);
    born_.clear();
  }
  // The dataset's new ds_bp, space, dead list, previous snapshot and dir space.
  Status Finish(uint64_t ds_obj, const BlkPtr& new_bp) {
    return acct_.Apply(*p_->mos_, *p_->mos_zaps_, ds_obj, new_bp);
  }

 private:
  static std::pair<uint64_t, uint64_t> Key(const BlkPtr& bp) {
    return {bp.dva[0].vdev(), bp.dva[0].offset()};
  }
  Pool* p_;
  DatasetBlockAccounting acct_;
  std::map<std::pair<uint64_t, uint64_t>, BlkPtr> born_;  // by first DVA: born, not killed
};

}  // namespace uzfs
