// Volumes (zfs-fuse zvol.c: zvol_check_volsize, zvol_check_volblocksize, zvol_create_cb,
// zvol_get_stats, zvol_update_volsize).
#include "libcore/zvol/zvol.h"

#include <algorithm>

#include "libcore/zap/zap.h"

namespace uzfs {

Status ZvolCheckBlockSize(uint64_t bs) {
  if (bs < 512 || bs > 128 * 1024 || (bs & (bs - 1)))
    return Status::Error(EDOM, "volume block size must be power of 2 from 512B to 128k");
  return Status::Ok();
}

Status ZvolCheckSize(uint64_t volsize, uint64_t bs) {
  if (volsize == 0) return Status::Error(EINVAL, "volume size cannot be zero");
  if (volsize % bs) return Status::Error(EINVAL, "volume size must be a multiple of volume block size");
  return Status::Ok();
}

Status ZvolCreate(ObjsetWriter& os, ZapStore& zaps, uint64_t volsize, uint64_t bs) {
  UZFS_TRY(ZvolCheckBlockSize(bs));
  UZFS_TRY(ZvolCheckSize(volsize, bs));
  // dmu_object_claim(os, ZVOL_OBJ, DMU_OT_ZVOL, volblocksize, DMU_OT_NONE, 0).
  UZFS_ASSIGN(uint64_t obj, os.Allocate(kOtZvol, static_cast<uint32_t>(bs), kOtNone, 0, kZvolObj));
  if (obj != kZvolObj) return Status::Error(ECORRUPT, "volume data object not at object 1");
  // zap_create_claim(os, ZVOL_ZAP_OBJ, DMU_OT_ZVOL_PROP, DMU_OT_NONE, 0).
  UZFS_TRY(zaps.CreateAt(kZvolZapObj, kOtZvolProp));
  return zaps.UpdateInt(kZvolZapObj, "size", volsize);
}

Result<ZvolStats> ZvolGetStats(ObjsetWriter& os, ZapStore& zaps) {
  if (os.os_type() != kOstZvol) return Status::Error(EINVAL, "not a volume");
  ZvolStats st;
  UZFS_ASSIGN(st.volsize, zaps.LookupInt(kZvolZapObj, "size"));
  UZFS_ASSIGN(const DnodePhys* dn, os.Dnode(kZvolObj));
  st.volblocksize = dn->datablksz();
  return st;
}

Result<ZvolStats> ZvolGetStats(ObjSet& os) {
  if (os.type() != kOstZvol) return Status::Error(EINVAL, "not a volume");
  ZvolStats st;
  UZFS_ASSIGN(Zap zap, Zap::Open(os, kZvolZapObj));
  UZFS_ASSIGN(st.volsize, zap.Lookup("size"));
  UZFS_ASSIGN(DnodePhys dn, os.Dnode(kZvolObj));
  st.volblocksize = dn.datablksz();
  return st;
}

Status ZvolSetSize(ObjsetWriter& os, ZapStore& zaps, uint64_t volsize) {
  UZFS_ASSIGN(ZvolStats st, ZvolGetStats(os, zaps));
  UZFS_TRY(ZvolCheckSize(volsize, st.volblocksize));
  UZFS_TRY(zaps.UpdateInt(kZvolZapObj, "size", volsize));
  // The volsize is a multiple of the block size: whole blocks go, none is cut.
  if (volsize < st.volsize) UZFS_TRY(os.Truncate(kZvolObj, volsize));
  return os.NoteFileSize(kZvolObj, volsize);
}

Status ZvolReplay(ObjsetWriter& os, ZapStore& zaps, const LogRecord& rec) {
  const auto* w = std::get_if<LrWrite>(&rec.body);
  if (rec.type() != kTxWrite || !w || w->foid != kZvolObj)
    return Status::Error(ENOTSUP, std::string("a volume's log holds no ") + TxTypeName(rec.type()) + " records");
  uint64_t off = w->offset, len = w->length;
  if (w->indirect) {  // a dmu_sync() block (zfs-fuse logs large volume writes so): all of it
    const uint64_t bs = w->blkptr.lsize();
    if (len < bs) {
      off -= off % bs;
      len = bs;
    }
  }
  if (w->data.size() < len)
    return Status::Error(ECORRUPT, "TX_WRITE record without its " + std::to_string(len) + " bytes of data");
  UZFS_ASSIGN(ZvolStats st, ZvolGetStats(os, zaps));
  if (off >= st.volsize) return Status::Ok();  // the volume shrank since: nothing there
  len = std::min(len, st.volsize - off);
  return os.Write(kZvolObj, off, ByteSpan(w->data).first(len));
}

}  // namespace uzfs
