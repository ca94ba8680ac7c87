// zfsd's socket server: a Unix stream socket, one thread per connection, each request
// dispatched through the Registry under one daemon-wide mutex (operations run one at a time;
// pools have their own locks for the sync thread). The caller's identity comes from
// SO_PEERCRED. A connection that sends nothing for kIdleTimeoutMs (or stalls that long in
// the middle of a frame), or sends a frame that cannot be decoded (a bad length, a body that
// is not an nvlist, a frame cut short), gets an error reply (ETIMEDOUT, EMSGSIZE, ECORRUPT,
// ECONNRESET; when one can still be sent) and is closed; the next connection is served as
// usual. A client that disappears mid-request leaves nothing half
// done: the request is only run once it has arrived whole, and runs to completion even if
// the reply cannot be delivered.
//
// Stopping waits for running requests, but not for a stream's peer: a `zfs send` whose reader
// stopped reading, or a `zfs receive` whose writer stopped writing, would block its thread in
// write(2) or read(2) for ever. Serve interrupts such a thread with kStreamSignal (a handler
// that does nothing, installed without SA_RESTART) until it finishes; the stream's read or
// write fails with EINTR, and StreamsStopping() tells it to give up ("zfsd is stopping").
#pragma once

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>

#include "daemon/ops.h"
#include "libcore/base/status.h"

namespace uzfs {

// The signal that interrupts a stream's blocked read or write when zfsd stops.
constexpr int kStreamSignal = SIGUSR2;

// True once a Server was told to stop: a stream's read or write interrupted by kStreamSignal
// returns ESHUTDOWN instead of trying again.
bool StreamsStopping();

class Server {
 public:
  static constexpr int kIdleTimeoutMs = 60'000;

  Server(const Registry* registry, std::string path);
  ~Server();
  // Creates the socket (its directory too), refusing when another zfsd answers on it (EADDRINUSE)
  // and removing a stale one. Mode 0666: reads are open to everyone, the registry checks
  // permissions per operation.
  Status Listen();
  // Instead of Listen: a listening socket the service manager created (systemd socket
  // activation, zfsd.socket). It is not removed at exit: the manager owns it and starts the
  // next zfsd when a client connects to it again.
  Status Adopt(int fd);
  // Accepts until Stop(); returns when every connection has finished its current request.
  void Serve();
  // From any thread (the signal thread): stop accepting, wake idle connections.
  void Stop();
  const std::string& path() const { return path_; }
  // For tests: a caller override (uid as if the peer had it); -1 = use SO_PEERCRED.
  void set_fake_uid(int uid) { fake_uid_ = uid; }
  // For tests: a shorter idle timeout. Before Serve.
  void set_idle_timeout_ms(int ms) { idle_timeout_ms_ = ms; }

 private:
  void Handle(int fd);
  const Registry* reg_;
  std::string path_;
  int listen_fd_ = -1;
  bool adopted_ = false;
  int wake_fd_ = -1;  // an eventfd: Stop wakes Serve's poll
  std::atomic<bool> stopping_{false};
  std::mutex mu_;  // guards conns_, active_ and streaming_
  std::condition_variable cv_;
  std::set<int> conns_;
  std::set<pthread_t> streaming_;  // threads running a stream (Session::then)
  int active_ = 0;
  std::mutex ops_mu_;  // the daemon-wide operation lock
  int fake_uid_ = -1;
  int idle_timeout_ms_ = kIdleTimeoutMs;
};

}  // namespace uzfs
