// zfs receive (zfs_do_receive, libzfs_sendrecv.c zfs_receive): a stream from our standard
// input, read by zfsd into a new filesystem and its snapshot, or (a replication stream, zfs
// send -R) a tree of them with their properties; mounted after unless -u.
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "cmd/zfs/zfs.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zfs {

static int RunReceive(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  std::vector<std::string> args;
  bool prefix = false, tail = false, dryrun = false, nomount = false, verbose = false, force = false;
  app.add_flag("-d", prefix);
  app.add_flag("-e", tail);
  app.add_flag("-n", dryrun);
  app.add_flag("-u", nomount);
  app.add_flag("-v", verbose);
  app.add_flag("-F", force);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  if (args.empty()) return UsageError(self, "missing snapshot argument");
  if (args.size() > 1) return UsageError(self, "too many arguments");
  if (::isatty(STDIN_FILENO))
    return Fail("Error: Backup stream can not be read from a terminal.\nYou must redirect standard input.");
  lzc::RecvOptions o;
  o.force = force;
  o.dryrun = dryrun;
  o.isprefix = prefix || tail;
  o.istail = tail;
  auto r = lzc::ZfsReceive(args[0], o, STDIN_FILENO);
  if (!r.ok()) {
    const Status& s = r.status();
    if (s.message().rfind("cannot ", 0) == 0) return Fail(s.message());
    return Fail(libzfs::ErrorText("receive", args[0], s));
  }
  const std::string* toname = r->GetString("toname");
  const std::string* into = r->GetString("into");
  auto strings = [&](const char* n) -> const std::vector<std::string>* {
    const NvValue* v = r->Find(n);
    return v && v->type == NvType::kStringArray ? &v->s_arr : nullptr;
  };
  const auto* series_to = strings("series_toname");
  const auto* series_into = strings("series_into");
  // recv_incremental_replication's lines (a send -R -i/-I stream): its first pass before
  // the substreams', its second (after the empty line) after them.
  std::vector<std::string> before, after;
  if (const auto* log = strings("repl_log")) {
    auto gap = std::find(log->begin(), log->end(), std::string());
    before.assign(log->begin(), gap);
    if (gap != log->end()) after.assign(gap + 1, log->end());
  }
  if (const auto* errs = strings("repl_errors"))
    for (const std::string& line : *errs) std::fprintf(stderr, "%s\n", line.c_str());
  if (verbose)
    for (const std::string& line : before) std::printf("%s\n", line.c_str());
  if (verbose && series_to && series_into && series_to->size() == series_into->size()) {
    // A compound stream (zfs send -I, -R, -p): a line per substream, as zfs_receive_one
    // prints them.
    const std::vector<uint64_t>* incr = r->GetUint64Array("series_incremental");
    const auto* origins = strings("series_origin");
    for (size_t i = 0; i < series_to->size(); i++) {
      if (origins && i < origins->size() && !(*origins)[i].empty())
        std::printf("found clone origin %s\n", (*origins)[i].c_str());
      std::printf("%s %s stream of %s into %s\n", dryrun ? "would receive" : "receiving",
                  !incr || i >= incr->size() || (*incr)[i] ? "incremental" : "full",
                  (*series_to)[i].c_str(), (*series_into)[i].c_str());
    }
  } else if (verbose && toname && into) {
    if (const std::string* o = r->GetString("origin")) std::printf("found clone origin %s\n", o->c_str());
    std::printf("%s %s stream of %s into %s\n", dryrun ? "would receive" : "receiving",
                r->GetUint64("incremental").value_or(0) ? "incremental" : "full",
                toname->c_str(), into->c_str());
  }
  if (verbose)
    for (const std::string& line : after) std::printf("%s\n", line.c_str());
  if (dryrun) return kExitOk;
  if (verbose) {
    uint64_t bytes = r->GetUint64("bytes").value_or(0);
    uint64_t secs = std::max<uint64_t>(1, r->GetUint64("seconds").value_or(0));
    std::printf("received %sB stream in %llu seconds (%sB/sec)\n", libzfs::NiceNum(bytes).c_str(),
                static_cast<unsigned long long>(secs), libzfs::NiceNum(bytes / secs).c_str());
  }
  std::fflush(stdout);
  if (const auto* w = strings("warnings"))  // properties of the stream that could not be set
    for (const std::string& line : *w) std::fprintf(stderr, "%s\n", line.c_str());
  // Something the tree needed could not be destroyed or renamed: zfs_receive's -2, which
  // also leaves the received filesystems unmounted.
  if (r->GetUint64("softerr").value_or(0)) return 1;
  if (const auto* made = strings("made"); made && !nomount) {
    // A compound stream: each new filesystem is mounted, parents first (zfs_receive_impl's
    // zfs_mount of top_zfs and changelist_postfix of its descendants).
    int rc = kExitOk;
    for (const std::string& fs : *made) {
      Status m = lzc::ZfsMount(fs);
      // changelist_postfix leaves alone what is mounted, or does not mount automatically.
      if (m.ok() || m.message() == "filesystem already mounted" ||
          m.message() == "'canmount' property is set to 'off'" || m.message() == "no mountpoint set" ||
          m.message().rfind("legacy mountpoint", 0) == 0)
        continue;
      rc = Fail(libzfs::ErrorText("mount", fs, m));
    }
    return rc;
  }
  // zfs_receive mounts the filesystem it made (zfs_mount of top_zfs); one received into
  // keeps its mount ("fs" is only set for a new one).
  if (const std::string* fs = r->GetString("fs"); fs && !nomount) {
    Status m = lzc::ZfsMount(*fs);
    if (!m.ok()) return Fail(libzfs::ErrorText("mount", *fs, m));
  }
  return kExitOk;
}

const Cmd kReceive = {"receive",
                      {"receive [-vnFu] filesystem|volume|snapshot",
                       "receive [-vnFu] [-d | -e] filesystem"},
                      "    -d      the target is a prefix: the stream's name without its pool\n"
                      "            is added to it\n"
                      "    -e      the target is a prefix: the last part of the stream's\n"
                      "            filesystem name is added to it\n"
                      "    -n      read the stream without receiving it\n"
                      "    -u      do not mount the received filesystem\n"
                      "    -v      print what is received and the stream's size and speed\n"
                      "    -F      roll the target back to its latest snapshot first (a full\n"
                      "            stream: replace a filesystem without snapshots)\n"
                      "    --help  print this message\n",
                      RunReceive};

}  // namespace uzfs::zfs
