// In-process tests of zfsd's socket server (daemon/server.h) with the real daemon ops
// (ping, version, pool_scan) and a root-only test op: hostile clients (garbage, oversized
// length, truncated frame, disconnect mid-message, a client stalled mid-frame or idle past
// the timeout, wrong argument types, unknown op, id/name mismatch) get error replies or are
// dropped, and the
// server still answers a good request afterwards; permissions follow the caller's uid;
// Listen refuses a socket another server answers on and replaces a stale one; Stop ends
// Serve and removes the socket.
#include "daemon/server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <thread>

#include "daemon/ops_pool.h"
#include "daemon/pool_table.h"
#include "libzfs/proto.h"

namespace uzfs {
namespace {

namespace fs = std::filesystem;
using proto::OpId;

constexpr uint64_t kRootOpId = 1000;

// A private temporary directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/uzfs-server-test.XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

int Connect(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

NvList Req(const std::string& op, uint64_t id, NvList args = NvList()) {
  NvList r;
  r.AddString("op", op);
  r.AddUint64("op_id", id);
  r.AddNvList("args", std::move(args));
  return r;
}

Bytes Frame(uint32_t len, const Bytes& body) {
  Bytes f(4 + body.size());
  StoreBE32(f.data(), len);
  std::copy(body.begin(), body.end(), f.begin() + 4);
  return f;
}

// A server on a temporary socket with the daemon ops and a root-only "root_op", serving on
// its own thread; fake_uid as Server::set_fake_uid.
class Fixture {
 public:
  explicit Fixture(int fake_uid = -1, std::string sock = "", int idle_ms = -1)
      : table_(dir_.path() + "/state"),
        sock_(sock.empty() ? dir_.path() + "/run/zfsd.sock" : std::move(sock)) {
    fs::create_directories(dir_.path() + "/state");
    RegisterPoolOps(reg_, &table_, nullptr);
    OpDef root;
    root.id = kRootOpId;
    root.name = "root_op";
    root.perm = Perm::kRoot;
    root.handler = [](const Caller&, const NvList&, NvList*) { return Status::Ok(); };
    reg_.Add(root);
    server_ = std::make_unique<Server>(&reg_, sock_);
    server_->set_fake_uid(fake_uid);
    if (idle_ms > 0) server_->set_idle_timeout_ms(idle_ms);
  }
  ~Fixture() { Stop(); }

  Status Start() {
    Status s = server_->Listen();
    if (s.ok()) serving_ = std::async(std::launch::async, [this] { server_->Serve(); });
    return s;
  }
  void Stop() {
    if (!serving_.valid()) return;
    server_->Stop();
    serving_.wait();
  }
  // Asks the server to stop (as the signal thread does) without waiting.
  void RequestStop() { server_->Stop(); }
  // Waits at most ms for Serve to return.
  bool StoppedWithin(int ms) {
    return serving_.wait_for(std::chrono::milliseconds(ms)) == std::future_status::ready;
  }

  // One request on a new connection; the reply (or the error reading it).
  Result<NvList> Call(const NvList& req) {
    int fd = Connect(sock_);
    if (fd < 0) return Status::Error(errno, "connect");
    Status s = proto::WriteMessage(fd, req);
    auto r = s.ok() ? proto::ReadMessage(fd, 5000) : Result<NvList>(s);
    ::close(fd);
    return r;
  }
  // Sends raw bytes on a new connection, then reads one reply (if any) within 5 s.
  Result<NvList> Raw(const Bytes& bytes, bool half_close) {
    int fd = Connect(sock_);
    if (fd < 0) return Status::Error(errno, "connect");
    (void)::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (half_close) ::shutdown(fd, SHUT_WR);
    auto r = proto::ReadMessage(fd, 5000);
    ::close(fd);
    return r;
  }
  // The good request every test ends with: the server is still alive and answering.
  void ExpectAlive() {
    auto r = Call(Req("version", static_cast<uint64_t>(OpId::kVersion)));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->GetUint64("errno"), 0u);
  }

  const std::string& sock() const { return sock_; }
  const std::string& dir() const { return dir_.path(); }

 private:
  TempDir dir_;
  Registry reg_;
  PoolTable table_;
  std::string sock_;
  std::unique_ptr<Server> server_;
  std::future<void> serving_;
};

uint64_t Errno(const Result<NvList>& r) {
  if (!r.ok()) return 999;
  return r->GetUint64("errno").value_or(998);
}
std::string Message(const Result<NvList>& r) {
  if (!r.ok() || !r->GetString("message")) return "";
  return *r->GetString("message");
}

TEST(Server, VersionAndPing) {
  Fixture f;
  ASSERT_TRUE(f.Start().ok());
  auto v = f.Call(Req("version", static_cast<uint64_t>(OpId::kVersion)));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(Errno(v), 0u);
  const NvList* r = v->GetNvList("result");
  ASSERT_NE(r, nullptr);
  ASSERT_NE(r->GetString("version"), nullptr);
  EXPECT_EQ(r->GetUint64("spa_version"), 23u);
  EXPECT_EQ(r->GetUint64("zpl_version"), 4u);
  EXPECT_EQ(Errno(f.Call(Req("ping", static_cast<uint64_t>(OpId::kPing)))), 0u);
}

TEST(Server, CreatesTheSocketDirectoryWithOpenMode) {
  Fixture f;
  ASSERT_TRUE(f.Start().ok());
  struct stat st;
  ASSERT_EQ(::stat(f.sock().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0666u);  // everyone may connect; ops check permissions
}

TEST(Server, PoolScanOfAnEmptyDirectoryFindsNothing) {
  Fixture f;
  ASSERT_TRUE(f.Start().ok());
  std::string d = f.dir() + "/devs";
  fs::create_directories(d);
  {  // a file of garbage large enough to be probed as a device
    std::ofstream junk(d + "/junk", std::ios::binary);
    std::string block(1 << 20, '\x5a');
    for (int i = 0; i < 80; i++) junk << block;
  }
  NvList args;
  args.AddStringArray("dirs", {d});
  auto r = f.Call(Req("pool_scan", static_cast<uint64_t>(OpId::kPoolScan), args));
  ASSERT_EQ(Errno(r), 0u) << Message(r);
  const NvList* res = r->GetNvList("result");
  ASSERT_NE(res, nullptr);
  const auto* pools = res->GetNvListArray("pools");
  EXPECT_TRUE(pools == nullptr || pools->empty());
}

TEST(Server, GarbageGetsAnErrorReplyAndTheServerLives) {
  Fixture f;
  ASSERT_TRUE(f.Start().ok());
  // "GARB" read as a length is far above 16 MiB.
  auto r = f.Raw({'G', 'A', 'R', 'B', 'A', 'G', 'E', '!', '\n'}, false);
  EXPECT_EQ(Errno(r), static_cast<uint64_t>(EMSGSIZE));
  // A plausible length with a body that is not an nvlist.
  r = f.Raw(Frame(6, {'h', 'e', 'l', 'l', 'o', '!'}), false);
  EXPECT_EQ(Errno(r), static_cast<uint64_t>(ECORRUPT));
  f.ExpectAlive();
}

TEST(Server, OversizedAndZeroLengthsAreRefused) {
  Fixture f;
  ASSERT_TRUE(f.Start().ok());
  EXPECT_EQ(Errno(f.Raw(Frame(proto::kMaxMessage + 1, {}), false)), static_cast<uint64_t>(EMSGSIZE));
  EXPECT_EQ(Errno(f.Raw(Frame(0xffffffffu, {}), false)), static_cast<uint64_t>(EMSGSIZE));
  EXPECT_EQ(Errno(f.Raw(Frame(0, {}), false)), static_cast<uint64_t>(EMSGSIZE));
  f.ExpectAlive();
}

TEST(Server, TruncatedFrameAndDisconnectMidMessage) {
  Fixture f;
  ASSERT_TRUE(f.Start().ok());
  Bytes body = Req("version", static_cast<uint64_t>(OpId::kVersion)).EncodeXdr();
  Bytes half(body.begin(), body.begin() + static_cast<long>(body.size() / 2));
  // Half a frame, then the client stops writing (but still reads): no request runs, the
  // reply says the frame was cut short.
  auto r = f.Raw(Frame(static_cast<uint32_t>(body.size()), half), true);
  EXPECT_EQ(Errno(r), static_cast<uint64_t>(ECONNRESET));
  EXPECT_EQ(r->GetNvList("result")->empty(), true);
  // Half a header, then the client vanishes.
  int fd = Connect(f.sock());
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::send(fd, "\0\0", 2, MSG_NOSIGNAL), 2);
  ::close(fd);
  // A whole request whose client is gone before the reply.
  fd = Connect(f.sock());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(proto::WriteMessage(fd, Req("ping", static_cast<uint64_t>(OpId::kPing))).ok());
  ::close(fd);
  f.ExpectAlive();
}

TEST(Server, AStalledClientDoesNotBlockOthers) {
  Fixture f;
  ASSERT_TRUE(f.Start().ok());
  int stalled = Connect(f.sock());
  ASSERT_GE(stalled, 0);
  ASSERT_EQ(::send(stalled, "\0\0\1\0abc", 7, MSG_NOSIGNAL), 7);  // 256 bytes announced, 3 sent
  auto t0 = std::chrono::steady_clock::now();
  f.ExpectAlive();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  ::close(stalled);
}

TEST(Server, StalledAndIdleClientsTimeOutWithAReply) {
  Fixture f(-1, "", 200);
  ASSERT_TRUE(f.Start().ok());
  // Stalled mid-frame: after the timeout, an ETIMEDOUT reply and the connection is closed.
  int fd = Connect(f.sock());
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::send(fd, "\0\0\1\0abc", 7, MSG_NOSIGNAL), 7);
  auto r = proto::ReadMessage(fd, 5000);
  EXPECT_EQ(Errno(r), static_cast<uint64_t>(ETIMEDOUT));
  EXPECT_EQ(proto::ReadMessage(fd, 5000).status().code(), ENODATA);  // closed
  ::close(fd);
  // Idle between requests: answered, then timed out the same way.
  fd = Connect(f.sock());
  ASSERT_TRUE(proto::WriteMessage(fd, Req("ping", static_cast<uint64_t>(OpId::kPing))).ok());
  EXPECT_EQ(Errno(proto::ReadMessage(fd, 5000)), 0u);
  EXPECT_EQ(Errno(proto::ReadMessage(fd, 5000)), static_cast<uint64_t>(ETIMEDOUT));
  ::close(fd);
  f.ExpectAlive();
}

TEST(Server, RequestErrorsAreRepliesOnALiveConnection) {
  Fixture f;
  ASSERT_TRUE(f.Start().ok());
  int fd = Connect(f.sock());
  ASSERT_GE(fd, 0);
  auto ask = [&](const NvList& req) {
    EXPECT_TRUE(proto::WriteMessage(fd, req).ok());
    return proto::ReadMessage(fd, 5000);
  };
  NvList bad_dirs;
  bad_dirs.AddString("dirs", "/dev");  // a string, not a string array
  auto r = ask(Req("pool_scan", static_cast<uint64_t>(OpId::kPoolScan), bad_dirs));
  EXPECT_EQ(Errno(r), static_cast<uint64_t>(EINVAL));
  EXPECT_NE(Message(r).find("'dirs'"), std::string::npos) << Message(r);
  NvList extra;
  extra.AddUint64("verbose", 1);
  r = ask(Req("version", static_cast<uint64_t>(OpId::kVersion), extra));
  EXPECT_EQ(Errno(r), static_cast<uint64_t>(EINVAL));
  EXPECT_NE(Message(r).find("'verbose'"), std::string::npos) << Message(r);
  r = ask(Req("no_such_op", 4242));
  EXPECT_EQ(Errno(r), static_cast<uint64_t>(ENOTSUP));
  r = ask(Req("version", static_cast<uint64_t>(OpId::kPing)));
  EXPECT_EQ(Errno(r), static_cast<uint64_t>(EINVAL));
  NvList shapeless;
  shapeless.AddString("hello", "world");
  r = ask(shapeless);
  EXPECT_EQ(Errno(r), static_cast<uint64_t>(EINVAL));
  // Same connection, good request: answered.
  r = ask(Req("ping", static_cast<uint64_t>(OpId::kPing)));
  EXPECT_EQ(Errno(r), 0u);
  ::close(fd);
  f.ExpectAlive();
}

TEST(Server, PermissionFollowsTheCallersUid) {
  Fixture user(65534);
  ASSERT_TRUE(user.Start().ok());
  EXPECT_EQ(Errno(user.Call(Req("root_op", kRootOpId))), static_cast<uint64_t>(EPERM));
  user.ExpectAlive();  // reads stay open to everyone
  Fixture root(0);
  ASSERT_TRUE(root.Start().ok());
  EXPECT_EQ(Errno(root.Call(Req("root_op", kRootOpId))), 0u);
}

TEST(Server, RefusesASocketAnotherServerAnswersOn) {
  Fixture first;
  ASSERT_TRUE(first.Start().ok());
  Fixture second(-1, first.sock());
  Status s = second.Start();
  EXPECT_EQ(s.code(), EADDRINUSE);
  EXPECT_EQ(s.message(), "another zfsd is running on " + first.sock());
  first.ExpectAlive();
}

TEST(Server, ReplacesAStaleSocket) {
  TempDir d;
  std::string path = d.path() + "/stale.sock";
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::close(fd);  // the file stays, nobody listens: what a killed zfsd leaves
  Fixture f(-1, path);
  ASSERT_TRUE(f.Start().ok());
  f.ExpectAlive();
}

TEST(Server, StopEndsServeAndRemovesTheSocket) {
  auto f = std::make_unique<Fixture>();
  ASSERT_TRUE(f->Start().ok());
  int idle = Connect(f->sock());  // an idle client must not hold the server up
  ASSERT_GE(idle, 0);
  f->ExpectAlive();
  std::string sock = f->sock();
  f->RequestStop();
  ASSERT_TRUE(f->StoppedWithin(5000)) << "Serve did not return after Stop";
  EXPECT_FALSE(fs::exists(sock));
  ::close(idle);
}

}  // namespace
}  // namespace uzfs
