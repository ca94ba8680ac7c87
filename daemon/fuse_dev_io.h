// fuse_dev_io: every FuseMount's /dev/fuse I/O, wrapped (fuse_session_custom_io) to speak
// the parts of the FUSE protocol that libfuse 3.14 does not.
//
// libfuse 3.14 builds its INIT reply from the FUSE_CAP_* bits it knows (fuse_lowlevel.c
// do_init); it has no way to ask for a flags2 bit newer than itself (FUSE_INIT_EXT, the
// upper 32 bits of the 64-bit flags). Two are wanted: FUSE_DIRECT_IO_ALLOW_MMAP (Linux 6.6+;
// libfuse 3.16's FUSE_CAP_DIRECT_IO_ALLOW_MMAP), without which the kernel refuses a shared
// mapping of a file opened FOPEN_DIRECT_IO with ENODEV (fs/fuse/file.c fuse_file_mmap), so
// the mount can map DAX files; and FUSE_PASSTHROUGH (fuse_passthrough.h). The read side
// notes, per thread, the flags2 the kernel's INIT offered; the init handler (same thread:
// libfuse handles a request and sends its reply on the thread that read it) says which it
// wants; the writev side sets them in that thread's INIT reply. A reply patch armed by a
// handler (passthrough's OPEN) runs on the same thread's next reply.
//
// Thread safety: all state is thread-local but the spliced-reply count (an atomic); the
// wrappers run on libfuse's worker threads.
#pragma once

#include <cstdint>

#include "libcore/base/status.h"

struct fuse_session;
struct iovec;

namespace uzfs::fuse_dev_io {

// Protocol 7.40 definitions Debian 12's <linux/fuse.h> (Linux 6.1, 7.38) lacks.
constexpr uint32_t kInitExt = 1u << 30;               // FUSE_INIT_EXT (flags)
constexpr uint32_t kDirectIoAllowMmap = 1u << 4;      // FUSE_DIRECT_IO_ALLOW_MMAP (1ULL << 36)
constexpr uint32_t kPassthrough = 1u << 5;            // FUSE_PASSTHROUGH (1ULL << 37)

struct InitOut740 {  // struct fuse_init_out, 7.40
  uint32_t major, minor, max_readahead, flags;
  uint16_t max_background, congestion_threshold;
  uint32_t max_write, time_gran;
  uint16_t max_pages, map_alignment;
  uint32_t flags2;
  uint32_t max_stack_depth;  // was unused[0]
  uint32_t unused[6];
};
static_assert(sizeof(InitOut740) == 64);

// Wraps the session's /dev/fuse I/O. Call after fuse_session_mount, before the loop starts.
Status Attach(fuse_session* se);

// From the init handler: the flags2 bits the kernel offered in the INIT this thread read
// (0 when it did not send FUSE_INIT_EXT).
uint32_t OfferedFlags2();
// From the init handler: ask for these flags2 bits (a subset of the offered) in this
// thread's INIT reply.
void WantFlags2(uint32_t bits);

// Runs patch on this thread's next reply (header and body iovecs), before the flags2 bits.
using ReplyPatch = void (*)(::iovec* iov, int count);
void ArmReplyPatch(ReplyPatch patch);

// Replies written by splice (READ replies of the ARC's pages) since the process started.
uint64_t SplicedReplies();

}  // namespace uzfs::fuse_dev_io
