// zdb -b / -c: traverse every block of the pool, count it by type and level, claim each of
// its DVAs against the space maps (what is left over is leaked space), and with -c read and
// verify metadata (-cc: all) blocks, every copy. Output as zfs-fuse zdb.c dump_block_stats.
//
// What is traversed (traverse_pool): the deferred-free bplist, the MOS, then every
// DSL_DATASET object's objset from its ds_prev_snap_txg on, so blocks a snapshot shares with
// its successors are counted once; and each objset's intent log (traverse_zil): the chain of
// log blocks from the ZIL header, those born by the pool's last synced txg when the log was
// never claimed (zdb opens pools read-only), plus, for a claimed log, the blocks its
// TX_WRITE records point to.
#include <cinttypes>
#include <cstdio>

#include "cmd/zdb/pool_dumps.h"

namespace uzfs::zdb {

namespace {

constexpr int kLevels = 16;           // index kLevels = all levels
constexpr int kOtDeferred = kOtNumTypes;
constexpr int kOtDitto = kOtNumTypes + 1;
constexpr int kOtTotal = kOtNumTypes + 2;

struct BlkStats {
  uint64_t asize = 0, lsize = 0, psize = 0, count = 0;
};

struct Counts {
  BlkStats t[kLevels + 1][kOtTotal + 1];
  uint64_t errors[256] = {};
  bool had_errors = false;
  bool claim_failed = false;

  void Add(const BlkPtr& bp, int type) {
    for (int i = 0; i < 4; i++) {
      int l = i < 2 ? std::min(bp.level(), kLevels - 1) : kLevels;
      int ty = (i & 1) ? type : kOtTotal;
      BlkStats& s = t[l][ty];
      s.asize += bp.total_asize();
      s.lsize += bp.lsize();
      s.psize += bp.psize();
      s.count++;
    }
  }
};

// vdev_psize_to_asize: the allocated size of psize bytes on a top-level vdev.
uint64_t PsizeToAsize(const Vdev& vd, uint64_t psize) {
  const uint64_t ashift = vd.ashift ? vd.ashift : 9;
  uint64_t sectors = ((psize - 1) >> ashift) + 1;
  if (vd.type == "raidz" && vd.nparity > 0 && vd.children.size() > vd.nparity) {
    const uint64_t cols = vd.children.size(), np = vd.nparity;
    sectors += np * ((sectors + cols - np - 1) / (cols - np));
    sectors = (sectors + np) / (np + 1) * (np + 1);
  }
  return sectors << ashift;
}

constexpr int kZilZcSeq = 3;           // blk_cksum word holding the log block's sequence
constexpr size_t kZilChainSize = 184;  // zil_chain_t: pad, next blkptr, nused, eck
constexpr uint64_t kTxWrite = 9;

// zil_parse for the traversal: calls visit(bp, is_record) for each log block (and, for a
// claimed log, each TX_WRITE record's block) that zdb's traverse_zil would visit.
void WalkZil(Spa& spa, const ObjSet& os, const std::function<void(const BlkPtr&, int64_t)>& visit) {
  const uint64_t claim_txg = os.zil_claim_txg();
  const uint64_t first_txg = spa.uberblock().txg + 1;  // spa_first_txg of a read-only open
  BlkPtr blk = os.zil_log();
  for (int n = 0; n < (1 << 20) && !blk.is_hole(); n++) {
    if (claim_txg != 0 || blk.birth < first_txg) visit(blk, -1);
    auto data = spa.Read(blk);
    if (!data.ok()) break;  // the end of the chain: the next block was never written
    const Bytes& b = *data;
    BlkPtr next;
    size_t rec_start = 0, rec_end = 0;
    if (blk.checksum() == static_cast<uint8_t>(ChecksumId::kZilog2)) {
      if (b.size() < kZilChainSize) break;
      next = BlkPtr::Decode(b.data() + 8, blk.little_endian());
      uint64_t nused = Load64(b.data() + 136, blk.little_endian());
      rec_start = kZilChainSize;
      rec_end = std::min<uint64_t>(nused, b.size());
    } else {  // zilog: zil_trailer_t at the end
      if (b.size() < kZilChainSize) break;
      const uint8_t* t = b.data() + b.size() - kZilChainSize;
      next = BlkPtr::Decode(t + 8, blk.little_endian());
      rec_end = std::min<uint64_t>(Load64(t + 136, blk.little_endian()), b.size() - kZilChainSize);
    }
    if (claim_txg != 0) {  // traverse_zil_record: TX_WRITE blocks born at or after the claim
      for (size_t off = rec_start; off + 32 <= rec_end;) {
        uint64_t type = Load64(b.data() + off, blk.little_endian());
        uint64_t reclen = Load64(b.data() + off + 8, blk.little_endian());
        if (reclen < 32 || off + reclen > rec_end) break;
        if (type == kTxWrite && reclen >= 64 + kBlkPtrSize) {
          BlkPtr wbp = BlkPtr::Decode(b.data() + off + 64, blk.little_endian());
          if (!wbp.is_hole() && wbp.birth >= claim_txg) visit(wbp, 1);
        }
        off += reclen;
      }
    }
    ZioCksum want = blk.cksum;
    want.word[kZilZcSeq]++;
    if (next.is_hole() || !(next.cksum == want)) break;
    blk = next;
  }
}

}  // namespace

int PoolDumper::DumpBlockStats() {
  std::printf("\nTraversing all blocks %s%s%s%s%s...\n", "to verify ", o_.c == 1 ? "metadata " : "",
              o_.c ? "checksums " : "", o_.c ? "and verify " : "", "nothing leaked ");
  std::fflush(stdout);
  auto counts = std::make_unique<Counts>();
  Counts& zcb = *counts;

  std::map<uint64_t, RangeSet> alloc;
  uint64_t total_alloc = 0, norm_alloc = 0, norm_space = 0;
  Status sm = LoadSpaceMaps(&alloc, &total_alloc, &norm_alloc, &norm_space);
  if (!sm.ok()) {
    std::printf("cannot load space maps: %s\n", sm.ToString().c_str());
    return kExitErrors;
  }

  // Claims every DVA of bp (a gang block: its header, then its children, recursively).
  std::function<void(const BlkPtr&, int)> claim = [&](const BlkPtr& bp, int depth) {
    for (int d = 0; d < kSpaDvas; d++) {
      const Dva& dva = bp.dva[d];
      if (dva.asize() == 0) continue;
      Vdev* vd = spa_.top(dva.vdev());
      uint64_t size = dva.asize();
      if (vd != nullptr && dva.gang()) size = PsizeToAsize(*vd, kSpaGangBlockSize);
      if (vd == nullptr || !alloc[dva.vdev()].Remove(dva.offset(), size)) {
        std::printf("zdb: block <%" PRIu64 ":%" PRIx64 ":%" PRIx64 "> is not allocated in the "
                    "space maps (claimed twice or never allocated)\n",
                    dva.vdev(), dva.offset(), size);
        zcb.claim_failed = true;
        continue;
      }
      if (dva.gang() && depth < 8) {
        auto hdr = spa_.ReadRaw(dva.vdev(), dva.offset(), kSpaGangBlockSize);
        if (!hdr.ok()) continue;  // -c reports the unreadable block
        const bool le = LoadLE64(hdr->data() + hdr->size() - 40) == kZecMagic;
        for (int i = 0; i < 3; i++) {
          BlkPtr child = BlkPtr::Decode(hdr->data() + i * kBlkPtrSize, le);
          if (!child.is_hole()) claim(child, depth + 1);
        }
      }
    }
  };

  // Dataset names by objset id, so errors say where they are.
  std::map<uint64_t, std::string> names{{0, "mos"}};
  if (auto all = dp_->ListAll(); all.ok())
    for (const DatasetInfo& d : *all) names[d.ds_obj] = d.name;
  auto describe = [&](uint64_t objset, const BlockVisit& v) {
    uint64_t off = v.blkid;
    if (v.dnode != nullptr && v.level >= 0)
      off = (v.blkid << (v.level * (v.dnode->indblkshift - 7))) * v.dnode->datablksz();
    char buf[256];
    std::snprintf(buf, sizeof buf, "<%" PRIu64 ", %" PRIu64 ", %d, %" PRIx64 "> (dataset %s, object %" PRIu64
                  ", level %d, offset 0x%" PRIx64 ")",
                  objset, v.object, v.level, v.blkid,
                  names.count(objset) ? names[objset].c_str() : "?", v.object, v.level, off);
    return std::string(buf);
  };

  auto visit = [&](uint64_t objset, const BlockVisit& v) -> Status {
    const BlkPtr& bp = *v.bp;
    zcb.Add(bp, bp.type() < kOtNumTypes ? bp.type() : kOtNumTypes - 1);
    claim(bp, 0);
    const bool is_metadata = bp.level() != 0 || DmuTypeIsMetadata(bp.type());
    if (o_.c > 1 || (o_.c && is_metadata)) {
      ReadReport report;
      auto data = spa_.ScrubRead(bp, &report);
      const std::string where = describe(objset, v);
      if (!data.ok()) {
        zcb.had_errors = true;
        zcb.errors[data.status().code() & 0xff]++;
        std::printf("zdb_blkptr_cb: Got error %d reading %s %s -- skipping\n", data.status().code(),
                    where.c_str(), o_.b >= 2 ? bp.ToString().c_str() : "");
      }
      for (const ReadError& e : report.errors) {
        if (data.ok()) {
          zcb.had_errors = true;
          zcb.errors[e.code & 0xff]++;
        }
        std::printf("zdb_blkptr_cb: %s %s reading %s: DVA[%d] vdev %" PRIu64 " offset %" PRIx64
                    "%s%s\n",
                    data.ok() ? "repaired" : "error", ErrorText(e.code).c_str(), where.c_str(), e.dva,
                    e.vdev, e.offset, e.device.empty() ? "" : (" on " + e.device).c_str(),
                    e.what.empty() ? "" : (": " + e.what).c_str());
      }
    }
    if (o_.b >= 4) {
      std::printf("objset %" PRIu64 " object %" PRIu64 " level %d blkid %" PRIu64 " %s\n", objset,
                  v.object, v.level, v.blkid, bp.ToString().c_str());
    }
    return Status::Ok();
  };
  auto on_error = [&](uint64_t objset) {
    return [&, objset](const BlockVisit& v, const Status& s) {
      zcb.had_errors = true;
      zcb.errors[s.code() & 0xff]++;
      std::printf("zdb_blkptr_cb: Got error %d reading %s -- skipping\n", s.code(),
                  describe(objset, v).c_str());
    };
  };

  // 1. The deferred-free list (sync_bplist): blocks freed in the last txg, still allocated.
  if (auto obj = dp_->DirectoryEntry("sync_bplist"); obj.ok() && *obj != 0) {
    auto dn = dp_->mos().Dnode(*obj);
    if (dn.ok() && dn->bonus.size() >= 8) {
      uint64_t entries = Load64(dn->bonus.data(), dn->little);
      auto raw = dp_->mos().Read(*dn, 0, entries * kBlkPtrSize);
      if (raw.ok() && raw->size() == entries * kBlkPtrSize) {
        for (uint64_t i = 0; i < entries; i++) {
          BlkPtr bp = BlkPtr::Decode(raw->data() + i * kBlkPtrSize, dn->little);
          if (o_.b >= 4) std::printf("[deferred free] %s\n", bp.ToString().c_str());
          zcb.Add(bp, kOtDeferred);
          claim(bp, 0);
        }
      } else {
        std::printf("cannot read the deferred-free list\n");
        zcb.had_errors = true;
      }
    }
  }

  // 2. The MOS, then 3. every dataset and snapshot.
  ObjSet& mos = dp_->mos();
  Status st = mos.Traverse(0, [&](const BlockVisit& v) { return visit(0, v); }, on_error(0));
  if (!st.ok()) std::printf("traversing the MOS: %s\n", st.ToString().c_str());
  uint64_t obj = 0;
  while (true) {
    auto next = mos.NextObject(&obj);
    if (!next.ok() || !*next) break;
    auto dn = mos.Dnode(obj);
    if (!dn.ok() || dn->type != kOtDslDataset) continue;
    auto ds = DslDatasetPhys::Decode(*dn);
    if (!ds.ok() || ds->bp.is_hole()) continue;
    auto os = ObjSet::Open(&spa_, ds->bp);
    if (!os.ok()) {
      zcb.had_errors = true;
      zcb.errors[os.status().code() & 0xff]++;
      std::printf("zdb_blkptr_cb: Got error %d reading objset %" PRIu64 " -- skipping\n",
                  os.status().code(), obj);
      zcb.Add(ds->bp, kOtObjset);
      claim(ds->bp, 0);
      continue;
    }
    st = (*os)->Traverse(ds->prev_snap_txg, [&](const BlockVisit& v) { return visit(obj, v); },
                         on_error(obj));
    // Log blocks: counted and claimed; a read failure here is the log's normal end.
    WalkZil(spa_, **os, [&](const BlkPtr& bp, int64_t) {
      zcb.Add(bp, bp.type() < kOtNumTypes ? bp.type() : kOtNumTypes - 1);
      claim(bp, 0);
      if (o_.b >= 4) std::printf("objset %" PRIu64 " [ZIL] %s\n", obj, bp.ToString().c_str());
    });
    if (!st.ok()) std::printf("traversing objset %" PRIu64 ": %s\n", obj, st.ToString().c_str());
  }

  if (zcb.had_errors) {
    std::printf("\nError counts:\n\n\t%5s  %s\n", "errno", "count");
    for (int e = 0; e < 256; e++)
      if (zcb.errors[e]) std::printf("\t%5d  %" PRIu64 "\n", e, zcb.errors[e]);
  }

  // Whatever the space maps still hold was allocated but never reached.
  for (const auto& [vdev, set] : alloc) {
    set.ForEach([&](uint64_t start, uint64_t size) {
      std::printf("leaked space: vdev %" PRIu64 ", offset 0x%" PRIx64 ", size %" PRIu64 "\n", vdev,
                  start, size);
    });
  }

  const BlkStats& tzb = zcb.t[kLevels][kOtTotal];
  bool leaks = false;
  if (tzb.asize == total_alloc && !zcb.claim_failed) {
    std::printf("\n\tNo leaks (block sum matches space maps exactly)\n");
  } else {
    std::printf("block traversal size %" PRIu64 " != alloc %" PRIu64 " (leaked %" PRId64 ")\n",
                tzb.asize, total_alloc, static_cast<int64_t>(total_alloc - tzb.asize));
    leaks = true;
  }
  if (tzb.count == 0) return kExitErrors;

  std::printf("\n");
  std::printf("\tbp count:      %10" PRIu64 "\n", tzb.count);
  std::printf("\tbp logical:    %10" PRIu64 "      avg: %6" PRIu64 "\n", tzb.lsize, tzb.lsize / tzb.count);
  std::printf("\tbp physical:   %10" PRIu64 "      avg: %6" PRIu64 "     compression: %6.2f\n",
              tzb.psize, tzb.psize / tzb.count, static_cast<double>(tzb.lsize) / static_cast<double>(tzb.psize));
  std::printf("\tbp allocated:  %10" PRIu64 "      avg: %6" PRIu64 "     compression: %6.2f\n",
              tzb.asize, tzb.asize / tzb.count, static_cast<double>(tzb.lsize) / static_cast<double>(tzb.asize));
  std::printf("\tbp deduped:    %10" PRIu64 "    ref>1: %6" PRIu64 "   deduplication: %6.2f\n",
              uint64_t{0}, uint64_t{0}, 1.0);
  std::printf("\tSPA allocated: %10" PRIu64 "     used: %5.2f%%\n", norm_alloc,
              norm_space ? 100.0 * static_cast<double>(norm_alloc) / static_cast<double>(norm_space) : 0.0);

  if (o_.b >= 2) {
    std::printf("\nBlocks\tLSIZE\tPSIZE\tASIZE\t  avg\t comp\t%%Total\tType\n");
    for (int t = 0; t <= kOtTotal; t++) {
      const char* name = t < kOtNumTypes ? ObjectTypeName(static_cast<uint8_t>(t))
                         : t == kOtDeferred ? "deferred free"
                         : t == kOtDitto    ? "dedup ditto"
                                            : "Total";
      if (zcb.t[kLevels][t].asize == 0) {
        std::printf("%6s\t%5s\t%5s\t%5s\t%5s\t%5s\t%6s\t%s\n", "-", "-", "-", "-", "-", "-", "-", name);
        continue;
      }
      for (int l = kLevels - 1; l >= -1; l--) {
        int level = l == -1 ? kLevels : l;
        const BlkStats& zb = zcb.t[level][t];
        if (zb.asize == 0) continue;
        if (o_.b < 3 && level != kLevels) continue;
        if (level == 0 && zb.asize == zcb.t[kLevels][t].asize) continue;
        std::printf("%6s\t%5s\t%5s\t%5s\t%5s\t%5.2f\t%6.2f\t", NiceNum(zb.count).c_str(),
                    NiceNum(zb.lsize).c_str(), NiceNum(zb.psize).c_str(), NiceNum(zb.asize).c_str(),
                    NiceNum(zb.asize / zb.count).c_str(),
                    static_cast<double>(zb.lsize) / static_cast<double>(zb.psize),
                    100.0 * static_cast<double>(zb.asize) / static_cast<double>(tzb.asize));
        if (level == kLevels)
          std::printf("%s\n", name);
        else
          std::printf("    L%d %s\n", level, name);
      }
    }
  }
  std::printf("\n");
  return (leaks || zcb.had_errors) ? kExitErrors : kExitOk;
}

}  // namespace uzfs::zdb
