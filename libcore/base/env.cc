// Env implementations: POSIX files and block devices, in-memory files, fault injection.
#include "libcore/base/env.h"
#include "libcore/base/dax.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

namespace uzfs {
namespace {

Status Errno(const std::string& what, int err) { return Status::Error(err, what); }

// ---------------------------------------------------------------- POSIX

// The alignment of the bounce buffers below: direct I/O asking more of memory is not used.
constexpr size_t kBounceAlign = 4096;

// What direct I/O on fd needs: the alignment of file offsets and lengths, and of memory.
struct DirectAlign {
  uint64_t io = 0, mem = 0;  // io 0: the file system does no direct I/O on it
};

// For a descriptor opened with O_DIRECT. statx's STATX_DIOALIGN (Linux 6.1 for files, 6.11
// for block devices) answers it; without it, a block device needs its logical sector size,
// a tmpfs file nothing (its pages are the file: O_DIRECT there is a copy like any other, so
// it is not kept) and another file system at most 4096 (what the common ones ask).
DirectAlign DirectAlignOf(int fd) {
  DirectAlign a;
#ifdef STATX_DIOALIGN
  struct statx sx = {};
  if (::statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 && (sx.stx_mask & STATX_DIOALIGN)) {
    a.io = sx.stx_dio_offset_align;
    a.mem = sx.stx_dio_mem_align;
    if (a.mem > kBounceAlign) a = {};  // more than the bounce buffers give
    return a;
  }
#endif
  struct stat st;
  if (::fstat(fd, &st) != 0) return a;
  if (S_ISBLK(st.st_mode)) {
    int sector = 0;
    if (::ioctl(fd, BLKSSZGET, &sector) == 0 && sector > 0) a.io = a.mem = static_cast<uint64_t>(sector);
    return a;
  }
  struct statfs fs;
  if (::fstatfs(fd, &fs) == 0 && fs.f_type == TMPFS_MAGIC) return a;
  a.io = a.mem = 4096;
  return a;
}

// A thread's bounce buffer for direct I/O: aligned, kept between calls up to kKeep bytes (a
// fresh aligned allocation of a record's size costs more than the read it serves).
class Scratch {
 public:
  static constexpr size_t kAlign = kBounceAlign, kKeep = 1u << 20;
  MutByteSpan Get(size_t n) {
    if (n > cap_) {
      size_t want = (n + kAlign - 1) / kAlign * kAlign;
      uint8_t* p = static_cast<uint8_t*>(std::aligned_alloc(kAlign, want));
      if (p == nullptr) return {};
      if (want > kKeep) {
        big_.reset(p);  // this call only
        return MutByteSpan(p, n);
      }
      mem_.reset(p);
      cap_ = want;
    }
    return MutByteSpan(mem_.get(), n);
  }
  void Done() { big_.reset(); }

 private:
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint8_t, Free> mem_, big_;
  size_t cap_ = 0;
};
thread_local Scratch t_scratch;

class PosixFile : public File {
 public:
  PosixFile(int fd, std::string name, DirectAlign align)
      : fd_(fd), name_(std::move(name)), align_(align), direct_(align.io != 0) {}
  ~PosixFile() override {
    ::close(fd_);
    if (wfd_ >= 0) ::close(wfd_);
    if (dsync_fd_ >= 0) ::close(dsync_fd_);
  }
  // Through a descriptor of its own opened O_DSYNC (and O_DIRECT when reads are direct): the
  // kernel makes this range and what is needed to read it back durable, and flushes the
  // device's cache, without writing back the file's other dirty pages (a txg's writes in
  // flight) as fdatasync would.
  Status WriteAtDurable(uint64_t off, ByteSpan data) override {
    std::call_once(dsync_once_, [this] {
      dsync_fd_ = ::open(name_.c_str(), O_WRONLY | O_DSYNC | O_CLOEXEC | (direct_ ? O_DIRECT : 0));
    });
    if (dsync_fd_ < 0) return File::WriteAtDurable(off, data);
    MutByteSpan tmp;
    if (direct_ && !Aligned(off, data.data(), data.size())) {
      if (off % align_.io || data.size() % align_.io) return File::WriteAtDurable(off, data);
      tmp = t_scratch.Get(data.size());  // aligned memory for O_DIRECT
      if (tmp.empty()) return Status::Error(ENOMEM, "write " + name_);
      std::memcpy(tmp.data(), data.data(), data.size());
      data = ByteSpan(tmp.data(), data.size());
    }
    Status s = Status::Ok();
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::pwrite(dsync_fd_, data.data() + done, data.size() - done,
                           static_cast<off_t>(off + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        s = Errno("write " + name_, errno);
        break;
      }
      done += static_cast<size_t>(n);
    }
    if (!tmp.empty()) t_scratch.Done();
    return s;
  }
  // A regular file read with O_DIRECT is written through a second, buffered descriptor: the
  // kernel takes the writes at memory speed and writes them back in parallel with the
  // pipeline's work (direct writes, each waiting for the device, ran a 1 GiB fio write at
  // 430 MB/s where buffered ones ran 720-780 on the same disk), and Sync() drops the written
  // pages once they are on disk, so the page cache holds a txg's writes until its flush and
  // never what the pool reads. A direct read of a range still dirty in the page cache is
  // written back first by the kernel, so it reads what was written.
  void set_write_fd(int wfd) { wfd_ = wfd; }

  Status ReadAt(uint64_t off, MutByteSpan buf) override {
    if (direct_ && !Aligned(off, buf.data(), buf.size())) return Bounce(off, buf);
    size_t done = 0;
    while (done < buf.size()) {
      ssize_t n = ::pread(fd_, buf.data() + done, buf.size() - done, static_cast<off_t>(off + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Errno("read " + name_, errno);
      }
      if (n == 0) return Status::Error(ENXIO, "read " + name_ + ": past the end of the device");
      done += static_cast<size_t>(n);
    }
    return Status::Ok();
  }

  Status WriteAt(uint64_t off, ByteSpan data) override {
    if (wfd_ < 0 && direct_ && !Aligned(off, data.data(), data.size())) return BounceWrite(off, data);
    int fd = wfd_ >= 0 ? wfd_ : fd_;
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(off + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Errno("write " + name_, errno);
      }
      done += static_cast<size_t>(n);
    }
    return Status::Ok();
  }

  Status WriteAtV(uint64_t off, std::span<const ByteSpan> parts) override {
    // O_DIRECT wants every part aligned, as one write would; otherwise each part alone
    // (through the bounce buffer where it needs one).
    if (wfd_ < 0 && direct_) {
      uint64_t at = off;
      for (ByteSpan p : parts) {
        if (!Aligned(at, p.data(), p.size())) return File::WriteAtV(off, parts);
        at += p.size();
      }
    }
    int fd = wfd_ >= 0 ? wfd_ : fd_;
    std::vector<struct iovec> iov;
    iov.reserve(parts.size());
    for (ByteSpan p : parts)
      if (!p.empty()) iov.push_back({const_cast<uint8_t*>(p.data()), p.size()});
    size_t i = 0;
    while (i < iov.size()) {
      const int n = static_cast<int>(std::min<size_t>(iov.size() - i, IOV_MAX));
      ssize_t w = ::pwritev(fd, iov.data() + i, n, static_cast<off_t>(off));
      if (w < 0) {
        if (errno == EINTR) continue;
        return Errno("write " + name_, errno);
      }
      if (w == 0) return Status::Error(EIO, "write " + name_ + ": nothing written");
      off += static_cast<uint64_t>(w);
      // Past what was written: whole parts, then the rest of a part cut short.
      for (auto left = static_cast<size_t>(w); left > 0 && i < iov.size();) {
        if (left >= iov[i].iov_len) {
          left -= iov[i].iov_len;
          i++;
        } else {
          iov[i].iov_base = static_cast<uint8_t*>(iov[i].iov_base) + left;
          iov[i].iov_len -= left;
          left = 0;
        }
      }
    }
    return Status::Ok();
  }

  Status Sync() override {
    if (::fdatasync(wfd_ >= 0 ? wfd_ : fd_) != 0) return Errno("sync " + name_, errno);
    // Written back and clean: out of the page cache (the ARC holds what is worth keeping).
    if (wfd_ >= 0) (void)::posix_fadvise(wfd_, 0, 0, POSIX_FADV_DONTNEED);
    return Status::Ok();
  }

  Result<uint64_t> Size() override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return Errno("stat " + name_, errno);
    if (S_ISBLK(st.st_mode)) {
      uint64_t bytes = 0;
      if (::ioctl(fd_, BLKGETSIZE64, &bytes) != 0) return Errno("BLKGETSIZE64 " + name_, errno);
      return bytes;
    }
    if (S_ISDIR(st.st_mode)) return Status::Error(EISDIR, name_);
    return static_cast<uint64_t>(st.st_size);
  }

  const std::string& Name() const override { return name_; }

  // Block devices: the device number and a loop device's autoclear flag as opened, the
  // marks Present compares with.
  void NoteIdentity() {
    struct stat st;
    if (::fstat(fd_, &st) != 0 || !S_ISBLK(st.st_mode)) return;
    rdev_ = st.st_rdev;
    autoclear_ = LoopAutoclear();
  }
  Status Present() override {
    if (released_.load(std::memory_order_acquire)) return Status::Error(ENXIO, name_ + ": released");
    if (!rdev_) return Status::Ok();
    struct stat st;
    if (::stat(name_.c_str(), &st) != 0) return Errno(name_ + ": device gone", ENXIO);
    if (!S_ISBLK(st.st_mode) || st.st_rdev != rdev_)
      return Status::Error(ENXIO, name_ + ": another device at the path");
    uint64_t bytes = 0;
    if (::ioctl(fd_, BLKGETSIZE64, &bytes) != 0 || bytes == 0)
      return Status::Error(ENXIO, name_ + ": no capacity (device removed)");
    // losetup -d of a loop device still held only sets LO_FLAGS_AUTOCLEAR.
    if (autoclear_ == 0 && LoopAutoclear() == 1)
      return Status::Error(ENXIO, name_ + ": loop device detach pending");
    return Status::Ok();
  }
  void Release() override {
    if (released_.exchange(true)) return;
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0) return;
    for (int fd : {fd_, wfd_, dsync_fd_})
      if (fd >= 0) (void)::dup3(null, fd, O_CLOEXEC);
    ::close(null);
  }

  bool ConcurrentWrites() const override { return true; }  // pread/pwrite at offsets
  bool direct() const override { return ::fcntl(fd_, F_GETFL) & O_DIRECT; }  // the kernel's word

 private:
  bool Aligned(uint64_t off, const void* p, size_t n) const {
    return off % align_.io == 0 && n % align_.io == 0 &&
           reinterpret_cast<uintptr_t>(p) % std::max<uint64_t>(align_.mem, 1) == 0;
  }
  // O_DIRECT needs aligned offset, length and memory: read the covering aligned range into
  // the thread's bounce buffer.
  Status Bounce(uint64_t off, MutByteSpan buf) {
    uint64_t a = align_.io;
    uint64_t start = off / a * a;
    uint64_t end = (off + buf.size() + a - 1) / a * a;
    MutByteSpan tmp = t_scratch.Get(end - start);
    if (tmp.empty()) return Status::Error(ENOMEM, "read " + name_);
    Status s = ReadAt(start, tmp);
    if (s.ok()) std::memcpy(buf.data(), tmp.data() + (off - start), buf.size());
    t_scratch.Done();
    return s;
  }
  // O_DIRECT write from unaligned memory or at an unaligned range: copy into the bounce
  // buffer covering the range, reading the partial sectors at either end first.
  Status BounceWrite(uint64_t off, ByteSpan data) {
    uint64_t a = align_.io;
    uint64_t start = off / a * a;
    uint64_t end = (off + data.size() + a - 1) / a * a;
    MutByteSpan tmp = t_scratch.Get(end - start);
    if (tmp.empty()) return Status::Error(ENOMEM, "write " + name_);
    Status s = Status::Ok();
    if (start != off || end != off + data.size()) {
      // Partial sectors: keep the bytes around the range as they are on the device.
      if (start != off) s = ReadAt(start, tmp.first(a));
      if (s.ok() && end != off + data.size() && (end - a != start || start == off))
        s = ReadAt(end - a, tmp.subspan(end - start - a, a));
    }
    if (s.ok()) {
      std::memcpy(tmp.data() + (off - start), data.data(), data.size());
      s = WriteAt(start, tmp);
    }
    t_scratch.Done();
    return s;
  }
  // /sys/dev/block/MAJ:MIN/loop/autoclear (a partition's: its disk's): 1 or 0, -1 when
  // not a loop device.
  int LoopAutoclear() const {
    int fd = -1;
    for (const char* rel : {"", "/.."}) {
      char p[112];
      snprintf(p, sizeof p, "/sys/dev/block/%u:%u%s/loop/autoclear", major(rdev_), minor(rdev_), rel);
      if ((fd = ::open(p, O_RDONLY | O_CLOEXEC)) >= 0) break;
    }
    if (fd < 0) return -1;
    char c = 0;
    const ssize_t n = ::read(fd, &c, 1);
    ::close(fd);
    return n == 1 ? c == '1' : -1;
  }
  int fd_;
  dev_t rdev_ = 0;      // a block device's number as opened (0: not a block device)
  int autoclear_ = -1;  // a loop device's autoclear flag as opened (-1: no loop device)
  std::atomic<bool> released_{false};
  int wfd_ = -1;  // the buffered descriptor writes go through (see set_write_fd), or -1
  std::once_flag dsync_once_;
  int dsync_fd_ = -1;  // WriteAtDurable's descriptor, opened on first use (-1: none)
  std::string name_;
  DirectAlign align_;
  bool direct_;
};

class PosixEnvImpl : public Env {
 public:
  Result<std::unique_ptr<File>> Open(const std::string& path, const OpenOptions& o) override {
    struct stat cst;
    if (::stat(path.c_str(), &cst) == 0 && S_ISCHR(cst.st_mode)) {
      // A device-DAX has no read/write: it is mapped (dax.h), so that labels, import scans
      // and zdb read and write it like any device.
      dax::DaxOpenOptions d;
      d.write = o.write || o.create;
      UZFS_ASSIGN(auto f, dax::OpenDax(path, d));
      return std::unique_ptr<File>(std::move(f));
    }
    int flags = O_CLOEXEC;
    flags |= (o.write || o.create) ? O_RDWR : O_RDONLY;
    if (o.create) flags |= O_CREAT;
    if (o.direct) flags |= O_DIRECT;
    if (o.exclusive) flags |= O_EXCL;
    int fd = ::open(path.c_str(), flags, 0644);
    if (fd < 0 && o.direct && errno == EINVAL) fd = ::open(path.c_str(), flags & ~O_DIRECT, 0644);
    if (fd < 0) return Errno(path, errno);
    DirectAlign align;
    if (o.direct && (::fcntl(fd, F_GETFL) & O_DIRECT)) {
      align = DirectAlignOf(fd);
      if (align.io && o.direct_min_io && align.io > o.direct_min_io) align = {};
      // Not kept: through the page cache after all (F_SETFL may clear O_DIRECT).
      if (!align.io && ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_DIRECT) != 0) {
        Status s = Errno("clear O_DIRECT on " + path, errno);
        ::close(fd);
        return s;
      }
    }
    auto file = std::make_unique<PosixFile>(fd, path, align);
    file->NoteIdentity();
    struct stat st;
    if (align.io && (o.write || o.create) && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
      int wfd = ::open(path.c_str(), (flags & ~(O_DIRECT | O_CREAT | O_EXCL)), 0644);
      if (wfd < 0) return Errno(path, errno);
      file->set_write_fd(wfd);
    }
    return std::unique_ptr<File>(std::move(file));
  }
  Result<std::vector<std::string>> ListDir(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return Errno(dir, errno);
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(std::move(n));
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
  }
  bool Exists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }
  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return Errno("rename " + from + " to " + to, errno);
    return Status::Ok();
  }
  Status Remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return Errno(path, errno);
    return Status::Ok();
  }
};

// ---------------------------------------------------------------- memory
struct MemData {
  std::mutex mu;
  Bytes bytes;
};

class MemFile : public File {
 public:
  MemFile(std::shared_ptr<MemData> d, std::string name) : d_(std::move(d)), name_(std::move(name)) {}
  Status ReadAt(uint64_t off, MutByteSpan buf) override {
    std::lock_guard<std::mutex> l(d_->mu);
    if (off > d_->bytes.size() || buf.size() > d_->bytes.size() - off)
      return Status::Error(ENXIO, "read " + name_ + ": past the end");
    std::memcpy(buf.data(), d_->bytes.data() + off, buf.size());
    return Status::Ok();
  }
  Status WriteAt(uint64_t off, ByteSpan data) override {
    std::lock_guard<std::mutex> l(d_->mu);
    if (d_->bytes.size() < off + data.size()) d_->bytes.resize(off + data.size());
    if (!data.empty()) std::memcpy(d_->bytes.data() + off, data.data(), data.size());
    return Status::Ok();
  }
  Status Sync() override { return Status::Ok(); }
  Result<uint64_t> Size() override {
    std::lock_guard<std::mutex> l(d_->mu);
    return static_cast<uint64_t>(d_->bytes.size());
  }
  const std::string& Name() const override { return name_; }

 private:
  std::shared_ptr<MemData> d_;
  std::string name_;
};

class MemEnv : public Env {
 public:
  Result<std::unique_ptr<File>> Open(const std::string& path, const OpenOptions& o) override {
    std::lock_guard<std::mutex> l(mu_);
    auto it = files_.find(path);
    if (it == files_.end()) {
      if (!o.create) return Status::Error(ENOENT, path);
      it = files_.emplace(path, std::make_shared<MemData>()).first;
    }
    return std::unique_ptr<File>(new MemFile(it->second, path));
  }
  Result<std::vector<std::string>> ListDir(const std::string& dir) override {
    std::lock_guard<std::mutex> l(mu_);
    std::string prefix = dir.empty() || dir.back() == '/' ? dir : dir + "/";
    std::vector<std::string> names;
    for (const auto& [k, v] : files_) {
      if (k.compare(0, prefix.size(), prefix) != 0) continue;
      std::string rest = k.substr(prefix.size());
      rest = rest.substr(0, rest.find('/'));
      if (!rest.empty() && (names.empty() || names.back() != rest)) names.push_back(rest);
    }
    if (names.empty()) return Status::Error(ENOENT, dir);
    return names;
  }
  bool Exists(const std::string& path) override {
    std::lock_guard<std::mutex> l(mu_);
    return files_.count(path) != 0;
  }
  Status Rename(const std::string& from, const std::string& to) override {
    std::lock_guard<std::mutex> l(mu_);
    auto it = files_.find(from);
    if (it == files_.end()) return Status::Error(ENOENT, from);
    auto data = std::move(it->second);  // files open under the old name keep their data
    files_.erase(it);
    files_[to] = std::move(data);
    return Status::Ok();
  }
  Status Remove(const std::string& path) override {
    std::lock_guard<std::mutex> l(mu_);
    if (files_.erase(path) == 0) return Status::Error(ENOENT, path);
    return Status::Ok();
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<MemData>> files_;
};

}  // namespace

Env* PosixEnv() {
  static PosixEnvImpl* env = new PosixEnvImpl;
  return env;
}

std::unique_ptr<Env> NewMemEnv() { return std::make_unique<MemEnv>(); }

// ---------------------------------------------------------------- faults
struct FaultEnv::Impl {
  Env* base;
  std::mutex mu;
  uint64_t ios = 0;
  uint64_t fail_nth = 0;
  bool fail_sticky = false;
  bool dropping = false;
  struct Flip {
    std::string path;
    uint64_t off, len;
    int bit;
  };
  std::vector<Flip> flips;
  // Unsynced writes per path, in order; applied to the base file on Sync.
  struct PendingWrite {
    uint64_t off;
    Bytes data;
  };
  std::map<std::string, std::vector<PendingWrite>> pending;

  // Counts one I/O; true when it must fail.
  bool CountIo() {
    ios++;
    if (fail_nth == 0) return false;
    return fail_sticky ? ios >= fail_nth : ios == fail_nth;
  }
};

class FaultFile : public File {
 public:
  FaultFile(FaultEnv::Impl* env, std::unique_ptr<File> base) : env_(env), base_(std::move(base)) {}
  Status ReadAt(uint64_t off, MutByteSpan buf) override {
    {
      std::lock_guard<std::mutex> l(env_->mu);
      if (env_->CountIo()) return Status::Error(EIO, "injected read error on " + Name());
    }
    UZFS_TRY(base_->ReadAt(off, buf));
    std::lock_guard<std::mutex> l(env_->mu);
    // Overlay unsynced writes, oldest first, then the bit flips.
    for (const auto& w : env_->pending[Name()]) Overlay(off, buf, w.off, w.data);
    for (const auto& f : env_->flips) {
      if (f.path != Name()) continue;
      uint64_t s = std::max(off, f.off), e = std::min(off + buf.size(), f.off + f.len);
      for (uint64_t i = s; i < e; i++) buf[i - off] ^= static_cast<uint8_t>(1u << f.bit);
    }
    return Status::Ok();
  }
  Status WriteAt(uint64_t off, ByteSpan data) override {
    std::lock_guard<std::mutex> l(env_->mu);
    if (env_->CountIo()) return Status::Error(EIO, "injected write error on " + Name());
    if (env_->dropping) return Status::Ok();  // lost in the power cut
    env_->pending[Name()].push_back({off, Bytes(data.begin(), data.end())});
    return Status::Ok();
  }
  Status Sync() override {
    std::vector<FaultEnv::Impl::PendingWrite> writes;
    {
      std::lock_guard<std::mutex> l(env_->mu);
      if (env_->CountIo()) return Status::Error(EIO, "injected sync error on " + Name());
      if (env_->dropping) return Status::Ok();
      writes.swap(env_->pending[Name()]);
    }
    for (const auto& w : writes) UZFS_TRY(base_->WriteAt(w.off, w.data));
    return base_->Sync();
  }
  Result<uint64_t> Size() override {
    UZFS_ASSIGN(uint64_t size, base_->Size());
    std::lock_guard<std::mutex> l(env_->mu);
    for (const auto& w : env_->pending[Name()]) size = std::max<uint64_t>(size, w.off + w.data.size());
    return size;
  }
  const std::string& Name() const override { return base_->Name(); }
  Status Present() override { return base_->Present(); }
  void Release() override { base_->Release(); }

 private:
  static void Overlay(uint64_t off, MutByteSpan buf, uint64_t woff, const Bytes& w) {
    uint64_t s = std::max(off, woff), e = std::min<uint64_t>(off + buf.size(), woff + w.size());
    if (s < e) std::memcpy(buf.data() + (s - off), w.data() + (s - woff), e - s);
  }
  FaultEnv::Impl* env_;
  std::unique_ptr<File> base_;
};

FaultEnv::FaultEnv(Env* base) : impl_(std::make_unique<Impl>()) { impl_->base = base; }
FaultEnv::~FaultEnv() = default;

Result<std::unique_ptr<File>> FaultEnv::Open(const std::string& path, const OpenOptions& o) {
  UZFS_ASSIGN(auto f, impl_->base->Open(path, o));
  return std::unique_ptr<File>(new FaultFile(impl_.get(), std::move(f)));
}
Result<std::vector<std::string>> FaultEnv::ListDir(const std::string& dir) {
  return impl_->base->ListDir(dir);
}
bool FaultEnv::Exists(const std::string& path) { return impl_->base->Exists(path); }
Status FaultEnv::Rename(const std::string& from, const std::string& to) {
  UZFS_TRY(impl_->base->Rename(from, to));
  std::lock_guard<std::mutex> l(impl_->mu);
  auto it = impl_->pending.find(from);
  if (it != impl_->pending.end()) {
    auto writes = std::move(it->second);
    impl_->pending.erase(it);
    impl_->pending[to] = std::move(writes);
  } else {
    impl_->pending.erase(to);
  }
  return Status::Ok();
}
Status FaultEnv::Remove(const std::string& path) {
  UZFS_TRY(impl_->base->Remove(path));
  std::lock_guard<std::mutex> l(impl_->mu);
  impl_->pending.erase(path);
  return Status::Ok();
}

void FaultEnv::FailNthIo(uint64_t n, bool sticky) {
  std::lock_guard<std::mutex> l(impl_->mu);
  impl_->fail_nth = n == 0 ? 0 : impl_->ios + n;
  impl_->fail_sticky = sticky;
}
void FaultEnv::FlipBitsOnRead(const std::string& path, uint64_t off, uint64_t len, int bit) {
  std::lock_guard<std::mutex> l(impl_->mu);
  impl_->flips.push_back({path, off, len, bit & 7});
}
void FaultEnv::DropUnsyncedWrites() {
  std::lock_guard<std::mutex> l(impl_->mu);
  impl_->pending.clear();
  impl_->dropping = true;
}
uint64_t FaultEnv::io_count() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->ios;
}

}  // namespace uzfs
