// The /dev/fuse I/O wrappers (see fuse_dev_io.h).
#define FUSE_USE_VERSION 314
#include "daemon/fuse_dev_io.h"

#include <fuse_lowlevel.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

namespace uzfs::fuse_dev_io {

namespace {

constexpr uint32_t kInitOpcode = 26;  // FUSE_INIT

struct ThreadState {
  uint32_t offered = 0;      // flags2 of the INIT this thread read
  uint32_t want = 0;         // flags2 to set in this thread's INIT reply
  ReplyPatch patch = nullptr;
};
thread_local ThreadState tls;
std::atomic<uint64_t> spliced{0};

ssize_t IoRead(int fd, void* buf, size_t len, void*) {
  ssize_t n = read(fd, buf, len);
  if (n >= static_cast<ssize_t>(sizeof(fuse_in_header) + sizeof(fuse_init_in))) {
    const auto* h = static_cast<const fuse_in_header*>(buf);
    if (h->opcode == kInitOpcode) {
      fuse_init_in in;
      std::memcpy(&in, static_cast<const char*>(buf) + sizeof *h, sizeof in);
      tls.offered = (in.flags & kInitExt) ? in.flags2 : 0;
    }
  }
  return n;
}

ssize_t IoWritev(int fd, struct iovec* iov, int count, void*) {
  if (ReplyPatch p = tls.patch) {
    tls.patch = nullptr;
    p(iov, count);
  }
  if (uint32_t want = tls.want) {
    tls.want = 0;
    // Only an INIT reply is armed (the init handler replies next on this thread); its
    // body is libfuse's fuse_init_out, as long as 7.40's.
    if (count >= 2 && iov[0].iov_len >= sizeof(fuse_out_header) &&
        iov[1].iov_len >= sizeof(InitOut740) &&
        static_cast<const fuse_out_header*>(iov[0].iov_base)->error == 0) {
      auto* init = static_cast<InitOut740*>(iov[1].iov_base);
      init->flags |= kInitExt;
      init->flags2 |= want;
    }
  }
  return writev(fd, iov, count);
}

// A reply spliced from libfuse's pipe (fuse_reply_data's splice path: a READ reply whose
// bytes are the ARC's memfd pages). Without this, libfuse 3.14 does not offer
// FUSE_CAP_SPLICE_WRITE for a custom-I/O session (do_init) and reads every such reply into a
// buffer (a pread of the memfd) and writes that (one more copy of every byte read). Only
// data replies come this way; INIT and OPEN replies, which the patches above change, are
// always written with writev.
ssize_t IoSpliceSend(int fdin, off_t* offin, int fdout, off_t* offout, size_t len, unsigned int flags,
                     void*) {
  ssize_t r = splice(fdin, offin, fdout, offout, len, flags);
  if (r > 0) spliced.fetch_add(1, std::memory_order_relaxed);
  return r;
}

}  // namespace

Status Attach(fuse_session* se) {
  static const fuse_custom_io io = {IoWritev, IoRead, nullptr, IoSpliceSend};
  int r = fuse_session_custom_io(se, &io, fuse_session_fd(se));
  if (r != 0) return Status::Error(-r, "fuse_session_custom_io");
  return Status::Ok();
}

uint32_t OfferedFlags2() { return tls.offered; }

uint64_t SplicedReplies() { return spliced.load(std::memory_order_relaxed); }

void WantFlags2(uint32_t bits) { tls.want |= bits & tls.offered; }

void ArmReplyPatch(ReplyPatch patch) { tls.patch = patch; }

}  // namespace uzfs::fuse_dev_io
