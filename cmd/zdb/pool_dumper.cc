#include <cstdio>

#include "cmd/zdb/pool_dumps.h"

namespace uzfs::zdb {

void PrintUberblock(const Uberblock& ub, int verbosity);  // zdb_label.cc

int PoolDumper::Run(const std::string& target) {
  auto dp = DslPool::Open(&spa_, spa_.uberblock().rootbp, spa_.name());
  if (!dp.ok()) {
    Fatal("can't open '" + target + "': " + dp.status().ToString());
    return kExitErrors;
  }
  dp_ = std::move(*dp);
  int rc = kExitOk;
  const bool dataset_only = target.find_first_of("/@") != std::string::npos;
  if (dataset_only) return DumpDatasets(target);
  if (o_.C) rc = std::max(rc, DumpConfig());
  if (o_.u) {
    std::printf("\nUberblock:\n");
    PrintUberblock(spa_.uberblock(), o_.u);
    std::printf("\n");
  }
  if (o_.d > 2 || o_.m) rc = std::max(rc, DumpMetaslabs());
  if (o_.d || o_.i) rc = std::max(rc, DumpDatasets(""));
  if (o_.b || o_.c) rc = std::max(rc, DumpBlockStats());
  if (o_.h) rc = std::max(rc, DumpHistory());
  std::fflush(stdout);
  return rc;
}

int PoolDumper::DumpConfig() {
  auto cfg = dp_->MosConfig();
  if (!cfg.ok()) {
    Fatal("cannot read the MOS config: " + cfg.status().ToString());
    return kExitErrors;
  }
  std::printf("\nMOS Configuration:\n%s", cfg->Dump(8).c_str());
  return kExitOk;
}

}  // namespace uzfs::zdb
