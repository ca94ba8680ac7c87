// Tests of the zfsd wire protocol (libzfs/proto.h): round trips through a socketpair and
// DecodeFrame, and every kind of malformed frame: short header, zero and oversized lengths,
// truncated bodies, bodies that are not an XDR nvlist, a peer that closes mid-message, a
// peer that sends nothing (timeout).
#include "libzfs/proto.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <set>
#include <thread>

namespace uzfs::proto {
namespace {

// A connected pair of Unix stream sockets, closed on destruction.
class Pair {
 public:
  Pair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fd_), 0); }
  ~Pair() {
    CloseA();
    CloseB();
  }
  int a() const { return fd_[0]; }
  int b() const { return fd_[1]; }
  void CloseA() {
    if (fd_[0] >= 0) ::close(fd_[0]);
    fd_[0] = -1;
  }
  void CloseB() {
    if (fd_[1] >= 0) ::close(fd_[1]);
    fd_[1] = -1;
  }
  void SendRaw(const Bytes& b) const {
    ASSERT_EQ(::send(fd_[0], b.data(), b.size(), MSG_NOSIGNAL), static_cast<ssize_t>(b.size()));
  }

 private:
  int fd_[2] = {-1, -1};
};

NvList Request() {
  NvList args;
  args.AddStringArray("dirs", {"/dev", "/tmp/x y"});
  args.AddBooleanValue("force", true);
  NvList req;
  req.AddString("op", "pool_scan");
  req.AddUint64("op_id", static_cast<uint64_t>(OpId::kPoolScan));
  req.AddNvList("args", args);
  return req;
}

Bytes Frame(uint32_t len, const Bytes& body) {
  Bytes f(4 + body.size());
  StoreBE32(f.data(), len);
  std::copy(body.begin(), body.end(), f.begin() + 4);
  return f;
}

TEST(Proto, RoundTripThroughASocket) {
  Pair p;
  NvList req = Request();
  ASSERT_TRUE(WriteMessage(p.a(), req).ok());
  ASSERT_TRUE(WriteMessage(p.a(), NvList()).ok());  // an empty nvlist is still a message
  auto got = ReadMessage(p.b(), 1000);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, req);
  auto empty = ReadMessage(p.b(), 1000);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(Proto, FrameIsBigEndianLengthThenXdr) {
  Pair p;
  NvList req = Request();
  ASSERT_TRUE(WriteMessage(p.a(), req).ok());
  Bytes body = req.EncodeXdr();
  Bytes buf(4 + body.size() + 16);
  ssize_t n = ::recv(p.b(), buf.data(), buf.size(), 0);
  ASSERT_EQ(n, static_cast<ssize_t>(4 + body.size()));
  EXPECT_EQ(LoadBE32(buf.data()), body.size());
  EXPECT_TRUE(std::equal(body.begin(), body.end(), buf.begin() + 4));
  auto dec = DecodeFrame(ByteSpan(buf.data(), static_cast<size_t>(n)));
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(*dec, req);
}

TEST(Proto, LargeMessageArrivesWhole) {
  Pair p;
  NvList big;
  big.AddString("blob", std::string(3 << 20, 'z'));  // larger than any socket buffer
  std::thread writer([&] { EXPECT_TRUE(WriteMessage(p.a(), big).ok()); });
  auto got = ReadMessage(p.b(), 5000);
  writer.join();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, big);
}

TEST(Proto, WriteRefusesOversizedMessage) {
  Pair p;
  NvList huge;
  huge.AddString("blob", std::string(kMaxMessage, 'x'));
  Status s = WriteMessage(p.a(), huge);
  EXPECT_EQ(s.code(), EMSGSIZE);
}

TEST(Proto, CleanCloseBetweenMessagesIsNoData) {
  Pair p;
  p.CloseA();
  auto got = ReadMessage(p.b(), 1000);
  EXPECT_EQ(got.status().code(), ENODATA);
}

TEST(Proto, ShortHeaderThenCloseIsTruncated) {
  Pair p;
  p.SendRaw({0, 0});
  p.CloseA();
  EXPECT_EQ(ReadMessage(p.b(), 1000).status().code(), ECONNRESET);
}

TEST(Proto, ZeroLengthIsRejected) {
  Pair p;
  p.SendRaw(Frame(0, {}));
  EXPECT_EQ(ReadMessage(p.b(), 1000).status().code(), EMSGSIZE);
}

TEST(Proto, OversizedLengthIsRejectedWithoutReadingTheBody) {
  Pair p;
  p.SendRaw(Frame(kMaxMessage + 1, {1, 2, 3}));
  EXPECT_EQ(ReadMessage(p.b(), 1000).status().code(), EMSGSIZE);
  Pair q;
  q.SendRaw(Frame(0xffffffffu, {}));
  EXPECT_EQ(ReadMessage(q.b(), 1000).status().code(), EMSGSIZE);
}

TEST(Proto, TruncatedBodyThenCloseIsTruncated) {
  Pair p;
  Bytes body = Request().EncodeXdr();
  Bytes half(body.begin(), body.begin() + static_cast<long>(body.size() / 2));
  p.SendRaw(Frame(static_cast<uint32_t>(body.size()), half));
  p.CloseA();
  EXPECT_EQ(ReadMessage(p.b(), 1000).status().code(), ECONNRESET);
}

TEST(Proto, SilentPeerTimesOut) {
  Pair p;
  EXPECT_EQ(ReadMessage(p.b(), 50).status().code(), ETIMEDOUT);
  // A peer that stops in the middle of a frame times out as well.
  p.SendRaw({0, 0, 0, 100, 1, 2});
  EXPECT_EQ(ReadMessage(p.b(), 50).status().code(), ETIMEDOUT);
}

TEST(Proto, GarbageBodyIsCorrupt) {
  Pair p;
  p.SendRaw(Frame(8, {'g', 'a', 'r', 'b', 'a', 'g', 'e', '!'}));
  EXPECT_EQ(ReadMessage(p.b(), 1000).status().code(), ECORRUPT);
}

TEST(Proto, NativeEncodingBodyIsRejected) {
  Bytes body = Request().EncodeXdr();
  body[0] = 0;  // NV_ENCODE_NATIVE
  auto got = DecodeFrame(Frame(static_cast<uint32_t>(body.size()), body));
  EXPECT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), ECORRUPT);
}

TEST(Proto, DecodeFrameRejectsEveryTruncation) {
  Bytes frame = Frame(0, Request().EncodeXdr());
  StoreBE32(frame.data(), static_cast<uint32_t>(frame.size() - 4));
  ASSERT_TRUE(DecodeFrame(frame).ok());
  for (size_t n = 0; n < frame.size(); n++) {
    auto got = DecodeFrame(ByteSpan(frame.data(), n));
    EXPECT_FALSE(got.ok()) << "prefix of " << n << " bytes decoded";
  }
}

TEST(Proto, DecodeFrameSurvivesEverySingleByteFlip) {
  Bytes frame = Frame(0, Request().EncodeXdr());
  StoreBE32(frame.data(), static_cast<uint32_t>(frame.size() - 4));
  for (size_t i = 0; i < frame.size(); i++) {
    for (uint8_t v : {uint8_t{0}, uint8_t{0xff}, uint8_t{0x80}}) {
      Bytes f = frame;
      f[i] = v;
      (void)DecodeFrame(f);  // ok or an error, never a crash or a huge allocation
    }
  }
}

TEST(Proto, OpNamesAreStableAndDistinct) {
  // The ids are part of the wire contract: these pairs must never change.
  EXPECT_STREQ(OpName(OpId::kPing), "ping");
  EXPECT_STREQ(OpName(OpId::kVersion), "version");
  EXPECT_STREQ(OpName(OpId::kPoolScan), "pool_scan");
  EXPECT_EQ(static_cast<uint64_t>(OpId::kPing), 1u);
  EXPECT_EQ(static_cast<uint64_t>(OpId::kVersion), 2u);
  EXPECT_EQ(static_cast<uint64_t>(OpId::kPoolScan), 3u);
  std::set<std::string> seen;
  for (uint64_t id = 1; id < 64; id++) {
    std::string name = OpName(static_cast<OpId>(id));
    if (name.empty()) continue;
    EXPECT_TRUE(seen.insert(name).second) << "duplicate op name " << name;
  }
}

TEST(Proto, SocketPathHonoursEnvironment) {
  ::setenv("UZFS_SOCKET", "/tmp/elsewhere.sock", 1);
  EXPECT_EQ(SocketPath(), "/tmp/elsewhere.sock");
  ::setenv("UZFS_SOCKET", "", 1);
  EXPECT_EQ(SocketPath(), kDefaultSocket);
  ::unsetenv("UZFS_SOCKET");
  EXPECT_EQ(SocketPath(), "/run/uzfs/zfsd.sock");
}


TEST(Proto, DescriptorsAndPayloadTravelWithAMessage) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  int pipefd[2];
  ASSERT_EQ(::pipe(pipefd), 0);
  NvList msg;
  msg.AddString("op", "file_write");
  Bytes payload(300000);
  for (size_t i = 0; i < payload.size(); i++) payload[i] = static_cast<uint8_t>(i * 7);
  std::thread writer([&] { ASSERT_TRUE(WriteMessage(sv[0], msg, {pipefd[1]}, payload).ok()); });
  std::vector<int> fds;
  Bytes got;
  auto r = ReadMessage(sv[1], 5000, &fds, &got);
  writer.join();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, msg);  // the payload key is gone again
  EXPECT_EQ(got, payload);
  ASSERT_EQ(fds.size(), 1u);
  // The received descriptor is the pipe's write end: what goes in comes out of the read end.
  ASSERT_EQ(::write(fds[0], "x", 1), 1);
  char c = 0;
  ASSERT_EQ(::read(pipefd[0], &c, 1), 1);
  EXPECT_EQ(c, 'x');
  // Without a place to put them, received descriptors are closed and the payload dropped,
  // and framing holds for the next message.
  std::thread w2([&] {
    ASSERT_TRUE(WriteMessage(sv[0], msg, {pipefd[1]}, payload).ok());
    ASSERT_TRUE(WriteMessage(sv[0], msg).ok());
  });
  ASSERT_TRUE(ReadMessage(sv[1], 5000).ok());
  auto second = ReadMessage(sv[1], 5000);
  w2.join();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, msg);
  for (int fd : {sv[0], sv[1], pipefd[0], pipefd[1], fds[0]}) ::close(fd);
}

}  // namespace
}  // namespace uzfs::proto
