// The intent log, write side's byte layouts: log records as zfs-fuse zfs_log.c builds them
// (zil_itx_create: lr_t first, lrc_seq 0, the record rounded up to 8 bytes) and zilog2 log
// blocks as zil_lwb_write_start and zio_checksum_compute finish them. The read side
// (zil.h DecodeLogRecord, ParseZil) reads back exactly what these produce.
//
// Everything is written little-endian (what uzfs writes everywhere; the log block's bp
// says so). Names are NUL-terminated; the last name is followed by zeros up to the next
// multiple of 8. Only the forms zfs-fuse's ZPL logs on Linux are made: no ACL, xvattr or
// FUID parts (TX_CREATE_ACL and the like).
#pragma once

#include <cstdint>
#include <vector>

#include "libcore/base/blkptr.h"
#include "libcore/base/bytes.h"
#include "libcore/zil/zil.h"
#include "libcore/zil/zil_itx.h"

namespace uzfs {

// ZIL_MAX_LOG_DATA: the most data a copied TX_WRITE can carry (one 128K block less its
// zil_chain_t and lr_write_t). zfs_log_write cuts longer copied writes in 64K pieces.
inline constexpr size_t kZilMaxLogData = 128 * 1024 - kZilChainSize - kLrWriteSize;
inline constexpr size_t kZilWriteSplit = 64 * 1024;  // SPA_MAXBLOCKSIZE >> 1
// zfs_immediate_write_sz (and zvol_immediate_write_sz): a write chunk larger than this is
// logged by block pointer (WR_INDIRECT) under logbias=latency without log devices.
inline constexpr uint64_t kZfsImmediateWriteSz = 32768;

// zfs_log_create / zfs_log_symlink: lr_create_t, the name, and for TX_SYMLINK the target
// (c.link). txtype: TX_CREATE, TX_MKDIR, TX_MKXATTR or TX_SYMLINK (kTxCi may be or'ed in).
// c.mode carries the file-type bits (zp_mode); the lr_acl_create_t fields are not written.
Bytes EncodeLrCreate(uint64_t txtype, uint64_t txg, const LrCreate& c);
// zfs_log_remove: lr_remove_t and the name (TX_REMOVE, TX_RMDIR).
Bytes EncodeLrRemove(uint64_t txtype, uint64_t txg, const LrRemove& r);
// zfs_log_link: TX_LINK.
Bytes EncodeLrLink(uint64_t txg, const LrLink& l);
// zfs_log_rename: TX_RENAME, the source name then the target name.
Bytes EncodeLrRename(uint64_t txg, const LrRename& r);
// zfs_log_truncate: TX_TRUNCATE.
Bytes EncodeLrTruncate(uint64_t txg, const LrTruncate& t);
// zfs_log_setattr: TX_SETATTR, lr_setattr_t only (s.mask of kAt* bits; fields outside the
// mask are written as given, zfs-fuse leaves them zero).
Bytes EncodeLrSetattr(uint64_t txg, const LrSetattr& s);
// zfs_log_write: TX_WRITE, the 192-byte lr_write_t (blkoff 0, blkptr zeroed; w.data,
// w.blkptr and w.blkoff are ignored) followed by `data` padded to 8 (WR_COPIED); with
// empty data the fixed part only (WR_NEED_COPY: the commit appends the data).
Bytes EncodeLrWrite(uint64_t txg, const LrWrite& w, ByteSpan data);

// zfs_log_write / zvol_log_write, WR_NEED_COPY: TX_WRITE records of [off, off + len) of
// object foid handed to log (nothing when log is null), the bytes read from the object when
// a commit writes them; a range longer than one log block holds goes in 64K pieces.
void LogWriteNeedCopy(ItxSink* log, uint64_t txg, uint64_t foid, uint64_t off, uint64_t len);

// zfs_write + zfs_log_write: [off, len) cut at the file's block boundaries (blksz), one
// record per chunk, each marked one_block (a WR_INDIRECT candidate, decided at commit).
void LogWriteBlocks(ItxSink* log, uint64_t txg, uint64_t foid, uint64_t off, uint64_t len,
                    uint64_t blksz);
// zvol_log_write: [off, len) of a volume's data object. With blocks larger than `immediate`
// (zvol_immediate_write_sz, 0 under logbias=throughput) each whole aligned block is a
// one_block record (WR_INDIRECT unless the commit finds log devices), the pieces around
// them are copied; with smaller blocks everything is copied, as LogWriteNeedCopy cuts it.
void LogWriteVolume(ItxSink* log, uint64_t txg, uint64_t foid, uint64_t off, uint64_t len,
                    uint64_t blksz, uint64_t immediate);
// A one_block record falling back to WR_NEED_COPY: itself when it fits one copied record,
// else its kZilWriteSplit pieces.
std::vector<Itx> SplitNeedCopy(Itx itx);
// zil_lwb_commit for WR_INDIRECT: the record (lr_write_t only) names the block dmu_sync wrote,
// and where in it the write's bytes begin (lr_blkoff).
void SetLrWriteBlock(Bytes* lr, uint64_t blkoff, const BlkPtr& bp);

// zil_lwb_commit: the record's lrc_seq (rec points at its lr_t).
void SetLrSeq(uint8_t* rec, uint64_t seq);
// zil_lwb_commit for WR_NEED_COPY: appends data padded to 8 to a TX_WRITE record and grows
// its lrc_reclen by as much.
void AppendWriteData(Bytes* lr, ByteSpan data);

// A zilog2 log block (SPA_VERSION_SLIM_ZIL) of bp.lsize() bytes: zil_chain_t {zc_pad 0,
// zc_next_blk = next, zc_nused = kZilChainSize + records.size(), zc_eck} at offset 0, the
// records after it, zeros to the end. zc_eck is {ZEC_MAGIC, fletcher4 of the first
// P2ROUNDUP(nused, 4K) bytes computed with zec_cksum = bp.cksum} (zio_checksum_compute for
// ZIO_CHECKSUM_ZILOG2). Precondition: kZilChainSize + records.size() <= bp.lsize()
// (otherwise an empty result).
Bytes BuildLogBlock(const BlkPtr& bp, const BlkPtr& next, ByteSpan records);
// What of a block BuildLogBlock made must reach the disk: the P2ROUNDUP(nused, 4K) bytes its
// checksum covers (slim ZIL: readers take nused and verify only those; the rest of the
// block is never read).
uint64_t LogBlockUsedBytes(ByteSpan block);

}  // namespace uzfs
