// zfs send -D: the deduplicating filter zfs-fuse's libzfs runs between the kernel's streams
// and the output (libzfs_sendrecv.c cksummer). Each substream's BEGIN gets the DEDUP and
// DEDUPPROPS feature flags; a WRITE whose data was written before in this send (same
// checksum and ddt_key prop: logical and physical size, compression) becomes a WRITE_BYREF
// naming that earlier write by (toguid, object, offset); every END gets the checksum of what
// was written since its BEGIN. Blocks whose checksum cannot dedup (anything but SHA-256)
// are keyed by the SHA-256 of their data, which then replaces the record's key.
//
// Thread safety: one DedupFilter is driven by one thread (the CLI's, as zfs-fuse's thread).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>

#include "libcore/base/status.h"
#include "libcore/dmu/dmu_send.h"

namespace uzfs {

class DedupFilter {
 public:
  // read_full: exactly n bytes into p; false at the end of the input (or an error).
  using ReadFull = std::function<bool(uint8_t* p, size_t n)>;
  explicit DedupFilter(StreamSink out) : out_(std::move(out)) {}
  // Filters substreams (each BEGIN .. END) from read until it ends. EINVAL "invalid backup
  // stream" for a record cksummer would not know, or one cut short; the sink's errors.
  Status Run(const ReadFull& read);
  uint64_t byref_count() const { return byref_; }

 private:
  struct Ref {
    uint64_t guid, object, offset;
  };
  using Key = std::array<uint64_t, 5>;  // ddk_cksum words and ddk_prop
  Status Put(ByteSpan b, bool cksum = true);
  StreamSink out_;
  ZioCksum zc_;
  std::map<Key, Ref> ddt_;  // ddt_update's table (without its memory bound)
  uint64_t byref_ = 0;
};

}  // namespace uzfs
