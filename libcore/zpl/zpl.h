// The ZPL (ZFS POSIX layer), read side: master node, znodes, directories, files, symlinks
// (docs/ondisk-v23.md section 10; zfs-fuse zfs_znode.h znode_phys_t, zfs_dir.c, zfs_vnops.c
// zfs_readlink). ZPL version 4: the znode is the dnode's bonus (264 bytes, ACL inline).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "libcore/dmu/dmu.h"
#include "libcore/zap/zap.h"

namespace uzfs {

inline constexpr size_t kZnodePhysSize = 264;

struct ZnodePhys {
  uint64_t atime[2] = {0, 0}, mtime[2] = {0, 0}, ctime[2] = {0, 0}, crtime[2] = {0, 0};
  uint64_t gen = 0, mode = 0, size = 0, parent = 0, links = 0, xattr = 0, rdev = 0,
           flags = 0, uid = 0, gid = 0;
  static Result<ZnodePhys> Decode(const DnodePhys& dn);
};

struct DirEntry {
  std::string name;
  uint64_t object = 0;
  unsigned type = 0;  // IFTODT(mode): DT_REG 8, DT_DIR 4, DT_LNK 10 ...
};

class Zpl {
 public:
  // Reads the master node of a ZPL objset (os must outlive the Zpl).
  static Result<std::unique_ptr<Zpl>> Open(ObjSet& os);
  uint64_t version() const { return version_; }
  uint64_t root() const { return root_; }
  ObjSet& objset() { return os_; }

  Result<ZnodePhys> Stat(uint64_t obj);
  // Object of path ("/a/b" or "a/b", relative to the root); symlinks are not followed.
  Result<uint64_t> Lookup(const std::string& path);
  Result<std::vector<DirEntry>> ReadDir(uint64_t dir);
  // Bytes [off, off+len) of a regular file, clipped at its size.
  Result<Bytes> ReadFile(uint64_t obj, uint64_t off, uint64_t len);
  // Calls fn(offset, data) for each allocated block of the file in order, clipped to the
  // file size; holes are skipped (never read), so a sparse file costs only its data.
  Status ForEachExtent(uint64_t obj, const std::function<Status(uint64_t, ByteSpan)>& fn);
  Result<std::string> ReadLink(uint64_t obj);
  // zfs_obj_to_path: the object's path from the root ("/a/b"; "/" for the root, or for an
  // object that is its own parent), by the znodes' parent pointers and the names in each
  // parent directory (cached: the objset read never changes). ENOENT when a step has no
  // znode or no name (not linked any more).
  Result<std::string> ObjToPath(uint64_t obj);

 private:
  explicit Zpl(ObjSet& os) : os_(os) {}
  ObjSet& os_;
  uint64_t version_ = 0, root_ = 0;
  std::map<uint64_t, std::map<uint64_t, std::string>> dir_names_;  // dir -> (child -> name)
};

}  // namespace uzfs
