// The send stream (zfs send / zfs receive): dmu_replay_record_t records as zfs-fuse's
// dmu_send.c writes them for pool version 23, and the writer of a snapshot's stream.
//
// Format facts (zfs-fuse zfs_ioctl.h, docs/ondisk-v23.md section 12): every record is 312
// bytes in the sender's byte order: drr_type (u32), drr_payloadlen (u32), then a union —
//   BEGIN        magic 0x2F5bacbac, versioninfo (bits 0-1 header type: 1 substream,
//                2 compound; bits 2-31 feature flags), creation_time, objset type (u32),
//                flags (u32: 1 clone, 2 case-insensitive data), toguid, fromguid, toname[256]
//   OBJECT       object, type, bonustype, blksz, bonuslen (u32 each), checksumtype (u8),
//                compress (u8), pad[6], toguid; then the bonus rounded up to 8 bytes
//   FREEOBJECTS  firstobj, numobjs, toguid
//   WRITE        object, type (u32), pad, offset, length, toguid, checksumtype (u8),
//                checksumflags (u8), pad[6], ddt_key {cksum[4], prop}; then length bytes
//   FREE         object, offset, length (-1: to the end), toguid
//   WRITE_BYREF  object, offset, length, toguid, refguid, refobject, refoffset,
//                checksumtype (u8), checksumflags (u8), pad[6], ddt_key; no payload: the
//                data is that of the earlier WRITE at (refguid, refobject, refoffset)
//   END          checksum[4] (fletcher4 of every byte before this record), toguid
// The stream checksum is one fletcher4 carried across every byte written
// (fletcher_4_incremental_native).
//
// Thread safety: a DrrWriter is used by one thread; DmuSendBackup reads through the given
// BlockReader only (the caller keeps the snapshot from going away meanwhile).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "libcore/base/blkptr.h"
#include "libcore/base/bytes.h"
#include "libcore/base/checksum.h"
#include "libcore/base/status.h"
#include "libcore/dmu/dmu.h"

namespace uzfs {

inline constexpr uint64_t kDmuBackupMagic = 0x2F5bacbacULL;  // DMU_BACKUP_MAGIC
inline constexpr size_t kDrrSize = 312;                       // sizeof (dmu_replay_record_t)
inline constexpr size_t kDrrNameLen = 256;                    // MAXNAMELEN
inline constexpr uint64_t kDmuSubstream = 1, kDmuCompoundStream = 2;  // drr_headertype_t
inline constexpr uint32_t kDrrFlagClone = 1, kDrrFlagCiData = 2;
inline constexpr uint8_t kDrrChecksumDedup = 1;  // DRR_CHECKSUM_DEDUP
// DMU_BACKUP_FEATURE_DEDUP / _DEDUPPROPS, in versioninfo's bits 2-31 (zfs send -D sets both).
inline constexpr uint64_t kFeatureDedup = 1, kFeatureDedupProps = 2;
inline uint64_t DrrFeatures(uint64_t versioninfo) { return (versioninfo >> 2) & ((1ULL << 30) - 1); }

enum DrrType : uint32_t {
  kDrrBegin = 0, kDrrObject = 1, kDrrFreeObjects = 2, kDrrWrite = 3, kDrrFree = 4,
  kDrrEnd = 5, kDrrWriteByref = 6, kDrrNumTypes = 7,
};

// One record's header fields (the union flattened: each type uses its own group).
struct DrrRecord {
  uint32_t type = 0, payloadlen = 0;
  uint64_t toguid = 0;
  // BEGIN
  uint64_t magic = 0, versioninfo = 0, creation_time = 0, fromguid = 0;
  uint32_t ostype = 0, flags = 0;
  std::string toname;
  // OBJECT (object), WRITE (object, offset, length), FREE (object, offset, length),
  // FREEOBJECTS (object = firstobj, length = numobjs)
  uint64_t object = 0, offset = 0, length = 0;
  uint32_t obj_type = 0, bonustype = 0, blksz = 0, bonuslen = 0;
  uint8_t checksumtype = 0, compress = 0, checksumflags = 0;
  ZioCksum key_cksum;  // WRITE's and WRITE_BYREF's ddt_key; END's stream checksum
  uint64_t key_prop = 0;
  // WRITE_BYREF (object, offset, length above): where the data was written before.
  uint64_t refguid = 0, refobject = 0, refoffset = 0;

  // The 312 bytes in this host's order.
  void Encode(uint8_t* out) const;
  // Decodes 312 bytes; *byteswap tells the sender's order from a BEGIN's magic (set it for
  // the records after). ECORRUPT for an unknown type.
  static Result<DrrRecord> Decode(const uint8_t* in, bool byteswap);
};

// fletcher_4_incremental_native: continues *zc over data (a multiple of 4 bytes).
void Fletcher4Incremental(ByteSpan data, ZioCksum* zc);

using StreamSink = std::function<Status(ByteSpan)>;

// zfs-fuse's struct backuparg with dump_bytes, dump_free, dump_freeobjects, dump_dnode and
// dump_data: FREE and FREEOBJECTS runs are aggregated into one pending record, pushed out
// before any other record. Records go to the sink in chunks of about 1 MiB,
// a block's data (32 KiB or more) on its own.
class DrrWriter {
 public:
  DrrWriter(StreamSink sink, uint64_t toguid) : sink_(std::move(sink)), toguid_(toguid) {}
  Status Begin(const DrrRecord& begin);
  Status Dnode(uint64_t object, const DnodePhys* dn);  // null / unallocated: freed
  Status FreeObjects(uint64_t first, uint64_t count);
  Status Free(uint64_t object, uint64_t offset, uint64_t length);
  Status Write(uint64_t object, const BlkPtr& bp, uint64_t offset, ByteSpan data);
  // Pushes what is pending, writes END with the stream checksum, flushes.
  Status End();
  uint64_t bytes() const { return bytes_; }

 private:
  enum Pending { kNone, kFree, kFreeObjects };
  Status Flush();
  Status PushPending();
  Status Put(ByteSpan b);
  Status PutRecord(const DrrRecord& r);
  StreamSink sink_;
  uint64_t toguid_;
  ZioCksum zc_;
  Pending pending_ = kNone;
  DrrRecord drr_;  // the pending record
  // A plain vector: Bytes' allocator makes insert copy byte by byte (half of a send's CPU).
  std::vector<uint8_t> buf_;
  uint64_t bytes_ = 0;
};

// dmu_sendbackup's traversal (traverse_dataset with TRAVERSE_PRE and backup_cb): the objset
// os (a snapshot's) block by block, pre-order: a hole at any level is a FREE (FREEOBJECTS in
// the meta-dnode) of its span; blocks born at or before from_txg are skipped with what is
// below them; each dnode block's dnodes become OBJECT / FREEOBJECTS records before their
// data's WRITE records. The special objects (user/group used) are not sent. begin's toguid
// names every record. ENOTSUP for big-endian blocks (this sender writes native order only).
Status DmuSendBackup(BlockReader* reader, ObjSet& os, const DrrRecord& begin, uint64_t from_txg,
                     StreamSink sink, uint64_t* bytes = nullptr);

}  // namespace uzfs
