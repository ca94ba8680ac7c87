// arcstat(1) for uzfs: prints the ARC statistics zfsd reports (arc_stats), one row per
// interval, or sets the ARC's maximum size (arc_set, --arc-max). See arcstat.h for the
// columns and their formatting, man/man1/arcstat.1 for the command.
//
// Rows: without operands one row; with INTERVAL a row every INTERVAL seconds, COUNT rows
// (0 or none: until interrupted). Counters are per-second rates over the interval; the first
// row has no previous sample and shows the rates since zfsd started over one interval (so
// `arcstat -p -f hits` prints the number of hits so far). The header comes again every
// screenful (terminal height - 3 rows, 20 when stdout is not a terminal), as OpenZFS's does.
#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>

#include "cmd/arcstat/arcstat.h"
#include "cmd/common/cmd.h"
#include "libcore/base/zfs_prop.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

const char* const uzfs::cmd::kProgram = "arcstat";

namespace uzfs::arcstat {

namespace {

using cmd::kExitError;
using cmd::kExitOk;
using cmd::kExitUsage;

constexpr const char* kUsage =
    "Usage: arcstat [-Hapv] [-f field[,field]...] [interval [count]]\n"
    "       arcstat --arc-max size\n";
constexpr const char* kHelp =
    "\n"
    "Options:\n"
    "    -H              scripted mode: no header, fields separated by a tab\n"
    "    -a              print every field\n"
    "    -f field,...    print these fields, in this order (-v lists them)\n"
    "    -p              print exact numbers (no K, M, G... scaling, no padding)\n"
    "    -v              list every field with its description\n"
    "    --arc-max size  set the ARC's maximum size (root only; K, M, G... suffixes; at\n"
    "                    least 64M) and print nothing\n"
    "    --help          print this message\n"
    "\n"
    "interval: seconds between rows (default: one row only); count: number of rows\n"
    "(default, or 0: until interrupted)\n";

int UsageError(const std::string& why) {
  if (!why.empty()) std::cerr << "arcstat: " << why << "\n";
  std::cerr << kUsage;
  return kExitUsage;
}

struct Options {
  bool help = false, scripted = false, all = false, exact = false, verbose = false;
  std::string fields, arc_max;
  std::vector<std::string> args;
};

// CLI11's errors in the words cmd/common's Parse uses for zpool and zfs.
int ParseArgs(int argc, char** argv, Options* o) {
  CLI::App app{"arcstat"};
  app.set_help_flag();
  app.add_flag("--help", o->help);
  app.add_flag("-H", o->scripted);
  app.add_flag("-a", o->all);
  app.add_flag("-p", o->exact);
  app.add_flag("-v", o->verbose);
  app.add_option("-f", o->fields);
  app.add_option("--arc-max", o->arc_max);
  app.add_option("args", o->args);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ExtrasError& e) {
    std::string what = e.what();
    auto p = what.find(": ");
    std::string bad = p == std::string::npos ? what : what.substr(p + 2);
    bad = bad.substr(0, bad.find(' '));
    if (bad.rfind("--", 0) == 0) return UsageError("invalid option '" + bad.substr(2) + "'");
    if (bad.rfind('-', 0) == 0 && bad.size() > 1) return UsageError("invalid option '" + bad.substr(1, 1) + "'");
    return UsageError("invalid option '" + bad + "'");
  } catch (const CLI::ArgumentMismatch& e) {
    std::string opt = std::string(e.what()).substr(0, std::string(e.what()).find(':'));
    while (!opt.empty() && opt[0] == '-') opt.erase(0, 1);
    return UsageError("missing argument for '" + opt + "' option");
  } catch (const CLI::ParseError& e) {
    return UsageError(e.what());
  }
  return -1;
}

// A whole number of at most 9 digits ("5"), else nullopt.
std::optional<uint64_t> Whole(const std::string& s) {
  if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::stoull(s);
}

int SetArcMax(const std::string& text) {
  uint64_t bytes = 0;
  if (Status s = ParseSize(text, &bytes); !s.ok()) return UsageError(s.message());
  Status s = lzc::ArcSet(bytes);
  if (!s.ok()) return cmd::Fail(libzfs::ErrorText("set", "arc_max", s));
  return kExitOk;
}

int ListFields() {
  std::cout << kUsage << "\nField definitions are as follows:\n";
  char line[256];
  for (const Field& f : Fields()) {
    std::snprintf(line, sizeof line, "%11s : %s\n", f.name, f.description);
    std::cout << line;
  }
  return kExitOk;
}

Result<Sample> Fetch() { return lzc::ArcStats(); }

std::string Now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

// Rows between headers: a screenful, as OpenZFS's arcstat.
uint64_t HeaderInterval() {
  winsize ws{};
  if (::isatty(STDOUT_FILENO) && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 3)
    return ws.ws_row - 3u;
  return 20;
}

int Watch(const std::vector<const Field*>& cols, const Format& fmt, uint64_t interval,
          uint64_t count) {
  const uint64_t every = HeaderInterval();
  auto start = std::chrono::steady_clock::now();
  std::optional<Sample> prev;
  for (uint64_t row = 0;; row++) {
    auto cur = Fetch();
    if (!cur.ok()) {
      const Status& s = cur.status();
      return cmd::Fail(lzc::IsConnectError(s) ? s.message()
                                              : "cannot get ARC statistics: " + libzfs::Reason(s));
    }
    if (!fmt.scripted && row % every == 0) std::cout << HeaderLine(cols, fmt) << "\n";
    Window w{&*cur, prev ? &*prev : nullptr, interval};
    std::cout << ValueLine(cols, fmt, w, Now()) << std::endl;
    if (count != 0 && row + 1 >= count) return kExitOk;
    prev = std::move(cur).value();
    std::this_thread::sleep_until(start + std::chrono::seconds(interval * (row + 1)));
  }
}

}  // namespace

int Main(int argc, char** argv) {
  Options o;
  if (int rc = ParseArgs(argc, argv, &o); rc >= 0) return rc;
  if (o.help) {
    std::cout << kUsage << kHelp;
    return kExitOk;
  }
  if (!o.arc_max.empty()) {
    if (o.scripted || o.all || o.exact || o.verbose || !o.fields.empty() || !o.args.empty())
      return UsageError("--arc-max takes no other option or operand");
    return SetArcMax(o.arc_max);
  }
  if (o.verbose) return ListFields();
  if (o.args.size() > 2) return UsageError("too many arguments");
  uint64_t interval = 1, count = 1;
  if (!o.args.empty()) {
    auto i = Whole(o.args[0]);
    if (!i || *i == 0) return UsageError("invalid interval '" + o.args[0] + "'");
    interval = *i;
    count = 0;
  }
  if (o.args.size() == 2) {
    auto c = Whole(o.args[1]);
    if (!c) return UsageError("invalid count '" + o.args[1] + "'");
    count = *c;
  }
  std::vector<const Field*> cols;
  if (!o.fields.empty()) {
    std::string invalid;
    for (const std::string& name : cmd::SplitComma(o.fields)) {
      if (const Field* f = FindField(name)) {
        cols.push_back(f);
      } else {
        invalid += (invalid.empty() ? "" : ", ") + name;
      }
    }
    // OpenZFS's words (cmd/arcstat.in), the program's name first as our other errors.
    if (!invalid.empty()) return cmd::Fail("arcstat: Invalid column definition! -- " + invalid);
  }
  if (o.all) {  // wins over -f, as in OpenZFS
    cols.clear();
    for (const Field& f : Fields()) cols.push_back(&f);
  } else if (cols.empty()) {
    for (const std::string& name : DefaultFields()) cols.push_back(FindField(name));
  }
  return Watch(cols, Format{o.scripted, o.exact}, interval, count);
}

}  // namespace uzfs::arcstat

int main(int argc, char** argv) { return uzfs::arcstat::Main(argc, argv); }
