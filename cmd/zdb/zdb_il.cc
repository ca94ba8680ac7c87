// zdb -i: each dataset's intent log (zfs-fuse zdb_il.c dump_intent_log, print_log_block,
// print_log_record, zil_prt_rec_*, print_log_stats). Verbosity is max(-d, -i) as there:
// 1 the ZIL header, 2 one line per record and the counts by type, 3 each record's fields,
// 4 one line per log block, 5 block pointers and the first 20 bytes of each write, 6 all
// of each write.
#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <ctime>

#include "cmd/zdb/pool_dumps.h"
#include "libcore/zil/zil.h"

namespace uzfs::zdb {

namespace {

constexpr const char* kPrefix = "\t\t\t";

// ctime(3) of a log record's time, newline included.
std::string CTime(uint64_t t) {
  time_t tt = static_cast<time_t>(t);
  char buf[64];
  return ctime_r(&tt, buf) ? buf : "?\n";
}

void PrintCreate(uint32_t type, const LrCreate& lr) {
  if (type == kTxSymlink) std::printf("%s%s -> %s\n", kPrefix, lr.name.c_str(), lr.link.c_str());
  else if (type != kTxMkxattr) std::printf("%s%s\n", kPrefix, lr.name.c_str());
  std::printf("%s%s", kPrefix, CTime(lr.crtime[0]).c_str());
  std::printf("%sdoid %" PRIu64 ", foid %" PRIu64 ", mode %" PRIo64 "\n", kPrefix, lr.doid, lr.foid, lr.mode);
  std::printf("%suid %" PRIu64 ", gid %" PRIu64 ", gen %" PRIu64 ", rdev 0x%" PRIx64 "\n", kPrefix, lr.uid,
              lr.gid, lr.gen, lr.rdev);
}

// Bytes as zdb_il.c prints them: printable ones as "c ", others through "%2X" of a signed
// char, so bytes >= 0x80 come out sign-extended ("FFFFFF9D"), as zfs-fuse's do.
void PrintData(ByteSpan data) {
  std::printf("%s", kPrefix);
  for (uint8_t b : data) {
    const int c = static_cast<signed char>(b);
    if (c >= 0 && std::isprint(c)) std::printf("%c ", c);
    else std::printf("%2X", static_cast<unsigned>(c));
  }
  std::printf("\n");
}

}  // namespace

// zil_prt_rec_write: the write, and at -ivvvv its data (from the logged block pointer, or
// copied after the record).
static void PrintWrite(Spa& spa, const ZilHeader& zh, uint32_t type, const LogRecord& rec,
                       const LrWrite& lr, int verbose) {
  std::printf("%sfoid %" PRIu64 ", offset %" PRIx64 ", length %" PRIx64 "\n", kPrefix, lr.foid, lr.offset,
              lr.length);
  if (type == kTxWrite2 || verbose < 5) return;
  Bytes buf;
  ByteSpan data;
  if (rec.reclen == kLrWriteSize) {
    const BlkPtr& bp = lr.blkptr;
    std::printf("%shas blkptr, %s\n", kPrefix,
                bp.birth >= spa.uberblock().txg + 1 ? "will claim" : "won't claim");
    std::printf("%s%s\n", kPrefix, bp.ToString().c_str());
    if (bp.is_hole()) {
      std::printf("\t\t\tLSIZE 0x%" PRIx64 "\n", bp.lsize());
      std::printf("%s<hole>\n", kPrefix);
      return;
    }
    if (bp.birth < zh.claim_txg) {
      std::printf("%s<block already committed>\n", kPrefix);
      return;
    }
    auto d = ReadLogWriteData(spa, lr);
    if (!d.ok()) return;  // zdb_il.c prints nothing when the block cannot be read
    buf = std::move(*d);
    data = buf;
  } else {
    data = lr.data;
  }
  const uint64_t n = std::min<uint64_t>({lr.length, verbose < 6 ? 20 : kSpaMaxBlockSize, data.size()});
  PrintData(data.subspan(0, n));
}

void PoolDumper::DumpIntentLog(ObjSet& os) {
  const int verbose = std::max(o_.d, o_.i);
  if (verbose < 1) return;
  auto zh = ReadZilHeader(spa_, os.rootbp());
  if (!zh.ok() || zh->log.is_hole()) return;
  std::printf("\n    ZIL header: claim_txg %" PRIu64 ", claim_blk_seq %" PRIu64 ", claim_lr_seq %" PRIu64,
              zh->claim_txg, zh->claim_blk_seq, zh->claim_lr_seq);
  std::printf(" replay_seq %" PRIu64 ", flags 0x%" PRIx64 "\n", zh->replay_seq, zh->flags);
  if (verbose < 2) return;
  std::printf("\n");
  // spa_first_txg of a pool opened read-only: the txg after the last synced one. Blocks
  // born from it on were written after that sync: claiming would allocate them.
  const uint64_t first_txg = spa_.uberblock().txg + 1;
  uint64_t counts[kTxMaxType] = {};
  auto on_block = [&](const BlkPtr& bp) -> Status {
    if (verbose <= 3) return Status::Ok();
    const char* claim = zh->claim_txg != 0 ? "already claimed"
                        : bp.birth >= first_txg ? "will claim" : "won't claim";
    std::string bpstr = verbose >= 5 ? ", " + bp.ToString() : "";
    std::printf("\tBlock seqno %" PRIu64 ", %s%s\n", bp.cksum.word[kZilZcSeq], claim, bpstr.c_str());
    return Status::Ok();
  };
  auto on_record = [&](const LogRecord& rec) -> Status {
    const uint32_t type = rec.type();
    char name[32];
    std::snprintf(name, sizeof name, "%-19s", TxTypeName(type));
    std::printf("\t\t%s%s len %6" PRIu64 ", txg %" PRIu64 ", seq %" PRIu64 "\n", rec.ci() ? "CI-" : "", name,
                rec.reclen, rec.txg, rec.seq);
    if (verbose >= 3) {
      if (const auto* c = std::get_if<LrCreate>(&rec.body)) {
        PrintCreate(type, *c);
      } else if (const auto* r = std::get_if<LrRemove>(&rec.body)) {
        std::printf("%sdoid %" PRIu64 ", name %s\n", kPrefix, r->doid, r->name.c_str());
      } else if (const auto* l = std::get_if<LrLink>(&rec.body)) {
        std::printf("%sdoid %" PRIu64 ", link_obj %" PRIu64 ", name %s\n", kPrefix, l->doid, l->link_obj,
                    l->name.c_str());
      } else if (const auto* m = std::get_if<LrRename>(&rec.body)) {
        std::printf("%ssdoid %" PRIu64 ", tdoid %" PRIu64 "\n", kPrefix, m->sdoid, m->tdoid);
        std::printf("%ssrc %s tgt %s\n", kPrefix, m->src.c_str(), m->tgt.c_str());
      } else if (const auto* w = std::get_if<LrWrite>(&rec.body)) {
        PrintWrite(spa_, *zh, type, rec, *w, verbose);
      } else if (const auto* t = std::get_if<LrTruncate>(&rec.body)) {
        std::printf("%sfoid %" PRIu64 ", offset 0x%" PRIx64 ", length 0x%" PRIx64 "\n", kPrefix, t->foid,
                    t->offset, t->length);
      } else if (const auto* s = std::get_if<LrSetattr>(&rec.body)) {
        std::printf("%sfoid %" PRIu64 ", mask 0x%" PRIx64 "\n", kPrefix, s->foid, s->mask);
        if (s->mask & kAtMode) std::printf("%sAT_MODE  %" PRIo64 "\n", kPrefix, s->mode);
        if (s->mask & kAtUid) std::printf("%sAT_UID   %" PRIu64 "\n", kPrefix, s->uid);
        if (s->mask & kAtGid) std::printf("%sAT_GID   %" PRIu64 "\n", kPrefix, s->gid);
        if (s->mask & kAtSize) std::printf("%sAT_SIZE  %" PRIu64 "\n", kPrefix, s->size);
        if (s->mask & kAtAtime)
          std::printf("%sAT_ATIME %" PRIu64 ".%09" PRIu64 " %s", kPrefix, s->atime[0], s->atime[1],
                      CTime(s->atime[0]).c_str());
        if (s->mask & kAtMtime)
          std::printf("%sAT_MTIME %" PRIu64 ".%09" PRIu64 " %s", kPrefix, s->mtime[0], s->mtime[1],
                      CTime(s->mtime[0]).c_str());
      } else if (const auto* a = std::get_if<LrAcl>(&rec.body)) {
        std::printf("%sfoid %" PRIu64 ", aclcnt %" PRIu64 "\n", kPrefix, a->foid, a->aclcnt);
      }
    }
    if (type < kTxMaxType) counts[type]++;
    counts[0]++;
    return Status::Ok();
  };
  ZilParseResult res = ParseZil(spa_, *zh, on_block, on_record);
  // zfs-fuse's zdb ignores how the chain ended (the last block is normally unwritten); a
  // record it could not decode is worth a line (zfs-fuse would assert or print garbage).
  if (res.error.code() == ECORRUPT) std::printf("\t\tlog record error: %s\n", res.error.ToString().c_str());
  // print_log_stats
  if (verbose > 3) std::printf("\n");
  if (counts[0] == 0) return;
  int w = 1;
  for (uint64_t p10 = 10; counts[0] >= p10; p10 *= 10) w++;
  for (uint32_t i = 0; i < kTxMaxType; i++) {
    if (counts[i] == 0 && verbose < 3) continue;
    char name[32];
    std::snprintf(name, sizeof name, "%-19s", TxTypeName(i));
    std::printf("\t\t%s %*" PRIu64 "\n", name, w, counts[i]);
  }
  std::printf("\n");
}

}  // namespace uzfs::zdb
