#include "libzfs/proto.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
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
    case OpId::kArcStats: return "arc_stats";
    case OpId::kArcSet: return "arc_set";
    case OpId::kFileOpen: return "file_open";
    case OpId::kFileRead: return "file_read";
    case OpId::kFileWrite: return "file_write";
    case OpId::kFileStat: return "file_stat";
    case OpId::kFileTruncate: return "file_truncate";
    case OpId::kFileClose: return "file_close";
    case OpId::kFileMmap: return "file_mmap";
    case OpId::kFileMsync: return "file_msync";
    case OpId::kFileMunmap: return "file_munmap";
    case OpId::kPoolAdd: return "pool_add";
    case OpId::kPoolRemove: return "pool_remove";
    case OpId::kPoolClear: return "pool_clear";
    case OpId::kPoolInject: return "pool_inject";
    case OpId::kPoolScrub: return "pool_scrub";
    case OpId::kPoolVdevState: return "pool_vdev_state";
    case OpId::kZfsHold: return "zfs_hold";
    case OpId::kZfsRelease: return "zfs_release";
    case OpId::kZfsHolds: return "zfs_holds";
    case OpId::kPoolEvents: return "pool_events";
    case OpId::kPoolEventsClear: return "pool_events_clear";
    case OpId::kZfsSend: return "zfs_send";
    case OpId::kZfsReceive: return "zfs_receive";
    case OpId::kFileRevoke: return "file_revoke";
    case OpId::kFileRevoked: return "file_revoked";
    case OpId::kPoolAttach: return "pool_attach";
    case OpId::kPoolDetach: return "pool_detach";
    case OpId::kZfsUserspace: return "zfs_userspace";
    case OpId::kZfsSetAcl: return "zfs_set_fsacl";
    case OpId::kZfsGetAcl: return "zfs_get_fsacl";
  }
  return "";
}

std::string SocketPath() {
  const char* e = std::getenv("UZFS_SOCKET");
  return e && *e ? e : kDefaultSocket;
}

namespace {

// Sends n bytes; fds (if any) ride on the first byte as SCM_RIGHTS.
Status WriteAll(int fd, const uint8_t* p, size_t n, const std::vector<int>& fds = {}) {
  bool fds_sent = fds.empty();
  while (n) {
    ssize_t w;
    if (!fds_sent) {
      struct iovec iov = {const_cast<uint8_t*>(p), n};
      std::vector<char> ctl(CMSG_SPACE(sizeof(int) * fds.size()), 0);
      struct msghdr mh = {};
      mh.msg_iov = &iov;
      mh.msg_iovlen = 1;
      mh.msg_control = ctl.data();
      mh.msg_controllen = ctl.size();
      struct cmsghdr* c = CMSG_FIRSTHDR(&mh);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
      std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
      w = ::sendmsg(fd, &mh, MSG_NOSIGNAL);
      if (w > 0) fds_sent = true;
    } else {
      w = ::send(fd, p, n, MSG_NOSIGNAL);
    }
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::Error(errno, "write to socket");
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

// Reads exactly n bytes. *got tells how many arrived before an error. With fds, descriptors
// that arrive as SCM_RIGHTS are appended to it (close-on-exec); without, any are closed.
Status ReadAll(int fd, uint8_t* p, size_t n, int timeout_ms, size_t* got,
               std::vector<int>* fds = nullptr) {
  *got = 0;
  while (*got < n) {
    if (timeout_ms >= 0) {
      struct pollfd pfd = {fd, POLLIN, 0};
      int r = ::poll(&pfd, 1, timeout_ms);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return Status::Error(errno, "poll");
      if (r == 0) return Status::Error(ETIMEDOUT, "timed out reading from socket");
    }
    struct iovec iov = {p + *got, n - *got};
    alignas(struct cmsghdr) char ctl[CMSG_SPACE(sizeof(int) * kMaxFds)];
    struct msghdr mh = {};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl;
    mh.msg_controllen = sizeof ctl;
    ssize_t k = ::recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
    if (k < 0) {
      if (errno == EINTR) continue;
      return Status::Error(errno, "read from socket");
    }
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; i++) {
        int got_fd;
        std::memcpy(&got_fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        if (fds) fds->push_back(got_fd);
        else ::close(got_fd);
      }
    }
    if (k == 0) return Status::Error(*got ? ECONNRESET : ENODATA, "connection closed");
    *got += static_cast<size_t>(k);
  }
  return Status::Ok();
}

}  // namespace

Status WriteMessage(int fd, const NvList& msg, const std::vector<int>& fds, ByteSpan payload) {
  Bytes body;
  if (payload.empty()) {
    body = msg.EncodeXdr();
  } else {
    if (payload.size() > kMaxMessage) return Status::Error(EMSGSIZE, "payload too large");
    NvList with = msg;
    with.AddUint64(kPayloadKey, payload.size());
    body = with.EncodeXdr();
  }
  if (body.size() > kMaxMessage) return Status::Error(EMSGSIZE, "message too large");
  Bytes frame(4 + body.size() + payload.size());
  StoreBE32(frame.data(), static_cast<uint32_t>(body.size()));
  std::copy(body.begin(), body.end(), frame.begin() + 4);
  std::copy(payload.begin(), payload.end(), frame.begin() + 4 + static_cast<long>(body.size()));
  return WriteAll(fd, frame.data(), frame.size(), fds);
}

Result<NvList> ReadMessage(int fd, int timeout_ms, std::vector<int>* fds, Bytes* payload) {
  uint8_t hdr[4];
  size_t got = 0;
  Status s = ReadAll(fd, hdr, 4, timeout_ms, &got, fds);
  if (!s.ok()) return s.code() == ENODATA && got ? Status::Error(ECONNRESET, "truncated frame") : s;
  uint32_t n = LoadBE32(hdr);
  if (n == 0 || n > kMaxMessage)
    return Status::Error(EMSGSIZE, "bad message length " + std::to_string(n));
  Bytes body(n);
  s = ReadAll(fd, body.data(), n, timeout_ms, &got);
  if (!s.ok()) return s.code() == ENODATA ? Status::Error(ECONNRESET, "truncated frame") : s;
  auto nv = NvList::DecodeXdr(body);
  if (!nv.ok()) return Status::Error(ECORRUPT, "malformed message: " + nv.status().message());
  if (nv->Has(kPayloadKey)) {
    std::optional<uint64_t> len = nv->GetUint64(kPayloadKey);
    if (!len || *len == 0 || *len > kMaxMessage)
      return Status::Error(EMSGSIZE, "bad payload length");
    Bytes data(*len);
    s = ReadAll(fd, data.data(), data.size(), timeout_ms, &got);
    if (!s.ok()) return s.code() == ENODATA ? Status::Error(ECONNRESET, "truncated frame") : s;
    nv->Remove(kPayloadKey);
    if (payload) *payload = std::move(data);
  } else if (payload) {
    payload->clear();
  }
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
