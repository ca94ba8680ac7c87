#include <cstdio>

#include "cmd/zdb/pool_dumps.h"

namespace uzfs::zdb {

void PrintUberblock(const Uberblock& ub, int verbosity);  // zdb_label.cc

int PoolDumper::Run(const std::string& target) {
  (void)target;
  if (o_.u) {
    std::printf("\nUberblock:\n");
    PrintUberblock(spa_.uberblock(), o_.u);
    std::printf("\n");
  }
  return kExitOk;
}

}  // namespace uzfs::zdb
