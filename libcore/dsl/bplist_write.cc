#include "libcore/dsl/bplist_write.h"

#include "libcore/dmu/dmu.h"

namespace uzfs {

namespace {

constexpr uint64_t kBpSize = 128;
constexpr uint16_t kBplistPhysSize = 32;

}  // namespace

uint64_t BpUcsize(const BlkPtr& bp) {
  return bp.level() > 0 || DmuTypeIsMetadata(bp.type()) ? bp.psize() : bp.lsize();
}

Result<BplistPhys> LoadBplist(ObjsetWriter& mos, uint64_t obj) {
  UZFS_ASSIGN(const DnodePhys* dn, mos.Dnode(obj));
  if (dn->type != kOtBplist || dn->bonustype != kOtBplistHdr)
    return Status::Error(ECORRUPT, "object " + std::to_string(obj) + " is not a bplist");
  UZFS_ASSIGN(Bytes b, mos.Bonus(obj));
  if (b.size() < kBplistPhysSize)
    return Status::Error(ECORRUPT, "bplist " + std::to_string(obj) + " without bpl_comp");
  BplistPhys h;
  h.entries = LoadLE64(b.data());
  h.bytes = LoadLE64(b.data() + 8);
  h.comp = LoadLE64(b.data() + 16);
  h.uncomp = LoadLE64(b.data() + 24);
  return h;
}

Status BplistAppend(ObjsetWriter& mos, uint64_t obj, const std::vector<BlkPtr>& bps,
                    const std::vector<uint64_t>& dsize) {
  if (bps.empty()) return Status::Ok();
  UZFS_ASSIGN(BplistPhys h, LoadBplist(mos, obj));
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
  Bytes b(kBplistPhysSize);
  StoreLE64(b.data(), h.entries);
  StoreLE64(b.data() + 8, h.bytes);
  StoreLE64(b.data() + 16, h.comp);
  StoreLE64(b.data() + 24, h.uncomp);
  return mos.SetBonus(obj, b);
}

Result<std::vector<BlkPtr>> BplistEntries(ObjsetWriter& mos, uint64_t obj) {
  UZFS_ASSIGN(BplistPhys h, LoadBplist(mos, obj));
  std::vector<BlkPtr> out;
  if (h.entries == 0) return out;
  UZFS_ASSIGN(Bytes raw, mos.Read(obj, 0, h.entries * kBpSize));
  if (raw.size() < h.entries * kBpSize)
    return Status::Error(ECORRUPT, "bplist " + std::to_string(obj) + " shorter than its entries");
  out.reserve(h.entries);
  for (uint64_t i = 0; i < h.entries; i++) out.push_back(BlkPtr::Decode(raw.data() + i * kBpSize, true));
  return out;
}

}  // namespace uzfs
