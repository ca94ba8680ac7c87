// FusePassthrough: FUSE passthrough for a FuseMount (docs/design.md section 7), so that an
// unmodified program's own mmap(2) of a file on the mount maps the file's ARC segment (its
// memfd) instead of a second copy in the kernel's page cache.
//
// Policy (zfsprops(7), org.uzfs:passthrough):
// - The user property org.uzfs:passthrough=on of the dataset (set or inherited; anything else,
//   or unset, is off) turns it on for a mount; it is read at mount time (remount to change).
// - An O_RDONLY open of a regular file of at most kMaxFileSize (1 GiB) bytes passes through
//   when no open of the file is in the kernel's caching mode (an open for writing made while
//   the file had no passthrough open; the kernel refuses to mix the two, ETXTBSY). Opens
//   that create a file never pass through.
// - While a file has a passthrough open, its whole content is resident in its ARC segment and
//   held (Pool::PinFile); the last release unpins it. The kernel reads those pages without
//   asking zfsd, so they must never be punched out.
// - Every open of a file while it has a passthrough open must be a passthrough open too
//   (the kernel's rule). All of them carry FOPEN_DIRECT_IO as well: read(2) and write(2)
//   still go to zfsd (the segment is the file size rounded up to a page, so a passthrough
//   read(2) would return zeros past the end of file; writes must reach the txg), and only
//   mmap(2) maps the segment. A write through zfsd updates the held pages (write-through), so
//   a mapping sees it at once; PinFile is called again after each write or truncate, so
//   units a write adds are held too.
// - An O_RDWR open among them could store through a MAP_SHARED mapping into the ARC pages
//   without zfsd seeing it (the kernel maps the memfd writable): when one was made, the last
//   release marks every unit of the file mapped-dirty (Pool::DirtyFile), so the next txg
//   writes whatever such stores changed. O_WRONLY descriptors cannot be mapped.
// - When the kernel does not offer passthrough, or refuses to register a backing file (no
//   CAP_SYS_ADMIN, kernel older than 6.9), opens fall back to normal ones; logged once.
//
// Mechanism: libfuse 3.14 has no passthrough API, so the mount's /dev/fuse I/O is wrapped
// (fuse_dev_io.h): the INIT request shows whether the kernel offers FUSE_PASSTHROUGH,
// the INIT reply is patched to ask for it (FUSE_INIT_EXT, flags2 bit 37-32, max_stack_depth
// 1), and the OPEN reply of a passthrough open is patched (FOPEN_PASSTHROUGH, backing_id) on
// the worker thread that sends it. The backing file is the segment's memfd reopened O_RDONLY
// through /proc/self/fd, registered with ioctl FUSE_DEV_IOC_BACKING_OPEN (one id per pinned
// file, shared by its opens) and unregistered (FUSE_DEV_IOC_BACKING_CLOSE) at its last
// release. Protocol facts (Linux 6.9+, fs/fuse/{inode.c,iomode.c,passthrough.c,backing.c}):
// fuse_init_out 7.40 puts max_stack_depth after flags2; fuse_open_out's padding became
// backing_id; FOPEN_DIRECT_IO overrides FOPEN_PASSTHROUGH for read/write but not for mmap.
//
// Known limits: a single-block file whose block size changes while passthrough-open (appended
// to past its block size) moves to a new segment; mappings made through the old one no longer
// follow the file until the opens end (logged). Pinning runs under this object's lock, so a
// first passthrough open of a large file delays other opens of the mount.
//
// Thread safety: every method may be called from any FUSE worker thread; never with the pool
// lock held (Open, Release and Changed call into the pool). Lock order: mu_ → pool lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "libcore/base/status.h"
#include "libcore/pool/pool.h"

struct fuse_session;
struct fuse_file_info;
struct iovec;

namespace uzfs {

class FusePassthrough {
 public:
  static constexpr const char* kProperty = "org.uzfs:passthrough";
  static constexpr uint64_t kMaxFileSize = 1ULL << 30;

  // Whether dataset's org.uzfs:passthrough is "on" (false when it cannot be read).
  static bool Wanted(Pool* pool, const std::string& dataset);

  FusePassthrough(Pool* pool, std::string dataset);
  // Unpins what is still pinned (the session must be gone: the kernel reads no more).
  ~FusePassthrough();

  // Takes the session's /dev/fuse descriptor (for the backing ioctls). Call after
  // fuse_session_mount and fuse_dev_io::Attach, before the loop starts.
  void Attach(fuse_session* se);
  // From the init handler: asks for passthrough in this thread's INIT reply when the kernel
  // offered it.
  void OnInit();

  // From the open (create: created = true) handler, after the open was counted and outside
  // the pool lock; mode and size are the file's. Decides: for a passthrough open sets
  // fi->direct_io, marks fi->fh and arms this thread's next OPEN reply; otherwise leaves fi.
  void Open(uint64_t obj, fuse_file_info* fi, uint32_t mode, uint64_t size, bool created);
  // From the release handler (and when an open's reply could not be sent), with the fi Open saw.
  void Release(uint64_t obj, const fuse_file_info* fi);
  // After a write or a size change of obj went through zfsd.
  void Changed(uint64_t obj);

  // For tests and logs.
  bool available() const { return available_.load(); }  // kernel took INIT and no refusal yet
  uint64_t pinned_files() const;                          // files with passthrough opens now
  uint64_t passthrough_opens() const { return opens_.load(); }  // ever

  // A fuse_dev_io::ReplyPatch: patches the reply this thread armed (INIT or OPEN).
  static void PatchReply(::iovec* iov, int count);

 private:
  struct File {
    uint64_t pt_opens = 0;      // passthrough opens (the kernel's backing user count)
    uint64_t cached_opens = 0;  // other opens (maybe in the kernel's caching mode)
    int32_t backing_id = 0;     // registered while pt_opens > 0
    bool rdwr = false;          // an O_RDWR passthrough open happened (see the policy)
    std::shared_ptr<ArcSegment> seg;
  };
  void Unpin(uint64_t obj, File& f);  // REQUIRES mu_
  void Disable(const std::string& why);

  Pool* pool_;
  std::string dataset_;
  int dev_fd_ = -1;
  std::atomic<bool> offered_{false};    // the kernel's INIT offered FUSE_PASSTHROUGH
  std::atomic<bool> available_{false};  // asked for in the INIT reply, not refused since
  std::atomic<uint64_t> opens_{0};
  mutable std::mutex mu_;
  std::map<uint64_t, File> files_;  // guarded by mu_; by object
};

}  // namespace uzfs
