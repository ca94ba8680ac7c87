#include "libcore/dsl/bplist_write.h"

#include "libcore/dmu/dmu.h"

namespace uzfs {

namespace {

constexpr uint64_t kBpSize = 128;
constexpr uint16_t kBplistPhysSize = 32;
constexpr uint16_t kBplistPhysSizeV0 = 16;

}  // namespace

uint64_t BpUcsize(const BlkPtr& bp) {
  return bp.level() > 0 || DmuTypeIsMetadata(bp.type()) ? bp.psize() : bp.lsize();
}

namespace {

Result<BplistPhys> LoadHeader(ObjsetWriter& mos, uint64_t obj) {
  UZFS_ASSIGN(const DnodePhys* dn, mos.Dnode(obj));
  if (dn->type != kOtBplist || dn->bonustype != kOtBplistHdr)
    return Status::Error(ECORRUPT, "object " + std::to_string(obj) + " is not a bplist");
  UZFS_ASSIGN(Bytes b, mos.Bonus(obj));
  if (b.size() < kBplistPhysSizeV0)
    return Status::Error(ECORRUPT, "bplist " + std::to_string(obj) + " with a short header");
  BplistPhys h;
  h.entries = LoadLE64(b.data());
  h.bytes = LoadLE64(b.data() + 8);
  h.havecomp = b.size() >= kBplistPhysSize;
  if (h.havecomp) {
    h.comp = LoadLE64(b.data() + 16);
    h.uncomp = LoadLE64(b.data() + 24);
  }
  return h;
}

Result<std::vector<BlkPtr>> ReadEntries(ObjsetWriter& mos, uint64_t obj, uint64_t entries) {
  std::vector<BlkPtr> out;
  if (entries == 0) return out;
  UZFS_ASSIGN(Bytes raw, mos.Read(obj, 0, entries * kBpSize));
  if (raw.size() < entries * kBpSize)
    return Status::Error(ECORRUPT, "bplist " + std::to_string(obj) + " shorter than its entries");
  out.reserve(entries);
  for (uint64_t i = 0; i < entries; i++) out.push_back(BlkPtr::Decode(raw.data() + i * kBpSize, true));
  return out;
}

}  // namespace

Result<BplistPhys> LoadBplist(ObjsetWriter& mos, uint64_t obj) {
  UZFS_ASSIGN(BplistPhys h, LoadHeader(mos, obj));
  if (!h.havecomp) {  // bplist_space without bpl_havecomp
    UZFS_ASSIGN(std::vector<BlkPtr> all, ReadEntries(mos, obj, h.entries));
    for (const BlkPtr& bp : all) h.comp += bp.psize(), h.uncomp += BpUcsize(bp);
  }
  return h;
}

Status BplistAppend(ObjsetWriter& mos, uint64_t obj, const std::vector<BlkPtr>& bps,
                    const std::vector<uint64_t>& dsize) {
  if (bps.empty()) return Status::Ok();
  UZFS_ASSIGN(BplistPhys h, LoadHeader(mos, obj));
  Bytes buf(bps.size() * kBpSize);
  for (size_t i = 0; i < bps.size(); i++) {
    if (bps[i].is_hole()) return Status::Error(EINVAL, "hole enqueued on a bplist");
    BlkPtr e = bps[i];
    e.fill = 0;
    if (!e.dedup()) e.cksum = {};
    e.Encode(buf.data() + i * kBpSize);
    h.bytes += dsize[i];
    h.comp += e.psize();
    h.uncomp += BpUcsize(e);
  }
  UZFS_TRY(mos.Write(obj, h.entries * kBpSize, buf));
  h.entries += bps.size();
  Bytes b(h.havecomp ? kBplistPhysSize : kBplistPhysSizeV0);
  StoreLE64(b.data(), h.entries);
  StoreLE64(b.data() + 8, h.bytes);
  if (h.havecomp) {
    StoreLE64(b.data() + 16, h.comp);
    StoreLE64(b.data() + 24, h.uncomp);
  }
  return mos.SetBonus(obj, b);
}

Result<std::vector<BlkPtr>> BplistEntries(ObjsetWriter& mos, uint64_t obj) {
  UZFS_ASSIGN(BplistPhys h, LoadHeader(mos, obj));
  return ReadEntries(mos, obj, h.entries);
}

}  // namespace uzfs
