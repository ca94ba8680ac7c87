// zpool(8) for uzfs: dispatches to the subcommand files.
#include "cmd/zpool/zpool.h"

const char* const uzfs::cmd::kProgram = "zpool";

namespace uzfs::zpool {

const std::vector<Cmd>& Commands() {
  static const std::vector<Cmd> cmds = {kVersion, kCreate, kDestroy, kAdd,    kRemove,
                                        kList,    kIostat, kStatus,  kOnline, kOffline,
                                        kClear,   kAttach, kDetach,  kReplace, kScrub,
                                        kGet,     kSet,    kExport,
                                        kImport,  kUpgrade, kHistory, kEvents, kSync};
  return cmds;
}
}  // namespace uzfs::zpool

int main(int argc, char** argv) { return uzfs::cmd::Main(uzfs::zpool::Commands(), argc, argv); }
