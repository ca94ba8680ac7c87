// zfs send -D's filter (see dmu_send_dedup.h; zfs-fuse libzfs_sendrecv.c cksummer and
// ddt_update).
#include "libcore/dmu/dmu_send_dedup.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "libcore/base/checksum.h"

namespace uzfs {

namespace {

Status Bad() { return Status::Error(EINVAL, "invalid backup stream"); }

constexpr uint64_t kMaxWrite = 16 << 20;  // a bound on one WRITE's data (a DAX extent is 2 MiB)

}  // namespace

uint64_t DedupFilter::DefaultBound() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  const uint64_t physmem = pages > 0 && page > 0 ? uint64_t(pages) * uint64_t(page) : 0;
  return std::max<uint64_t>(physmem * 20 / 100, uint64_t{128} << 20);
}

Status DedupFilter::Put(ByteSpan b, bool cksum) {
  if (cksum) Fletcher4Incremental(b, &zc_);  // cksum_and_write
  return out_(b);
}

Status DedupFilter::Run(const ReadFull& read) {
  uint8_t rec[kDrrSize];
  Bytes data;
  while (read(rec, kDrrSize)) {
    UZFS_ASSIGN(DrrRecord r, DrrRecord::Decode(rec, false));
    switch (r.type) {
      case kDrrBegin: {
        zc_ = ZioCksum();
        r.versioninfo |= (kFeatureDedup | kFeatureDedupProps) << 2;
        r.Encode(rec);
        UZFS_TRY(Put(ByteSpan(rec, kDrrSize)));
        if ((r.versioninfo & 3) == kDmuCompoundStream && r.payloadlen) {
          data.resize(r.payloadlen);
          if (!read(data.data(), data.size())) return Bad();
          UZFS_TRY(Put(data));
        }
        break;
      }
      case kDrrEnd:
        r.key_cksum = zc_;  // the recalculated checksum; the END itself is not summed
        r.Encode(rec);
        UZFS_TRY(Put(ByteSpan(rec, kDrrSize), false));
        break;
      case kDrrObject: {
        UZFS_TRY(Put(ByteSpan(rec, kDrrSize)));
        data.resize((uint64_t{r.bonuslen} + 7) & ~uint64_t{7});
        if (!data.empty() && !read(data.data(), data.size())) return Bad();
        if (!data.empty()) UZFS_TRY(Put(data));
        break;
      }
      case kDrrFreeObjects:
      case kDrrFree:
        UZFS_TRY(Put(ByteSpan(rec, kDrrSize)));
        break;
      case kDrrWrite: {
        if (r.length > kMaxWrite) return Bad();
        data.resize(r.length);
        if (!read(data.data(), data.size())) return Bad();
        // The block's own checksum when it can dedup, else the SHA-256 of the data.
        if (r.key_cksum == ZioCksum() || !(r.checksumflags & kDrrChecksumDedup)) {
          r.key_cksum = Sha256(data);
          r.checksumtype = static_cast<uint8_t>(ChecksumId::kSha256);
          r.checksumflags = kDrrChecksumDedup;
        }
        Key k{r.key_cksum.word[0], r.key_cksum.word[1], r.key_cksum.word[2], r.key_cksum.word[3],
              r.key_prop};
        auto it = ddt_.find(k);
        if (it == ddt_.end()) {
          if (ddt_.size() < max_entries_)
            ddt_.emplace(k, Ref{r.toguid, r.object, r.offset});
          else
            full_ = true;
          r.Encode(rec);
          UZFS_TRY(Put(ByteSpan(rec, kDrrSize)));
          UZFS_TRY(Put(data));
          break;
        }
        DrrRecord w;
        w.type = kDrrWriteByref;
        w.object = r.object;
        w.offset = r.offset;
        w.length = r.length;
        w.toguid = r.toguid;
        w.refguid = it->second.guid;
        w.refobject = it->second.object;
        w.refoffset = it->second.offset;
        w.checksumtype = r.checksumtype;
        w.checksumflags = r.checksumtype;  // sic: cksummer copies the type into the flags
        w.key_cksum = r.key_cksum;
        w.key_prop = r.key_prop;
        w.Encode(rec);
        UZFS_TRY(Put(ByteSpan(rec, kDrrSize)));
        byref_++;
        break;
      }
      default:
        return Bad();
    }
  }
  return Status::Ok();
}

}  // namespace uzfs
