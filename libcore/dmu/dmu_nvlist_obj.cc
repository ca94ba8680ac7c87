#include "libcore/dmu/dmu_nvlist_obj.h"

#include "libcore/base/bytes.h"
#include "libcore/dmu/dmu_write.h"

namespace uzfs {

Status WriteNvlistObject(ObjsetWriter& os, uint64_t obj, const NvList& nv) {
  Bytes packed = nv.EncodeXdr();
  UZFS_TRY(os.Truncate(obj, 0));
  UZFS_TRY(os.Write(obj, 0, packed));
  Bytes sz(8);
  StoreLE64(sz.data(), packed.size());
  return os.SetBonus(obj, sz);
}

Result<NvList> ReadNvlistObject(ObjsetWriter& os, uint64_t obj) {
  UZFS_ASSIGN(const DnodePhys* dn, os.Dnode(obj));
  const uint64_t size = dn->bonus.size() >= 8 ? LoadLE64(dn->bonus.data()) : 0;
  UZFS_ASSIGN(Bytes packed, os.Read(obj, 0, size));
  return NvList::DecodeXdr(packed);
}

}  // namespace uzfs
