// PoolDumper: the pool-wide sections of zdb's output, in zdb's order (dump_zpool):
// -C MOS config, -u uberblock, -m metaslabs, -d datasets, -b/-c block traversal, -h history.
#pragma once

#include <memory>
#include <string>

#include "cmd/zdb/zdb.h"
#include "libcore/spa/spa.h"

namespace uzfs::zdb {

class PoolDumper {
 public:
  PoolDumper(const Options& o, Spa& spa) : o_(o), spa_(spa) {}
  // target: "pool" or a dataset name; returns the exit status.
  int Run(const std::string& target);

 private:
  const Options& o_;
  Spa& spa_;
};

}  // namespace uzfs::zdb
