// The compound stream's framing (see dmu_send_package.h; zfs-fuse libzfs_sendrecv.c zfs_send
// with doall / replicate, zfs_receive_package).
#include "libcore/dmu/dmu_send_package.h"

#include <cerrno>

namespace uzfs {

Bytes CompoundHeader(const std::string& toname) {
  DrrRecord b;
  b.type = kDrrBegin;
  b.magic = kDmuBackupMagic;
  b.versioninfo = kDmuCompoundStream;  // DMU_SET_STREAM_HDRTYPE; no feature flags
  b.toname = toname;
  Bytes out(2 * kDrrSize);
  b.Encode(out.data());
  DrrRecord e;
  e.type = kDrrEnd;
  Fletcher4Incremental(ByteSpan(out.data(), kDrrSize), &e.key_cksum);  // cksum_and_write
  e.Encode(out.data() + kDrrSize);
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

}  // namespace uzfs
