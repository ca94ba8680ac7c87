// zdb -h: the pool's command history (zfs-fuse spa_history.c for the ring layout,
// libzfs zpool_history_unpack for the records, zdb.c dump_history for the output).
// The history object's bonus is spa_history_phys_t {pool_create_len, phys_max_off, bof,
// eof, records_lost}. Logical offsets below pool_create_len map 1:1; the rest wraps in
// [pool_create_len, phys_max_off). Each record: uint64 little-endian length, packed nvlist.
#include <cinttypes>
#include <cstdio>
#include <ctime>

#include "cmd/zdb/pool_dumps.h"

namespace uzfs::zdb {

namespace {
const char* const kHistEvents[] = {
    "invalid event", "pool create", "vdev add", "pool remove", "pool destroy", "pool export",
    "pool import", "vdev attach", "vdev replace", "vdev detach", "vdev online", "vdev offline",
    "vdev upgrade", "pool clear", "pool scrub", "pool property set", "create", "clone",
    "destroy", "destroy_begin_sync", "inherit", "property set", "quota set",
    "permission update", "permission remove", "permission who remove", "promote", "receive",
    "rename", "reservation set", "replay_inc_sync", "replay_full_sync", "rollback", "snapshot",
    "filesystem version upgrade", "refquota set", "refreservation set", "pool scrub done",
    "user hold", "user release", "pool split"};
}  // namespace

int PoolDumper::DumpHistory() {
  auto obj = dp_->DirectoryEntry("history");
  std::printf("\nHistory:\n");
  if (!obj.ok()) return kExitOk;  // a pool without history
  ObjSet& mos = dp_->mos();
  auto dn = mos.Dnode(*obj);
  if (!dn.ok() || dn->bonus.size() < 40) {
    std::fprintf(stderr, "Unable to read history: error %d\n", dn.ok() ? ECORRUPT : dn.status().code());
    return kExitErrors;
  }
  auto w = [&](int i) { return Load64(dn->bonus.data() + 8 * i, dn->little); };
  const uint64_t create_len = w(0), max_off = w(1), bof = w(2), eof = w(3);
  if (create_len > max_off || bof > eof || eof - bof > max_off || max_off > (1ULL << 32)) {
    std::fprintf(stderr, "Unable to read history: bad header\n");
    return kExitErrors;
  }
  auto raw = mos.Read(*dn, 0, max_off);
  if (!raw.ok()) {
    std::fprintf(stderr, "Unable to read history: error %d\n", raw.status().code());
    return kExitErrors;
  }
  raw->resize(max_off, 0);
  // Reassemble the logical stream: the fixed create records, then bof..eof of the ring.
  Bytes log(raw->begin(), raw->begin() + static_cast<long>(std::min(create_len, bof)));
  const uint64_t ring = max_off - create_len;
  for (uint64_t off = std::max(bof, create_len); off < eof && ring > 0; off++)
    log.push_back((*raw)[create_len + (off - create_len) % ring]);
  size_t pos = 0;
  while (pos + 8 <= log.size()) {
    uint64_t len = LoadLE64(&log[pos]);
    if (len == 0 || len > log.size() - pos - 8) break;
    auto nv = NvList::DecodeXdr(ByteSpan(&log[pos + 8], len));
    pos += 8 + len;
    if (!nv.ok()) continue;
    auto time = nv->GetUint64("history time");
    if (!time) continue;
    std::string cmd;
    if (const std::string* c = nv->GetString("history command")) {
      cmd = *c;
    } else {
      auto ev = nv->GetUint64("history internal event");
      auto txg = nv->GetUint64("history txg");
      const std::string* str = nv->GetString("history internal str");
      if (!ev || !txg || !str || *ev >= sizeof kHistEvents / sizeof kHistEvents[0]) continue;
      cmd = std::string("[internal ") + kHistEvents[*ev] + " txg:" + std::to_string(*txg) + "] " + *str;
    }
    std::time_t t = static_cast<std::time_t>(*time);
    std::tm tm{};
    char tbuf[32] = "?";
    if (localtime_r(&t, &tm)) std::strftime(tbuf, sizeof tbuf, "%F.%T", &tm);
    std::printf("%s %s\n", tbuf, cmd.c_str());
  }
  return kExitOk;
}

}  // namespace uzfs::zdb
