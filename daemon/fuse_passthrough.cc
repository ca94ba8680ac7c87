// FUSE passthrough (see fuse_passthrough.h).
//
// Why thread-local state suffices to find the replies to patch: libfuse's loop reads a
// request and handles it on one worker thread, and every handler replies synchronously on
// that thread (fuse_reply_* → fuse_send_msg → our writev). So the read wrapper can leave
// "this INIT offered passthrough" for the init handler, and a handler can leave "patch the
// OPEN reply I am about to send" for the writev wrapper, without matching `unique`s.
#define FUSE_USE_VERSION 314
#include "daemon/fuse_passthrough.h"

#include "daemon/fuse_dev_io.h"

#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

namespace uzfs {

namespace {

// Protocol 7.40 definitions Debian 12's <linux/fuse.h> (Linux 6.1, 7.38) lacks (the INIT
// ones are in fuse_dev_io.h).
constexpr uint32_t kWritebackCache = 1u << 16;     // FUSE_WRITEBACK_CACHE (flags)
constexpr uint32_t kFopenPassthrough = 1u << 7;    // FOPEN_PASSTHROUGH

struct OpenOut740 {  // struct fuse_open_out, 7.40
  uint64_t fh;
  uint32_t open_flags;
  int32_t backing_id;  // was padding
};
static_assert(sizeof(OpenOut740) == 16);

struct BackingMap {  // struct fuse_backing_map
  int32_t fd;
  uint32_t flags;
  uint64_t padding;
};
static_assert(sizeof(BackingMap) == 16);

constexpr unsigned long kBackingOpen = _IOW(229, 1, BackingMap);  // FUSE_DEV_IOC_BACKING_OPEN
constexpr unsigned long kBackingClose = _IOW(229, 2, uint32_t);   // FUSE_DEV_IOC_BACKING_CLOSE

// fi->fh of a passthrough open (regular files' fh is otherwise 0 in fuse_fs.cc).
constexpr uint64_t kPassthroughFh = 0x7a66732d70740001ULL;

struct ThreadState {
  FusePassthrough* init_owner = nullptr;  // patch this thread's INIT reply for it
  bool open_armed = false;             // patch this thread's next OPEN reply
  int32_t backing_id = 0;
};
thread_local ThreadState tls;

}  // namespace

bool FusePassthrough::Wanted(Pool* pool, const std::string& dataset) {
  auto props = pool->DatasetProps(dataset);
  if (!props.ok()) return false;
  for (const auto& p : *props)
    if (p.name == kProperty) return p.value == "on";
  return false;
}

FusePassthrough::FusePassthrough(Pool* pool, std::string dataset)
    : pool_(pool), dataset_(std::move(dataset)) {}

FusePassthrough::~FusePassthrough() {
  std::lock_guard<std::mutex> l(mu_);
  for (auto& [obj, f] : files_)
    if (f.pt_opens > 0 && f.seg && pool_) pool_->UnpinFile(f.seg->key());
  files_.clear();
}

void FusePassthrough::Attach(fuse_session* se) { dev_fd_ = fuse_session_fd(se); }

void FusePassthrough::OnInit() {
  offered_ = (fuse_dev_io::OfferedFlags2() & fuse_dev_io::kPassthrough) != 0;
  if (!offered_) {
    spdlog::warn("{}: the kernel does not offer FUSE passthrough (Linux 6.9+ with "
                 "CONFIG_FUSE_PASSTHROUGH); opens are served normally", dataset_);
    return;
  }
  tls.init_owner = this;
  fuse_dev_io::ArmReplyPatch(&FusePassthrough::PatchReply);
}

void FusePassthrough::PatchReply(::iovec* iov, int count) {
  if (count < 2 || iov[0].iov_len < sizeof(fuse_out_header)) return;
  const auto* out = static_cast<const fuse_out_header*>(iov[0].iov_base);
  if (FusePassthrough* self = tls.init_owner) {
    tls.init_owner = nullptr;
    if (out->error != 0 || iov[1].iov_len < sizeof(fuse_dev_io::InitOut740)) return;
    auto* init = static_cast<fuse_dev_io::InitOut740*>(iov[1].iov_base);
    if (init->flags & kWritebackCache) {
      spdlog::warn("{}: FUSE passthrough needs the writeback cache off; not asked for",
                   self->dataset_);
      return;
    }
    init->flags |= fuse_dev_io::kInitExt;
    init->flags2 |= fuse_dev_io::kPassthrough;
    init->max_stack_depth = 1;  // a memfd's filesystem (shmem) stacks nothing
    self->available_ = true;
    return;
  }
  if (tls.open_armed) {
    tls.open_armed = false;
    if (out->error != 0 || iov[1].iov_len != sizeof(OpenOut740)) return;
    auto* open = static_cast<OpenOut740*>(iov[1].iov_base);
    open->open_flags |= kFopenPassthrough;
    open->backing_id = tls.backing_id;
  }
}

void FusePassthrough::Disable(const std::string& why) {
  if (available_.exchange(false))
    spdlog::warn("{}: FUSE passthrough refused by the kernel ({}); opens are served normally",
                 dataset_, why);
}

void FusePassthrough::Open(uint64_t obj, fuse_file_info* fi, uint32_t mode, uint64_t size,
                           bool created) {
  int acc = fi->flags & O_ACCMODE;
  std::lock_guard<std::mutex> l(mu_);
  File& f = files_[obj];
  auto pass = [&] {
    f.pt_opens++;
    if (acc == O_RDWR) f.rdwr = true;
    fi->direct_io = 1;
    fi->keep_cache = 0;
    fi->fh = kPassthroughFh;
    tls.open_armed = true;
    tls.backing_id = f.backing_id;
    fuse_dev_io::ArmReplyPatch(&FusePassthrough::PatchReply);
  };
  // The kernel wants every open of a file with a passthrough open to pass through.
  if (f.pt_opens > 0) {
    pass();
    return;
  }
  if (!available_ || created || !S_ISREG(mode) || acc != O_RDONLY || size > kMaxFileSize ||
      f.cached_opens > 0) {
    f.cached_opens++;
    return;
  }
  auto seg = pool_->PinFile(dataset_, obj);
  if (!seg.ok()) {
    spdlog::debug("{}: object {} not passed through: {}", dataset_, obj, seg.status().ToString());
    f.cached_opens++;
    return;
  }
  // The backing file: the segment's memfd, opened read-only (the kernel opens its own file
  // on that path for each passthrough open, with the open's flags).
  std::string path = "/proc/self/fd/" + std::to_string((*seg)->fd());
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  int id = -1, err = 0;
  if (fd < 0) {
    err = errno;
  } else {
    BackingMap map = {fd, 0, 0};
    id = ioctl(dev_fd_, kBackingOpen, &map);
    err = errno;
    close(fd);
  }
  if (id <= 0) {
    pool_->UnpinFile((*seg)->key());
    // EPERM: no CAP_SYS_ADMIN or passthrough not negotiated; ENOTTY: a kernel before 6.9.
    if (err == EPERM || err == ENOTTY || err == EINVAL) Disable(std::strerror(err));
    else spdlog::warn("{}: registering object {} for passthrough: {}", dataset_, obj, std::strerror(err));
    f.cached_opens++;
    return;
  }
  f.backing_id = id;
  f.seg = std::move(seg).value();
  f.rdwr = false;
  opens_++;
  pass();
}

void FusePassthrough::Release(uint64_t obj, const fuse_file_info* fi) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = files_.find(obj);
  if (it == files_.end()) return;
  File& f = it->second;
  if (fi->fh == kPassthroughFh) {
    if (f.pt_opens > 0 && --f.pt_opens == 0) Unpin(obj, f);
  } else if (f.cached_opens > 0) {
    f.cached_opens--;
  }
  if (f.pt_opens == 0 && f.cached_opens == 0) files_.erase(it);
}

void FusePassthrough::Unpin(uint64_t obj, File& f) {
  // Every passthrough file of the inode is gone in the kernel (a release follows the
  // file's end): nothing uses the id any more.
  uint32_t id = static_cast<uint32_t>(f.backing_id);
  if (ioctl(dev_fd_, kBackingClose, &id) != 0)
    spdlog::debug("{}: closing backing id {}: {}", dataset_, id, std::strerror(errno));
  f.backing_id = 0;
  if (!f.seg) return;
  if (f.rdwr) {
    // Stores through a writable mapping may have changed any unit: have the next txg
    // write them all (DirtyFile holds each until then).
    uint64_t end = f.seg->size();
    for (uint64_t at = 0; at < end;) {
      uint64_t next = end;
      Status s = pool_->DirtyFile(dataset_, obj, at, [&](uint64_t off, uint64_t len) {
        next = off + len;
      });
      if (!s.ok()) {
        spdlog::error("{}: keeping stores to object {} made through a passthrough mapping: {}",
                      dataset_, obj, s.ToString());
        break;
      }
      at = next;
    }
    f.rdwr = false;
  }
  pool_->UnpinFile(f.seg->key());
  f.seg.reset();
}

void FusePassthrough::Changed(uint64_t obj) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = files_.find(obj);
  if (it == files_.end() || it->second.pt_opens == 0) return;
  File& f = it->second;
  auto seg = pool_->PinFile(dataset_, obj);
  if (!seg.ok()) {
    spdlog::error("{}: pinning object {} after a change: {}", dataset_, obj, seg.status().ToString());
    return;
  }
  if (seg->get() != f.seg.get()) {
    spdlog::warn("{}: object {} moved to a new ARC segment while passthrough-open; mappings of "
                 "it no longer follow the file until its opens end", dataset_, obj);
    f.seg = std::move(seg).value();  // same key: UnpinFile releases the new holds
  }
}

uint64_t FusePassthrough::pinned_files() const {
  std::lock_guard<std::mutex> l(mu_);
  uint64_t n = 0;
  for (const auto& [obj, f] : files_) n += f.pt_opens > 0;
  return n;
}

}  // namespace uzfs
