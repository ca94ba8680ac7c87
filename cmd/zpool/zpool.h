// zpool: administration of uzfs pools, shaped like OpenZFS's zpool(8). One file per
// subcommand (zpool_<name>.cc) defines its Cmd entry; main.cc dispatches.
//
// Conventions (OpenZFS's): exit 0 on success, 1 on an operation error ("cannot <verb>
// '<pool>': <reason>" on stderr), 2 on bad usage (the message, then "usage:" and the
// subcommand's usage lines on stderr). `zpool SUB --help` prints "Usage: zpool SUB ..." and
// the option table on stdout (what man/man8/zpool-SUB.8's SYNOPSIS must equal).
#pragma once

#include <string>
#include <vector>

#include "cmd/common/cmd.h"

namespace uzfs::zpool {

using namespace uzfs::cmd;  // Cmd, Parse, UsageError, Fail, CommandLine, SplitComma

const std::vector<Cmd>& Commands();
// The subcommands, each defined in its zpool_<name>.cc.
extern const Cmd kVersion, kCreate, kDestroy, kAdd, kRemove, kList, kStatus, kGet, kSet, kExport,
    kImport, kUpgrade, kHistory, kSync, kClear, kScrub, kIostat, kOnline, kOffline, kAttach, kDetach,
    kReplace, kEvents;

}  // namespace uzfs::zpool
