// The DMU, read side: dnodes, objsets, object data through indirect trees, and a traversal
// of every block pointer of an objset.
//
// Format facts (docs/ondisk-v23.md section 6; zfs-fuse dnode.h, dmu_objset.h, dmu_traverse.c):
// dnode_phys_t is 512 bytes: type, indblkshift, nlevels, nblkptr, bonustype, checksum,
// compress, flags, datablkszsec (u16), bonuslen (u16), maxblkid at 16, used at 24, blkptrs at
// 64, bonus after them. objset_phys_t: meta-dnode at 0, zil_header at 512, os_type at 704,
// userused/groupused dnodes at 1024/1536 (objsets of 2048 bytes). A dnode is decoded in the
// byte order of the block that holds it; an indirect block's blkptrs in that block's order.
//
// Thread safety: an ObjSet is used by one thread at a time (it caches blocks).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <tuple>
#include <vector>

#include "libcore/base/bytes.h"
#include "libcore/base/status.h"
#include "libcore/base/blkptr.h"
#include "libcore/zio/block_reader.h"

namespace uzfs {

inline constexpr size_t kDnodeSize = 512;
inline constexpr int kDnodeShift = 9;
inline constexpr size_t kObjsetPhysSize = 2048;
inline constexpr size_t kObjsetPhysSizeV1 = 1024;  // before user accounting (v15)
inline constexpr int kMaxLevels = 7;               // DN_MAX_LEVELS for 512-byte blocks
inline constexpr uint64_t kUserUsedObject = ~0ULL;       // DMU_USERUSED_OBJECT (-1)
inline constexpr uint64_t kGroupUsedObject = ~0ULL - 1;  // DMU_GROUPUSED_OBJECT (-2)

// dmu_object_type_t values used by the read side.
enum DmuType : uint8_t {
  kOtNone = 0, kOtObjectDirectory = 1, kOtObjectArray = 2, kOtPackedNvlist = 3,
  kOtPackedNvlistSize = 4, kOtBplist = 5, kOtBplistHdr = 6, kOtSpaceMapHeader = 7,
  kOtSpaceMap = 8, kOtIntentLog = 9, kOtDnode = 10, kOtObjset = 11, kOtDslDir = 12,
  kOtDslDirChildMap = 13, kOtDslDsSnapMap = 14, kOtDslProps = 15, kOtDslDataset = 16,
  kOtZnode = 17, kOtOldAcl = 18, kOtPlainFileContents = 19, kOtDirectoryContents = 20,
  kOtMasterNode = 21, kOtUnlinkedSet = 22, kOtZvol = 23, kOtZvolProp = 24,
  kOtPlainOther = 25, kOtUint64Other = 26, kOtZapOther = 27, kOtErrorLog = 28,
  kOtSpaHistory = 29, kOtSpaHistoryOffsets = 30, kOtPoolProps = 31, kOtDslPerms = 32,
  kOtAcl = 33, kOtSysAcl = 34, kOtFuid = 35, kOtFuidSize = 36, kOtNextClones = 37,
  kOtScrubQueue = 38, kOtUserGroupUsed = 39, kOtUserGroupQuota = 40, kOtUserRefs = 41,
  kOtDdtZap = 42, kOtDdtStats = 43, kOtNumTypes = 44,
};
// dmu_ot[type].ot_metadata; types past the table count as metadata.
bool DmuTypeIsMetadata(uint8_t type);
// Objects whose level-0 blocks are file data the ARC caches in units (dmu_write.h): plain
// files and a volume's data object (zvol.c's ZVOL_OBJ is read and written as a file is).
inline bool IsFileData(uint8_t type) { return type == kOtPlainFileContents || type == kOtZvol; }

enum ObjsetType : uint64_t { kOstNone = 0, kOstMeta = 1, kOstZfs = 2, kOstZvol = 3 };

struct DnodePhys {
  uint8_t type = 0, indblkshift = 0, nlevels = 0, nblkptr = 0, bonustype = 0, checksum = 0,
          compress = 0, flags = 0;
  uint16_t datablkszsec = 0, bonuslen = 0;
  uint64_t maxblkid = 0, used = 0;
  std::vector<BlkPtr> blkptr;
  Bytes bonus;         // bonuslen bytes, in the dnode's byte order
  bool little = true;  // byte order of the dnode (and so of its bonus)

  uint64_t datablksz() const { return static_cast<uint64_t>(datablkszsec) << 9; }
  bool allocated() const { return type != kOtNone; }
  // Decodes 512 bytes. ECORRUPT for an allocated dnode whose geometry is impossible.
  static Result<DnodePhys> Decode(const uint8_t* p, bool little);
};

// What Traverse reports for each block pointer (zbookmark_t).
struct BlockVisit {
  const BlkPtr* bp;
  uint64_t object;  // 0 = meta-dnode; kUserUsedObject/kGroupUsedObject
  int level;        // -1 for the objset's own root block
  uint64_t blkid;
  const DnodePhys* dnode;  // owner (nullptr for the root block)
};
using VisitFn = std::function<Status(const BlockVisit&)>;

class ObjSet {
 public:
  // Reads the objset_phys block bp points to. reader must outlive the ObjSet.
  static Result<std::unique_ptr<ObjSet>> Open(BlockReader* reader, const BlkPtr& bp);

  const BlkPtr& rootbp() const { return rootbp_; }
  uint64_t type() const { return os_type_; }
  const DnodePhys& meta_dnode() const { return meta_; }
  const BlkPtr& zil_log() const { return zil_log_; }
  // zil_header_t: the txg in which the log was claimed (0 = never claimed, i.e. the pool was
  // not imported since the log was written).
  uint64_t zil_claim_txg() const { return zil_claim_txg_; }
  // The user/group space accounting dnodes of the objset_phys (nullptr when absent).
  const DnodePhys* userused() const { return userused_.get(); }
  const DnodePhys* groupused() const { return groupused_.get(); }
  // Count of dnode slots: (meta maxblkid + 1) * dnodes per block.
  uint64_t object_slots() const;

  // Dnode of object obj; ENOENT when obj is past the end or unallocated (type 0).
  Result<DnodePhys> Dnode(uint64_t obj);
  // Level-0 block blkid of dn: datablksz bytes (holes are zeros; *hole set when non-null).
  Result<Bytes> ReadBlock(const DnodePhys& dn, uint64_t blkid, bool* hole = nullptr);
  // The block pointer of level-0 block blkid (a hole bp when not allocated).
  Result<BlkPtr> BlockPointer(const DnodePhys& dn, uint64_t blkid);
  // Bytes [off, off+len) of the object, clipped to (maxblkid+1)*datablksz.
  Result<Bytes> Read(const DnodePhys& dn, uint64_t off, uint64_t len);
  // All (maxblkid+1) * datablksz bytes (bounded to 1 GiB: ENOMEM past that).
  Result<Bytes> ReadAll(const DnodePhys& dn);
  // Next allocated object after *obj (dmu_object_next); false at the end.
  Result<bool> NextObject(uint64_t* obj);

  // Visits the root block, then every block pointer of the objset depth-first (meta-dnode,
  // each object's tree, userused/groupused), skipping holes and blocks born at or before
  // min_txg (and everything below them). A callback error stops the walk and is returned.
  // Errors reading a block are passed to on_error (if set, the walk continues past it).
  Status Traverse(uint64_t min_txg, const VisitFn& fn,
                  const std::function<void(const BlockVisit&, const Status&)>& on_error = {});
  // Visits the block pointers of one object's tree only (not the objects inside the
  // meta-dnode's blocks), depth-first in offset order: what zdb -ddddd prints.
  Status WalkObject(const DnodePhys& dn, uint64_t object, const VisitFn& fn);

 private:
  ObjSet(BlockReader* r) : reader_(r) {}
  Status VisitBp(const BlkPtr& bp, uint64_t object, int level, uint64_t blkid,
                 const DnodePhys* dn, uint64_t min_txg, const VisitFn& fn,
                 const std::function<void(const BlockVisit&, const Status&)>& on_error,
                 int depth, bool into_dnodes = true);
  Status VisitDnode(const DnodePhys& dn, uint64_t object, uint64_t min_txg, const VisitFn& fn,
                    const std::function<void(const BlockVisit&, const Status&)>& on_error,
                    int depth, bool into_dnodes = true);
  Result<const Bytes*> CachedRead(const BlkPtr& bp);

  BlockReader* reader_;
  BlkPtr rootbp_;
  uint64_t os_type_ = 0;
  DnodePhys meta_;
  BlkPtr zil_log_;
  uint64_t zil_claim_txg_ = 0;
  std::unique_ptr<DnodePhys> userused_, groupused_;
  // Block cache keyed by (DVA0 word 1, birth): indirect and dnode blocks get re-read often.
  std::map<std::pair<uint64_t, uint64_t>, Bytes> cache_;
};

}  // namespace uzfs
