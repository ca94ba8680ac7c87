// The library's side of DAX revocation (file_revoke.cc) against a fake zfsd: a regular file
// stands in for the dax device, the test plays zfsd on the socket and on the revoke channel.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <csetjmp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "libzfs/include/uzfs/file.h"
#include "libzfs/proto.h"

namespace {

using uzfs::NvList;
namespace proto = uzfs::proto;
constexpr uint64_t kEs = 2u << 20;

// Whether reading *p raises SIGBUS, tested in this process: the library keeps forked
// children from inheriting DAX mappings (MADV_DONTFORK), so a child would see no mapping.
sigjmp_buf bus_jump;
void OnBus(int) { siglongjmp(bus_jump, 1); }
bool RaisesSigbus(const volatile uint8_t* p) {
  struct sigaction sa = {}, old = {};
  sa.sa_handler = OnBus;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGBUS, &sa, &old);
  bool bus = false;
  if (sigsetjmp(bus_jump, 1) == 0) (void)*p;
  else bus = true;
  sigaction(SIGBUS, &old, nullptr);
  return bus;
}

class FakeZfsd {
 public:
  explicit FakeZfsd(const std::string& dir) : dev_path_(dir + "/dev") {
    dev_ = ::open(dev_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    EXPECT_EQ(::ftruncate(dev_, 2 * kEs), 0);
    std::string sock = dir + "/s";
    ::setenv("UZFS_SOCKET", sock.c_str(), 1);
    listen_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, sock.c_str(), sizeof a.sun_path - 1);
    EXPECT_EQ(::bind(listen_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(listen_, 1), 0);
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    channel_ = sv[0];
    client_end_ = sv[1];
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeZfsd() {
    thread_.join();
    for (int fd : {dev_, listen_, channel_}) ::close(fd);
  }
  int dev() const { return dev_; }
  uint8_t DevByte(uint64_t off) const {
    uint8_t b = 0xff;
    EXPECT_EQ(::pread(dev_, &b, 1, static_cast<off_t>(off)), 1);
    return b;
  }
  // One request on the revoke channel; the client's errno.
  uint64_t Ask(NvList args, const std::vector<int>& fds = {}) {
    args.AddUint64("map", 7);
    args.AddUint64("seq", ++seq_);
    NvList req;
    req.AddString("op", "file_revoke");
    req.AddUint64("op_id", static_cast<uint64_t>(proto::OpId::kFileRevoke));
    req.AddNvList("args", args);
    EXPECT_TRUE(proto::WriteMessage(channel_, req, fds).ok());
    auto r = proto::ReadMessage(channel_, 5000);
    EXPECT_TRUE(r.ok());
    if (!r.ok()) return 999;
    EXPECT_EQ(r->GetUint64("op_id").value_or(0), static_cast<uint64_t>(proto::OpId::kFileRevoked));
    const NvList* a = r->GetNvList("args");
    EXPECT_EQ(a->GetUint64("seq").value_or(0), seq_);
    return a->GetUint64("errno").value_or(999);
  }

 private:
  void Serve() {
    int c = ::accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC);
    for (;;) {
      auto req = proto::ReadMessage(c, -1);
      if (!req.ok()) break;
      const std::string op = *req->GetString("op");
      const NvList* args = req->GetNvList("args");
      NvList reply, result;
      std::vector<int> fds;
      reply.AddUint64("errno", 0);
      if (op == "file_open") {
        result.AddUint64("handle", 1);
      } else if (op == "file_mmap" && !args->Has("map")) {
        // The file's two extents: file 0 at device 0, file 2 MiB at device 2 MiB.
        result.AddUint64("map", 7);
        result.AddUint64("size", 2 * kEs);
        result.AddBooleanValue("dax", true);
        result.AddUint64("extent_size", kEs);
        result.AddUint64Array("extents", {0, 0, 0, kEs, 0, kEs});
        result.AddUint64Array("emulated", {1});
        result.AddBooleanValue("revoke_channel", true);
        fds = {dev_, client_end_};
      }
      reply.AddNvList("result", result);
      EXPECT_TRUE(proto::WriteMessage(c, reply, fds).ok());
      if (client_end_ >= 0 && !fds.empty()) {
        ::close(client_end_);
        client_end_ = -1;
      }
      if (op == "file_close") break;
    }
    ::close(c);
  }
  std::string dev_path_;
  int dev_ = -1, listen_ = -1, channel_ = -1, client_end_ = -1;
  uint64_t seq_ = 0;
  std::thread thread_;
};

TEST(DaxRevokeClient, PauseHoldsStoresUntilResumeMapsTheNewExtentsAndGoneRaisesSigbus) {
  auto dir = std::filesystem::temp_directory_path() / ("uzfs-revoke-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    FakeZfsd z(dir.string());
    uzfs_file* f = uzfs_open_dataset("p/fs", "f", O_RDWR, 0);
    ASSERT_NE(f, nullptr) << std::strerror(errno);
    auto* p = static_cast<volatile uint8_t*>(uzfs_mmap(f, 2 * kEs, PROT_READ | PROT_WRITE, 0));
    ASSERT_NE(static_cast<void*>(const_cast<uint8_t*>(p)), MAP_FAILED) << std::strerror(errno);
    p[0] = 1;
    EXPECT_EQ(z.DevByte(0), 1);

    // Paused: a store waits (the device keeps the old byte) until the resume.
    NvList pause;
    pause.AddString("kind", "pause");
    ASSERT_EQ(z.Ask(pause), 0u);
    std::atomic<bool> stored{false};
    std::thread t([&] {
      p[100] = 42;
      stored = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_FALSE(stored);
    EXPECT_EQ(z.DevByte(100), 0);
    // Resumed with the extents swapped: the waiting store lands in the new place.
    NvList resume;
    resume.AddString("kind", "resume");
    resume.AddUint64Array("extents", {0, 0, kEs, kEs, 0, 0});
    resume.AddUint64Array("emulated", {1});
    ASSERT_EQ(z.Ask(resume, {z.dev()}), 0u);
    t.join();
    EXPECT_TRUE(stored);
    EXPECT_EQ(z.DevByte(kEs + 100), 42);
    EXPECT_EQ(z.DevByte(100), 0);
    EXPECT_EQ(p[kEs + 0], 1);  // the old first extent now at file offset 2 MiB

    // Gone past 4097: the first two pages stay, the third raises SIGBUS.
    NvList gone;
    gone.AddString("kind", "gone");
    gone.AddUint64("offset", 4097);
    ASSERT_EQ(z.Ask(gone), 0u);
    EXPECT_EQ(p[4096], 0);
    EXPECT_FALSE(RaisesSigbus(p + 4096));
    EXPECT_TRUE(RaisesSigbus(p + 8192));
    EXPECT_EQ(uzfs_munmap(f, const_cast<uint8_t*>(p), 2 * kEs), 0);
    EXPECT_EQ(uzfs_close(f), 0);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
