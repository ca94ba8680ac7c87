// The FUSE file system that serves volumes as files (zvol_dev.h): one directory, one
// regular file per exposed volume, its size the volsize. Reads and writes go to the volume's
// data object (Pool::ReadVolume / WriteVolume, zvol_read / zvol_write); fsync is zvol's
// flush: zil_commit, the volume's intent log holding every write before it.
// Files are opened direct_io: the loop device above does the caching, and a block device's
// writes must not wait in a second page cache.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <shared_mutex>

#include "daemon/zvol_dev.h"

namespace uzfs {

namespace {

constexpr fuse_ino_t kRoot = 1;

ZvolDevices* Dev(fuse_req_t req) { return static_cast<ZvolDevices*>(fuse_req_userdata(req)); }

void FillAttr(const ZvolDevices::Vol& v, struct stat* st) {
  *st = {};
  st->st_ino = v.ino;
  st->st_mode = S_IFREG | 0600;
  st->st_nlink = 1;
  st->st_size = static_cast<off_t>(v.size);
  st->st_blksize = 4096;
  st->st_blocks = static_cast<blkcnt_t>(v.size / 512);
}

void RootAttr(struct stat* st) {
  *st = {};
  st->st_ino = kRoot;
  st->st_mode = S_IFDIR | 0700;
  st->st_nlink = 2;
}

int Errno(const Status& s) { return s.code() > 0 && s.code() < 4096 ? s.code() : EIO; }

void Init(void*, fuse_conn_info* conn) {
  // max_read must equal the mount option's (libfuse refuses the session otherwise).
  conn->max_write = 1 << 20;
  conn->max_read = 1 << 20;
  conn->max_readahead = 0;  // the loop device reads ahead itself
}

void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  if (parent != kRoot) return (void)fuse_reply_err(req, ENOENT);
  std::shared_lock<std::shared_mutex> l(Dev(req)->io_mu());
  for (const auto& v : Dev(req)->All()) {
    std::string f = v.name;
    for (char& c : f)
      if (c == '/') c = '+';
    if (f != name) continue;
    fuse_entry_param e{};
    e.ino = v.ino;
    e.generation = 1;
    FillAttr(v, &e.attr);
    e.attr_timeout = 0;  // the size changes with zfs set volsize
    e.entry_timeout = 0;
    return (void)fuse_reply_entry(req, &e);
  }
  fuse_reply_err(req, ENOENT);
}

void GetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  struct stat st;
  if (ino == kRoot) {
    RootAttr(&st);
    return (void)fuse_reply_attr(req, &st, 0);
  }
  auto v = Dev(req)->ByIno(ino);
  if (!v) return (void)fuse_reply_err(req, ENOENT);
  FillAttr(*v, &st);
  fuse_reply_attr(req, &st, 0);
}

void SetAttr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
  // A volume's size is its volsize (zfs set volsize); nothing else is kept.
  auto v = Dev(req)->ByIno(ino);
  if (!v) return (void)fuse_reply_err(req, ENOENT);
  if ((to_set & FUSE_SET_ATTR_SIZE) && static_cast<uint64_t>(attr->st_size) != v->size)
    return (void)fuse_reply_err(req, EPERM);
  GetAttr(req, ino, fi);
}

void ReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  if (ino != kRoot) return (void)fuse_reply_err(req, ENOTDIR);
  std::vector<std::pair<std::string, uint64_t>> ents = {{".", kRoot}, {"..", kRoot}};
  for (const auto& v : Dev(req)->All()) {
    std::string f = v.name;
    for (char& c : f)
      if (c == '/') c = '+';
    ents.emplace_back(f, v.ino);
  }
  std::string buf;
  for (size_t i = static_cast<size_t>(off); i < ents.size(); i++) {
    struct stat st{};
    st.st_ino = ents[i].second;
    st.st_mode = i < 2 ? S_IFDIR : S_IFREG;
    size_t need = fuse_add_direntry(req, nullptr, 0, ents[i].first.c_str(), nullptr, 0);
    if (buf.size() + need > size) break;
    size_t at = buf.size();
    buf.resize(at + need);
    fuse_add_direntry(req, buf.data() + at, need, ents[i].first.c_str(), &st, static_cast<off_t>(i + 1));
  }
  fuse_reply_buf(req, buf.data(), buf.size());
}

void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if (!Dev(req)->ByIno(ino)) return (void)fuse_reply_err(req, ENOENT);
  fi->direct_io = 1;
  fi->keep_cache = 0;
  fuse_reply_open(req, fi);
}

void Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  std::shared_lock<std::shared_mutex> l(Dev(req)->io_mu());
  auto v = Dev(req)->ByIno(ino);
  if (!v) return (void)fuse_reply_err(req, EIO);
  if (static_cast<uint64_t>(off) >= v->size) return (void)fuse_reply_buf(req, nullptr, 0);
  auto r = v->pool->ReadVolume(v->name, static_cast<uint64_t>(off), size);
  if (!r.ok()) return (void)fuse_reply_err(req, Errno(r.status()));
  fuse_reply_buf(req, reinterpret_cast<const char*>(r->data()), r->size());
}

void Write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off, fuse_file_info*) {
  std::shared_lock<std::shared_mutex> l(Dev(req)->io_mu());
  auto v = Dev(req)->ByIno(ino);
  if (!v) return (void)fuse_reply_err(req, EIO);
  if (static_cast<uint64_t>(off) >= v->size) return (void)fuse_reply_err(req, ENOSPC);
  size = std::min<uint64_t>(size, v->size - static_cast<uint64_t>(off));
  Status s = v->pool->WriteVolume(v->name, static_cast<uint64_t>(off),
                                  ByteSpan(reinterpret_cast<const uint8_t*>(buf), size));
  // sync=always: zvol_write's zil_commit before the write is acknowledged.
  if (s.ok()) s = v->pool->ZilCommit(v->name, /*changes_only=*/true);
  if (!s.ok()) return (void)fuse_reply_err(req, Errno(s));
  fuse_reply_write(req, size);
}

void Fsync(fuse_req_t req, fuse_ino_t ino, int, fuse_file_info*) {
  std::shared_lock<std::shared_mutex> l(Dev(req)->io_mu());
  auto v = Dev(req)->ByIno(ino);
  if (!v) return (void)fuse_reply_err(req, EIO);
  Status s = v->pool->ZilCommit(v->name);
  fuse_reply_err(req, s.ok() ? 0 : Errno(s));
}

void Flush(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }

const fuse_lowlevel_ops kOps = [] {
  fuse_lowlevel_ops o{};
  o.init = Init;
  o.lookup = Lookup;
  o.getattr = GetAttr;
  o.setattr = SetAttr;
  o.readdir = ReadDir;
  o.open = Open;
  o.read = Read;
  o.write = Write;
  o.fsync = Fsync;
  o.flush = Flush;
  return o;
}();

}  // namespace

fuse_session* ZvolFuseSession(ZvolDevices* dev) {
  std::vector<std::string> argv_s = {"zfsd", "-o", "fsname=zvol,subtype=uzfs-zvol,max_read=1048576"};
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  fuse_session* se = fuse_session_new(&args, &kOps, sizeof kOps, dev);
  fuse_opt_free_args(&args);
  return se;
}

}  // namespace uzfs
