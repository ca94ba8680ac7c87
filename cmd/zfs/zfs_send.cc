// zfs send (zfs_do_send, libzfs_sendrecv.c zfs_send / dump_ioctl): a snapshot's stream, full
// or incremental from an earlier snapshot (-i), written by zfsd to our standard output.
#include <unistd.h>

#include <cstdio>

#include "cmd/zfs/zfs.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zfs {

static int RunSend(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  std::vector<std::string> args, from_i, from_I;
  bool replicate = false, dedup = false, props = false;
  app.add_option("-i", from_i)->allow_extra_args(false);
  app.add_option("-I", from_I)->allow_extra_args(false);
  app.add_flag("-R", replicate);
  app.add_flag("-D", dedup);
  app.add_flag("-p", props);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  if (from_i.size() + from_I.size() > 1) return UsageError(self, "");
  if (args.empty()) return UsageError(self, "missing snapshot argument");
  if (args.size() > 1) return UsageError(self, "too many arguments");
  if (::isatty(STDOUT_FILENO))
    return Fail("Error: Stream can not be written to a terminal.\nYou must redirect standard output.");
  size_t at = args[0].find('@');
  if (at == std::string::npos) return UsageError(self, "argument must be a snapshot");
  std::string fs = args[0].substr(0, at);
  // zfs_open of the filesystem first, as zfs_do_send does.
  if (auto ds = FetchDatasets({fs}, false, 0); !ds.ok()) return FetchFailed({fs}, ds.status());
  // Not built yet: say so instead of sending something else.
  const char* missing = !from_I.empty() ? "-I" : replicate ? "-R" : dedup ? "-D" : props ? "-p" : nullptr;
  if (missing)
    return Fail("cannot send '" + args[0] + "': " + missing + " is not supported by uzfs yet");
  std::string from = from_i.empty() ? "" : from_i[0];
  if (size_t fat = from.find('@'); fat != std::string::npos) {
    // "fs@a" must name the same filesystem; "@a" and "a" name a snapshot of it.
    if (fat != 0 && from.substr(0, fat) != fs)
      return UsageError(self, "incremental source must be in same filesystem");
    from = from.substr(fat + 1);
    if (from.find_first_of("@/") != std::string::npos)
      return UsageError(self, "invalid incremental source");
  }
  if (!from_i.empty() && from.empty())
    return Fail("cannot send '" + args[0] + "': zero-length incremental source");
  auto sent = lzc::ZfsSend(args[0], from.empty() ? "" : "@" + from, STDOUT_FILENO);
  if (!sent.ok()) {
    const Status& s = sent.status();
    if (s.code() == ENOENT && s.message() == "dataset does not exist")
      return Fail("cannot open '" + args[0] + "': dataset does not exist");
    if (s.code() == EXDEV || s.code() == ENOENT || s.code() == EPIPE || s.code() == EIO)
      return Fail("warning: cannot send '" + args[0] + "': " + s.message());
    return Fail(libzfs::ErrorText("send", args[0], s));
  }
  return kExitOk;
}

const Cmd kSend = {"send",
                   {"send [-RDp] [-[iI] snapshot] snapshot"},
                   "    -i snapshot  an incremental stream from this earlier snapshot\n"
                   "    -I snapshot  (not supported yet) -i with every snapshot in between\n"
                   "    -R           (not supported yet) a replication stream of descendants\n"
                   "    -D           (not supported yet) a deduplicated stream\n"
                   "    -p           (not supported yet) with the dataset's properties\n"
                   "    --help       print this message\n",
                   RunSend};

}  // namespace uzfs::zfs
