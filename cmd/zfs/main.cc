// zfs(8) for uzfs: dispatches to the subcommand files.
#include <iostream>

#include "cmd/zfs/zfs.h"

const char* const uzfs::cmd::kProgram = "zfs";

namespace uzfs::zfs {

const std::vector<Cmd>& Commands() {
  static const std::vector<Cmd> cmds = {kVersion, kCreate,  kDestroy, kSnapshot, kRollback,
                                        kClone,   kPromote, kRename,  kList,     kSet,
                                        kGet,     kInherit, kUpgrade, kMount,    kUnmount};
  return cmds;
}
}  // namespace uzfs::zfs

using namespace uzfs::zfs;

static int TopUsage(std::ostream& os, int code) {
  os << "usage: zfs command args ...\nwhere 'command' is one of the following:\n\n";
  for (const Cmd& c : Commands()) {
    for (const std::string& u : c.usage) os << "\t" << u << "\n";
    os << "\n";
  }
  return code;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "missing command\n";
    return TopUsage(std::cerr, kExitUsage);
  }
  std::string sub = argv[1];
  if (sub == "--help" || sub == "-?" || sub == "help") return TopUsage(std::cout, kExitOk);
  if (sub == "umount") sub = "unmount";  // OpenZFS's alias
  for (const Cmd& c : Commands())
    if (sub == c.name) return c.run(c, argc - 1, argv + 1);
  std::cerr << "unrecognized command '" << sub << "'\n";
  return TopUsage(std::cerr, kExitUsage);
}
