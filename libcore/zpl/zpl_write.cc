#include "libcore/zpl/zpl_write.h"
#include "libcore/zpl/zpl_userspace.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <utility>

#include "libcore/base/checksum.h"
#include "libcore/base/compress.h"
#include "libcore/zil/zil_write.h"

namespace uzfs {

namespace {

constexpr uint64_t kZplVersion = 4;
constexpr uint16_t kZnodeBonus = 264;
constexpr size_t kMaxInlineSymlink = 320 - kZnodeBonus;  // dmu_bonus_max - znode
constexpr uint64_t kFlagXattr = 0x1;  // ZFS_XATTR: an xattr directory or value file
constexpr uint64_t kFlagAclTrivial = 0x4, kFlagAutoInherit = 0x40, kFlagNoExecsDenied = 0x100;
constexpr uint64_t kFlagArchive = 0x0000000800000000ULL, kFlagAvModified = 0x0000040000000000ULL;
constexpr size_t kAclOffset = 176;

uint64_t DirentValue(uint64_t obj, uint64_t mode) { return ((mode & S_IFMT) >> 12) << 60 | obj; }
uint64_t DirentObj(uint64_t v) { return v & ((1ULL << 48) - 1); }

// zfs_acl_chmod's trivial ACL: owner@, group@, everyone@, each deny then allow.
void TrivialAcl(uint32_t mode, uint8_t* acl) {
  auto rwx = [](uint32_t bits) {
    uint32_t m = 0;
    if (bits & 4) m |= 0x1;        // ACE_READ_DATA
    if (bits & 2) m |= 0x2 | 0x4;  // ACE_WRITE_DATA | ACE_APPEND_DATA
    if (bits & 1) m |= 0x20;       // ACE_EXECUTE
    return m;
  };
  uint32_t o = (mode >> 6) & 7, g = (mode >> 3) & 7, e = mode & 7;
  struct Ace {
    uint16_t type, flags;
    uint32_t mask;
  } aces[6] = {
      {1, 0x1000, rwx(~o & 7)},  {0, 0x1000, rwx(o) | 0x110 | 0xc0000},
      {1, 0x2040, rwx(~g & 7)},  {0, 0x2040, rwx(g)},
      {1, 0x4000, rwx(~e & 7) | 0x110 | 0xc0000}, {0, 0x4000, rwx(e) | 0x120088},
  };
  std::fill(acl, acl + 88, 0);
  StoreLE32(acl + 8, 48);  // z_acl_size
  StoreLE16(acl + 12, 1);  // z_acl_version = ZFS_ACL_VERSION_FUIDS
  StoreLE16(acl + 14, 6);  // z_acl_count
  for (int i = 0; i < 6; i++) {
    StoreLE16(acl + 16 + 8 * i, aces[i].type);
    StoreLE16(acl + 18 + 8 * i, aces[i].flags);
    StoreLE32(acl + 20 + 8 * i, aces[i].mask);
  }
}

uint64_t NewFlags(uint64_t mode) {
  uint64_t f = kFlagArchive | kFlagAvModified | kFlagAclTrivial | kFlagAutoInherit;
  if ((mode & 0111) == 0111) f |= kFlagNoExecsDenied;
  return f;
}

// Changes made on behalf of another change log nothing of their own (zfs_rename's removal
// of the target, the files of an xattr directory): the sink is put aside meanwhile.
class QuietLog {
 public:
  explicit QuietLog(ItxSink** log) : log_(log), saved_(std::exchange(*log, nullptr)) {}
  ~QuietLog() { *log_ = saved_; }
  ItxSink* saved() const { return saved_; }

 private:
  ItxSink** log_;
  ItxSink* saved_;
};

}  // namespace

void ZplWriter::Log(uint64_t txg, uint64_t foid, Bytes lr) {
  Itx itx;
  itx.txg = txg;
  itx.foid = foid;
  itx.lr = std::move(lr);
  log_->Assign(std::move(itx));
}

Bytes EncodeZnode(const ZnodePhys& z, bool acl_from_mode) {
  Bytes b(kZnodeBonus, 0);
  uint64_t w[] = {z.atime[0], z.atime[1], z.mtime[0], z.mtime[1], z.ctime[0], z.ctime[1],
                  z.crtime[0], z.crtime[1], z.gen, z.mode, z.size, z.parent, z.links, z.xattr,
                  z.rdev, z.flags, z.uid, z.gid};
  for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) StoreLE64(b.data() + 8 * i, w[i]);
  if (acl_from_mode) TrivialAcl(static_cast<uint32_t>(z.mode), b.data() + kAclOffset);
  return b;
}

Status ZplWriter::CreateFs(ObjsetWriter& os, ZapStore& zaps, uint64_t txg, ZTime now) {
  UZFS_TRY(zaps.CreateAt(1, kOtMasterNode));
  UZFS_TRY(zaps.UpdateInt(1, "VERSION", kZplVersion));
  UZFS_ASSIGN(uint64_t dq, zaps.Create(kOtUnlinkedSet));
  UZFS_TRY(zaps.UpdateInt(1, "DELETE_QUEUE", dq));
  auto dir = [&](uint32_t mode) -> Result<uint64_t> {
    UZFS_ASSIGN(uint64_t obj, zaps.Create(kOtDirectoryContents, kOtZnode, kZnodeBonus));
    ZnodePhys z;
    z.atime[0] = z.mtime[0] = z.ctime[0] = z.crtime[0] = now.sec;
    z.atime[1] = z.mtime[1] = z.ctime[1] = z.crtime[1] = now.nsec;
    z.gen = txg;
    z.mode = S_IFDIR | mode;
    z.size = 2;
    z.parent = obj;
    z.links = 2;
    z.flags = NewFlags(mode);
    UZFS_TRY(os.SetBonus(obj, EncodeZnode(z)));
    return obj;
  };
  UZFS_ASSIGN(uint64_t root, dir(0755));
  UZFS_TRY(zaps.UpdateInt(1, "ROOT", root));
  UZFS_ASSIGN(uint64_t shares, dir(0555));
  UZFS_TRY(zaps.UpdateInt(1, "SHARES", shares));
  return zaps.Flush();
}

Result<std::unique_ptr<ZplWriter>> ZplWriter::Open(ObjsetWriter* os, ZapStore* zaps) {
  std::unique_ptr<ZplWriter> w(new ZplWriter(os, zaps));
  UZFS_ASSIGN(uint64_t v, zaps->LookupInt(1, "VERSION"));
  if (v != kZplVersion)
    return Status::Error(ENOTSUP, "ZPL version " + std::to_string(v) + " (4 is written here)");
  UZFS_ASSIGN(w->root_, zaps->LookupInt(1, "ROOT"));
  UZFS_ASSIGN(w->unlinked_, zaps->LookupInt(1, "DELETE_QUEUE"));
  return w;
}

Result<ZnodePhys> ZplWriter::GetAttr(uint64_t obj) {
  UZFS_ASSIGN(const DnodePhys* dn, os_->Dnode(obj));
  if (dn->bonustype != kOtZnode) return Status::Error(ENOENT, "not a znode");
  return ZnodePhys::Decode(*dn);
}

Status ZplWriter::Put(uint64_t obj, const ZnodePhys& z) {
  UZFS_ASSIGN(Bytes old, os_->Bonus(obj));
  uint64_t old_flags = old.size() >= 128 ? LoadLE64(old.data() + 120) : kFlagAclTrivial;
  bool trivial = (old_flags & kFlagAclTrivial) != 0;
  Bytes b = EncodeZnode(z, trivial);
  if (!trivial) std::copy(old.begin() + kAclOffset, old.begin() + kZnodeBonus, b.begin() + kAclOffset);
  // Keep anything past the znode (an inline symlink target).
  b.insert(b.end(), old.begin() + std::min<size_t>(old.size(), kZnodeBonus), old.end());
  return os_->SetBonus(obj, b);
}

Status ZplWriter::CheckName(std::string_view name) {
  if (name.empty() || name == "." || name == "..") return Status::Error(EINVAL, "invalid name");
  if (name.size() > 255) return Status::Error(ENAMETOOLONG, "name too long");
  if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos)
    return Status::Error(EINVAL, "invalid name");
  return Status::Ok();
}

Result<uint64_t> ZplWriter::Lookup(uint64_t dir, std::string_view name) {
  UZFS_ASSIGN(ZnodePhys d, GetAttr(dir));
  if (!S_ISDIR(d.mode)) return Status::Error(ENOTDIR, "not a directory");
  if (name == ".") return dir;
  if (name == "..") return d.parent;
  UZFS_ASSIGN(auto e, zaps_->Lookup(dir, name));
  if (!e) return Status::Error(ENOENT, std::string(name) + ": no such file or directory");
  return DirentObj(e->first());
}

Result<std::vector<DirEntry>> ZplWriter::ReadDir(uint64_t dir) {
  UZFS_ASSIGN(ZnodePhys d, GetAttr(dir));
  if (!S_ISDIR(d.mode)) return Status::Error(ENOTDIR, "not a directory");
  UZFS_ASSIGN(auto entries, zaps_->List(dir));
  std::vector<DirEntry> out;
  for (const ZapEntry& e : entries)
    out.push_back({e.name, DirentObj(e.first()), static_cast<unsigned>(e.first() >> 60)});
  return out;
}

Status ZplWriter::AddEntry(uint64_t dir, std::string_view name, uint64_t obj, uint64_t mode,
                           ZTime now) {
  UZFS_ASSIGN(ZnodePhys d, GetAttr(dir));
  if (!S_ISDIR(d.mode)) return Status::Error(ENOTDIR, "not a directory");
  UZFS_TRY(zaps_->Add(dir, name, 8, {DirentValue(obj, mode)}));
  d.size++;
  if (S_ISDIR(mode)) d.links++;
  d.mtime[0] = d.ctime[0] = now.sec;
  d.mtime[1] = d.ctime[1] = now.nsec;
  return Put(dir, d);
}

Status ZplWriter::DropEntry(uint64_t dir, std::string_view name, bool was_dir, ZTime now) {
  UZFS_TRY(zaps_->Remove(dir, name));
  UZFS_ASSIGN(ZnodePhys d, GetAttr(dir));
  if (d.size > 2) d.size--;
  if (was_dir && d.links > 2) d.links--;
  d.mtime[0] = d.ctime[0] = now.sec;
  d.mtime[1] = d.ctime[1] = now.nsec;
  return Put(dir, d);
}

Result<uint64_t> ZplWriter::Create(uint64_t dir, std::string_view name, uint32_t mode,
                                   uint32_t uid, uint32_t gid, uint64_t txg, ZTime now,
                                   uint64_t rdev) {
  const uint64_t want = std::exchange(want_obj_, 0);
  UZFS_TRY(CheckName(name));
  // zfs_create / zfs_mkdir / zfs_symlink: zfs_acl_ids_overquota on the new owner and group.
  if (!replaying_ && !want) UZFS_TRY(CheckQuota(*os_, *zaps_, uid, gid));
  UZFS_ASSIGN(ZnodePhys d, GetAttr(dir));
  if (!S_ISDIR(d.mode)) return Status::Error(ENOTDIR, "not a directory");
  UZFS_ASSIGN(auto existing, zaps_->Lookup(dir, name));
  if (existing) return Status::Error(EEXIST, std::string(name) + ": file exists");
  if ((mode & S_IFMT) == 0) mode |= S_IFREG;
  uint64_t obj = want;
  ZnodePhys z;
  if (S_ISDIR(mode)) {
    if (want) {
      UZFS_TRY(zaps_->CreateAt(want, kOtDirectoryContents, kOtZnode, kZnodeBonus));
    } else {
      UZFS_ASSIGN(obj, zaps_->Create(kOtDirectoryContents, kOtZnode, kZnodeBonus));
    }
    z.size = 2;
    z.links = 2;
  } else {
    UZFS_ASSIGN(obj, os_->Allocate(kOtPlainFileContents, 512, kOtZnode, kZnodeBonus, want));
    z.links = 1;
    if (S_ISREG(mode) && dax_new_) {
      // A DAX file: extent-sized blocks from the start, without checksum or compression
      // (their bytes change in place).
      UZFS_TRY(os_->SetBlockSize(obj, kDaxExtentSize));
      UZFS_TRY(os_->SetChecksumCompress(obj, static_cast<uint8_t>(ChecksumId::kOff),
                                        static_cast<uint8_t>(CompressId::kOff)));
    } else if (S_ISREG(mode)) {
      UZFS_TRY(os_->NoteFileSize(obj, 0));
    }
  }
  z.atime[0] = z.mtime[0] = z.ctime[0] = z.crtime[0] = now.sec;
  z.atime[1] = z.mtime[1] = z.ctime[1] = z.crtime[1] = now.nsec;
  z.gen = txg;
  z.mode = mode;
  z.parent = dir;
  z.uid = uid;
  z.gid = gid;
  z.rdev = rdev;
  z.flags = NewFlags(mode);
  if (d.flags & kFlagXattr) z.flags |= kFlagXattr;  // zfs_mknode: IS_XATTR under an xattr dir
  if (S_ISREG(mode) && dax_new_) z.flags |= kFlagDaxFile;
  UZFS_TRY(os_->SetBonus(obj, EncodeZnode(z)));
  UZFS_TRY(AddEntry(dir, name, obj, mode, now));
  if (log_) {  // zfs_log_create
    LrCreate c;
    c.doid = dir, c.foid = obj, c.mode = z.mode, c.uid = uid, c.gid = gid, c.gen = z.gen;
    c.crtime[0] = z.crtime[0], c.crtime[1] = z.crtime[1], c.rdev = rdev;
    c.name = name;
    Log(txg, obj, EncodeLrCreate(S_ISDIR(mode) ? kTxMkdir : kTxCreate, txg, c));
  }
  return obj;
}

Result<uint64_t> ZplWriter::Symlink(uint64_t dir, std::string_view name, std::string_view target,
                                    uint32_t uid, uint32_t gid, uint64_t txg, ZTime now) {
  const uint64_t want = std::exchange(want_obj_, 0);
  UZFS_TRY(CheckName(name));
  // zfs_create / zfs_mkdir / zfs_symlink: zfs_acl_ids_overquota on the new owner and group.
  if (!replaying_ && !want) UZFS_TRY(CheckQuota(*os_, *zaps_, uid, gid));
  if (target.size() > 1023) return Status::Error(ENAMETOOLONG, "symlink target too long");
  UZFS_ASSIGN(auto existing, zaps_->Lookup(dir, name));
  if (existing) return Status::Error(EEXIST, std::string(name) + ": file exists");
  bool inline_target = target.size() <= kMaxInlineSymlink;
  uint16_t bonuslen = static_cast<uint16_t>(kZnodeBonus + (inline_target ? target.size() : 0));
  UZFS_ASSIGN(uint64_t obj, os_->Allocate(kOtPlainFileContents, 512, kOtZnode, bonuslen, want));
  ZnodePhys z;
  z.atime[0] = z.mtime[0] = z.ctime[0] = z.crtime[0] = now.sec;
  z.atime[1] = z.mtime[1] = z.ctime[1] = z.crtime[1] = now.nsec;
  z.gen = txg;
  z.mode = S_IFLNK | 0777;
  z.size = target.size();
  z.parent = dir;
  z.links = 1;
  z.uid = uid;
  z.gid = gid;
  z.flags = NewFlags(z.mode);
  Bytes b = EncodeZnode(z);
  if (inline_target) {
    b.insert(b.end(), target.begin(), target.end());
  } else {
    UZFS_TRY(os_->SetBlockSize(obj, static_cast<uint32_t>((target.size() + 511) / 512 * 512)));
    UZFS_TRY(os_->Write(obj, 0, ByteSpan(reinterpret_cast<const uint8_t*>(target.data()), target.size())));
  }
  UZFS_TRY(os_->SetBonus(obj, b));
  UZFS_TRY(AddEntry(dir, name, obj, z.mode, now));
  if (log_) {  // zfs_log_symlink
    LrCreate c;
    c.doid = dir, c.foid = obj, c.mode = z.mode, c.uid = uid, c.gid = gid, c.gen = z.gen;
    c.crtime[0] = z.crtime[0], c.crtime[1] = z.crtime[1];
    c.name = name;
    c.link = target;
    Log(txg, obj, EncodeLrCreate(kTxSymlink, txg, c));
  }
  return obj;
}

Result<std::string> ZplWriter::ReadLink(uint64_t obj) {
  UZFS_ASSIGN(ZnodePhys z, GetAttr(obj));
  if (!S_ISLNK(z.mode)) return Status::Error(EINVAL, "not a symlink");
  UZFS_ASSIGN(Bytes bonus, os_->Bonus(obj));
  if (bonus.size() >= kZnodeBonus + z.size)
    return std::string(bonus.begin() + kZnodeBonus, bonus.begin() + kZnodeBonus + static_cast<long>(z.size));
  UZFS_ASSIGN(Bytes data, os_->Read(obj, 0, z.size));
  return std::string(data.begin(), data.end());
}

Status ZplWriter::Link(uint64_t dir, std::string_view name, uint64_t obj, ZTime now) {
  UZFS_TRY(CheckName(name));
  UZFS_ASSIGN(ZnodePhys z, GetAttr(obj));
  if (S_ISDIR(z.mode)) return Status::Error(EPERM, "hard link to a directory");
  if (z.links >= 65535) return Status::Error(EMLINK, "too many links");
  UZFS_ASSIGN(auto existing, zaps_->Lookup(dir, name));
  if (existing) return Status::Error(EEXIST, std::string(name) + ": file exists");
  UZFS_TRY(AddEntry(dir, name, obj, z.mode, now));
  z.links++;
  z.ctime[0] = now.sec;
  z.ctime[1] = now.nsec;
  UZFS_TRY(Put(obj, z));
  if (log_) Log(txg_, 0, EncodeLrLink(txg_, {dir, obj, std::string(name)}));  // zfs_log_link
  return Status::Ok();
}

Status ZplWriter::FreeZnode(uint64_t obj) {
  // zfs_rmnode: the xattr directory and its value files go with the file.
  auto z = GetAttr(obj);
  if (z.ok() && z->xattr != 0 && !(z->flags & kFlagXattr)) {
    auto xz = GetAttr(z->xattr);
    if (xz.ok() && S_ISDIR(xz->mode) && (xz->flags & kFlagXattr)) {
      UZFS_ASSIGN(auto entries, zaps_->List(z->xattr));
      for (const ZapEntry& e : entries) UZFS_TRY(os_->FreeObject(DirentObj(e.first())));
      zaps_->Drop(z->xattr);
      UZFS_TRY(os_->FreeObject(z->xattr));
    }
  }
  zaps_->Drop(obj);
  return os_->FreeObject(obj);
}

Status ZplWriter::Unlink(uint64_t dir, std::string_view name, ZTime now, bool keep_open) {
  UZFS_ASSIGN(uint64_t obj, Lookup(dir, name));
  UZFS_ASSIGN(ZnodePhys z, GetAttr(obj));
  if (S_ISDIR(z.mode)) return Status::Error(EISDIR, "is a directory");
  UZFS_TRY(DropEntry(dir, name, false, now));
  if (z.links > 1) {
    z.links--;
    z.ctime[0] = now.sec;
    z.ctime[1] = now.nsec;
    UZFS_TRY(Put(obj, z));
  } else if (keep_open || DaxMapped(z, obj)) {
    // Still open, or a DAX file whose extents a client maps: parked in the unlinked set
    // (a mapped one until the next mount's DrainUnlinked; its extents must not be reused).
    z.links = 0;
    UZFS_TRY(Put(obj, z));
    char hex[32];
    std::snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>(obj));
    UZFS_TRY(zaps_->AddInt(unlinked_, hex, obj));
  } else {
    UZFS_TRY(FreeZnode(obj));
  }
  // zfs_log_remove
  if (log_) Log(txg_, 0, EncodeLrRemove(kTxRemove, txg_, {dir, std::string(name)}));
  return Status::Ok();
}

Status ZplWriter::Reap(uint64_t obj) {
  char hex[32];
  std::snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>(obj));
  UZFS_ASSIGN(ZnodePhys z, GetAttr(obj));
  if (DaxMapped(z, obj)) return Status::Ok();  // stays parked (see Unlink)
  UZFS_TRY(zaps_->Remove(unlinked_, hex));
  return FreeZnode(obj);
}

Result<uint64_t> ZplWriter::DrainUnlinked() {
  UZFS_ASSIGN(auto entries, zaps_->List(unlinked_));
  for (const ZapEntry& e : entries) {
    UZFS_TRY(zaps_->Remove(unlinked_, e.name));
    if (os_->Dnode(e.first()).ok()) UZFS_TRY(FreeZnode(e.first()));
  }
  return static_cast<uint64_t>(entries.size());
}

Status ZplWriter::Accessed(uint64_t obj, ZTime now) {
  UZFS_ASSIGN(ZnodePhys z, GetAttr(obj));
  z.atime[0] = now.sec;
  z.atime[1] = now.nsec;
  return Put(obj, z);
}

Result<uint64_t> ZplWriter::UsedBytes(uint64_t obj) {
  UZFS_ASSIGN(const DnodePhys* dn, os_->Dnode(obj));
  return dn->used;
}

Status ZplWriter::Rmdir(uint64_t dir, std::string_view name, ZTime now) {
  UZFS_ASSIGN(uint64_t obj, Lookup(dir, name));
  UZFS_ASSIGN(ZnodePhys z, GetAttr(obj));
  if (!S_ISDIR(z.mode)) return Status::Error(ENOTDIR, "not a directory");
  UZFS_ASSIGN(uint64_t n, zaps_->Count(obj));
  if (n) return Status::Error(ENOTEMPTY, "directory not empty");
  UZFS_TRY(DropEntry(dir, name, true, now));
  UZFS_TRY(FreeZnode(obj));
  if (log_) Log(txg_, 0, EncodeLrRemove(kTxRmdir, txg_, {dir, std::string(name)}));
  return Status::Ok();
}

Status ZplWriter::Rename(uint64_t sdir, std::string_view sname, uint64_t ddir,
                         std::string_view dname, ZTime now) {
  UZFS_TRY(CheckName(dname));
  UZFS_ASSIGN(uint64_t obj, Lookup(sdir, sname));
  UZFS_ASSIGN(ZnodePhys z, GetAttr(obj));
  if (S_ISDIR(z.mode)) {
    // A directory may not move under itself.
    for (uint64_t d = ddir;;) {
      if (d == obj) return Status::Error(EINVAL, "cannot move a directory into itself");
      UZFS_ASSIGN(ZnodePhys dz, GetAttr(d));
      if (dz.parent == d) break;
      d = dz.parent;
    }
  }
  UZFS_ASSIGN(auto target, zaps_->Lookup(ddir, dname));
  if (target) {
    uint64_t tobj = DirentObj(target->first());
    if (tobj == obj) return Status::Ok();
    UZFS_ASSIGN(ZnodePhys tz, GetAttr(tobj));
    if (S_ISDIR(z.mode) && !S_ISDIR(tz.mode)) return Status::Error(ENOTDIR, "not a directory");
    if (!S_ISDIR(z.mode) && S_ISDIR(tz.mode)) return Status::Error(EISDIR, "is a directory");
    QuietLog quiet(&log_);  // the rename's record stands for the target's removal too
    if (S_ISDIR(tz.mode)) UZFS_TRY(Rmdir(ddir, dname, now));
    else UZFS_TRY(Unlink(ddir, dname, now));
  }
  UZFS_TRY(DropEntry(sdir, sname, S_ISDIR(z.mode), now));
  UZFS_TRY(AddEntry(ddir, dname, obj, z.mode, now));
  UZFS_ASSIGN(z, GetAttr(obj));
  z.parent = ddir;
  z.ctime[0] = now.sec;
  z.ctime[1] = now.nsec;
  UZFS_TRY(Put(obj, z));
  if (log_)  // zfs_log_rename
    Log(txg_, 0, EncodeLrRename(txg_, {sdir, ddir, std::string(sname), std::string(dname)}));
  return Status::Ok();
}

Result<Bytes> ZplWriter::Read(uint64_t obj, uint64_t off, uint64_t len) {
  UZFS_ASSIGN(ZnodePhys z, GetAttr(obj));
  if (S_ISDIR(z.mode)) return Status::Error(EISDIR, "is a directory");
  if (off >= z.size) return Bytes{};
  len = std::min(len, z.size - off);
  if (IsDaxFile(z)) {
    Bytes data(len);
    UZFS_TRY(DaxRead(obj, off, data));
    return data;
  }
  if (S_ISREG(z.mode)) UZFS_TRY(os_->NoteFileSize(obj, z.size));  // the ARC's segment size
  UZFS_ASSIGN(Bytes data, os_->Read(obj, off, len));
  data.resize(len, 0);  // past the last block: zeros (a hole at the end)
  return data;
}

Status ZplWriter::PlanRead(uint64_t obj, uint64_t off, uint64_t* len, ObjsetWriter::ReadPlan* plan) {
  UZFS_ASSIGN(ZnodePhys z, GetAttr(obj));
  if (S_ISDIR(z.mode)) return Status::Error(EISDIR, "is a directory");
  if (off >= z.size) {
    *len = 0;
    return Status::Ok();
  }
  *len = std::min(*len, z.size - off);
  if (!S_ISREG(z.mode)) {
    // Symlinks and the like: small, read whole under the lock.
    UZFS_ASSIGN(plan->out, os_->Read(obj, off, *len));
    return Status::Ok();
  }
  if (IsDaxFile(z)) {  // no disk part to defer: the device is memory
    plan->out = Bytes(*len);
    return DaxRead(obj, off, plan->out);
  }
  UZFS_TRY(os_->NoteFileSize(obj, z.size));  // the ARC's segment size
  return os_->PlanRead(obj, off, *len, plan);
}

// zfs_grow_blocksize (on a write) and zfs_extend (on a truncate that grows the file): a file
// of at most one block grows its block to hold `end`, up to the recordsize.
Status ZplWriter::GrowBlock(uint64_t obj, uint64_t end) {
  UZFS_ASSIGN(const DnodePhys* dn, os_->Dnode(obj));
  uint64_t bs = dn->datablksz();
  if (dn->maxblkid == 0 && bs < recordsize_ && end > bs) {
    uint64_t want = std::min<uint64_t>(end, recordsize_);
    want = (want + 511) / 512 * 512;
    if (end > recordsize_) want = recordsize_;
    UZFS_TRY(os_->SetBlockSize(obj, static_cast<uint32_t>(want)));
  }
  return Status::Ok();
}

Status ZplWriter::Write(uint64_t obj, uint64_t off, ByteSpan data, ZTime now) {
  UZFS_ASSIGN(ZnodePhys z, GetAttr(obj));
  if (S_ISDIR(z.mode)) return Status::Error(EISDIR, "is a directory");
  // zfs_write: the file's owner or group at or over its quota (as last synced).
  if (!replaying_) UZFS_TRY(CheckQuota(*os_, *zaps_, z.uid, z.gid));
  uint64_t end = off + data.size();
  const bool dax = IsDaxFile(z);
  if (dax) {
    UZFS_TRY(DaxWrite(obj, off, data));
  } else {
    UZFS_TRY(GrowBlock(obj, end));
    UZFS_TRY(os_->Write(obj, off, data));
  }
  if (end > z.size) {
    z.size = end;
    if (S_ISREG(z.mode) && !dax) UZFS_TRY(os_->NoteFileSize(obj, end));
  }
  z.mtime[0] = z.ctime[0] = now.sec;
  z.mtime[1] = z.ctime[1] = now.nsec;
  UZFS_TRY(Put(obj, z));
  // zfs_log_write, one record per block-sized chunk (zfs_write's): WR_NEED_COPY (the data
  // read from the file when the record is written) or, as the commit decides, WR_INDIRECT.
  if (z.links > 0 && !dax && log_) {
    UZFS_ASSIGN(const DnodePhys* dn, os_->Dnode(obj));
    LogWriteBlocks(log_, txg_, obj, off, data.size(), dn->datablksz());
  }
  return Status::Ok();
}

Status ZplWriter::Setattr(uint64_t obj, const SetAttr& a, ZTime now) {
  UZFS_ASSIGN(ZnodePhys z, GetAttr(obj));
  if (a.size) {
    if (S_ISDIR(z.mode)) return Status::Error(EISDIR, "is a directory");
    if (IsDaxFile(z)) {
      if (*a.size < z.size) UZFS_TRY(DaxTruncate(obj, z.size, *a.size));
    } else {
      if (*a.size < z.size) UZFS_TRY(os_->Truncate(obj, *a.size));
      if (*a.size > z.size && S_ISREG(z.mode)) UZFS_TRY(GrowBlock(obj, *a.size));
    }
    z.size = *a.size;
    if (S_ISREG(z.mode) && !IsDaxFile(z)) UZFS_TRY(os_->NoteFileSize(obj, z.size));
    z.mtime[0] = now.sec;
    z.mtime[1] = now.nsec;
  }
  if (a.mode) z.mode = (z.mode & S_IFMT) | (*a.mode & 07777);
  if (a.uid) z.uid = *a.uid;
  if (a.gid) z.gid = *a.gid;
  if (a.atime) z.atime[0] = a.atime->sec, z.atime[1] = a.atime->nsec;
  if (a.mtime) z.mtime[0] = a.mtime->sec, z.mtime[1] = a.mtime->nsec;
  z.ctime[0] = now.sec;
  z.ctime[1] = now.nsec;
  if (a.mode) {
    // A new mode means a new trivial ACL (aclmode=groupmask on a trivial ACL).
    uint64_t keep = z.flags & ~(kFlagNoExecsDenied);
    z.flags = keep | ((z.mode & 0111) == 0111 ? kFlagNoExecsDenied : 0);
  }
  UZFS_TRY(Put(obj, z));
  // zfs_log_setattr: the mask of what was set, those fields as given (zero otherwise, as
  // zfs-fuse's zeroed vattr leaves them); the mode with its type bits, as FUSE passes it.
  LrSetattr s;
  s.foid = obj;
  if (a.mode) s.mask |= kAtMode, s.mode = z.mode;
  if (a.uid) s.mask |= kAtUid, s.uid = *a.uid;
  if (a.gid) s.mask |= kAtGid, s.gid = *a.gid;
  if (a.size) s.mask |= kAtSize, s.size = *a.size;
  if (a.atime) s.mask |= kAtAtime, s.atime[0] = a.atime->sec, s.atime[1] = a.atime->nsec;
  if (a.mtime) s.mask |= kAtMtime, s.mtime[0] = a.mtime->sec, s.mtime[1] = a.mtime->nsec;
  if (log_ && s.mask != 0 && z.links > 0) Log(txg_, obj, EncodeLrSetattr(txg_, s));
  return Status::Ok();
}

Status ZplWriter::FreeSpace(uint64_t obj, uint64_t off, uint64_t len, ZTime now) {
  UZFS_ASSIGN(ZnodePhys z, GetAttr(obj));
  if (S_ISDIR(z.mode)) return Status::Error(EISDIR, "is a directory");
  const uint64_t end = off + len;
  if (end < off) return Status::Error(EFBIG, "range past the largest offset");
  auto extend = [&](uint64_t to) -> Status {  // zfs_extend
    if (to <= z.size) return Status::Ok();
    if (S_ISREG(z.mode) && !IsDaxFile(z)) UZFS_TRY(GrowBlock(obj, to));
    z.size = to;
    return Status::Ok();
  };
  if (off > z.size) {
    UZFS_TRY(extend(end));
  } else if (len == 0) {  // zfs_trunc
    if (off < z.size) UZFS_TRY(IsDaxFile(z) ? DaxTruncate(obj, z.size, off) : os_->Truncate(obj, off));
    z.size = off;
  } else {  // zfs_free_range, then zfs_extend
    const uint64_t stop = std::min(end, z.size);
    if (stop == z.size) {
      // the blocks past off go, the size stays
      UZFS_TRY(IsDaxFile(z) ? DaxTruncate(obj, z.size, off) : os_->Truncate(obj, off));
    } else if (IsDaxFile(z)) {
      UZFS_TRY(DaxZero(obj, off, stop - off));
    } else {
      // A range inside the file: its bytes become zeros (the blocks stay allocated).
      for (uint64_t at = off; at < stop;) {
        const uint64_t n = std::min<uint64_t>(stop - at, 1 << 20);
        UZFS_TRY(os_->Write(obj, at, Bytes(n, 0)));
        at += n;
      }
    }
    UZFS_TRY(extend(end));
  }
  if (S_ISREG(z.mode) && !IsDaxFile(z)) UZFS_TRY(os_->NoteFileSize(obj, z.size));
  z.mtime[0] = z.ctime[0] = now.sec;  // zfs_time_stamper CONTENT_MODIFIED
  z.mtime[1] = z.ctime[1] = now.nsec;
  UZFS_TRY(Put(obj, z));
  if (log_ && z.links > 0) Log(txg_, obj, EncodeLrTruncate(txg_, {obj, off, len}));
  return Status::Ok();
}

Status ZplWriter::SetEof(uint64_t obj, uint64_t size) {
  UZFS_ASSIGN(ZnodePhys z, GetAttr(obj));
  if (S_ISDIR(z.mode)) return Status::Error(EISDIR, "is a directory");
  z.size = size;
  if (S_ISREG(z.mode)) UZFS_TRY(os_->NoteFileSize(obj, size));
  return Put(obj, z);
}

// ---- extended attributes ----

Result<Bytes> ZplWriter::GetXattr(uint64_t obj, std::string_view name) {
  UZFS_ASSIGN(ZnodePhys z, GetAttr(obj));
  if (z.xattr == 0) return Status::Error(ENODATA, "no such attribute");
  UZFS_ASSIGN(auto e, zaps_->Lookup(z.xattr, name));
  if (!e) return Status::Error(ENODATA, "no such attribute");
  uint64_t vobj = DirentObj(e->first());
  UZFS_ASSIGN(ZnodePhys vz, GetAttr(vobj));
  return Read(vobj, 0, vz.size);
}

Status ZplWriter::SetXattr(uint64_t obj, std::string_view name, ByteSpan value, int flags,
                           uint64_t txg, ZTime now) {
  // zfs-fuse logs TX_MKXATTR and the value file's create and write; here the change has no
  // record, so a commit must sync its txg instead.
  QuietLog quiet(&log_);
  UZFS_TRY(DoSetXattr(obj, name, value, flags, txg, now));
  if (quiet.saved()) quiet.saved()->Unlogged(txg);
  return Status::Ok();
}

Status ZplWriter::DoSetXattr(uint64_t obj, std::string_view name, ByteSpan value, int flags,
                             uint64_t txg, ZTime now) {
  UZFS_TRY(CheckName(name));
  UZFS_ASSIGN(ZnodePhys z, GetAttr(obj));
  if (z.flags & kFlagXattr) return Status::Error(EINVAL, "xattrs of an xattr");
  std::optional<uint64_t> vobj;
  if (z.xattr != 0) {
    UZFS_ASSIGN(auto e, zaps_->Lookup(z.xattr, name));
    if (e) vobj = DirentObj(e->first());
  }
  if (vobj && (flags & kXattrCreate)) return Status::Error(EEXIST, "attribute exists");
  if (!vobj && (flags & kXattrReplace)) return Status::Error(ENODATA, "no such attribute");
  if (z.xattr == 0) {
    UZFS_ASSIGN(z.xattr, MakeXattrDir(obj, txg, now));
    UZFS_ASSIGN(ZnodePhys again, GetAttr(obj));
    z = again;
  }
  if (vobj) {
    UZFS_ASSIGN(ZnodePhys vz, GetAttr(*vobj));
    if (vz.size) UZFS_TRY(os_->Truncate(*vobj, 0));
    vz.size = 0;
    UZFS_TRY(Put(*vobj, vz));
  } else {
    UZFS_ASSIGN(vobj, Create(z.xattr, name, S_IFREG | 0660, static_cast<uint32_t>(z.uid),
                             static_cast<uint32_t>(z.gid), txg, now));
    UZFS_ASSIGN(ZnodePhys vz, GetAttr(*vobj));
    vz.flags |= kFlagXattr;
    UZFS_TRY(Put(*vobj, vz));
  }
  if (!value.empty()) UZFS_TRY(Write(*vobj, 0, value, now));
  z.ctime[0] = now.sec;
  z.ctime[1] = now.nsec;
  return Put(obj, z);
}

Result<uint64_t> ZplWriter::MakeXattrDir(uint64_t obj, uint64_t txg, ZTime now) {
  const uint64_t want = std::exchange(want_obj_, 0);
  UZFS_ASSIGN(ZnodePhys z, GetAttr(obj));
  if (z.xattr != 0) return Status::Error(EEXIST, "file has an xattr directory");
  // zfs_make_xattrdir: mode S_IFDIR | S_ISVTX | 0777, owner of the file, links 2.
  uint64_t xdir = want;
  if (want) {
    UZFS_TRY(zaps_->CreateAt(want, kOtDirectoryContents, kOtZnode, kZnodeBonus));
  } else {
    UZFS_ASSIGN(xdir, zaps_->Create(kOtDirectoryContents, kOtZnode, kZnodeBonus));
  }
  ZnodePhys x;
  x.atime[0] = x.mtime[0] = x.ctime[0] = x.crtime[0] = now.sec;
  x.atime[1] = x.mtime[1] = x.ctime[1] = x.crtime[1] = now.nsec;
  x.gen = txg;
  x.mode = S_IFDIR | S_ISVTX | 0777;
  x.size = 2;
  x.parent = obj;
  x.links = 2;
  x.uid = z.uid;
  x.gid = z.gid;
  x.flags = NewFlags(x.mode) | kFlagXattr;
  UZFS_TRY(os_->SetBonus(xdir, EncodeZnode(x)));
  z.xattr = xdir;
  UZFS_TRY(Put(obj, z));
  return xdir;
}

Result<std::vector<std::string>> ZplWriter::ListXattr(uint64_t obj) {
  UZFS_ASSIGN(ZnodePhys z, GetAttr(obj));
  std::vector<std::string> out;
  if (z.xattr == 0) return out;
  UZFS_ASSIGN(auto entries, zaps_->List(z.xattr));
  for (const ZapEntry& e : entries) out.push_back(e.name);
  return out;
}

Status ZplWriter::RemoveXattr(uint64_t obj, std::string_view name, ZTime now) {
  UZFS_ASSIGN(ZnodePhys z, GetAttr(obj));
  if (z.xattr == 0) return Status::Error(ENODATA, "no such attribute");
  UZFS_ASSIGN(auto e, zaps_->Lookup(z.xattr, name));
  if (!e) return Status::Error(ENODATA, "no such attribute");
  UZFS_TRY(DropEntry(z.xattr, name, false, now));
  UZFS_TRY(FreeZnode(DirentObj(e->first())));
  UZFS_ASSIGN(z, GetAttr(obj));
  z.ctime[0] = now.sec;
  z.ctime[1] = now.nsec;
  UZFS_TRY(Put(obj, z));
  if (log_) log_->Unlogged(txg_);
  return Status::Ok();
}

}  // namespace uzfs
