// zfs send (zfs_do_send, libzfs_sendrecv.c zfs_send / dump_ioctl): a snapshot's stream, full
// or incremental from an earlier snapshot (-i), or the series of incrementals through every
// snapshot in between (-I), written by zfsd to our standard output.
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "cmd/zfs/zfs.h"
#include "libcore/dmu/dmu_send_package.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zfs {

namespace {

// A send's error in zfs's words.
int SendFailed(const std::string& snap, const Status& s) {
  if (s.code() == ENOENT && s.message() == "dataset does not exist")
    return Fail("cannot open '" + snap + "': dataset does not exist");
  if (s.code() == EXDEV || s.code() == ENOENT || s.code() == EPIPE || s.code() == EIO)
    return Fail("warning: cannot send '" + snap + "': " + s.message());
  return Fail(libzfs::ErrorText("send", snap, s));
}

bool WriteOut(const uint8_t* p, size_t n) {
  while (n) {
    ssize_t w = ::write(STDOUT_FILENO, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// zfs send -I (libzfs_sendrecv.c zfs_send with doall, no -R): a compound stream
// (dmu_send_package.h) whose substreams are the incremental streams from each snapshot of fs
// to the next, from @from to snap.
int SendSeries(const std::string& snap, const std::string& fs, const std::string& from) {
  auto all = FetchDatasets({fs}, true, 1);
  if (!all.ok()) return FetchFailed({fs}, all.status());
  SortByName(&*all);
  std::vector<std::string> chain;  // the snapshots from @from to snap, in creation order
  bool in = false, found = false;
  for (const Dataset& d : *all) {
    if (d.type != "snapshot" || d.name.compare(0, fs.size() + 1, fs + "@") != 0) continue;
    if (d.name == fs + "@" + from) in = true;
    if (in) chain.push_back(d.name);
    if (d.name == snap) {
      found = true;
      break;
    }
  }
  if (!found) return Fail("cannot open '" + snap + "': dataset does not exist");
  if (!in) return Fail("warning: cannot send '" + snap + "': incremental source (@" + from + ") does not exist");
  if (chain.size() < 2) return Fail("warning: cannot send '" + snap + "': not an earlier snapshot from the same fs");
  Bytes header = CompoundHeader(snap);
  if (!WriteOut(header.data(), header.size())) return Fail("warning: cannot send '" + snap + "': Broken pipe");
  for (size_t i = 1; i < chain.size(); i++) {
    auto sent = lzc::ZfsSend(chain[i], chain[i - 1], STDOUT_FILENO);
    if (!sent.ok()) return SendFailed(chain[i], sent.status());
  }
  Bytes end = PackageEnd();
  if (!WriteOut(end.data(), end.size())) return Fail("warning: cannot send '" + snap + "': Broken pipe");
  return kExitOk;
}

}  // namespace

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
  const char* missing = replicate ? "-R" : dedup ? "-D" : props ? "-p" : nullptr;
  if (missing)
    return Fail("cannot send '" + args[0] + "': " + missing + " is not supported by uzfs yet");
  const bool doall = !from_I.empty();
  std::string from = doall ? from_I[0] : from_i.empty() ? "" : from_i[0];
  if (size_t fat = from.find('@'); fat != std::string::npos) {
    // "fs@a" must name the same filesystem; "@a" and "a" name a snapshot of it.
    if (fat != 0 && from.substr(0, fat) != fs)
      return UsageError(self, "incremental source must be in same filesystem");
    from = from.substr(fat + 1);
    if (from.find_first_of("@/") != std::string::npos)
      return UsageError(self, "invalid incremental source");
  }
  if ((!from_i.empty() || doall) && from.empty())
    return Fail("cannot send '" + args[0] + "': zero-length incremental source");
  if (doall) return SendSeries(args[0], fs, from);
  auto sent = lzc::ZfsSend(args[0], from.empty() ? "" : "@" + from, STDOUT_FILENO);
  if (!sent.ok()) return SendFailed(args[0], sent.status());
  return kExitOk;
}

const Cmd kSend = {"send",
                   {"send [-RDp] [-[iI] snapshot] snapshot"},
                   "    -i snapshot  an incremental stream from this earlier snapshot\n"
                   "    -I snapshot  -i with every snapshot in between (a series of incremental streams)\n"
                   "    -R           (not supported yet) a replication stream of descendants\n"
                   "    -D           (not supported yet) a deduplicated stream\n"
                   "    -p           (not supported yet) with the dataset's properties\n"
                   "    --help       print this message\n",
                   RunSend};

}  // namespace uzfs::zfs
