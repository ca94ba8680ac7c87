// zfs send (zfs_do_send, libzfs_sendrecv.c zfs_send / dump_ioctl): a snapshot's stream, full
// or incremental from an earlier snapshot (-i), or the series of incrementals through every
// snapshot in between (-I), written by zfsd to our standard output. -R and -p wrap the
// substreams in a compound stream whose header lists the filesystems and their properties
// (gather_nvlist); the substreams are written in dump_filesystems' order. -D passes zfsd's
// streams through the deduplicating filter (cksummer) on a thread of ours.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <thread>

#include "cmd/zfs/zfs.h"
#include "libcore/base/zfs_prop.h"
#include "libcore/dmu/dmu_send_dedup.h"
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

// zfs send -D (zfs_send with dedup): zfsd writes each stream into one end of a socket pair,
// a thread filters it (DedupFilter, cksummer's thread) to our standard output. A package's
// header and final END go to standard output directly, after Finish for the END.
// Thread safety: the thread alone uses fds_[1] and result_ until Finish joins it; the
// caller's thread everything else (no lock: nothing else is shared).
class Dedup {
 public:
  Status Start() {
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds_) != 0)
      return Status::Error(errno, std::strerror(errno));
    thread_ = std::thread([this] {
      DedupFilter f([](ByteSpan b) {
        return WriteOut(b.data(), b.size()) ? Status::Ok() : Status::Error(EPIPE, "Broken pipe");
      });
      result_ = f.Run([this](uint8_t* p, size_t n) { return ReadIn(p, n); });
      ::close(fds_[1]);  // a failed filter: zfsd's writes fail (EPIPE) instead of blocking
      fds_[1] = -1;
    });
    return Status::Ok();
  }
  int fd() const { return fds_[0]; }
  // Closes zfsd's end (its streams are written when the sends returned) and waits.
  Status Finish() {
    if (fds_[0] >= 0) ::close(fds_[0]);
    fds_[0] = -1;
    if (thread_.joinable()) thread_.join();
    return result_;
  }
  ~Dedup() { (void)Finish(); }

 private:
  bool ReadIn(uint8_t* p, size_t n) {
    while (n) {
      ssize_t r = ::read(fds_[1], p, n);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      p += r;
      n -= static_cast<size_t>(r);
    }
    return true;
  }
  int fds_[2] = {-1, -1};
  std::thread thread_;
  Status result_;
};

// The temporary holds of a series or package (zfs_send's holdsnaps: zfs_hold_range /
// zfs_release_range): tag ".send-PID-SEQ" on each snapshot of fs from @from (the first when
// none) to @tosnap, and with recursive on the snapshot of that name of every descendant,
// so that nothing the stream will need can be destroyed while it is written. Released when
// the send ends, whatever its outcome; a send that dies first leaves them to the pool's next
// import (zfsd lists them as temporary). A pool below version 18 or imported read-only, or a
// caller not allowed to hold, sends without them (v23 failed the send for the latter).
// Thread safety: one thread (the command's).
class SendHolds {
 public:
  ~SendHolds() {
    for (auto it = held_.rbegin(); it != held_.rend(); ++it) (void)lzc::ZfsRelease(*it, tag_, recursive_, "");
  }
  // snaps: fs's snapshot names ("fs@x") in creation order.
  Status Take(const std::vector<std::string>& snaps, const std::string& from, const std::string& tosnap,
              bool recursive) {
    static uint64_t seq = 0;
    tag_ = ".send-" + std::to_string(::getpid()) + "-" + std::to_string(seq++);
    recursive_ = recursive;
    bool in = from.empty();
    for (const std::string& name : snaps) {
      const std::string shortname = name.substr(name.find('@') + 1);
      if (!in && shortname == from) in = true;
      if (!in) continue;
      Status s = lzc::ZfsHold(name, tag_, recursive, "", /*temphold=*/true);
      if (s.ok()) {
        held_.push_back(name);
      } else if (s.code() == ENOTSUP || s.code() == EPERM || s.code() == EROFS) {
        return Status::Ok();  // no holds at all: those taken go in the destructor
      } else if (s.code() != ENOENT) {  // racing a destroy: ENOENT is fine (enoent_ok)
        std::string failed = name;
        s = lzc::TakeFailedName(s, &failed);
        return Status::Error(s.code(), libzfs::ErrorText("hold", failed, s));
      }
      if (shortname == tosnap) break;
    }
    return Status::Ok();
  }

 private:
  std::string tag_;
  bool recursive_ = false;
  std::vector<std::string> held_;
};

// fs's snapshots in creation order (FetchDatasets sorted by name lists them so).
std::vector<std::string> SnapshotsOf(const std::vector<Dataset>& all, const std::string& fs) {
  std::vector<std::string> out;
  for (const Dataset& d : all)
    if (d.type == "snapshot" && d.name.compare(0, fs.size() + 1, fs + "@") == 0) out.push_back(d.name);
  return out;
}

// Where zfsd writes the streams: standard output, or the filter with -D.
int OutFd(Dedup* dd) { return dd ? dd->fd() : STDOUT_FILENO; }
uint64_t Features(Dedup* dd) { return dd ? kFeatureDedup | kFeatureDedupProps : 0; }

// zfs send -I (libzfs_sendrecv.c zfs_send with doall, no -R): a compound stream
// (dmu_send_package.h) whose substreams are the incremental streams from each snapshot of fs
// to the next, from @from to snap.
int SendSeries(const std::string& snap, const std::string& fs, const std::string& from,
               bool fromorigin, bool verbose, Dedup* dd) {
  auto all = FetchDatasets({fs}, true, 1);
  if (!all.ok()) return FetchFailed({fs}, all.status());
  SortByName(&*all);
  // The snapshots from @from to snap, in creation order; from the first with fromorigin
  // (dump_filesystem's seenfrom without a fromsnap), which goes from the clone's origin.
  std::vector<std::string> chain;
  if (fromorigin) chain.push_back("");
  bool in = fromorigin, found = false;
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
  if (chain.size() < 2 && !fromorigin)
    return Fail("warning: cannot send '" + snap + "': not an earlier snapshot from the same fs");
  SendHolds holds;
  if (Status s = holds.Take(SnapshotsOf(*all, fs), fromorigin ? "" : from, snap.substr(snap.find('@') + 1), false);
      !s.ok())
    return Fail(s.message());
  Bytes header = CompoundHeader(snap, Features(dd));
  if (!WriteOut(header.data(), header.size())) return Fail("warning: cannot send '" + snap + "': Broken pipe");
  for (size_t i = 1; i < chain.size(); i++) {
    if (verbose)  // dump_snapshot's line
      std::fprintf(stderr, "sending from @%s to %s\n",
                   chain[i - 1].substr(chain[i - 1].find('@') + 1).c_str(), chain[i].c_str());
    auto sent = lzc::ZfsSend(chain[i], chain[i - 1], OutFd(dd), chain[i - 1].empty());
    if (!sent.ok()) return SendFailed(chain[i], sent.status());
  }
  if (dd && !dd->Finish().ok()) return Fail("warning: cannot send '" + snap + "': Broken pipe");
  Bytes end = PackageEnd();
  if (!WriteOut(end.data(), end.size())) return Fail("warning: cannot send '" + snap + "': Broken pipe");
  return kExitOk;
}

// send_iterate_prop: the properties set on d itself (local or received), strings as strings
// and the rest as numbers; read-only ones are left out, and so are quotas and reservations
// of snapshots.
NvList LocalProps(const Dataset& d) {
  NvList nv;
  for (const auto& [name, pv] : d.props) {
    if (pv.source != "local" && pv.source != "received") continue;
    if (IsUserProp(name)) {
      nv.AddString(name, pv.value);
      continue;
    }
    const DatasetPropDef* def = FindDatasetProp(name);
    if (!def || def->readonly) continue;
    if (d.type == "snapshot" && (name == "quota" || name == "reservation" || name == "refquota" ||
                                 name == "refreservation"))
      continue;
    DatasetPropValue v;
    if (!EncodeDatasetProp(name, pv.value, &v).ok()) continue;
    if (v.is_string) nv.AddString(name, v.str);
    else nv.AddUint64(name, v.num);
  }
  return nv;
}

uint64_t Guid(const Dataset& d) { return std::strtoull(d.Get("guid").c_str(), nullptr, 10); }

// zfs send -R / -p (zfs_send with replicate or props): the header (gather_nvlist over fs and,
// with -R, its descendants), then each filesystem's substreams (dump_filesystems /
// dump_filesystem / dump_snapshot), then the final END. from is the short name of the
// incremental source ("" for none); doall sends every snapshot up to tosnap.
int SendPackage(const std::string& snap, const std::string& fs, const std::string& from,
                bool fromorigin, bool replicate, bool doall, bool verbose, Dedup* dd) {
  const std::string tosnap = snap.substr(snap.find('@') + 1);
  auto all = FetchDatasets({fs}, true, replicate ? -1 : 1);
  if (!all.ok()) return FetchFailed({fs}, all.status());
  SortByName(&*all);
  std::map<std::string, const Dataset*> byname;
  for (const Dataset& d : *all) byname[d.name] = &d;
  std::vector<ReplFs> fss;
  std::vector<std::vector<const Dataset*>> snaps;  // each filesystem's, in creation order
  for (const Dataset& d : *all) {
    if (d.type == "snapshot") {
      if (!fss.empty() && d.name.compare(0, fss.back().name.size() + 1, fss.back().name + "@") == 0) {
        std::string shortname = d.name.substr(d.name.find('@') + 1);
        fss.back().snaps.emplace_back(shortname, Guid(d));
        fss.back().snapprops[shortname] = LocalProps(d);
        snaps.back().push_back(&d);
      }
      continue;
    }
    if (!replicate && d.name != fs) continue;
    ReplFs f;
    f.guid = Guid(d);
    f.name = d.name;
    // send_iterate_fs: a clone's origin snapshot by guid (zfs_open of the origin: it may lie
    // outside the tree).
    if (std::string origin = d.Get("origin"); origin != "-" && !origin.empty()) {
      auto it = byname.find(origin);
      if (it != byname.end()) {
        f.origin = Guid(*it->second);
      } else {
        auto o = FetchDatasets({origin}, false, 0);
        if (!o.ok() || o->empty()) return FetchFailed({origin}, o.ok() ? Status::Error(ENOENT, "dataset does not exist") : o.status());
        f.origin = Guid(o->front());
      }
    }
    f.props = LocalProps(d);
    // send_iterate_fs: the guid of the parent's fromsnap (its tosnap when it has none).
    if (d.name != fs) {
      std::string parent = d.name.substr(0, d.name.rfind('/'));
      auto it = byname.find(parent + "@" + (from.empty() ? tosnap : from));
      if (it == byname.end() && !from.empty()) it = byname.find(parent + "@" + tosnap);
      if (it != byname.end()) f.parentfromsnap = Guid(*it->second);
    }
    fss.push_back(std::move(f));
    snaps.emplace_back();
  }
  SendHolds holds;
  if (Status s = holds.Take(SnapshotsOf(*all, fs), from, tosnap, replicate); !s.ok()) return Fail(s.message());
  Bytes packed = ReplHeader(from, tosnap, replicate, fss).EncodeXdr();
  Bytes header = CompoundHeader(snap, packed, Features(dd));
  if (!WriteOut(header.data(), header.size())) return Fail("warning: cannot send '" + snap + "': Broken pipe");
  // dump_filesystems: the list's order, a clone after the filesystem holding its origin
  // (one skipped for that is sent in the next round).
  std::vector<size_t> order;
  std::vector<bool> sent(fss.size(), false);
  for (bool again = true; again;) {
    again = false;
    for (size_t i = 0; i < fss.size(); i++) {
      if (sent[i]) continue;
      bool wait = false;
      for (size_t j = 0; j < fss.size() && fss[i].origin; j++)
        for (const auto& [n, g] : fss[j].snaps)
          if (g == fss[i].origin && !sent[j]) wait = true;
      if (wait) {
        again = true;
        continue;
      }
      order.push_back(i);
      sent[i] = true;
    }
  }
  bool err = false;
  for (size_t i : order) {
    const std::string& name = fss[i].name;
    if (!byname.count(name + "@" + tosnap)) {
      std::fprintf(stderr, "WARNING: could not send %s@%s: does not exist\n", name.c_str(), tosnap.c_str());
      err = true;
      continue;
    }
    // A filesystem without fromsnap (new since it, in an -R -i) goes whole (dump_filesystem).
    bool missingfrom = !from.empty() && !byname.count(name + "@" + from);
    if (!doall) {
      std::string base = missingfrom || from.empty() ? "" : "@" + from;
      auto sent = lzc::ZfsSend(name + "@" + tosnap, base, OutFd(dd), fromorigin || missingfrom);
      if (!sent.ok()) return SendFailed(name + "@" + tosnap, sent.status());
      continue;
    }
    // dump_snapshot over the snapshots in creation order: from fromsnap (or the first) to tosnap.
    bool seenfrom = from.empty() || missingfrom, seento = false;
    std::string prev;
    for (const Dataset* s : snaps[i]) {
      std::string thissnap = s->name.substr(s->name.find('@') + 1);
      if (!seenfrom && thissnap == from) {
        seenfrom = true;
        prev = thissnap;
        continue;
      }
      if (seento || !seenfrom) continue;
      if (thissnap == tosnap) seento = true;
      if (verbose) std::fprintf(stderr, "sending from @%s to %s\n", prev.c_str(), s->name.c_str());
      // dump_snapshot: the first goes from the clone's origin (fromorigin, or any -R).
      auto sent = lzc::ZfsSend(s->name, prev.empty() ? "" : "@" + prev, OutFd(dd),
                               prev.empty() && (fromorigin || replicate));
      if (!sent.ok()) return SendFailed(s->name, sent.status());
      prev = thissnap;
    }
    if (!seenfrom) {
      std::fprintf(stderr, "WARNING: could not send %s@%s:\nincremental source (%s@%s) does not exist\n",
                   name.c_str(), tosnap.c_str(), name.c_str(), from.c_str());
      err = true;
    }
  }
  if (dd && !dd->Finish().ok()) return Fail("warning: cannot send '" + snap + "': Broken pipe");
  Bytes end = PackageEnd();  // written even after an error, as zfs_send does
  if (!WriteOut(end.data(), end.size())) return Fail("warning: cannot send '" + snap + "': Broken pipe");
  return err ? 1 : kExitOk;
}

}  // namespace

static int RunSend(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  std::vector<std::string> args, from_i, from_I;
  bool replicate = false, dedup = false, props = false, verbose = false;
  app.add_option("-i", from_i)->allow_extra_args(false);
  app.add_option("-I", from_I)->allow_extra_args(false);
  app.add_flag("-R", replicate);
  app.add_flag("-D", dedup);
  app.add_flag("-p", props);
  app.add_flag("-v", verbose);
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
  auto ds = FetchDatasets({fs}, false, 0);
  if (!ds.ok()) return FetchFailed({fs}, ds.status());
  std::string from = !from_I.empty() ? from_I[0] : from_i.empty() ? "" : from_i[0];
  // zfs_do_send: the clone's origin as the source is the incremental from the origin.
  bool fromorigin = false;
  if (!from.empty() && from != "-" && !ds->empty() && from == ds->front().Get("origin")) {
    fromorigin = true;
    from.clear();
  }
  const bool doall = !from_I.empty() || (replicate && from.empty());
  if (size_t fat = from.find('@'); fat != std::string::npos) {
    // "fs@a" must name the same filesystem; "@a" and "a" name a snapshot of it.
    if (fat != 0 && from.substr(0, fat) != fs)
      return UsageError(self, "incremental source must be in same filesystem");
    from = from.substr(fat + 1);
    if (from.find_first_of("@/") != std::string::npos)
      return UsageError(self, "invalid incremental source");
  }
  if ((!from_i.empty() || !from_I.empty()) && from.empty() && !fromorigin)
    return Fail("cannot send '" + args[0] + "': zero-length incremental source");
  std::unique_ptr<Dedup> dd;
  if (dedup) {
    dd = std::make_unique<Dedup>();
    if (Status s = dd->Start(); !s.ok()) return Fail("cannot send '" + args[0] + "': " + s.message());
  }
  if (replicate || props) return SendPackage(args[0], fs, from, fromorigin, replicate, doall, verbose, dd.get());
  if (doall) return SendSeries(args[0], fs, from, fromorigin, verbose, dd.get());
  auto sent = lzc::ZfsSend(args[0], from.empty() ? "" : "@" + from, OutFd(dd.get()), fromorigin);
  if (!sent.ok()) return SendFailed(args[0], sent.status());
  if (dd && !dd->Finish().ok()) return Fail("warning: cannot send '" + args[0] + "': Broken pipe");
  return kExitOk;
}

const Cmd kSend = {"send",
                   {"send [-RDpv] [-[iI] snapshot] snapshot"},
                   "    -i snapshot  an incremental stream from this earlier snapshot\n"
                   "    -I snapshot  -i with every snapshot in between (a series of incremental streams)\n"
                   "    -R           a replication stream: the filesystem and its descendants,\n"
                   "                 every snapshot up to this one, and their properties\n"
                   "    -D           a deduplicated stream: a block sent before is sent as a reference\n"
                   "    -p           with the filesystem's properties\n"
                   "    -v           print each snapshot sent, to standard error\n"
                   "    --help       print this message\n",
                   RunSend};

}  // namespace uzfs::zfs
