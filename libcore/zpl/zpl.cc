#include "libcore/zpl/zpl.h"

#include <sys/stat.h>

namespace uzfs {
namespace {
constexpr uint64_t kDirentObjMask = (1ULL << 48) - 1;  // ZFS_DIRENT_OBJ
constexpr int kMaxPathDepth = 256;
}  // namespace

Result<ZnodePhys> ZnodePhys::Decode(const DnodePhys& dn) {
  if (dn.bonustype != kOtZnode || dn.bonus.size() < kZnodePhysSize)
    return Status::Error(ECORRUPT, "object has no znode");
  auto w = [&](size_t i) { return Load64(dn.bonus.data() + 8 * i, dn.little); };
  ZnodePhys z;
  for (int i = 0; i < 2; i++) {
    z.atime[i] = w(0 + i);
    z.mtime[i] = w(2 + i);
    z.ctime[i] = w(4 + i);
    z.crtime[i] = w(6 + i);
  }
  z.gen = w(8);
  z.mode = w(9);
  z.size = w(10);
  z.parent = w(11);
  z.links = w(12);
  z.xattr = w(13);
  z.rdev = w(14);
  z.flags = w(15);
  z.uid = w(16);
  z.gid = w(17);
  return z;
}

Result<std::unique_ptr<Zpl>> Zpl::Open(ObjSet& os) {
  if (os.type() != kOstZfs) return Status::Error(EINVAL, "not a ZPL filesystem");
  std::unique_ptr<Zpl> z(new Zpl(os));
  UZFS_ASSIGN(Zap master, Zap::Open(os, 1));
  UZFS_ASSIGN(z->version_, master.Lookup("VERSION"));
  UZFS_ASSIGN(z->root_, master.Lookup("ROOT"));
  return z;
}

Result<ZnodePhys> Zpl::Stat(uint64_t obj) {
  UZFS_ASSIGN(DnodePhys dn, os_.Dnode(obj));
  return ZnodePhys::Decode(dn);
}

Result<std::vector<DirEntry>> Zpl::ReadDir(uint64_t dir) {
  UZFS_ASSIGN(ZnodePhys z, Stat(dir));
  if (!S_ISDIR(z.mode)) return Status::Error(ENOTDIR, "object " + std::to_string(dir));
  UZFS_ASSIGN(Zap zap, Zap::Open(os_, dir));
  std::vector<DirEntry> out;
  for (const ZapEntry& e : zap.entries()) {
    out.push_back(DirEntry{e.name, e.first() & kDirentObjMask, static_cast<unsigned>(e.first() >> 60)});
  }
  return out;
}

Result<uint64_t> Zpl::Lookup(const std::string& path) {
  uint64_t obj = root_;
  size_t pos = 0;
  int depth = 0;
  while (pos < path.size()) {
    size_t next = path.find('/', pos);
    std::string comp = path.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
    pos = next == std::string::npos ? path.size() : next + 1;
    if (comp.empty() || comp == ".") continue;
    if (++depth > kMaxPathDepth) return Status::Error(ENAMETOOLONG, path);
    UZFS_ASSIGN(ZnodePhys z, Stat(obj));
    if (comp == "..") {
      obj = z.parent;
      continue;
    }
    if (!S_ISDIR(z.mode)) return Status::Error(ENOTDIR, path);
    UZFS_ASSIGN(Zap zap, Zap::Open(os_, obj));
    const ZapEntry* e = zap.Find(comp);
    if (e == nullptr) return Status::Error(ENOENT, path);
    obj = e->first() & kDirentObjMask;
  }
  return obj;
}

Result<Bytes> Zpl::ReadFile(uint64_t obj, uint64_t off, uint64_t len) {
  UZFS_ASSIGN(ZnodePhys z, Stat(obj));
  if (off >= z.size) return Bytes{};
  len = std::min(len, z.size - off);
  UZFS_ASSIGN(DnodePhys dn, os_.Dnode(obj));
  UZFS_ASSIGN(Bytes b, os_.Read(dn, off, len));
  b.resize(len, 0);  // past the last block: zeros
  return b;
}

Status Zpl::ForEachExtent(uint64_t obj, const std::function<Status(uint64_t, ByteSpan)>& fn) {
  UZFS_ASSIGN(ZnodePhys z, Stat(obj));
  UZFS_ASSIGN(DnodePhys dn, os_.Dnode(obj));
  const uint64_t bs = dn.datablksz();
  // Each hole costs a walk through cached indirect blocks, never a data read.
  for (uint64_t blkid = 0; blkid <= dn.maxblkid && blkid * bs < z.size;) {
    UZFS_ASSIGN(BlkPtr bp, os_.BlockPointer(dn, blkid));
    if (bp.is_hole()) {
      blkid++;
      continue;
    }
    UZFS_ASSIGN(Bytes data, os_.ReadBlock(dn, blkid));
    uint64_t off = blkid * bs;
    uint64_t n = std::min<uint64_t>(data.size(), z.size - off);
    UZFS_TRY(fn(off, ByteSpan(data.data(), n)));
    blkid++;
  }
  return Status::Ok();
}

Result<std::string> Zpl::ObjToPath(uint64_t object) {
  std::string path;
  uint64_t obj = object;
  for (int depth = 0; depth < 256; depth++) {
    if (obj == root_) return path.empty() ? "/" : path;
    UZFS_ASSIGN(ZnodePhys z, Stat(obj));
    if (z.parent == obj) return path.empty() ? "/" : path;  // its own parent: a root
    auto it = dir_names_.find(z.parent);
    if (it == dir_names_.end()) {
      std::map<uint64_t, std::string> names;
      if (auto entries = ReadDir(z.parent); entries.ok())
        for (const DirEntry& e : *entries) names.emplace(e.object, e.name);
      it = dir_names_.emplace(z.parent, std::move(names)).first;
    }
    auto name = it->second.find(obj);
    if (name == it->second.end())
      return Status::Error(ENOENT, "object " + std::to_string(obj) + " has no name in its parent");
    path = "/" + name->second + path;
    obj = z.parent;
  }
  return Status::Error(ENOENT, "object " + std::to_string(object) + ": path too deep");
}

Result<std::string> Zpl::ReadLink(uint64_t obj) {
  UZFS_ASSIGN(DnodePhys dn, os_.Dnode(obj));
  UZFS_ASSIGN(ZnodePhys z, ZnodePhys::Decode(dn));
  if (!S_ISLNK(z.mode)) return Status::Error(EINVAL, "not a symbolic link");
  if (z.size > 4096) return Status::Error(ECORRUPT, "symlink target too long");
  // zfs_readlink: the target follows the znode in the bonus buffer when it fits there.
  if (z.size + kZnodePhysSize <= dn.bonus.size()) {
    return std::string(reinterpret_cast<const char*>(dn.bonus.data() + kZnodePhysSize), z.size);
  }
  UZFS_ASSIGN(Bytes b, os_.Read(dn, 0, z.size));
  if (b.size() < z.size) return Status::Error(ECORRUPT, "symlink block shorter than its size");
  return std::string(reinterpret_cast<const char*>(b.data()), z.size);
}

}  // namespace uzfs
