#include "libzfs/proto.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace uzfs::proto {

const char* OpName(OpId id) {
  switch (id) {
    case OpId::kPing: return "ping";
    case OpId::kVersion: return "version";
    case OpId::kPoolScan: return "pool_scan";
    case OpId::kPoolCreate: return "pool_create";
    case OpId::kPoolImport: return "pool_import";
    case OpId::kPoolExport: return "pool_export";
    case OpId::kPoolDestroy: return "pool_destroy";
    case OpId::kPoolList: return "pool_list";
    case OpId::kPoolStatus: return "pool_status";
    case OpId::kPoolGet: return "pool_get";
    case OpId::kPoolSet: return "pool_set";
    case OpId::kPoolHistory: return "pool_history";
    case OpId::kPoolSync: return "pool_sync";
    case OpId::kZfsCreate: return "zfs_create";
    case OpId::kZfsDestroy: return "zfs_destroy";
    case OpId::kZfsList: return "zfs_list";
    case OpId::kZfsSet: return "zfs_set";
    case OpId::kZfsInherit: return "zfs_inherit";
    case OpId::kZfsSnapshot: return "zfs_snapshot";
    case OpId::kZfsRollback: return "zfs_rollback";
    case OpId::kZfsClone: return "zfs_clone";
    case OpId::kZfsPromote: return "zfs_promote";
    case OpId::kZfsRename: return "zfs_rename";
    case OpId::kZfsMount: return "zfs_mount";
    case OpId::kZfsUnmount: return "zfs_unmount";
  }
  return "";
}

std::string SocketPath() {
  const char* e = std::getenv("UZFS_SOCKET");
  return e && *e ? e : kDefaultSocket;
}

namespace {

Status WriteAll(int fd, const uint8_t* p, size_t n) {
  while (n) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::Error(errno, "write to socket");
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

// Reads exactly n bytes. *got tells how many arrived before an error.
Status ReadAll(int fd, uint8_t* p, size_t n, int timeout_ms, size_t* got) {
  *got = 0;
  while (*got < n) {
    if (timeout_ms >= 0) {
      struct pollfd pfd = {fd, POLLIN, 0};
      int r = ::poll(&pfd, 1, timeout_ms);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return Status::Error(errno, "poll");
      if (r == 0) return Status::Error(ETIMEDOUT, "timed out reading from socket");
    }
    ssize_t k = ::read(fd, p + *got, n - *got);
    if (k < 0) {
      if (errno == EINTR) continue;
      return Status::Error(errno, "read from socket");
    }
    if (k == 0) return Status::Error(*got ? ECONNRESET : ENODATA, "connection closed");
    *got += static_cast<size_t>(k);
  }
  return Status::Ok();
}

}  // namespace

Status WriteMessage(int fd, const NvList& msg) {
  Bytes body = msg.EncodeXdr();
  if (body.size() > kMaxMessage) return Status::Error(EMSGSIZE, "message too large");
  Bytes frame(4 + body.size());
  StoreBE32(frame.data(), static_cast<uint32_t>(body.size()));
  std::copy(body.begin(), body.end(), frame.begin() + 4);
  return WriteAll(fd, frame.data(), frame.size());
}

Result<NvList> ReadMessage(int fd, int timeout_ms) {
  uint8_t hdr[4];
  size_t got = 0;
  Status s = ReadAll(fd, hdr, 4, timeout_ms, &got);
  if (!s.ok()) return s.code() == ENODATA && got ? Status::Error(ECONNRESET, "truncated frame") : s;
  uint32_t n = LoadBE32(hdr);
  if (n == 0 || n > kMaxMessage)
    return Status::Error(EMSGSIZE, "bad message length " + std::to_string(n));
  Bytes body(n);
  s = ReadAll(fd, body.data(), n, timeout_ms, &got);
  if (!s.ok()) return s.code() == ENODATA ? Status::Error(ECONNRESET, "truncated frame") : s;
  auto nv = NvList::DecodeXdr(body);
  if (!nv.ok()) return Status::Error(ECORRUPT, "malformed message: " + nv.status().message());
  return nv;
}

Result<NvList> DecodeFrame(ByteSpan frame) {
  if (frame.size() < 4) return Status::Error(ECONNRESET, "truncated frame");
  uint32_t n = LoadBE32(frame.data());
  if (n == 0 || n > kMaxMessage) return Status::Error(EMSGSIZE, "bad message length");
  if (frame.size() - 4 < n) return Status::Error(ECONNRESET, "truncated frame");
  auto nv = NvList::DecodeXdr(frame.subspan(4, n));
  if (!nv.ok()) return Status::Error(ECORRUPT, "malformed message");
  return nv;
}

}  // namespace uzfs::proto
