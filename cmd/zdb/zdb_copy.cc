#include "cmd/zdb/zdb.h"
namespace uzfs::zdb {
int CopyFileCmd(const Options&) {
  Fatal("-r: not implemented yet");
  return kExitErrors;
}
}  // namespace uzfs::zdb
