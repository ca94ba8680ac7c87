// zfs(8) for uzfs: dispatches to the subcommand files.
#include "cmd/zfs/zfs.h"

const char* const uzfs::cmd::kProgram = "zfs";

namespace uzfs::zfs {

const std::vector<Cmd>& Commands() {
  static const std::vector<Cmd> cmds = {kVersion, kCreate,  kDestroy, kSnapshot, kRollback,
                                        kClone,   kPromote, kRename,  kList,     kSet,
                                        kGet,     kInherit, kUpgrade, kMount,    kUnmount,
                                        kHold,    kHolds,   kRelease, kSend,    kReceive,
                                        kUserspace, kGroupspace, kAllow,  kUnallow};
  return cmds;
}
}  // namespace uzfs::zfs

int main(int argc, char** argv) { return uzfs::cmd::Main(uzfs::zfs::Commands(), argc, argv, {{"umount", "unmount"}, {"recv", "receive"}}); }
