// zfs hold / zfs release (zfs_do_hold_rele_impl) and zfs holds (zfs_do_holds): user holds on
// snapshots, pool version 18. v23's zfs holds was a Python script zfs-fuse does not ship;
// this one prints OpenZFS's table (print_holds).
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iostream>

#include "cmd/zfs/zfs.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zfs {

namespace {

constexpr size_t kMaxNameLen = 256;  // MAXNAMELEN: zc_string, NUL included

// zfs_open(parent, ZFS_TYPE_FILESYSTEM | ZFS_TYPE_VOLUME): prints the error, false if absent.
bool ParentExists(const std::string& parent) {
  auto r = FetchDatasets({parent}, false, -1);
  if (!r.ok()) {
    FetchFailed({parent}, r.status());
    return false;
  }
  return true;
}

int HoldOrRelease(const Cmd& self, int argc, char** argv, bool holding) {
  CLI::App app;
  std::vector<std::string> args;
  bool recursive = false;
  app.add_flag("-r", recursive);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  if (args.size() < 2) return UsageError(self, "");
  const std::string tag = args[0];
  // Tags starting with '.' are reserved for libzfs (its temporary holds).
  if (holding && !tag.empty() && tag[0] == '.') return UsageError(self, "tag may not start with '.'");
  std::string history = CommandLine(argc, argv);
  int errors = 0;
  for (size_t i = 1; i < args.size(); i++) {
    const std::string& path = args[i];
    size_t at = path.find('@');
    if (at == std::string::npos) {
      std::cerr << "'" << path << "' is not a snapshot\n";
      errors++;
      continue;
    }
    if (!ParentExists(path.substr(0, at))) {
      errors++;
      continue;
    }
    if (tag.size() >= kMaxNameLen) {  // zfs_hold / zfs_release: EZFS_TAGTOOLONG
      Fail(tag + ": tag too long");
      errors++;
      continue;
    }
    Status s = holding ? lzc::ZfsHold(path, tag, recursive, history)
                       : lzc::ZfsRelease(path, tag, recursive, history);
    history.clear();  // libzfs logs the command with its first ioctl only
    if (s.ok()) continue;
    std::string failed = path;
    s = lzc::TakeFailedName(s, &failed);
    Fail(holding ? libzfs::ErrorText("hold", failed, s)
                 : libzfs::ErrorText("release '" + tag + "' from", failed, s));
    errors++;
  }
  return errors ? kExitError : kExitOk;
}

int RunHold(const Cmd& self, int argc, char** argv) { return HoldOrRelease(self, argc, argv, true); }
int RunRelease(const Cmd& self, int argc, char** argv) { return HoldOrRelease(self, argc, argv, false); }

int RunHolds(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  std::vector<std::string> args;
  bool recursive = false, scripted = false, parsable = false;
  app.add_flag("-r", recursive);
  app.add_flag("-H", scripted);
  app.add_flag("-p", parsable);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  if (args.empty()) return UsageError(self, "");
  bool errors = false;
  struct Row {
    std::string name;
    std::vector<lzc::Hold> holds;
  };
  std::vector<Row> rows;
  size_t nwidth = 0, tagwidth = 0;
  for (const std::string& arg : args) {
    size_t at = arg.find('@');
    if (at == std::string::npos) {
      std::cerr << "'" << arg << "' is not a snapshot\n";
      errors = true;
      continue;
    }
    // zfs_for_each over the snapshot, or (-r) over the filesystem's tree picking the
    // snapshots of that name (holds_callback).
    std::vector<std::string> top{recursive ? arg.substr(0, at) : arg};
    auto ds = FetchDatasets(top, recursive, -1);
    if (!ds.ok()) {
      FetchFailed(top, ds.status());
      errors = true;
      continue;
    }
    SortByName(&*ds);
    for (const Dataset& d : *ds) {
      size_t dat = d.name.find('@');
      if (dat == std::string::npos || d.name.substr(dat) != arg.substr(at)) continue;
      auto holds = lzc::ZfsHolds(d.name);
      if (!holds.ok()) {
        Fail(libzfs::ErrorText("open", d.name, holds.status()));
        errors = true;
        continue;
      }
      if (std::any_of(rows.begin(), rows.end(), [&](const Row& r) { return r.name == d.name; })) continue;
      nwidth = std::max(nwidth, d.name.size());
      for (const lzc::Hold& h : *holds) tagwidth = std::max(tagwidth, h.tag.size());
      rows.push_back({d.name, std::move(*holds)});
    }
  }
  // print_holds.
  auto pad = [](const std::string& s, size_t w) { return s + std::string(w > s.size() ? w - s.size() : 0, ' '); };
  if (!scripted) std::cout << pad("NAME", nwidth) << "  " << pad("TAG", tagwidth) << "  TIMESTAMP\n";
  for (const Row& r : rows)
    for (const lzc::Hold& h : r.holds) {
      std::string when;
      if (parsable) {
        when = std::to_string(h.time);
      } else {
        char buf[64];
        time_t t = static_cast<time_t>(h.time);
        struct tm tm;
        localtime_r(&t, &tm);
        std::strftime(buf, sizeof buf, "%a %b %e %H:%M %Y", &tm);
        when = buf;
      }
      if (scripted)
        std::cout << r.name << "\t" << h.tag << "\t" << when << "\n";
      else
        std::cout << pad(r.name, nwidth) << "  " << pad(h.tag, tagwidth) << "  " << when << "\n";
    }
  std::cout.flush();
  if (rows.empty()) std::cerr << "no datasets available\n";
  return errors ? kExitError : kExitOk;
}

}  // namespace

const Cmd kHold = {"hold",
                   {"hold [-r] tag snapshot..."},
                   "    -r      the snapshot of that name of every descendant filesystem too\n"
                   "    --help  print this message\n",
                   RunHold};

const Cmd kRelease = {"release",
                      {"release [-r] tag snapshot..."},
                      "    -r      from the snapshot of that name of every descendant filesystem too\n"
                      "    --help  print this message\n",
                      RunRelease};

const Cmd kHolds = {"holds",
                    {"holds [-rHp] snapshot..."},
                    "    -r      the snapshot of that name of every descendant filesystem too\n"
                    "    -H      no header, fields separated by tabs\n"
                    "    -p      the timestamp as seconds since the epoch\n"
                    "    --help  print this message\n",
                    RunHolds};

}  // namespace uzfs::zfs
