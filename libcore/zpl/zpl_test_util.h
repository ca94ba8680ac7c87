// Test helpers: a ZPL filesystem on an in-memory objset (nothing is synced, so no block is
// ever read), and an ItxSink that keeps what it is given.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "libcore/zil/zil_itx.h"
#include "libcore/zpl/zpl_write.h"

namespace uzfs {

class MemFs {
 public:
  explicit MemFs(uint64_t txg = 1, ZTime now = {1700000000, 0}) {
    os = ObjsetWriter::Create(&reader_, /*DMU_OST_ZFS*/ 2, ObjsetPolicy{});
    zaps = std::make_unique<ZapStore>(os.get());
    Status s = ZplWriter::CreateFs(*os, *zaps, txg, now);
    EXPECT_TRUE(s.ok()) << s.ToString();
    auto z = ZplWriter::Open(os.get(), zaps.get());
    EXPECT_TRUE(z.ok()) << z.status().ToString();
    if (z.ok()) zpl = std::move(z).value();
  }
  std::unique_ptr<ObjsetWriter> os;
  std::unique_ptr<ZapStore> zaps;
  std::unique_ptr<ZplWriter> zpl;

 private:
  class NoBlocks : public BlockReader {
   public:
    Result<Bytes> Read(const BlkPtr& bp, ReadReport*) override {
      if (bp.is_hole()) return Bytes(bp.lsize(), 0);
      return Status::Error(EIO, "in-memory objset: no block on disk");
    }
  };
  NoBlocks reader_;
};

class CaptureSink : public ItxSink {
 public:
  void Assign(Itx itx) override { itxs.push_back(std::move(itx)); }
  void Unlogged(uint64_t txg) override { unlogged.push_back(txg); }
  std::vector<Itx> itxs;
  std::vector<uint64_t> unlogged;
};

}  // namespace uzfs
