// zdb -h: the pool's command history (the ring layout: libcore/spa/spa_history.h; the
// records: libzfs zpool_history_unpack; the output: zdb.c dump_history).
#include <cinttypes>
#include <cstdio>
#include <ctime>

#include "libcore/spa/spa_history.h"
#include "cmd/zdb/pool_dumps.h"

namespace uzfs::zdb {

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
  auto h = SpaHistoryHeader::Decode(dn->bonus, dn->little);
  if (!h.ok()) {
    std::fprintf(stderr, "Unable to read history: bad header\n");
    return kExitErrors;
  }
  auto raw = mos.Read(*dn, 0, h->max_off);
  if (!raw.ok()) {
    std::fprintf(stderr, "Unable to read history: error %d\n", raw.status().code());
    return kExitErrors;
  }
  for (const NvList& rec : SpaHistoryRecords(*h, std::move(raw).value())) {
    const NvList* nv = &rec;
    auto time = nv->GetUint64("history time");
    if (!time) continue;
    std::string cmd;
    if (const std::string* c = nv->GetString("history command")) {
      cmd = *c;
    } else {
      auto ev = nv->GetUint64("history internal event");
      auto txg = nv->GetUint64("history txg");
      const std::string* str = nv->GetString("history internal str");
      if (!ev || !txg || !str || !HistEventName(*ev)) continue;
      cmd = std::string("[internal ") + HistEventName(*ev) + " txg:" + std::to_string(*txg) + "] " + *str;
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
