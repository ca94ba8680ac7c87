// zfsd: the uzfs daemon. Hosts the imported pools and serves the admin protocol on a Unix
// socket (DESIGN.md section 1; zfsd(8)).
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "daemon/ops.h"
#include "daemon/ops_pool.h"
#include "daemon/pool_table.h"
#include "daemon/server.h"
#include "libzfs/proto.h"

namespace {

constexpr const char* kUsage =
    "Usage: zfsd [--foreground] [--socket PATH] [--state-dir DIR] [--log-level LEVEL]\n";
constexpr const char* kHelp =
    "\n"
    "Options:\n"
    "    --foreground       stay in the foreground, log to standard error\n"
    "    --socket PATH      listen on PATH (default $UZFS_SOCKET, else /run/uzfs/zfsd.sock)\n"
    "    --state-dir DIR    keep the pool cache file in DIR (default /var/lib/uzfs)\n"
    "    --log-level LEVEL  trace, debug, info, warn or error (default info)\n"
    "    --help             print this message\n";

int UsageError(const std::string& why) {
  std::cerr << "zfsd: " << why << "\n" << kUsage;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"zfsd"};
  app.set_help_flag();
  bool help = false, foreground = false;
  std::string socket = uzfs::proto::SocketPath(), state_dir = "/var/lib/uzfs", level = "info";
  app.add_flag("--help", help);
  app.add_flag("--foreground", foreground);
  app.add_option("--socket", socket);
  app.add_option("--state-dir", state_dir);
  app.add_option("--log-level", level);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return UsageError(e.what());
  }
  if (help) {
    std::cout << kUsage << kHelp;
    return 0;
  }
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") return UsageError("bad log level '" + level + "'");

  ::mkdir(state_dir.c_str(), 0755);
  if (!foreground) {
    pid_t pid = ::fork();
    if (pid < 0) {
      std::perror("zfsd: fork");
      return 1;
    }
    if (pid > 0) return 0;
    ::setsid();
    int devnull = ::open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      ::dup2(devnull, 0);
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
      if (devnull > 2) ::close(devnull);
    }
    spdlog::set_default_logger(spdlog::basic_logger_mt("zfsd", state_dir + "/zfsd.log"));
    spdlog::flush_every(std::chrono::seconds(1));
  } else {
    spdlog::set_default_logger(spdlog::stderr_color_mt("zfsd"));
  }
  spdlog::set_level(lvl);
  spdlog::set_pattern("zfsd: [%l] %v");

  // Signals go to one thread (sigwait); every other thread has them blocked.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  uzfs::Registry reg;
  uzfs::PoolTable table(state_dir);
  uzfs::RegisterPoolOps(reg, &table);
  uzfs::Server server(&reg, socket);
  uzfs::Status s = server.Listen();
  if (!s.ok()) {
    spdlog::error("{}", s.message());
    std::cerr << "zfsd: " << s.message() << "\n";
    return 1;
  }
  table.Start();
  spdlog::info("listening on {}", socket);
  std::thread sig([&] {
    int got = 0;
    while (sigwait(&sigs, &got) == 0) {
      if (got == SIGHUP) continue;
      spdlog::info("signal {}: syncing and stopping", got);
      server.Stop();
      return;
    }
  });
  server.Serve();
  table.Shutdown();
  sig.join();
  spdlog::info("stopped");
  spdlog::shutdown();
  return 0;
}
