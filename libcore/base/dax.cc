// The DAX device (dax.h): sysfs probing, the libpmem2 mapping, /proc/PID/maps scanning.
#include "libcore/base/dax.h"

#include <dirent.h>
#include <fcntl.h>
#include <libpmem2.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace uzfs::dax {

namespace {

Status NotDax(const std::string& path) {
  return Status::Error(EINVAL, "'" + path + "' is not a device-DAX character device");
}

Status CannotOpen(const std::string& path, int e) {
  if (e == ENOENT)
    return Status::Error(ENOENT, "cannot open '" + path + "': no such device or file");
  return Status::Error(e, "cannot open '" + path + "': " + std::strerror(e));
}

// A sysfs attribute holding one decimal number (sysfs prints "%llu\n"; "resource" is hex, but
// we read only size and align).
bool ReadNumber(const std::string& file, uint64_t* out) {
  std::ifstream in(file);
  uint64_t v = 0;
  if (!(in >> v)) return false;
  *out = v;
  return true;
}

bool EndsWith(const std::string& s, const char* tail) {
  size_t n = std::strlen(tail);
  return s.size() >= n && s.compare(s.size() - n, n, tail) == 0;
}

std::string RealPath(const std::string& path) {
  char buf[PATH_MAX];
  return ::realpath(path.c_str(), buf) ? std::string(buf) : path;
}

Status Pmem2Error(int ret, const std::string& what) {
  // libpmem2 returns -errno for system errors and its own PMEM2_E_* (below -100000) otherwise.
  int e = (ret < 0 && ret > -4096) ? -ret : EINVAL;
  return Status::Error(e, what + ": " + pmem2_errormsg());
}

}  // namespace

Result<DaxInfo> ProbeDax(const std::string& path, const std::string& sysfs_root) {
  DaxOpenOptions o;
  o.sysfs_root = sysfs_root;
  return ProbeDax(path, o);
}

Result<DaxInfo> ProbeDax(const std::string& path, const DaxOpenOptions& o) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return CannotOpen(path, errno);
  DaxInfo info;
  info.devnode = RealPath(path);
  info.node_dev = st.st_dev;
  info.node_ino = st.st_ino;
  if (S_ISREG(st.st_mode) && o.allow_emulated) {
    uint64_t a = o.emulated_align ? o.emulated_align : kDefaultAlign;
    if ((a & (a - 1)) != 0)
      return Status::Error(EINVAL,
                           "emulated DAX alignment " + std::to_string(a) + " is not a power of 2");
    if (static_cast<uint64_t>(st.st_size) < a)
      return Status::Error(EINVAL, "'" + path + "' is too small to emulate a device-DAX (" +
                                       std::to_string(st.st_size) + " bytes, less than one " +
                                       std::to_string(a) + "-byte unit)");
    info.size = static_cast<uint64_t>(st.st_size) / a * a;
    info.align = a;
    info.emulated = true;
    return info;
  }
  if (!S_ISCHR(st.st_mode)) return NotDax(path);
  // The device's sysfs directory by number, as udev finds it: no name guessing.
  const std::string dir = o.sysfs_root + "/dev/char/" + std::to_string(major(st.st_rdev)) + ":" +
                          std::to_string(minor(st.st_rdev));
  char sub[PATH_MAX];
  if (!::realpath((dir + "/subsystem").c_str(), sub)) return NotDax(path);
  // drivers/dax/bus.c registers the bus "dax"; kernels before it had the class "dax".
  if (!EndsWith(sub, "/bus/dax") && !EndsWith(sub, "/class/dax")) return NotDax(path);
  // A device-DAX of size 0 is an unconfigured seed (daxctl create-device fills it): nothing
  // to map.
  if (!ReadNumber(dir + "/size", &info.size) || info.size == 0) return NotDax(path);
  if (!ReadNumber(dir + "/align", &info.align) &&
      !ReadNumber(dir + "/device/dax_region/align", &info.align))
    info.align = kDefaultAlign;
  if (info.align == 0 || (info.align & (info.align - 1)) != 0) info.align = kDefaultAlign;
  return info;
}

DaxFile::~DaxFile() {
  if (map_) pmem2_map_delete(&map_);
  ::close(fd_);  // drops the flock with it
}

Status DaxFile::ReadAt(uint64_t off, MutByteSpan buf) {
  if (off > info_.size || buf.size() > info_.size - off)
    return Status::Error(ENXIO, name_ + ": read of " + std::to_string(buf.size()) + " at " +
                                    std::to_string(off) + " past the end");
  std::memcpy(buf.data(), base_ + off, buf.size());
  return Status::Ok();
}

Status DaxFile::WriteAt(uint64_t off, ByteSpan data) {
  if (!write_) return Status::Error(EBADF, name_ + ": opened read-only");
  if (off > info_.size || data.size() > info_.size - off)
    return Status::Error(ENXIO, name_ + ": write of " + std::to_string(data.size()) + " at " +
                                    std::to_string(off) + " past the end");
  if (data.empty()) return Status::Ok();
  if (info_.emulated) {
    // Page cache: copy only; Sync's msync writes it back (an msync per write would be a
    // synchronous writeback per write).
    pmem2_get_memcpy_fn(map_)(base_ + off, data.data(), data.size(), PMEM2_F_MEM_NOFLUSH);
  } else {
    // Flushed (CLWB, or non-temporal stores) and fenced here, on the writing thread: SFENCE
    // orders only the stores of the CPU that runs it, so Sync on another thread (the write
    // pipeline writes from several) could not complete this write's flushes.
    pmem2_get_memcpy_fn(map_)(base_ + off, data.data(), data.size(), 0);
  }
  return Status::Ok();
}

Status DaxFile::Sync() {
  if (!info_.emulated) {
    pmem2_get_drain_fn(map_)();
    return Status::Ok();
  }
  if (!write_) return Status::Ok();
  if (::msync(base_, info_.size, MS_SYNC) != 0)
    return Status::Error(errno, name_ + ": msync: " + std::strerror(errno));
  return Status::Ok();
}

Status DaxFile::WriteAtDurable(uint64_t off, ByteSpan data) {
  if (!info_.emulated) return WriteAt(off, data);  // already flushed and fenced
  if (!write_) return Status::Error(EBADF, name_ + ": opened read-only");
  if (off > info_.size || data.size() > info_.size - off)
    return Status::Error(ENXIO, name_ + ": write of " + std::to_string(data.size()) + " at " +
                                    std::to_string(off) + " past the end");
  if (data.empty()) return Status::Ok();
  // Copy, then msync of just these pages (libpmem2's page-granularity persist).
  pmem2_get_memcpy_fn(map_)(base_ + off, data.data(), data.size(), 0);
  return Status::Ok();
}

void DaxFile::Persist(uint64_t off, uint64_t len) {
  if (!write_ || off >= info_.size || len == 0) return;
  len = std::min(len, info_.size - off);
  pmem2_get_persist_fn(map_)(base_ + off, len);
}

Result<std::unique_ptr<DaxFile>> OpenDax(const std::string& path, const DaxOpenOptions& o) {
  UZFS_ASSIGN(DaxInfo info, ProbeDax(path, o));
  int fd = ::open(path.c_str(), (o.write ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return CannotOpen(path, errno);
  std::unique_ptr<DaxFile> f(new DaxFile(path, std::move(info), fd, o.write));
  // Only writers exclude each other: readers (zdb, import scans) read devices a pool holds.
  if (o.write && ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return Status::Error(EBUSY, path + " is in use");
    return Status::Error(errno, path + ": flock: " + std::strerror(errno));
  }

  pmem2_source* src = nullptr;
  pmem2_config* cfg = nullptr;
  int ret = pmem2_source_from_fd(&src, fd);
  if (ret != 0) return Pmem2Error(ret, "cannot map '" + path + "'");
  ret = pmem2_config_new(&cfg);
  if (ret == 0) ret = pmem2_config_set_length(cfg, f->info_.size);
  // A real device must give CACHE_LINE (MAP_SYNC: flushed lines are persistent) or better; an
  // emulated file is page cache, persistent at msync (PAGE).
  if (ret == 0)
    ret = pmem2_config_set_required_store_granularity(
        cfg, f->info_.emulated ? PMEM2_GRANULARITY_PAGE : PMEM2_GRANULARITY_CACHE_LINE);
  if (ret == 0 && !o.write) ret = pmem2_config_set_protection(cfg, PMEM2_PROT_READ);
  if (ret == 0) ret = pmem2_map_new(&f->map_, cfg, src);
  if (ret != 0) {
    Status s = Pmem2Error(ret, "cannot map '" + path + "'");
    if (cfg) pmem2_config_delete(&cfg);
    pmem2_source_delete(&src);
    return s;
  }
  pmem2_config_delete(&cfg);
  pmem2_source_delete(&src);
  f->base_ = static_cast<uint8_t*>(pmem2_map_get_address(f->map_));
  if (pmem2_map_get_size(f->map_) < f->info_.size)
    return Status::Error(EIO, "'" + path + "': mapped " +
                                  std::to_string(pmem2_map_get_size(f->map_)) + " bytes of " +
                                  std::to_string(f->info_.size));
  return f;
}

bool DaxMappedElsewhere(const DaxInfo& info, int* pid_out) {
  DIR* d = ::opendir("/proc");
  if (!d) return false;
  const long self = static_cast<long>(::getpid());
  const unsigned want_major = major(info.node_dev), want_minor = minor(info.node_dev);
  long found = 0;
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end || pid <= 0 || pid == self) continue;
    FILE* maps = std::fopen(("/proc/" + std::string(e->d_name) + "/maps").c_str(), "re");
    if (!maps) continue;  // gone, or another user's
    // "start-end perms offset MAJ:MIN inode path": the device holding the mapped file's
    // inode, in hex (fs/proc/task_mmu.c show_vma_header_prefix), and the inode number.
    char line[4096];
    while (std::fgets(line, sizeof line, maps)) {
      unsigned maj = 0, min = 0;
      unsigned long long ino = 0;
      if (std::sscanf(line, "%*x-%*x %*s %*x %x:%x %llu", &maj, &min, &ino) == 3 && ino != 0 &&
          ino == info.node_ino && maj == want_major && min == want_minor) {
        found = pid;
        break;
      }
      // A line longer than the buffer: skip its rest.
      while (!std::strchr(line, '\n') && std::fgets(line, sizeof line, maps)) {
      }
    }
    std::fclose(maps);
    if (found) break;
  }
  ::closedir(d);
  if (found && pid_out) *pid_out = static_cast<int>(found);
  return found != 0;
}

}  // namespace uzfs::dax
