// The compound stream's framing (see dmu_send_package.h; zfs-fuse libzfs_sendrecv.c zfs_send
// with doall / replicate, zfs_receive_package).
#include "libcore/dmu/dmu_send_package.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace uzfs {

Bytes CompoundHeader(const std::string& toname, uint64_t features) {
  return CompoundHeader(toname, ByteSpan(), features);
}

Bytes CompoundHeader(const std::string& toname, ByteSpan payload, uint64_t features) {
  DrrRecord b;
  b.type = kDrrBegin;
  b.magic = kDmuBackupMagic;
  b.versioninfo = kDmuCompoundStream | features << 2;  // DMU_SET_STREAM_HDRTYPE, _FEATUREFLAGS
  b.toname = toname;
  b.payloadlen = static_cast<uint32_t>(payload.size());
  Bytes out(2 * kDrrSize + payload.size());
  b.Encode(out.data());
  std::copy(payload.begin(), payload.end(), out.begin() + kDrrSize);
  DrrRecord e;
  e.type = kDrrEnd;
  // cksum_and_write of the BEGIN and the payload (XDR: a multiple of 4 bytes).
  Fletcher4Incremental(ByteSpan(out.data(), kDrrSize + payload.size()), &e.key_cksum);
  e.Encode(out.data() + kDrrSize + payload.size());
  return out;
}

Bytes PackageEnd() {
  DrrRecord e;
  e.type = kDrrEnd;
  Bytes out(kDrrSize);
  e.Encode(out.data());
  return out;
}

Status CheckPackageHeader(ByteSpan header, const DrrRecord& end) {
  if (end.type != kDrrEnd) return Status::Error(EINVAL, "invalid backup stream");
  ZioCksum zc;
  Fletcher4Incremental(header, &zc);
  if (!(zc == end.key_cksum)) return Status::Error(ECKSUM, "incorrect header checksum");
  return Status::Ok();
}

NvList ReplHeader(const std::string& fromsnap, const std::string& tosnap, bool recursive,
                  const std::vector<ReplFs>& fss) {
  NvList hdr;
  if (!fromsnap.empty()) hdr.AddString("fromsnap", fromsnap);
  hdr.AddString("tosnap", tosnap);
  if (!recursive) hdr.AddBoolean("not_recursive");
  NvList all;
  for (const ReplFs& f : fss) {
    NvList fs;  // send_iterate_fs's order of fields
    fs.AddString("name", f.name);
    fs.AddUint64("parentfromsnap", f.parentfromsnap);
    if (f.origin) fs.AddUint64("origin", f.origin);
    fs.AddNvList("props", f.props);
    NvList snaps, snapprops;
    for (const auto& [n, g] : f.snaps) {
      snaps.AddUint64(n, g);
      auto it = f.snapprops.find(n);
      snapprops.AddNvList(n, it == f.snapprops.end() ? NvList() : it->second);
    }
    fs.AddNvList("snaps", std::move(snaps));
    fs.AddNvList("snapprops", std::move(snapprops));
    char key[32];
    std::snprintf(key, sizeof key, "0x%llx", static_cast<unsigned long long>(f.guid));
    all.AddNvList(key, std::move(fs));
  }
  hdr.AddNvList("fss", std::move(all));
  return hdr;
}

Result<ReplHeaderInfo> ParseReplHeader(const NvList& nv) {
  const Status bad = Status::Error(EINVAL, "invalid backup stream");
  ReplHeaderInfo info;
  const std::string* to = nv.GetString("tosnap");
  const NvList* fss = nv.GetNvList("fss");
  if (!to || !fss) return bad;
  info.tosnap = *to;
  if (const std::string* from = nv.GetString("fromsnap")) info.fromsnap = *from;
  info.recursive = !nv.Has("not_recursive");
  for (const NvList::Pair& p : fss->pairs()) {
    if (p.value.type != NvType::kNvList || p.value.lists.size() != 1) return bad;
    const NvList& l = p.value.lists[0];
    ReplFs f;
    f.guid = std::strtoull(p.name.c_str(), nullptr, 16);
    const std::string* name = l.GetString("name");
    if (!name) return bad;
    f.name = *name;
    f.parentfromsnap = l.GetUint64("parentfromsnap").value_or(0);
    f.origin = l.GetUint64("origin").value_or(0);
    if (const NvList* props = l.GetNvList("props")) f.props = *props;
    if (const NvList* snaps = l.GetNvList("snaps"))
      for (const NvList::Pair& s : snaps->pairs())
        if (auto g = snaps->GetUint64(s.name)) f.snaps.emplace_back(s.name, *g);
    if (const NvList* sp = l.GetNvList("snapprops"))
      for (const NvList::Pair& s : sp->pairs())
        if (const NvList* one = sp->GetNvList(s.name)) f.snapprops[s.name] = *one;
    info.fss.push_back(std::move(f));
  }
  return info;
}

const ReplFs* ReplHeaderInfo::FindSnap(uint64_t snapguid, std::string* snapname) const {
  for (const ReplFs& f : fss)
    for (const auto& [n, g] : f.snaps)
      if (g == snapguid) {
        if (snapname) *snapname = n;
        return &f;
      }
  return nullptr;
}

}  // namespace uzfs
