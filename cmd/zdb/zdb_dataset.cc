// zdb -d: one line per dataset (MOS first, then every dataset and snapshot in
// dmu_objset_find order); with -dd and more, one line per object (zfs-fuse zdb.c dump_dir,
// dump_object).
#include <cinttypes>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <functional>

#include "cmd/zdb/pool_dumps.h"

namespace uzfs::zdb {

namespace {
constexpr uint8_t kDnodeFlagUsedBytes = 1;
constexpr uint8_t kDnodeFlagUserUsedAccounted = 2;
}  // namespace

void PoolDumper::DumpObject(ObjSet& os, uint64_t object, const DnodePhys& dn, bool* header) {
  if (*header) {
    std::printf("\n%10s  %3s  %5s  %5s  %5s  %5s  %6s  %s\n", "Object", "lvl", "iblk", "dblk",
                "dsize", "lsize", "%full", "type");
    *header = false;
  }
  uint64_t fill = 0;
  for (const BlkPtr& bp : dn.blkptr) fill += bp.fill;
  const uint64_t dblk = dn.datablksz();
  const uint64_t max_offset = (dn.maxblkid + 1) * dblk;
  // doi_physical_blocks_512, rounded as dmu_object_info_from_dnode does.
  const uint64_t used_bytes = (dn.flags & kDnodeFlagUsedBytes) ? dn.used : dn.used << 9;
  const uint64_t phys = ((used_bytes + 256) >> 9) << 9;
  const double full = max_offset == 0 ? 0.0
                                      : 100.0 * static_cast<double>(fill) * static_cast<double>(dblk) /
                                            (object == 0 ? 32.0 : 1.0) / static_cast<double>(max_offset);
  std::string aux;
  if (dn.checksum != 0 || o_.d >= 6) aux += std::string(" (K=") + ChecksumName(dn.checksum) + ")";
  if (dn.compress != 0 || o_.d >= 6) aux += std::string(" (Z=") + BpCompressName(dn.compress) + ")";
  char fillbuf[16];
  std::snprintf(fillbuf, sizeof fillbuf, "%6.2f", full);
  std::printf("%10lld  %3u  %5s  %5s  %5s  %5s  %6s  %s%s\n", static_cast<long long>(object),
              static_cast<unsigned>(dn.nlevels), NiceNum(1ULL << dn.indblkshift).c_str(),
              NiceNum(dblk).c_str(), NiceNum(phys).c_str(), NiceNum(max_offset).c_str(), fillbuf,
              ObjectTypeName(dn.type), aux.c_str());
  if (dn.bonustype != 0 && o_.d > 3) {
    std::printf("%10s  %3s  %5s  %5s  %5s  %5s  %6s  %s\n", "", "", "", "", "",
                NiceNum(dn.bonuslen).c_str(), "bonus", ObjectTypeName(dn.bonustype));
  }
  if (o_.d >= 4) {
    std::printf("\tdnode flags: %s%s\n", (dn.flags & kDnodeFlagUsedBytes) ? "USED_BYTES " : "",
                (dn.flags & kDnodeFlagUserUsedAccounted) ? "USERUSED_ACCOUNTED " : "");
    std::printf("\tdnode maxblkid: %" PRIu64 "\n", dn.maxblkid);
    ViewObject(os, object, dn);
    *header = true;
  }
  if (o_.d >= 5) {
    // dump_indirect: every block pointer of the object, offset, level column, compact bp.
    std::printf("Indirect blocks:\n");
    const int epb_shift = dn.indblkshift - 7;
    Status st = os.WalkObject(dn, object, [&](const BlockVisit& v) -> Status {
      uint64_t off = (v.blkid << (v.level * epb_shift)) * dblk;
      std::string cols;
      for (int l = dn.nlevels - 1; l >= -1; l--)
        cols += l == v.level ? "L" + std::to_string(v.level) : " ";
      const BlkPtr& bp = *v.bp;
      std::string compact;
      int ndvas = o_.d > 5 ? bp.ndvas() : 1;
      char buf[96];
      for (int i = 0; i < ndvas; i++) {
        std::snprintf(buf, sizeof buf, "%" PRIu64 ":%" PRIx64 ":%" PRIx64 " ", bp.dva[i].vdev(),
                      bp.dva[i].offset(), bp.dva[i].asize());
        compact += buf;
      }
      std::snprintf(buf, sizeof buf, "%" PRIx64 "L/%" PRIx64 "P F=%" PRIu64 " B=%" PRIu64 "/%" PRIu64,
                    bp.lsize(), bp.psize(), bp.fill, bp.birth, bp.physical_birth());
      compact += buf;
      std::printf("%16" PRIx64 " %s%s\n", off, cols.c_str(), compact.c_str());
      return Status::Ok();
    });
    if (!st.ok()) std::printf("error walking object %" PRIu64 ": %s\n", object, st.ToString().c_str());
    std::printf("\n");
  }
}

// A vdev's data is required unless a sibling can stand in for it: a mirror side or a raidz
// column whose parent has redundancy left (vdev_dtl_required on a healthy pool). The DTL
// ranges themselves (from each leaf's DTL space map) are not printed yet: a pool with
// missing ranges only shows up here as its vdev lines.
void PoolDumper::DumpDtl(const Vdev& vd, int indent) {
  (void)indent;
  std::function<void(const Vdev&, const Vdev*, int)> walk = [&](const Vdev& v, const Vdev* parent, int ind) {
    bool required = true;
    if (parent != nullptr && parent->type != "root") {
      size_t avail = 0;
      for (const auto& c : parent->children) avail += c->available() ? 1 : 0;
      if (parent->type == "raidz") required = avail <= parent->children.size() - parent->nparity;
      else required = avail < 2;  // mirror, replacing, spare
    }
    const std::string name = !v.path.empty() ? v.path : parent != nullptr ? v.type : spa_.name();
    std::printf("\t%*s%s [%s]\n", ind, "", name.c_str(), required ? "DTL-required" : "DTL-expendable");
    for (const auto& c : v.children) walk(*c, &v, ind + 4);
  };
  walk(vd, nullptr, indent);
}

void PoolDumper::DumpBplist(uint64_t object, const char* name) {
  if (o_.d < 3 || object == 0) return;
  auto dn = dp_->mos().Dnode(object);
  if (!dn.ok() || dn->bonus.size() < 16) return;
  auto w = [&](int i) { return Load64(dn->bonus.data() + 8 * i, dn->little); };
  const uint64_t entries = w(0), bytes = w(1);
  if (entries == 0) return;
  // zfs-fuse compares the bonus dbuf's size (always 320) with sizeof (bplist_phys_t), so it
  // never prints the compressed/uncompressed sizes; neither do we.
  std::printf("\n    %s: %" PRIu64 " entries, %s\n", name, entries, NiceNum(bytes).c_str());
  if (o_.d < 5) return;
  std::printf("\n");
  auto raw = dp_->mos().Read(*dn, 0, entries * kBlkPtrSize);
  if (!raw.ok()) return;
  for (uint64_t i = 0; i * kBlkPtrSize + kBlkPtrSize <= raw->size(); i++) {
    BlkPtr bp = BlkPtr::Decode(raw->data() + i * kBlkPtrSize, dn->little);
    std::printf("\tItem %3" PRIu64 ": %" PRIu64 ":%" PRIx64 ":%" PRIx64 " %" PRIx64 "L/%" PRIx64 "P F=%" PRIu64
                " B=%" PRIu64 "/%" PRIu64 "\n",
                i, bp.dva[0].vdev(), bp.dva[0].offset(), bp.dva[0].asize(), bp.lsize(), bp.psize(), bp.fill,
                bp.birth, bp.physical_birth());
  }
}

int PoolDumper::DumpObjset(ObjSet& os, const std::string& name, const std::string& type,
                           uint64_t id, uint64_t cr_txg, uint64_t refd_bytes, uint64_t deadlist) {
  std::string rootbp;
  if (o_.d >= 4) rootbp = ", rootbp " + os.rootbp().ToString();
  std::printf("Dataset %s [%s], ID %" PRIu64 ", cr_txg %" PRIu64 ", %s, %" PRIu64 " objects%s\n",
              name.c_str(), type.c_str(), id, cr_txg, NiceNum(refd_bytes).c_str(),
              os.rootbp().fill, rootbp.c_str());
  bool header = true;
  int rc = kExitOk;
  if (o_.args.size() > 1) {  // zdb DATASET OBJECT...: only those objects
    for (size_t i = 1; i < o_.args.size(); i++) {
      char* end = nullptr;
      errno = 0;
      uint64_t obj = std::strtoull(o_.args[i].c_str(), &end, 0);
      if (errno != 0 || end == o_.args[i].c_str() || *end != '\0') {
        Fatal("bad number " + o_.args[i]);
        return kExitUsage;
      }
      auto dn = obj == 0 ? Result<DnodePhys>(os.meta_dnode()) : os.Dnode(obj);
      if (!dn.ok()) {
        Fatal("object " + o_.args[i] + ": " + dn.status().ToString());
        rc = kExitErrors;
        continue;
      }
      DumpObject(os, obj, *dn, &header);
    }
    std::printf("\n");
    return rc;
  }
  if (o_.i || o_.d >= 2) DumpIntentLog(os);
  DumpBplist(deadlist, "Deadlist");
  if (o_.d < 2 || os.rootbp().is_hole()) return kExitOk;
  DumpObject(os, 0, os.meta_dnode(), &header);
  if (os.userused() != nullptr && os.groupused() != nullptr) {
    DumpObject(os, kUserUsedObject, *os.userused(), &header);
    DumpObject(os, kGroupUsedObject, *os.groupused(), &header);
  }
  uint64_t obj = 0, count = 0;
  while (true) {
    auto next = os.NextObject(&obj);
    if (!next.ok()) {
      Fatal("reading objects of " + name + ": " + next.status().ToString());
      rc = kExitErrors;
      break;
    }
    if (!*next) break;
    auto dn = os.Dnode(obj);
    if (!dn.ok()) continue;
    DumpObject(os, obj, *dn, &header);
    count++;
  }
  // zfs-fuse's own MOS rootbp fill lags its meta-dnode (31 vs 62 objects on its pools), so
  // the check holds for datasets only.
  if (rc == kExitOk && os.type() != kOstMeta && count != os.rootbp().fill) {
    std::printf("object count %" PRIu64 " != objset fill %" PRIu64 "\n", count, os.rootbp().fill);
    rc = kExitErrors;
  }
  std::printf("\n");
  return rc;
}

int PoolDumper::DumpDatasets(const std::string& only) {
  int rc = kExitOk;
  if (only.empty()) {
    auto mos_used = dp_->MosUsedBytes();
    rc = std::max(rc, DumpObjset(dp_->mos(), "mos", "META", 0, 4, mos_used.ok() ? *mos_used : 0, 0));
    if (auto deferred = dp_->DirectoryEntry("sync_bplist"); deferred.ok())
      DumpBplist(*deferred, "Deferred frees");
    if (o_.d >= 3) {
      std::printf("\nDirty time logs:\n\n");
      DumpDtl(spa_.root(), 0);
    }
  }
  std::vector<DatasetInfo> all;
  if (only.empty()) {
    auto list = dp_->ListAll();
    if (!list.ok()) {
      Fatal("listing datasets: " + list.status().ToString());
      return kExitErrors;
    }
    all = std::move(*list);
  } else {
    auto d = dp_->Resolve(only);
    if (!d.ok()) {
      Fatal("can't open '" + only + "': " + d.status().ToString());
      return kExitErrors;
    }
    all.push_back(std::move(*d));
  }
  for (const DatasetInfo& d : all) {
    auto os = dp_->OpenObjset(d);
    if (!os.ok()) {
      std::printf("Could not open %s, error %d\n", d.name.c_str(), os.status().code());
      rc = kExitErrors;
      continue;
    }
    const char* type = (*os)->type() == kOstZfs ? "ZPL" : (*os)->type() == kOstZvol ? "ZVOL"
                                                 : (*os)->type() == kOstMeta ? "META" : "OTHER";
    rc = std::max(rc, DumpObjset(**os, d.name, type, d.ds_obj, d.ds.creation_txg, d.ds.used_bytes,
                                 d.ds.deadlist_obj));
  }
  return rc;
}

}  // namespace uzfs::zdb
