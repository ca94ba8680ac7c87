// The object viewers of zdb -dddd (zfs-fuse zdb.c object_viewer[]): what the bonus buffer
// and the contents of an object say, by type. Types without a viewer print nothing, as there.
#include <sys/stat.h>

#include <cinttypes>
#include <cstdio>
#include <ctime>

#include "cmd/zdb/pool_dumps.h"

namespace uzfs::zdb {

namespace {

std::string CTime(uint64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  char buf[64];
  return ctime_r(&tt, buf) ? buf : "?\n";
}

void ZapStats(const Zap& z, const DnodePhys& dn) {
  if (z.micro()) {
    std::printf("\tmicrozap: %llu bytes, %zu entries\n", static_cast<unsigned long long>(dn.datablksz()), z.entries().size());
    return;
  }
  std::printf("\tFat ZAP stats:\n\t\tPointer table:\n");
  std::printf("\t\t\t%llu elements\n", 1ULL << z.ptrtbl_shift);
  std::printf("\t\t\tzt_blk: %" PRIu64 "\n\t\t\tzt_numblks: %" PRIu64 "\n\t\t\tzt_shift: %" PRIu64
              "\n\t\t\tzt_blks_copied: %" PRIu64 "\n\t\t\tzt_nextblk: %" PRIu64 "\n",
              z.ptrtbl_blk, z.ptrtbl_numblks, z.ptrtbl_shift, z.ptrtbl_blks_copied, z.ptrtbl_nextblk);
  std::printf("\t\tZAP entries: %" PRIu64 "\n\t\tLeaf blocks: %" PRIu64 "\n\t\tTotal blocks: %" PRIu64 "\n",
              z.hdr_num_entries, z.num_leafs, z.freeblk);
  std::printf("\t\tzap_block_type: 0x%" PRIx64 "\n\t\tzap_magic: 0x%" PRIx64 "\n\t\tzap_salt: 0x%" PRIx64 "\n",
              z.block_type, z.magic, z.salt());
  const struct {
    const char* title;
    const uint64_t* h;
  } histos[] = {{"Leafs with 2^n pointers", z.leafs_with_2n_pointers},
                {"Blocks with n*5 entries", z.blocks_with_n5_entries},
                {"Blocks n/10 full", z.blocks_n_tenths_full},
                {"Entries with n chunks", z.entries_using_n_chunks},
                {"Buckets with n entries", z.buckets_with_n_entries}};
  static const char kStars[] = "****************************************";
  const uint64_t width = sizeof kStars - 1;
  for (const auto& hh : histos) {
    std::printf("\t\t%s:\n", hh.title);
    int minidx = Zap::kHistogramSize - 1, maxidx = 0;
    uint64_t max = 0;
    for (int i = 0; i < Zap::kHistogramSize; i++) {
      max = std::max(max, hh.h[i]);
      if (hh.h[i] > 0) {
        maxidx = std::max(maxidx, i);
        minidx = std::min(minidx, i);
      }
    }
    max = std::max(max, width);
    for (int i = minidx; i <= maxidx; i++)
      std::printf("\t\t\t%u: %6llu %s\n", i, static_cast<unsigned long long>(hh.h[i]),
                  &kStars[(max - hh.h[i]) * width / max]);
  }
}

void ViewZap(ObjSet& os, uint64_t object, const DnodePhys& dn) {
  auto z = Zap::Open(os, dn, object);
  if (!z.ok()) {
    std::printf("\tcannot read ZAP: %s\n", z.status().ToString().c_str());
    return;
  }
  ZapStats(*z, dn);
  std::printf("\n");
  for (const ZapEntry& e : z->entries()) {
    std::printf("\t\t%s = ", e.name.c_str());
    if (e.int_size == 1) {
      std::string s;
      for (uint64_t c : e.value) {
        if (c == 0) break;
        s.push_back(static_cast<char>(c));
      }
      std::printf("%s", s.c_str());
    } else {
      for (uint64_t v : e.value) {
        if (e.int_size == 8) std::printf("%lld ", static_cast<long long>(v));
        else std::printf("%u ", static_cast<unsigned>(v));
      }
    }
    std::printf("\n");
  }
}

void ViewZplDir(ObjSet& os, uint64_t object, const DnodePhys& dn) {
  static const char* const kTypes[] = {
      "not specified", "FIFO", "Character Device", "3 (invalid)", "Directory", "5 (invalid)",
      "Block Device", "7 (invalid)", "Regular File", "9 (invalid)", "Symbolic Link",
      "11 (invalid)", "Socket", "Door", "Event Port", "15 (invalid)"};
  auto z = Zap::Open(os, object);
  if (!z.ok()) {
    std::printf("\tcannot read directory: %s\n", z.status().ToString().c_str());
    return;
  }
  ZapStats(*z, dn);
  std::printf("\n");
  for (const ZapEntry& e : z->entries()) {
    std::printf("\t\t%s = %lld (type: %s)\n", e.name.c_str(),
                static_cast<long long>(e.first() & ((1ULL << 48) - 1)), kTypes[(e.first() >> 60) & 15]);
  }
}

}  // namespace

std::string PoolDumper::ObjToPath(ObjSet& os, uint64_t object) {
  const std::string unknown = "\?\?\?<object#" + std::to_string(object) + ">";
  if (!(path_os_ == os.rootbp()) || !path_zpl_) {
    path_os_ = os.rootbp();
    auto zpl = Zpl::Open(os);
    path_zpl_ = zpl.ok() ? std::move(*zpl) : nullptr;
  }
  if (!path_zpl_) return unknown;
  auto path = path_zpl_->ObjToPath(object);
  return path.ok() ? *path : unknown;
}

void PoolDumper::ViewObject(ObjSet& os, uint64_t object, const DnodePhys& dn) {
  // The bonus viewer first, then the object's own.
  switch (dn.bonustype) {
    case kOtZnode: {
      auto z = ZnodePhys::Decode(dn);
      if (!z.ok()) break;
      std::printf("\tpath\t%s\n", ObjToPath(os, object).c_str());
      std::printf("\tuid     %" PRIu64 "\n\tgid     %" PRIu64 "\n", z->uid, z->gid);
      std::printf("\tatime\t%s\tmtime\t%s\tctime\t%s\tcrtime\t%s", CTime(z->atime[0]).c_str(),
                  CTime(z->mtime[0]).c_str(), CTime(z->ctime[0]).c_str(), CTime(z->crtime[0]).c_str());
      std::printf("\tgen\t%" PRIu64 "\n\tmode\t%" PRIo64 "\n\tsize\t%" PRIu64 "\n\tparent\t%" PRIu64
                  "\n\tlinks\t%" PRIu64 "\n\txattr\t%" PRIu64 "\n\trdev\t0x%016" PRIx64 "\n",
                  z->gen, z->mode, z->size, z->parent, z->links, z->xattr, z->rdev);
      break;
    }
    case kOtDslDir: {
      auto d = DslDirPhys::Decode(dn);
      if (!d.ok()) break;
      std::printf("\t\tcreation_time = %s", CTime(d->creation_time).c_str());
      std::printf("\t\thead_dataset_obj = %" PRIu64 "\n\t\tparent_dir_obj = %" PRIu64
                  "\n\t\torigin_obj = %" PRIu64 "\n\t\tchild_dir_zapobj = %" PRIu64 "\n",
                  d->head_dataset_obj, d->parent_obj, d->origin_obj, d->child_dir_zapobj);
      std::printf("\t\tused_bytes = %s\n\t\tcompressed_bytes = %s\n\t\tuncompressed_bytes = %s\n",
                  NiceNum(d->used_bytes).c_str(), NiceNum(d->compressed_bytes).c_str(),
                  NiceNum(d->uncompressed_bytes).c_str());
      std::printf("\t\tquota = %s\n\t\treserved = %s\n\t\tprops_zapobj = %" PRIu64
                  "\n\t\tdeleg_zapobj = %" PRIu64 "\n\t\tflags = %" PRIx64 "\n",
                  NiceNum(d->quota).c_str(), NiceNum(d->reserved).c_str(), d->props_zapobj,
                  d->deleg_zapobj, d->flags);
      static const char* const kUsed[] = {"HEAD", "SNAP", "CHILD", "CHILD_RSRV", "REFRSRV"};
      for (int i = 0; i < 5; i++)
        std::printf("\t\tused_breakdown[%s] = %s\n", kUsed[i], NiceNum(d->used_breakdown[i]).c_str());
      break;
    }
    case kOtDslDataset: {
      auto d = DslDatasetPhys::Decode(dn);
      if (!d.ok()) break;
      std::printf("\t\tdir_obj = %" PRIu64 "\n\t\tprev_snap_obj = %" PRIu64 "\n\t\tprev_snap_txg = %" PRIu64
                  "\n\t\tnext_snap_obj = %" PRIu64 "\n\t\tsnapnames_zapobj = %" PRIu64
                  "\n\t\tnum_children = %" PRIu64 "\n\t\tuserrefs_obj = %" PRIu64 "\n",
                  d->dir_obj, d->prev_snap_obj, d->prev_snap_txg, d->next_snap_obj,
                  d->snapnames_zapobj, d->num_children, d->userrefs_obj);
      std::printf("\t\tcreation_time = %s", CTime(d->creation_time).c_str());
      std::printf("\t\tcreation_txg = %" PRIu64 "\n\t\tdeadlist_obj = %" PRIu64 "\n", d->creation_txg,
                  d->deadlist_obj);
      std::printf("\t\tused_bytes = %s\n\t\tcompressed_bytes = %s\n\t\tuncompressed_bytes = %s\n"
                  "\t\tunique = %s\n",
                  NiceNum(d->used_bytes).c_str(), NiceNum(d->compressed_bytes).c_str(),
                  NiceNum(d->uncompressed_bytes).c_str(), NiceNum(d->unique_bytes).c_str());
      std::printf("\t\tfsid_guid = %" PRIu64 "\n\t\tguid = %" PRIu64 "\n\t\tflags = %" PRIx64
                  "\n\t\tnext_clones_obj = %" PRIu64 "\n\t\tprops_obj = %" PRIu64 "\n\t\tbp = %s\n",
                  d->fsid_guid, d->guid, d->flags, d->next_clones_obj, d->props_obj,
                  d->bp.ToString().c_str());
      break;
    }
    case kOtPackedNvlistSize: {
      if (dn.bonus.size() < 8) break;
      uint64_t size = Load64(dn.bonus.data(), dn.little);
      auto raw = os.Read(dn, 0, size);
      if (!raw.ok()) break;
      auto nv = NvList::DecodeXdr(*raw);
      if (nv.ok()) std::fputs(nv->Dump(8).c_str(), stdout);
      break;
    }
    default:
      break;
  }
  switch (dn.type) {
    case kOtObjectDirectory: case kOtDslDirChildMap: case kOtDslDsSnapMap: case kOtDslProps:
    case kOtMasterNode: case kOtUnlinkedSet: case kOtZvolProp: case kOtZapOther:
    case kOtErrorLog: case kOtPoolProps: case kOtDslPerms: case kOtNextClones:
    case kOtScrubQueue: case kOtUserGroupUsed: case kOtUserGroupQuota: case kOtUserRefs:
    case kOtDdtStats:
      ViewZap(os, object, dn);
      break;
    case kOtDirectoryContents:
      ViewZplDir(os, object, dn);
      break;
    default:
      // A new type whose byteswap is DMU_BSWAP_ZAP (the feature ZAPs of a version 5000
      // pool): a ZAP (zdb's object_viewer by ZDB_OT_TYPE).
      if ((dn.type & 0x80) && (dn.type & 0x1f) == 4) ViewZap(os, object, dn);
      break;
  }
}

}  // namespace uzfs::zdb
