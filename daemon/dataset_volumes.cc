// The volume side of zfsd's dataset operations (zfs create -V, zfs set volsize): zfs-fuse's
// zfs_do_create, zfs_valid_proplist and zvol_set_volsize checks, in libzfs's words.
#include "daemon/dataset_ops.h"
#include "libcore/base/zfs_prop.h"
#include "libcore/zvol/zvol.h"

namespace uzfs {

// zfs create -V: volsize (bytes) and volblocksize (bytes, default 8K) taken out of props,
// checked as zfs_valid_proplist and zfs_create check them.
Status TakeVolumeProps(std::map<std::string, std::string>* props, bool* volume,
                       uint64_t* volsize, uint64_t* volblocksize) {
  auto vs = props->find("volsize");
  auto bs = props->find("volblocksize");
  *volume = vs != props->end();
  *volblocksize = kZvolDefaultBlockSize;
  if (!*volume) {
    if (bs != props->end()) return Status::Error(EINVAL, "'volblocksize' does not apply to datasets of this type");
    return Status::Ok();
  }
  UZFS_TRY(ParseSize(vs->second, volsize));
  if (bs != props->end()) {
    UZFS_TRY(ParseSize(bs->second, volblocksize));
    if (ZvolCheckBlockSize(*volblocksize).code() == EDOM)
      return Status::Error(EINVAL, "'volblocksize' must be power of 2 from 512 to 128k");
    props->erase(bs);
  }
  props->erase("volsize");
  return Status::Ok();
}

// zfs_valid_proplist for a new volume: zfs_prop_valid_for_type.
Status CheckVolumeProp(const std::string& k) {
  const DatasetPropDef* d = FindDatasetProp(k);
  if (d && !(d->types & kDsVolume)) return Status::Error(EINVAL, "'" + k + "' does not apply to datasets of this type");
  return Status::Ok();
}

Status VolsizeReservation(Pool& p, const std::string& name, std::map<std::string, std::string>* props) {
  auto it = props->find("volsize");
  if (it == props->end() || props->count("refreservation")) return Status::Ok();
  UZFS_ASSIGN(bool volume, p.IsVolume(name));
  if (!volume) return Status::Ok();  // SetDatasetProp refuses it in zfs's words
  DatasetPropValue v;
  UZFS_TRY(EncodeDatasetProp("volsize", it->second, &v));
  UZFS_ASSIGN(auto all, p.DatasetProps(name));
  std::string old_volsize, old_resv;
  for (const auto& pr : all) {
    if (pr.name == "volsize") old_volsize = pr.value;
    if (pr.name == "refreservation") old_resv = pr.value;
  }
  if (!old_volsize.empty() && old_volsize == old_resv) (*props)["refreservation"] = std::to_string(v.num);
  return Status::Ok();
}

}  // namespace uzfs
