// zfsd: the uzfs daemon. Hosts the imported pools and serves the admin protocol on a Unix
// socket (docs/design.md sections 1-2; zfsd(8)).
//
// Start-up: options; paths made absolute (a daemon runs in /); the socket is bound before
// zfsd counts as started, so `zfsd` (daemonizing) returns 0 only once clients can connect,
// and 1 with the reason ("another zfsd is running on PATH") otherwise: the child reports
// through a pipe. Then the pools of the cache file are imported and requests served.
// Shutdown (SIGTERM, SIGINT): stop accepting, let running requests finish, run the shutdown
// hooks in order (the pool table's: sync every pool, keep the cache file), remove the socket
// and the pid file, exit 0. SIGHUP is ignored.
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <thread>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "daemon/dax_fence_book.h"
#include "daemon/file_service.h"
#include "daemon/ops.h"
#include "daemon/ops_arc.h"
#include "daemon/ops_pool.h"
#include "daemon/pool_table.h"
#include "daemon/server.h"
#include "daemon/zvol_dev.h"
#include "libcore/arc/arc.h"
#include "libcore/base/zfs_prop.h"
#include "libzfs/proto.h"

namespace {

constexpr const char* kUsage =
    "Usage: zfsd [--foreground] [--socket PATH] [--state-dir DIR] [--pidfile PATH] [--log-level LEVEL]"
    " [--arc-max SIZE] [--dirty-max SIZE] [--txg-timeout SECONDS] [--scrub-delay USEC]"
    " [--device-poll SECONDS] [--dax-emulation]\n";
constexpr const char* kHelp =
    "\n"
    "Options:\n"
    "    --foreground       stay in the foreground, log to standard error\n"
    "    --socket PATH      listen on PATH (default $UZFS_SOCKET, else /run/uzfs/zfsd.sock)\n"
    "    --state-dir DIR    keep the pool cache file (and, daemonized, zfsd.log) in DIR\n"
    "                       (default /var/lib/uzfs)\n"
    "    --pidfile PATH     write the daemon's process id to PATH while it runs\n"
    "    --log-level LEVEL  trace, debug, info, warn or error (default info)\n"
    "    --arc-max SIZE     the ARC's maximum size (K, M, G... suffixes; at least 64M;\n"
    "                       default half of the memory)\n"
    "    --dirty-max SIZE   the most data a pool's open txg may hold before writers wait\n"
    "                       (at least 1M; default a tenth of the memory, at most 4G)\n"
    "    --txg-timeout SECONDS  the longest a change waits for its txg to be written\n"
    "                       (1 to 3600; default 5)\n"
    "    --scrub-delay USEC  a scrub's pause after each block it reads (0 to 1000000;\n"
    "                       default 0)\n"
    "    --device-poll SECONDS  how often the pools' block devices are polled (1 to 3600;\n"
    "                       default 10 with a device monitor, 1 without)\n"
    "    --dax-emulation    accept regular files as device-DAX devices of the dax class\n"
    "                       (for tests and machines without persistent memory)\n"
    "    --help             print this message\n";

int UsageError(const std::string& why) {
  std::cerr << "zfsd: " << why << "\n" << kUsage;
  return 2;
}

// CLI11's parse errors in the words of getopt_long, as the other binaries print them.
std::string ParseErrorText(const CLI::ParseError& e) {
  std::string what = e.what();
  if (const auto* x = dynamic_cast<const CLI::ExtrasError*>(&e)) {
    (void)x;
    auto p = what.find(": ");
    std::string arg = p == std::string::npos ? what : what.substr(p + 2);
    arg = arg.substr(0, arg.find(' '));
    if (arg.rfind('-', 0) == 0) return "unrecognized option '" + arg + "'";
    return "unexpected argument '" + arg + "'";
  }
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&e)) {
    return "option '" + what.substr(0, what.find(':')) + "' requires an argument";
  }
  return what;
}

// Detaches from the terminal: fork (the parent waits on *ready_fd's other end and exits with
// the child's verdict), setsid, chdir /, standard streams on /dev/null. Returns in the child.
void Daemonize(int* ready_fd) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) {
    std::perror("zfsd: pipe");
    std::exit(1);
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    std::perror("zfsd: fork");
    std::exit(1);
  }
  if (pid > 0) {
    ::close(p[1]);
    std::string msg;
    char buf[512];
    ssize_t n;
    while ((n = ::read(p[0], buf, sizeof buf)) > 0) msg.append(buf, static_cast<size_t>(n));
    if (msg == "ok") std::exit(0);
    std::cerr << "zfsd: " << (msg.empty() ? "the daemon exited during start-up" : msg) << "\n";
    std::exit(1);
  }
  ::close(p[0]);
  *ready_fd = p[1];
  ::setsid();
  if (::chdir("/") != 0) std::perror("zfsd: chdir /");
  int devnull = ::open("/dev/null", O_RDWR);
  if (devnull >= 0) {
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    if (devnull > 2) ::close(devnull);
  }
}

// Tells the waiting parent (if any) how start-up went; "ok" or the reason.
void Report(int* ready_fd, const std::string& msg) {
  if (*ready_fd < 0) return;
  (void)!::write(*ready_fd, msg.data(), msg.size());
  ::close(*ready_fd);
  *ready_fd = -1;
}

// sd_notify(3): a zfsd.service of Type=notify counts as started at READY=1, sent once the
// socket accepts connections and the cache file's pools are imported and mounted; STOPPING=1
// as SIGTERM's shutdown begins. Nothing without $NOTIFY_SOCKET.
void NotifySystemd(const std::string& state) {
  if (int r = sd_notify(0, state.c_str()); r < 0) spdlog::warn("sd_notify {}: {}", state, std::strerror(-r));
}

// sd_listen_fds(3): zfsd started by zfsd.socket (socket activation) is given its listening
// socket as fd 3. A client that connected first waits in the socket's backlog until the pools
// are imported and mounted and Serve accepts. -1 when zfsd was not started that way.
uzfs::Result<int> ActivationSocket() {
  int n = sd_listen_fds(1);
  if (n < 0) return uzfs::Status::Error(-n, std::string("sd_listen_fds: ") + std::strerror(-n));
  if (n == 0) return -1;
  if (n > 1) return uzfs::Status::Error(EINVAL, "the service manager passed " + std::to_string(n) + " sockets; zfsd takes one");
  if (sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, nullptr, 0) <= 0)
    return uzfs::Status::Error(EINVAL, "the socket passed by the service manager is not a listening Unix stream socket");
  return SD_LISTEN_FDS_START;
}

}  // namespace

// glibc's malloc serves requests of 128 KiB and more by mmap until its dynamic threshold
// rises, and gives memory back once a heap's top passes the trim threshold: new file blocks
// (ObjsetWriter) and the write pipeline's buffers (compression, checksums) then come back as
// fresh pages, a page fault and a zeroed page per 4 KiB, some of it under the pool lock. Fixed
// thresholds keep such buffers in the arenas. 1 GiB fio psync 1 MiB writes through a mount,
// zfsd's page faults: 169K before, 133K with this alone (with ObjsetWriter::WholeBlock as
// well: 312-334K against 225-251K in alternating runs, zfsd CPU 1.20-1.29 s against
// 1.07-1.11). Thread arenas still unmap heaps that empty wholly; arena_max=1 took the faults
// to 53-94K but serializes malloc across threads, so it was not kept. What the heap keeps
// back is bounded by the trim threshold per arena (the dirty data itself by dirty_max).
static void TuneMalloc() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // the largest glibc takes (HEAP_MAX_SIZE / 2)
  mallopt(M_TRIM_THRESHOLD, 128 << 20);
}

int main(int argc, char** argv) {
  TuneMalloc();
  CLI::App app{"zfsd"};
  app.set_help_flag();
  bool help = false, foreground = false, dax_emulation = false;
  std::string socket = uzfs::proto::SocketPath(), state_dir = "/var/lib/uzfs", level = "info";
  std::string pidfile, arc_max_text, dirty_max_text;
  int txg_timeout = 5;
  int64_t scrub_delay = 0;
  int device_poll = 0;
  app.add_flag("--help", help);
  app.add_flag("--foreground", foreground);
  app.add_option("--socket", socket);
  app.add_option("--state-dir", state_dir);
  app.add_option("--pidfile", pidfile);
  app.add_option("--log-level", level);
  app.add_option("--arc-max", arc_max_text);
  app.add_option("--dirty-max", dirty_max_text);
  app.add_option("--txg-timeout", txg_timeout);
  app.add_option("--scrub-delay", scrub_delay);
  app.add_option("--device-poll", device_poll);
  app.add_flag("--dax-emulation", dax_emulation);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return UsageError(ParseErrorText(e));
  }
  if (help) {
    std::cout << kUsage << kHelp;
    return 0;
  }
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") return UsageError("bad log level '" + level + "'");
  if (socket.empty() || state_dir.empty()) return UsageError("empty path");
  uint64_t arc_max = uzfs::Arc::DefaultMax();
  if (!arc_max_text.empty()) {
    uzfs::Status s = uzfs::ParseSize(arc_max_text, &arc_max);
    if (!s.ok()) return UsageError(s.message());
    if (arc_max < uzfs::kArcMinMax) return UsageError("arc_max must be at least 64M");
  }
  uint64_t dirty_max = 0;  // the pools' default
  if (!dirty_max_text.empty()) {
    uzfs::Status s = uzfs::ParseSize(dirty_max_text, &dirty_max);
    if (!s.ok()) return UsageError(s.message());
    if (dirty_max < (1ULL << 20)) return UsageError("dirty_max must be at least 1M");
  }
  if (txg_timeout < 1 || txg_timeout > 3600) return UsageError("txg_timeout must be 1 to 3600 seconds");
  if (app.count("--device-poll") && (device_poll < 1 || device_poll > 3600))
    return UsageError("device_poll must be 1 to 3600 seconds");
  if (scrub_delay < 0 || scrub_delay > 1000000) return UsageError("scrub_delay must be 0 to 1000000 microseconds");
  std::error_code ec;
  socket = std::filesystem::absolute(socket, ec).string();
  state_dir = std::filesystem::absolute(state_dir, ec).string();
  if (!pidfile.empty()) pidfile = std::filesystem::absolute(pidfile, ec).string();

  // Signals go to one thread (sigwait); every other thread, spdlog's flusher included, is
  // created with them blocked, so block them before any thread exists.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  // Before Daemonize: the service manager's socket is ours only while LISTEN_PID is our pid.
  uzfs::Result<int> activated = ActivationSocket();
  std::filesystem::create_directories(state_dir, ec);
  int ready_fd = -1;
  if (!foreground) {
    Daemonize(&ready_fd);
    spdlog::set_default_logger(spdlog::basic_logger_mt("zfsd", state_dir + "/zfsd.log"));
    spdlog::flush_every(std::chrono::seconds(1));
  } else {
    spdlog::set_default_logger(spdlog::stderr_color_mt("zfsd"));
  }
  spdlog::set_level(lvl);
  spdlog::set_pattern(foreground ? "zfsd: [%l] %v" : "%Y-%m-%d %H:%M:%S.%e [%l] %v");

  uzfs::Registry reg;
  // One ARC for every pool; it outlives the pool table (declared before it).
  uzfs::Arc arc(arc_max);
  // The extents each client may map, on file beside the socket: a runtime file, as long-lived
  // as the processes it names (dax_fence_book.h). Read before any pool is imported; it
  // outlives the pool table and the file service (declared before them).
  std::filesystem::create_directories(std::filesystem::path(socket).parent_path(), ec);
  uzfs::DaxFenceBook fence_book(uzfs::PosixEnv(), socket + ".dax-fences");
  if (uzfs::Status b = fence_book.Load(); !b.ok()) spdlog::error("{}", b.ToString());
  uzfs::PoolTable table(state_dir, &arc);
  table.SetDirtyMax(dirty_max);
  table.SetTxgTimeout(std::chrono::seconds(txg_timeout));
  table.SetScanDelay(std::chrono::microseconds(scrub_delay));
  table.SetDaxEmulation(dax_emulation);
  table.SetDevicePoll(std::chrono::seconds(device_poll));
  uzfs::MountTable mounts(&table);
  // Volumes as loop devices over a FUSE file system of their own (zvol_dev.h).
  uzfs::ZvolDevices zvols(&table, state_dir);
  mounts.SetVolumes(&zvols);
  // The file API and the fault service of its mappings; every pool asks it to write-protect
  // mapped-dirty units at sync.
  uzfs::FileService files(&table, &mounts, &arc);
  files.SetFenceBook(&fence_book);
  table.SetDaxFencer([&files](uzfs::Pool& p) { files.ApplyFences(p); });
  table.SetMapProtector([&files](const uzfs::ArcObjKey& k, uint64_t off, uint64_t len) {
    files.Protect(k, off, len);
  });
  table.SetPreSync([&files](uzfs::Pool& p) { files.PreSync(p); });
  table.SetDaxRevoker([&files](uzfs::Pool& p, uint64_t ds, uint64_t obj, uint64_t size) {
    files.RevokeDaxPast(p, ds, obj, size);
  });
  table.SetDaxPauser([&files](uzfs::Pool& p, const std::vector<std::string>& fs,
                              const std::function<uzfs::Status()>& body) {
    return files.WithDaxPaused(p, fs, body);
  });
  table.SetDaxMapRevoker([&files](uzfs::Pool& p, const std::vector<std::string>& fs) {
    files.RevokeDax(p, fs);
  });
  uzfs::RegisterArcOps(reg, &arc, [&files](uzfs::NvList* out) { files.AddStats(out); });
  uzfs::RegisterPoolOps(reg, &table, &mounts);
  uzfs::RegisterDatasetOps(reg, &table, &mounts);
  files.Register(reg);
  // Run in this order after the last request finished. A component that must leave things
  // tidy at exit adds itself here, next to its Register*Ops call.
  std::vector<std::pair<std::string, std::function<void()>>> shutdown_hooks = {
      {"unmount every filesystem", [&] { mounts.UnmountEverything(); }},
      {"remove every volume's device", [&] { zvols.Stop(); }},
      {"sync every pool", [&] { table.Shutdown(); }},
      {"stop the fault service", [&] { files.Stop(); }},
  };
  uzfs::Server server(&reg, socket);
  uzfs::Status s = !activated.ok() ? activated.status() : *activated >= 0 ? server.Adopt(*activated) : server.Listen();
  if (!s.ok()) {
    spdlog::error("{}", s.message());
    if (foreground) std::cerr << "zfsd: " << s.message() << "\n";
    Report(&ready_fd, s.message());
    return 1;
  }
  if (!pidfile.empty()) {
    std::ofstream(pidfile) << ::getpid() << "\n";
  }
  table.Start();
  if (uzfs::Status f = files.Start(); !f.ok()) spdlog::error("file service: {}", f.ToString());
  if (uzfs::Status z = zvols.Start(); !z.ok()) spdlog::warn("volumes are not exposed: {}", z.ToString());
  mounts.MountAll();
  spdlog::info("listening on {}{}", server.path(), *activated >= 0 ? " (from the service manager)" : "");
  Report(&ready_fd, "ok");
  NotifySystemd("READY=1\nMAINPID=" + std::to_string(::getpid()));
  std::thread sig([&] {
    int got = 0;
    while (sigwait(&sigs, &got) == 0) {
      if (got == SIGHUP) continue;
      spdlog::info("signal {}: stopping", got);
      NotifySystemd("STOPPING=1");
      server.Stop();
      return;
    }
  });
  server.Serve();
  for (auto& [name, hook] : shutdown_hooks) {
    spdlog::info("shutdown: {}", name);
    hook();
  }
  if (!pidfile.empty()) ::unlink(pidfile.c_str());
  sig.join();
  spdlog::info("stopped");
  spdlog::shutdown();
  return 0;
}
