// zpool scrub (zpool_main.c zpool_do_scrub, libzfs_pool.c zpool_scan): starts a scrub of each
// named pool, or with -s stops it; -w waits until each pool's scrub has ended (zpool_wait's
// ZPOOL_WAIT_SCRUB, by polling the pool's scan state). Pool version 23 has no pause (-p), no
// error scrub (-e) and no resilver to start by hand (-C, -E, -S).
#include <chrono>
#include <thread>

#include "cmd/zpool/zpool.h"
#include "libzfs/libzfs.h"
#include "libzfs/zfs_core.h"

namespace uzfs::zpool {

namespace {

// The scan state zpool status shows: "scanning" until the scrub ends.
Result<std::string> ScanState(const std::string& pool) {
  UZFS_ASSIGN(NvList st, lzc::PoolStatus(pool));
  const auto* pools = st.GetNvListArray("pools");
  if (!pools || pools->empty()) return Status::Error(ENOENT, "no such pool");
  const NvList* scan = (*pools)[0].GetNvList("scan");
  return scan && scan->GetString("state") ? *scan->GetString("state") : std::string("none");
}

int RunScrub(const Cmd& self, int argc, char** argv) {
  CLI::App app;
  bool stop = false, wait = false;
  std::vector<std::string> args;
  app.add_flag("-s", stop);
  app.add_flag("-w", wait);
  if (int rc = Parse(self, app, argc, argv, &args); rc >= 0) return rc;
  if (args.empty()) return UsageError(self, "missing pool name argument");
  int rc = kExitOk;
  std::vector<std::string> started;
  for (const std::string& pool : args) {
    Status s = lzc::PoolScrub(pool, stop, CommandLine(argc, argv));
    if (s.ok()) {
      started.push_back(pool);
      continue;
    }
    if (lzc::IsConnectError(s)) return Fail(s.message());
    if (s.code() == ENOENT && s.message() == "no such pool") {
      rc = Fail("cannot open '" + pool + "': no such pool");
      continue;
    }
    const std::string msg = (stop ? "cannot cancel scrubbing " : "cannot scrub ") + pool + ": ";
    // EZFS_RESILVERING while a resilver runs (pool version 23 lets no scrub replace it).
    if (s.code() == EBUSY && s.message() == "currently resilvering") rc = Fail(msg + "currently resilvering");
    else if (s.code() == EBUSY) rc = Fail(msg + "currently scrubbing; use 'zpool scrub -s' to cancel scrub");
    else if (s.code() == ENOENT) rc = Fail(msg + "there is no active scrub");
    else rc = Fail(msg + libzfs::Reason(s));
  }
  if (wait && !stop) {
    for (const std::string& pool : started) {
      for (;;) {
        auto state = ScanState(pool);
        if (!state.ok() || *state != "scanning") break;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    }
  }
  return rc;
}

}  // namespace

const Cmd kScrub = {"scrub",
                    {"scrub [-s | -w] pool ..."},
                    "    -s      stop the scrub under way\n"
                    "    -w      wait until the scrub has ended\n"
                    "    --help  print this message\n",
                    RunScrub};

}  // namespace uzfs::zpool
