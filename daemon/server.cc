#include "daemon/server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include <spdlog/spdlog.h>

#include "libzfs/proto.h"

namespace uzfs {

namespace {
std::atomic<bool> g_streams_stopping{false};
void OnStreamSignal(int) {}  // only to interrupt a blocked read or write (EINTR)
}  // namespace

bool StreamsStopping() { return g_streams_stopping.load(); }

Server::Server(const Registry* registry, std::string path)
    : reg_(registry), path_(std::move(path)), wake_fd_(::eventfd(0, EFD_CLOEXEC)) {
  struct sigaction sa {};
  sa.sa_handler = OnStreamSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: the blocked call returns EINTR
  ::sigaction(kStreamSignal, &sa, nullptr);
}

Server::~Server() {
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

Status Server::Adopt(int fd) {
  sockaddr_un addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    return Status::Error(errno, std::string("the socket passed by the service manager: ") + std::strerror(errno));
  if (addr.sun_family == AF_UNIX && len > offsetof(sockaddr_un, sun_path) && addr.sun_path[0] != '\0')
    path_ = addr.sun_path;
  listen_fd_ = fd;
  adopted_ = true;
  return Status::Ok();
}

Status Server::Listen() {
  if (path_.size() >= sizeof(sockaddr_un::sun_path))
    return Status::Error(ENAMETOOLONG, "socket path too long: " + path_);
  auto slash = path_.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    std::string dir = path_.substr(0, slash);
    // mkdir -p
    for (size_t i = 1; i <= dir.size(); i++)
      if (i == dir.size() || dir[i] == '/') ::mkdir(dir.substr(0, i).c_str(), 0755);
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
  struct stat st;
  if (::stat(path_.c_str(), &st) == 0) {
    int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool alive = probe >= 0 && ::connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    if (probe >= 0) ::close(probe);
    if (alive) return Status::Error(EADDRINUSE, "another zfsd is running on " + path_);
    ::unlink(path_.c_str());
  }
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return Status::Error(errno, "socket");
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return Status::Error(errno, "cannot bind " + path_ + ": " + std::strerror(errno));
  ::chmod(path_.c_str(), 0666);
  if (::listen(listen_fd_, 64) != 0) return Status::Error(errno, "listen");
  return Status::Ok();
}

void Server::Serve() {
  while (!stopping_) {
    // Woken by a connection or by Stop (the eventfd): a socket the service manager lent us
    // must stay usable for the next zfsd, so Stop does not shut it down.
    pollfd p[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (::poll(p, wake_fd_ >= 0 ? 2 : 1, -1) < 0 && errno != EINTR) {
      spdlog::error("poll: {}", std::strerror(errno));
      break;
    }
    if (stopping_) break;
    if (!(p[0].revents & POLLIN)) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN) continue;
      if (stopping_) break;
      spdlog::error("accept: {}", std::strerror(errno));
      continue;
    }
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_) {
      ::close(fd);
      break;
    }
    conns_.insert(fd);
    active_++;
    std::thread([this, fd] { Handle(fd); }).detach();
  }
  std::unique_lock<std::mutex> l(mu_);
  for (int fd : conns_) ::shutdown(fd, SHUT_RD);
  // A stream blocked on its peer is interrupted, again and again (a signal that arrives just
  // before the thread blocks is lost), until every connection has finished.
  while (!cv_.wait_for(l, std::chrono::milliseconds(100), [this] { return active_ == 0; }))
    for (pthread_t t : streaming_) ::pthread_kill(t, kStreamSignal);
  if (!adopted_) ::unlink(path_.c_str());
}

void Server::Stop() {
  stopping_ = true;
  g_streams_stopping = true;
  uint64_t one = 1;
  if (wake_fd_ >= 0 && ::write(wake_fd_, &one, sizeof one) < 0) spdlog::warn("stop: {}", std::strerror(errno));
  std::lock_guard<std::mutex> l(mu_);
  for (int fd : conns_) ::shutdown(fd, SHUT_RD);
}

void Server::Handle(int fd) {
  Caller caller;
  struct ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
    caller.uid = cred.uid;
    caller.gid = cred.gid;
    caller.pid = cred.pid;
  } else {
    caller.uid = UINT32_MAX;  // unknown: no privilege
  }
  if (fake_uid_ >= 0) caller.uid = static_cast<uint32_t>(fake_uid_);
  static std::atomic<uint64_t> next_session{1};
  Session session;
  session.id = next_session++;
  session.fd = fd;
  caller.session = &session;
  auto close_fds = [](std::vector<int>& fds) {
    for (int f : fds)
      if (f >= 0) ::close(f);
    fds.clear();
  };
  while (!stopping_) {
    auto req = proto::ReadMessage(fd, session.long_lived ? -1 : idle_timeout_ms_, &session.fds_in,
                                  &session.payload_in);
    if (!req.ok()) {
      // Framing is lost (bad length, undecodable body, a frame cut short by a half-closed
      // or stalled peer) or the peer went idle: say why when the peer may still listen,
      // then close. A clean close between messages (ENODATA) needs no answer.
      int c = req.status().code();
      if (c != ENODATA) {
        spdlog::warn("pid {}: {}", caller.pid, req.status().ToString());
        (void)proto::WriteMessage(fd, ErrorReply(req.status()));
      }
      break;
    }
    NvList reply;
    {
      std::lock_guard<std::mutex> l(ops_mu_);
      const std::string* op = req->GetString("op");
      spdlog::debug("pid {} uid {}: {}", caller.pid, caller.uid, op ? *op : "?");
      reply = reg_->Dispatch(caller, *req);
    }
    if (session.then) {  // the streaming part of zfs send / receive, outside ops_mu_
      auto then = std::move(session.then);
      session.then = nullptr;
      if (reply.GetUint64("errno").value_or(EIO) == 0) {
        {
          std::lock_guard<std::mutex> l(mu_);
          streaming_.insert(::pthread_self());
        }
        reply = then();
        std::lock_guard<std::mutex> l(mu_);
        streaming_.erase(::pthread_self());
      }
    }
    close_fds(session.fds_in);
    Status sent = proto::WriteMessage(fd, reply, session.fds_out, session.payload_out);
    close_fds(session.fds_out);
    session.payload_in.clear();
    session.payload_out.clear();
    if (!sent.ok()) break;
  }
  close_fds(session.fds_in);
  if (!session.on_close.empty()) {
    std::lock_guard<std::mutex> l(ops_mu_);
    for (auto& f : session.on_close) f();
  }
  std::lock_guard<std::mutex> l(mu_);
  conns_.erase(fd);
  ::close(fd);
  active_--;
  cv_.notify_all();
}

}  // namespace uzfs
