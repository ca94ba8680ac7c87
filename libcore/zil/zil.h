// The ZFS intent log, read side: the log header of an objset, the chain of log blocks, and
// the log records in them (zfs-fuse zil.h, zil.c zil_parse / zil_read_log_block, the record
// layouts zfs_log.c writes and zfs_replay.c reads).
//
// Format facts (pool version 23, docs/ondisk-v23.md):
// - zil_header_t (192 bytes, at offset 512 of objset_phys_t): claim_txg, replay_seq, the
//   blkptr of the first log block, claim_blk_seq, flags, claim_lr_seq, 3 words of padding.
// - Each log block's blkptr carries as checksum verifier {guid0, guid1, objset id, block seq}.
//   A zilog2 block (SPA_VERSION_SLIM_ZIL, what v23 writes) starts with zil_chain_t {pad,
//   next blkptr, nused, zio_eck_t} (184 bytes) and its records follow it up to nused; an
//   older zilog block ends with the same structure (then zil_trailer_t) and its records
//   start at 0. The chain ends at the first block that fails to read or verify, or whose
//   next blkptr is a hole or does not carry this block's verifier with seq + 1.
// - Records: lr_t {txtype (bit 63: case-insensitive), reclen, txg, seq}, then the type's
//   fields, all 64-bit words, then names / data; each record is reclen bytes.
//
// The block byte order is the log block's (bp.little_endian()); the records are decoded in
// it. Nothing here writes.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <variant>

#include "libcore/base/blkptr.h"
#include "libcore/base/bytes.h"
#include "libcore/base/status.h"
#include "libcore/zio/block_reader.h"

namespace uzfs {

inline constexpr size_t kZilHeaderOffset = 512;  // in objset_phys_t
inline constexpr size_t kZilHeaderSize = 192;
inline constexpr size_t kZilChainSize = 184;  // zil_chain_t / zil_trailer_t
inline constexpr size_t kLrSize = 32;         // lr_t
inline constexpr size_t kLrWriteSize = 192;   // lr_write_t: a record of exactly this size has a blkptr
inline constexpr uint64_t kZilMinBlkSz = 4096;

// zh_flags
inline constexpr uint64_t kZilReplayNeeded = 0x1;
inline constexpr uint64_t kZilClaimLrSeqValid = 0x2;

// The words of a log block's checksum verifier (ZIL_ZC_*).
inline constexpr int kZilZcGuid0 = 0, kZilZcGuid1 = 1, kZilZcObjset = 2, kZilZcSeq = 3;

// Log record types (zil.h TX_*).
enum TxType : uint32_t {
  kTxCreate = 1, kTxMkdir = 2, kTxMkxattr = 3, kTxSymlink = 4, kTxRemove = 5, kTxRmdir = 6,
  kTxLink = 7, kTxRename = 8, kTxWrite = 9, kTxTruncate = 10, kTxSetattr = 11, kTxAclV0 = 12,
  kTxAcl = 13, kTxCreateAcl = 14, kTxCreateAttr = 15, kTxCreateAclAttr = 16, kTxMkdirAcl = 17,
  kTxMkdirAttr = 18, kTxMkdirAclAttr = 19, kTxWrite2 = 20, kTxMaxType = 21,
};
inline constexpr uint64_t kTxCi = 1ULL << 63;  // the name lookups were case-insensitive

// "TX_CREATE", ... as zdb_il.c names them ("TX_ACL_ACL" for TX_ACL); "TX_UNKNOWN" past the table.
const char* TxTypeName(uint32_t type);

// lr_setattr_t mask bits (vattr AT_*).
inline constexpr uint64_t kAtMode = 0x2, kAtUid = 0x4, kAtGid = 0x8, kAtSize = 0x80,
                          kAtAtime = 0x100, kAtMtime = 0x200;

struct ZilHeader {
  uint64_t claim_txg = 0;     // txg the log was claimed in (0: not claimed since written)
  uint64_t replay_seq = 0;    // highest replayed record seq
  BlkPtr log;                 // first log block (a hole when the log is empty)
  uint64_t claim_blk_seq = 0; // highest claimed block seq
  uint64_t flags = 0;
  uint64_t claim_lr_seq = 0;  // highest claimed record seq (valid with kZilClaimLrSeqValid)

  // p holds kZilHeaderSize bytes in the given byte order.
  static ZilHeader Decode(const uint8_t* p, bool little);
  // Writes kZilHeaderSize bytes at p, little-endian (the hole log block as zeros).
  void Encode(uint8_t* p) const;
};

// The zil_header_t of the objset objset_bp points to (reads that block).
Result<ZilHeader> ReadZilHeader(BlockReader& reader, const BlkPtr& objset_bp);

// Records, by type. Names are the strings that follow the fixed part.
struct LrCreate {            // lr_create_t / lr_acl_create_t: create, mkdir, mkxattr, symlink
  uint64_t doid = 0, foid = 0, mode = 0, uid = 0, gid = 0, gen = 0, crtime[2] = {0, 0}, rdev = 0;
  // lr_acl_create_t only (the *_ACL types).
  uint64_t aclcnt = 0, domcnt = 0, fuidcnt = 0, acl_bytes = 0, acl_flags = 0;
  uint32_t attr_masksize = 0;  // lr_attr_t of the *_ATTR types (0: none)
  std::string name;
  std::string link;            // TX_SYMLINK: the target
};
struct LrRemove { uint64_t doid = 0; std::string name; };           // remove, rmdir
struct LrLink { uint64_t doid = 0, link_obj = 0; std::string name; };
struct LrRename { uint64_t sdoid = 0, tdoid = 0; std::string src, tgt; };
struct LrWrite {             // write, write2
  uint64_t foid = 0, offset = 0, length = 0, blkoff = 0;
  BlkPtr blkptr;             // meaningful when indirect
  bool indirect = false;     // reclen == sizeof (lr_write_t): the data is in blkptr's block
  Bytes data;                // copied writes: the bytes after the record header (>= length)
};
struct LrTruncate { uint64_t foid = 0, offset = 0, length = 0; };
struct LrSetattr {
  uint64_t foid = 0, mask = 0, mode = 0, uid = 0, gid = 0, size = 0, atime[2] = {0, 0},
           mtime[2] = {0, 0};
};
struct LrAcl {               // lr_acl_v0_t (TX_ACL_V0) / lr_acl_t (TX_ACL)
  uint64_t foid = 0, aclcnt = 0, domcnt = 0, fuidcnt = 0, acl_bytes = 0, acl_flags = 0;
};

struct LogRecord {
  uint64_t txtype = 0;  // as stored, kTxCi included
  uint64_t reclen = 0, txg = 0, seq = 0;
  std::variant<std::monostate, LrCreate, LrRemove, LrLink, LrRename, LrWrite, LrTruncate,
               LrSetattr, LrAcl>
      body;  // monostate for types this reader does not know

  uint32_t type() const { return static_cast<uint32_t>(txtype); }  // zdb_il.c's (int) cast
  bool ci() const { return (txtype & kTxCi) != 0; }
};

// Decodes one record: rec starts at its lr_t and holds at least its reclen bytes. ECORRUPT
// when reclen is shorter than the type's fixed part or runs past rec.
Result<LogRecord> DecodeLogRecord(ByteSpan rec, bool little);

// One log block read and checked as zil_read_log_block does: the record area and the next
// block's pointer.
struct LogBlock {
  Bytes records;  // the bytes holding the records (nused of them)
  BlkPtr next;
};
// ECKSUM when the block reads but its chain linkage is wrong (next is a hole, does not carry
// bp's verifier with seq + 1, nused out of range); the reader's error when it cannot be read.
Result<LogBlock> ReadLogBlock(BlockReader& reader, const BlkPtr& bp);

// What a walk of the chain found (zilog's zl_parse_*).
struct ZilParseResult {
  Status error;  // why the chain ended: the failed read of its last block, or a callback's
                 // error; Ok when it ended at a hole or at the claimed limits
  uint64_t blk_seq = 0, lr_seq = 0;     // highest block and record seq visited
  uint64_t blk_count = 0, lr_count = 0;
};
using ZilBlockFn = std::function<Status(const BlkPtr& bp)>;
using ZilRecordFn = std::function<Status(const LogRecord& lr)>;

// zil_parse: from zh.log, calls on_block for each block pointer of the chain (before the
// block is read, so also for the unwritten block the chain ends with), then on_record for
// each record of the block. A claimed log (claim_txg != 0) stops past claim_blk_seq and
// claim_lr_seq. A record that cannot be decoded ends the walk with ECORRUPT.
ZilParseResult ParseZil(BlockReader& reader, const ZilHeader& zh, const ZilBlockFn& on_block,
                        const ZilRecordFn& on_record);

// The data of a TX_WRITE whose blkptr was logged (zil_read_log_data): the block, or zeros
// for a hole (max(lsize, length) of them).
Result<Bytes> ReadLogWriteData(BlockReader& reader, const LrWrite& lr);

}  // namespace uzfs
