// zpool history (zpool_do_history): the commands logged in each pool, oldest first.
#include <pwd.h>

#include <ctime>
#include <iostream>

#include "cmd/zpool/zpool.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zpool {

// -l's suffix (get_history_one): " [user NAME on HOST:ZONE]", the uid when it has no
// name, " [no info]" for a record without one.
static std::string LongSuffix(const NvList& r) {
  auto who = r.GetUint64("who");
  if (!who) return " [no info]";
  std::string out = " [user ";
  struct passwd pw, *res = nullptr;
  char buf[1024];
  if (::getpwuid_r(static_cast<uid_t>(*who), &pw, buf, sizeof buf, &res) == 0 && res)
    out += res->pw_name;
  else
    out += std::to_string(static_cast<int>(*who));
  out += " on";
  if (const std::string* h = r.GetString("host")) out += " " + *h;
  if (const std::string* z = r.GetString("zone")) out += ":" + *z;
  return out + "]";
}

static int RunHistory(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  std::vector<std::string> args;
  bool internal = false, longfmt = false;
  app.add_flag("-i", internal);
  app.add_flag("-l", longfmt);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  if (args.empty()) {
    auto l = lzc::PoolList();
    if (!l.ok()) return Fail(lzc::IsConnectError(l.status()) ? l.status().message() : libzfs::Reason(l.status()));
    if (const auto* pools = l->GetNvListArray("pools"))
      for (const NvList& p : *pools) args.push_back(*p.GetString("name"));
    if (args.empty()) {
      std::cout << "no pools available\n";
      return kExitOk;
    }
  }
  int rc = kExitOk;
  for (const std::string& p : args) {
    auto h = lzc::PoolHistory(p);
    if (!h.ok()) {
      if (lzc::IsConnectError(h.status())) return Fail(h.status().message());
      rc = Fail(libzfs::PoolErrorText("get history for", p, h.status()));
      continue;
    }
    std::cout << "History for '" << p << "':\n";
    if (const auto* recs = h->GetNvListArray("records"))
      for (const NvList& r : *recs) {
        const NvValue* in = r.Find("internal");
        std::string cmd = *r.GetString("command");
        if (in && in->u) {
          // Internal events only with -i, as "[internal EVENT txg:N] STR".
          const std::string* ev = r.GetString("event");
          if (!internal || !ev || !r.GetUint64("txg")) continue;
          cmd = "[internal " + *ev + " txg:" + std::to_string(*r.GetUint64("txg")) + "] " + cmd;
        }
        std::time_t t = static_cast<std::time_t>(r.GetUint64("time").value_or(0));
        std::tm tm{};
        localtime_r(&t, &tm);
        char buf[64];
        std::strftime(buf, sizeof buf, "%Y-%m-%d.%H:%M:%S", &tm);
        std::cout << buf << " " << cmd << (longfmt ? LongSuffix(r) : "") << "\n";
      }
    std::cout << "\n";
  }
  return rc;
}

const Cmd kHistory = {"history",
                      {"history [-il] [pool]..."},
                      "    -i      internal events too (the scrub's start and end)\n"
                      "    -l      long format: who ran each command, on which host\n"
                      "    --help  print this message\n",
                      RunHistory};

}  // namespace uzfs::zpool
