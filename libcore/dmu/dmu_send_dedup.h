// zfs send -D: the deduplicating filter zfs-fuse's libzfs runs between the kernel's streams
// and the output (libzfs_sendrecv.c cksummer). Each substream's BEGIN gets the DEDUP and
// DEDUPPROPS feature flags; a WRITE whose data was written before in this send (same
// checksum and ddt_key prop: logical and physical size, compression) becomes a WRITE_BYREF
// naming that earlier write by (toguid, object, offset); every END gets the checksum of what
// was written since its BEGIN. Blocks whose checksum cannot dedup (anything but SHA-256)
// are keyed by the SHA-256 of their data, which then replaces the record's key.
// The table is bounded as cksummer bounds it (20% of physical memory, at least 128 MiB):
// once full, blocks not yet in it are written whole and only those in it dedup.
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
  // max_bytes: the table's bound (DefaultBound(): MAX_DDT_PHYSMEM_PERCENT of physical
  // memory, at least SMALLEST_POSSIBLE_MAX_DDT_MB).
  explicit DedupFilter(StreamSink out, uint64_t max_bytes = DefaultBound())
      : out_(std::move(out)), max_entries_(max_bytes / kEntryBytes) {}
  static uint64_t DefaultBound();
  // What one table entry costs (its key, reference and the map's node).
  static constexpr uint64_t kEntryBytes = 128;
  // Filters substreams (each BEGIN .. END) from read until it ends. EINVAL "invalid backup
  // stream" for a record cksummer would not know, or one cut short; the sink's errors.
  Status Run(const ReadFull& read);
  uint64_t byref_count() const { return byref_; }
  // The table filled up (ddt_hash_append's "Dedup table full"): later blocks dedup only
  // against the entries already in it.
  bool table_full() const { return full_; }

 private:
  struct Ref {
    uint64_t guid, object, offset;
  };
  using Key = std::array<uint64_t, 5>;  // ddk_cksum words and ddk_prop
  Status Put(ByteSpan b, bool cksum = true);
  StreamSink out_;
  ZioCksum zc_;
  std::map<Key, Ref> ddt_;  // ddt_update's table
  uint64_t max_entries_;
  uint64_t byref_ = 0;
  bool full_ = false;
};

}  // namespace uzfs
