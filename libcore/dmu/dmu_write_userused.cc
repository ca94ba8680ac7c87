// ObjsetWriter's part of user/group space accounting (dmu_userused.h): the special objects
// -1 and -2 kept in objset_phys, and the upgrade of an objset written without the accounting.
#include "libcore/dmu/dmu_write.h"
#include "libcore/dmu/dmu_write_obj.h"

namespace uzfs {

namespace {
size_t SpecialOffset(uint64_t obj) {
  return (obj == kUserUsedObject ? kUserUsedDnodeOffset : kGroupUsedDnodeOffset) - kDnodeSize;
}
}  // namespace

// dmu_objset_userused_enabled: the pool's version allows it (the policy) and the objset type
// has a space callback (only ZPL objsets register one: zfs_space_delta_cb).
bool ObjsetWriter::UserUsedEnabled() const {
  return policy_.userused != nullptr && os_type_ == kOstZfs;
}

Result<ObjsetWriter::Obj*> ObjsetWriter::LoadSpecial(uint64_t obj) {
  UZFS_ASSIGN(DnodePhys dn, DnodePhys::Decode(phys_tail_.data() + SpecialOffset(obj), true));
  if (dn.type == kOtNone) return Status::Error(ENOENT, "special object is not allocated");
  auto o = std::make_unique<Obj>();
  o->id = obj;
  o->dn = std::move(dn);
  Obj* raw = o.get();
  objs_[obj] = std::move(o);
  return raw;
}

// dmu_objset_userspace_upgrade: every object dirtied once, so this sync counts each (an object
// a crashed earlier upgrade already counted carries DNODE_FLAG_USERUSED_ACCOUNTED and is
// subtracted and added again). All of it lands in one txg with the flag.
Status ObjsetWriter::UserUsedUpgrade() {
  Obj& meta = *objs_[0];
  uint64_t per_block = 1ULL << 5;  // 16K dnode blocks
  for (uint64_t blkid = 0; blkid <= meta.dn.maxblkid; blkid++) {
    UZFS_ASSIGN(BlkPtr bp, BpAt(meta, 0, blkid));
    if (bp.is_hole() && !meta.blocks.count(blkid)) continue;
    UZFS_ASSIGN(Bytes * b, Block(meta, blkid, false));
    for (uint64_t slot = 0; slot < per_block; slot++) {
      uint64_t obj = blkid * per_block + slot;
      if (obj == 0 || (*b)[slot * kDnodeSize] == kOtNone) continue;
      if (Obj* o = LoadedOrNull(obj)) {
        if (!o->freeing && o->dn.type != kOtNone) MarkDirty(*o);
        continue;
      }
      UZFS_ASSIGN(Obj * o, Load(obj));
      MarkDirty(*o);
    }
  }
  uint64_t flags = os_flags() | kObjsetFlagUserAccountingComplete;
  StoreLE64(phys_tail_.data() + (kObjsetFlagsOffset - kDnodeSize), flags);
  root_dirty_ = true;
  return Status::Ok();
}

// dmu_objset_sync's dnode_sync of os_userused_dnode / os_groupused_dnode: their blocks go
// out like any object's; their dnodes into objset_phys.
Status ObjsetWriter::SyncSpecials(ObjsetSink& sink, uint64_t txg, int pass) {
  for (uint64_t id : {kUserUsedObject, kGroupUsedObject}) {
    if (!dirty_.count(id)) continue;
    dirty_.erase(id);
    Obj& o = *objs_.at(id);
    UZFS_TRY(SyncObject(o, sink, txg, pass));
    if (o.freeing) {
      o.dn = DnodePhys{};
      o.freeing = false;
    }
    EncodeDnodePhys(o.dn, phys_tail_.data() + SpecialOffset(id));
    o.blocks.clear();
    o.ind.clear();
    root_dirty_ = true;
  }
  return Status::Ok();
}

}  // namespace uzfs
