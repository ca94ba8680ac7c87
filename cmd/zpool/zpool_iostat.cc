// zpool iostat (OpenZFS zpool_main.c zpool_do_iostat, print_iostat, print_vdev_stats,
// print_iostat_default, print_iostat_header): each pool's capacity, and the read and write
// operations and bytes per second its vdevs did, from the counters zfsd keeps per vdev
// (vdev_stat_t's vs_ops and vs_bytes, "read_ops" ... in zpool list's vdev tree). The first
// report covers the time since the pool was imported, each next one the interval before it.
// OpenZFS's -c, -l, -q, -r, -w (scripts, latencies, queues, histograms), -g, -L, -P, -n and
// vdev arguments are not offered.
#include <langinfo.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <map>
#include <thread>

#include "cmd/zpool/zpool.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zpool {

namespace {

struct Opts {
  bool verbose = false, scripted = false, parsable = false, omit_first = false;
  char timestamp = 0;  // 'u', 'd' or none
};

// The counters of one vdev (or of the pool: its top-level vdevs' sums).
struct Counters {
  uint64_t ops[2] = {0, 0}, bytes[2] = {0, 0};
};

Counters Of(const NvList& v) {
  Counters c;
  c.ops[0] = v.GetUint64("read_ops").value_or(0);
  c.ops[1] = v.GetUint64("write_ops").value_or(0);
  c.bytes[0] = v.GetUint64("read_bytes").value_or(0);
  c.bytes[1] = v.GetUint64("write_bytes").value_or(0);
  return c;
}

// One sample of a pool: its config (the vdev tree with counters and stats_ns) and props.
struct Sample {
  NvList pool;
  const NvList* tree() const {
    const NvList* cfg = pool.GetNvList("config");
    return cfg ? cfg->GetNvList("vdev_tree") : nullptr;
  }
};

// zfs_isnumber: digits and dots only.
bool IsNumber(const std::string& s) {
  if (s.empty()) return false;
  for (char ch : s)
    if (!(std::isdigit(static_cast<unsigned char>(ch)) || ch == '.')) return false;
  return true;
}

int TerminalHeight() {
  struct winsize w;
  if (!isatty(STDOUT_FILENO)) return -1;
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &w) != -1 && w.ws_row > 0) return w.ws_row;
  return -1;
}

void PrintTimestamp(char fmt) {
  time_t t = time(nullptr);
  if (fmt == 'u') {
    std::printf("%lld\n", static_cast<long long>(t));
  } else if (fmt == 'd') {
    char buf[64];
    struct tm tm;
    if (strftime(buf, sizeof buf, nl_langinfo(_DATE_FMT), localtime_r(&t, &tm)) > 0)
      std::printf("%s\n", buf);
  }
}

class Printer {
 public:
  Printer(const Opts& o) : o_(o), width_(o.parsable ? 15 : 5) {}
  size_t namewidth = 10;

  // print_iostat_header: the two label rows and the dashes.
  void Header() const {
    const size_t w = std::max<size_t>(4, namewidth);
    std::printf("%*s", static_cast<int>(w), "");
    for (const char* top : {"capacity", "operations", "bandwidth"}) Label(top, 2);
    std::printf("\n%-*s", static_cast<int>(w), "pool");
    for (const char* bottom : {"alloc", "free", "read", "write", "read", "write"}) Label(bottom, 1);
    std::printf("\n");
    Dashes(nullptr);
    std::printf("\n");
  }

  // print_iostat_dashes: a separator, or a class's row of dashes ("logs  -  -  ...").
  void Dashes(const char* name) const {
    const size_t w = std::max<size_t>({4, namewidth, name ? strlen(name) : 0});
    if (name) std::printf("%-*s", static_cast<int>(w), name);
    else std::printf("%s", std::string(w, '-').c_str());
    for (int i = 0; i < 6; i++) {
      if (name) std::printf("  %*s-", width_ - 1, " ");
      else std::printf("  %s", std::string(static_cast<size_t>(width_), '-').c_str());
    }
  }

  // print_vdev_stats's row: name, then print_iostat_default's six figures.
  void Row(const std::string& name, size_t depth, const uint64_t* alloc, const uint64_t* space,
           const Counters& now, const Counters& before, double scale) const {
    if (o_.scripted) {
      std::printf("%s", name.c_str());
    } else if (name.size() + depth > namewidth) {
      std::printf("%*s%s", static_cast<int>(depth), "", name.c_str());
    } else {
      std::printf("%*s%s%*s", static_cast<int>(depth), "", name.c_str(),
                  static_cast<int>(namewidth - name.size() - depth), "");
    }
    if (!space || *space == 0) {
      const char na = o_.parsable ? '0' : '-';
      if (o_.scripted) std::printf("\t%c\t%c", na, na);
      else std::printf("  %*c  %*c", width_, na, width_, na);
    } else {
      Stat(*alloc);
      Stat(*space - std::min(*space, *alloc));
    }
    for (int k : {0, 1}) Stat(Rate(now.ops[k], before.ops[k], scale));
    for (int k : {0, 1}) Stat(Rate(now.bytes[k], before.bytes[k], scale));
    std::printf("\n");
  }

 private:
  static uint64_t Rate(uint64_t now, uint64_t before, double scale) {
    return now < before ? 0 : static_cast<uint64_t>(static_cast<double>(now - before) * scale);
  }
  // print_one_stat: zfs_nicenum (or the raw number), right-aligned in the column.
  void Stat(uint64_t v) const {
    std::string s = o_.parsable ? std::to_string(v) : libzfs::NiceNum(v);
    if (o_.scripted) std::printf("\t%s", s.c_str());
    else std::printf("  %*s", width_, s.c_str());
  }
  // print_iostat_labels: a label centred over its columns.
  void Label(const char* name, int columns) const {
    const int slen = static_cast<int>(strlen(name));
    const int span = width_ * columns + 2 * (columns - 1);
    const int start = std::max(0, span / columns - slen / columns);
    const int after = std::max(0, span - start - slen);
    std::printf("  %*s%s%*s", start, "", name, after, "");
  }

  const Opts& o_;
  int width_;
};

// get_namewidth with verbose: the widest name, each level indented by 2 more.
size_t NameWidth(const Sample& s, bool verbose) {
  size_t w = s.pool.GetString("name")->size();
  const NvList* tree = s.tree();
  if (!verbose || !tree) return w;
  std::function<void(const NvList&, size_t)> walk = [&](const NvList& v, size_t depth) {
    w = std::max(w, libzfs::VdevName(v).size() + depth);
    if (const auto* kids = v.GetNvListArray("children"))
      for (const NvList& k : *kids) walk(k, depth + 2);
  };
  if (const auto* tops = tree->GetNvListArray("children"))
    for (const NvList& t : *tops) walk(t, 2);
  return w;
}

// print_iostat for one pool: its row, with -v each vdev (data vdevs, then each class under
// a row of dashes), then a separator. before is the pool's previous sample (none: zeros).
void PrintPool(const Printer& p, const Opts& o, const Sample& now, const Sample* before) {
  const NvList* tree = now.tree();
  const NvList* old_tree = before ? before->tree() : nullptr;
  if (!tree) return;
  const uint64_t t_now = tree->GetUint64("stats_ns").value_or(0);
  const uint64_t t_old = old_tree ? old_tree->GetUint64("stats_ns").value_or(0) : 0;
  const double scale = t_now > t_old ? 1e9 / static_cast<double>(t_now - t_old) : 1.0;
  const auto* tops = tree->GetNvListArray("children");
  const auto* old_tops = old_tree ? old_tree->GetNvListArray("children") : nullptr;
  // The pool: the sums of its top-level vdevs (vdev_get_stats on the root); capacity as
  // zpool list gives it.
  Counters sum_now, sum_old;
  auto add = [](Counters& into, const Counters& c) {
    for (int k : {0, 1}) {
      into.ops[k] += c.ops[k];
      into.bytes[k] += c.bytes[k];
    }
  };
  if (tops)
    for (const NvList& t : *tops) add(sum_now, Of(t));
  if (old_tops)
    for (const NvList& t : *old_tops) add(sum_old, Of(t));
  const NvList* props = now.pool.GetNvList("props");
  auto prop = [&](const char* name) -> uint64_t {
    const NvList* e = props ? props->GetNvList(name) : nullptr;
    if (!e) return 0;
    if (auto v = e->GetUint64("value")) return *v;
    const std::string* s = e->GetString("value");
    return s ? std::strtoull(s->c_str(), nullptr, 10) : 0;
  };
  const uint64_t alloc = prop("allocated"), space = prop("size");
  p.Row(*now.pool.GetString("name"), 0, &alloc, &space, sum_now, sum_old, scale);
  if (!o.verbose || !tops) return;

  std::function<void(const NvList&, const NvList*, size_t)> vdev =
      [&](const NvList& v, const NvList* old, size_t depth) {
        auto sp = v.GetUint64("space");
        uint64_t al = v.GetUint64("alloc").value_or(0);
        p.Row(libzfs::VdevName(v), depth, &al, sp ? &*sp : nullptr, Of(v), old ? Of(*old) : Counters{},
              scale);
        const auto* kids = v.GetNvListArray("children");
        const auto* old_kids = old ? old->GetNvListArray("children") : nullptr;
        if (!kids) return;
        for (size_t i = 0; i < kids->size(); i++)
          vdev((*kids)[i], old_kids && i < old_kids->size() ? &(*old_kids)[i] : nullptr, depth + 2);
      };
  auto old_top = [&](size_t i) { return old_tops && i < old_tops->size() ? &(*old_tops)[i] : nullptr; };
  auto hole = [](const NvList& t) { return t.GetUint64("is_hole").value_or(0) != 0; };
  for (size_t i = 0; i < tops->size(); i++)
    if (!hole((*tops)[i]) && libzfs::VdevClass((*tops)[i]).empty()) vdev((*tops)[i], old_top(i), 2);
  for (const std::string cls : {"logs", "dax"}) {
    bool printed = false;
    for (size_t i = 0; i < tops->size(); i++) {
      if (hole((*tops)[i]) || libzfs::VdevClass((*tops)[i]) != cls) continue;
      if (!printed) {
        if (!o.scripted) p.Dashes(cls.c_str());
        std::printf("\n");
        printed = true;
      }
      vdev((*tops)[i], old_top(i), 2);
    }
  }
  if (!o.scripted) {
    p.Dashes(nullptr);
    std::printf("\n");
  }
}

int RunIostat(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  Opts o;
  std::string ts;
  std::vector<std::string> args;
  app.add_flag("-v", o.verbose);
  app.add_flag("-H", o.scripted);
  app.add_flag("-p", o.parsable);
  app.add_flag("-y", o.omit_first);
  app.add_option("-T", ts);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  if (!ts.empty()) {
    if (ts != "u" && ts != "d") return UsageError(self, "");
    o.timestamp = ts[0];
  }
  // get_interval_count: [interval [count]] at the end.
  double interval = 0;
  unsigned long count = 0;
  for (int pass = 0; pass < 2 && !args.empty() && IsNumber(args.back()); pass++) {
    char* end = nullptr;
    double v = std::strtod(args.back().c_str(), &end);
    if (*end != '\0') break;
    if (v == 0) return UsageError(self, "interval cannot be zero");
    if (pass == 1) count = static_cast<unsigned long>(interval);
    interval = v;
    args.pop_back();
  }

  std::map<std::string, Sample> last;
  Printer printer(o);
  unsigned long iteration = 0;
  size_t last_npools = 0;
  for (;;) {
    auto l = lzc::PoolList();
    if (!l.ok()) return Fail(lzc::IsConnectError(l.status()) ? l.status().message() : libzfs::Reason(l.status()));
    std::vector<Sample> now;
    if (const auto* pools = l->GetNvListArray("pools"))
      for (const NvList& pool : *pools) {
        const std::string* name = pool.GetString("name");
        if (!name) continue;
        if (!args.empty() && std::find(args.begin(), args.end(), *name) == args.end()) continue;
        now.push_back({pool});
      }
    if (iteration == 0) {
      // are_all_pools: every argument names an imported pool, else OpenZFS's complaint.
      for (const std::string& a : args) {
        bool found = std::any_of(now.begin(), now.end(),
                                 [&](const Sample& s) { return *s.pool.GetString("name") == a; });
        if (!found) return Fail("Unable to parse pools/vdevs list.\n");
      }
      if (now.empty() && interval == 0) return Fail("no pools available");
    }
    if (now.empty()) {
      std::fprintf(stderr, "no pools available\n");
    } else {
      if (now.size() != last_npools) iteration = 0;
      const bool skip = o.omit_first && iteration == 0;
      printer.namewidth = 0;
      for (const Sample& s : now) printer.namewidth = std::max(printer.namewidth, NameWidth(s, o.verbose));
      printer.namewidth = std::max<size_t>(printer.namewidth, 10);
      if (o.timestamp) PrintTimestamp(o.timestamp);
      const int height = TerminalHeight();
      const bool headers_once = height < 0;
      ++iteration;
      if (((iteration == 1 && !skip) || (skip != o.verbose) ||
           (!headers_once && iteration % static_cast<unsigned long>(height) == 0)) &&
          !o.scripted)
        printer.Header();
      if (skip) {  // the since-import report left out; the count is of those printed
        last.clear();
        for (Sample& s : now) {
          std::string name = *s.pool.GetString("name");
          last.emplace(std::move(name), std::move(s));
        }
        last_npools = now.size();
        std::fflush(stdout);
        std::this_thread::sleep_for(std::chrono::duration<double>(interval));
        continue;
      }
      {
        for (const Sample& s : now) {
          auto it = last.find(*s.pool.GetString("name"));
          PrintPool(printer, o, s, it == last.end() ? nullptr : &it->second);
        }
        if (now.size() > 1 && !o.verbose && !o.scripted) {
          printer.Dashes(nullptr);
          std::printf("\n");
        }
      }
      last.clear();
      for (Sample& s : now) {
        std::string name = *s.pool.GetString("name");
        last.emplace(std::move(name), std::move(s));
      }
      last_npools = now.size();
    }
    if (interval == 0) break;
    if (count != 0 && --count == 0) break;
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::duration<double>(interval));
  }
  return kExitOk;
}

}  // namespace

const Cmd kIostat = {"iostat",
                     {"iostat [-T u|d] [-Hpvy] [pool] ... [interval [count]]"},
                     "    -H        scripted: no headers, fields separated by a tab\n"
                     "    -p        exact numbers (parsable)\n"
                     "    -T u|d    print a timestamp (u: seconds since the epoch, d: date)\n"
                     "    -v        each vdev's statistics too\n"
                     "    -y        leave out the first report (the average since import)\n"
                     "    --help    print this message\n",
                     RunIostat};

}  // namespace uzfs::zpool
