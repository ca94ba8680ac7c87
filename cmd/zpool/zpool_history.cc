// zpool history (zpool_do_history): the commands logged in each pool, oldest first.
#include <ctime>
#include <iostream>

#include "cmd/zpool/zpool.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zpool {

static int Run(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  std::vector<std::string> args;
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
        const NvValue* internal = r.Find("internal");
        if (internal && internal->u) continue;  // internal events: zpool history -i (not offered)
        std::time_t t = static_cast<std::time_t>(r.GetUint64("time").value_or(0));
        std::tm tm{};
        localtime_r(&t, &tm);
        char buf[64];
        std::strftime(buf, sizeof buf, "%Y-%m-%d.%H:%M:%S", &tm);
        std::cout << buf << " " << *r.GetString("command") << "\n";
      }
    std::cout << "\n";
  }
  return rc;
}

const Cmd kHistory = {"history", {"history [pool]..."}, "    --help  print this message\n", Run};

}  // namespace uzfs::zpool
