// zpool events (zpool_main.c zpool_do_events): the events zfsd keeps (libcore/base/fm.h),
// one line each (time and class), with -v every field as zpool_do_events_nvprint prints it;
// -f follows new events until interrupted; -c clears the queue. A pool name shows only that
// pool's events. The time is printed as zpool_do_events_short cuts it from ctime(3).
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iostream>

#include "cmd/zpool/zpool.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zpool {

namespace {

// vdev_state_t names (zpool_state_to_name with VDEV_AUX_NONE).
const char* StateName(uint64_t s) {
  switch (s) {
    case 1: return "CLOSED";
    case 2: return "OFFLINE";
    case 3: return "REMOVED";
    case 4: return "UNAVAIL";
    case 5: return "FAULTED";
    case 6: return "DEGRADED";
    case 7: return "ONLINE";
  }
  return "UNKNOWN";
}

// zfs_name_valid(ZFS_TYPE_POOL)'s characters: a letter, then letters, digits and _-.: (and
// spaces).
bool ValidPoolName(const std::string& n) {
  if (n.empty() || !std::isalpha(static_cast<unsigned char>(n[0]))) return false;
  for (char c : n)
    if (!std::isalnum(static_cast<unsigned char>(c)) && std::string("_-.: ").find(c) == std::string::npos)
      return false;
  return true;
}

void PrintShort(const NvList& ev, bool scripted) {
  char line[32];
  std::fill(line, line + sizeof line, ' ');
  time_t sec = 0;
  long long nsec = 0;
  if (const NvValue* t = ev.Find("time"); t && t->i_arr.size() == 2) {
    sec = static_cast<time_t>(t->i_arr[0]);
    nsec = t->i_arr[1];
  }
  char ct[26];
  ctime_r(&sec, ct);                                 // "Wed Jun 30 21:49:08 1993\n"
  std::copy(ct + 4, ct + 10, line);                  // "Jun 30"
  std::copy(ct + 20, ct + 24, line + 7);             // "1993"
  std::copy(ct + 11, ct + 19, line + 12);            // "21:49:08"
  std::snprintf(line + 20, sizeof line - 20, ".%09lld", nsec);  // ".123456789"
  const std::string* cls = ev.GetString("class");
  std::printf("%s%s%s\n", line, scripted ? "\t" : " ", cls ? cls->c_str() : "");
}

void PrintFields(const NvList& nv, int depth) {
  for (const NvList::Pair& p : nv.pairs()) {
    const NvValue& v = p.value;
    std::printf("%*s%s = ", depth, "", p.name.c_str());
    switch (v.type) {
      case NvType::kBoolean: std::printf("1"); break;
      case NvType::kBooleanValue: std::printf("%s", v.u ? "1" : "0"); break;
      case NvType::kByte: case NvType::kUint8: case NvType::kUint16: case NvType::kUint32:
        if (p.name == "zio_type")
          std::printf("0x%llx [%s]", static_cast<unsigned long long>(v.u), v.u == 2 ? "WRITE" : "READ");
        else
          std::printf("0x%llx", static_cast<unsigned long long>(v.u));
        break;
      case NvType::kInt8: case NvType::kInt16: case NvType::kInt32:
        std::printf("0x%x", static_cast<unsigned>(v.i));
        break;
      case NvType::kInt64: case NvType::kHrtime:
        std::printf("0x%llx", static_cast<unsigned long long>(v.i));
        break;
      case NvType::kUint64:
        if (p.name == "vdev_state" || p.name == "vdev_laststate")
          std::printf("\"%s\" (0x%llx)", StateName(v.u), static_cast<unsigned long long>(v.u));
        else
          std::printf("0x%llx", static_cast<unsigned long long>(v.u));
        break;
      case NvType::kString: std::printf("\"%s\"", v.s.c_str()); break;
      case NvType::kNvList:
        std::printf("(embedded nvlist)\n");
        if (!v.lists.empty()) PrintFields(v.lists[0], depth + 8);
        std::printf("%*s(end %s)", depth, "", p.name.c_str());
        break;
      case NvType::kNvListArray:
        std::printf("(%zu embedded nvlists)\n", v.lists.size());
        for (size_t i = 0; i < v.lists.size(); i++) {
          std::printf("%*s%s[%zu] = (embedded nvlist)\n", depth, "", p.name.c_str(), i);
          PrintFields(v.lists[i], depth + 8);
          std::printf("%*s(end %s[%zu])\n", depth, "", p.name.c_str(), i);
        }
        std::printf("%*s(end %s)\n", depth, "", p.name.c_str());
        break;
      case NvType::kInt64Array: case NvType::kInt32Array: case NvType::kInt16Array:
      case NvType::kInt8Array:
        for (int64_t x : v.i_arr) std::printf("0x%llx ", static_cast<unsigned long long>(x));
        break;
      case NvType::kUint64Array: case NvType::kUint32Array: case NvType::kUint16Array:
      case NvType::kUint8Array:
        for (uint64_t x : v.u_arr) std::printf("0x%llx ", static_cast<unsigned long long>(x));
        break;
      case NvType::kStringArray:
        for (const std::string& x : v.s_arr) std::printf("\"%s\" ", x.c_str());
        break;
      default: std::printf("<unknown>"); break;
    }
    std::printf("\n");
  }
}

int RunEvents(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  bool verbose = false, scripted = false, follow = false, clear = false;
  std::vector<std::string> args;
  app.add_flag("-v", verbose);
  app.add_flag("-H", scripted);
  app.add_flag("-f", follow);
  app.add_flag("-c", clear);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  if (args.size() > 1) return UsageError(self, "too many arguments");
  if (args.size() == 1 && !ValidPoolName(args[0]))
    return UsageError(self, "invalid pool name '" + args[0] + "'");
  if (clear && (args.size() == 1 || verbose || scripted || follow))
    return UsageError(self, "invalid options combined with -c");
  if (clear) {
    auto n = lzc::PoolEventsClear();
    if (!n.ok()) return Fail(lzc::IsConnectError(n.status()) ? n.status().message()
                                                             : "cannot clear events: " + libzfs::Reason(n.status()));
    std::printf("cleared %llu events\n", static_cast<unsigned long long>(*n));
    return kExitOk;
  }
  if (!scripted) std::printf("%-30s %s\n", "TIME", "CLASS");
  uint64_t cursor = 0;
  for (;;) {
    auto b = lzc::PoolEvents(cursor);
    if (!b.ok()) {
      std::fflush(stdout);
      return Fail(lzc::IsConnectError(b.status()) ? b.status().message()
                                                  : "cannot get events: " + libzfs::Reason(b.status()));
    }
    if (b->dropped > 0) std::printf("dropped %llu events\n", static_cast<unsigned long long>(b->dropped));
    for (const NvList& ev : b->events) {
      const std::string* pool = ev.GetString("pool");
      if (args.size() == 1 && pool && *pool != args[0]) continue;
      PrintShort(ev, scripted);
      if (verbose) {
        PrintFields(ev, 8);
        std::printf("\n");
      }
    }
    std::fflush(stdout);
    const bool more = b->last > cursor && !b->events.empty();
    cursor = b->last;
    if (more) continue;  // a full batch may have more behind it
    if (!follow) return kExitOk;
    ::usleep(200 * 1000);  // zfsd answers at once; a follower asks again (see pool_events)
  }
}

}  // namespace

const Cmd kEvents = {
    "events",
    {"events [-vHf [pool] | -c]"},
    "    -v      print every field of each event\n"
    "    -H      scripted mode: no header, fields separated by a tab\n"
    "    -f      follow: print new events as they come, until interrupted\n"
    "    -c      clear every event zfsd keeps\n"
    "    --help  print this message\n",
    RunEvents};

}  // namespace uzfs::zpool
