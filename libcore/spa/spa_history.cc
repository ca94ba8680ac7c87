#include "libcore/spa/spa_history.h"

#include <algorithm>

namespace uzfs {

Result<SpaHistoryHeader> SpaHistoryHeader::Decode(ByteSpan b, bool little) {
  if (b.size() < 40) return Status::Error(ECORRUPT, "history header too short");
  SpaHistoryHeader h;
  h.create_len = Load64(b.data(), little);
  h.max_off = Load64(b.data() + 8, little);
  h.bof = Load64(b.data() + 16, little);
  h.eof = Load64(b.data() + 24, little);
  h.records_lost = Load64(b.data() + 32, little);
  if (h.create_len > h.max_off || h.bof > h.eof || h.eof - h.bof > h.max_off ||
      h.max_off > (1ULL << 32))
    return Status::Error(ECORRUPT, "bad history header");
  return h;
}

std::vector<NvList> SpaHistoryRecords(const SpaHistoryHeader& h, Bytes raw) {
  raw.resize(h.max_off, 0);
  // The logical stream: the fixed creation records, then bof..eof of the ring (ZFS sets bof to
  // pool_create_len once the creation records are written, and only advances it).
  Bytes log(raw.begin(), raw.begin() + static_cast<long>(h.create_len));
  const uint64_t ring = h.max_off - h.create_len;
  for (uint64_t off = std::max(h.bof, h.create_len); off < h.eof && ring > 0; off++)
    log.push_back(raw[h.create_len + (off - h.create_len) % ring]);
  std::vector<NvList> out;
  size_t pos = 0;
  while (pos + 8 <= log.size()) {
    uint64_t len = LoadLE64(&log[pos]);
    if (len == 0 || len > log.size() - pos - 8) break;
    auto nv = NvList::DecodeXdr(ByteSpan(&log[pos + 8], len));
    pos += 8 + len;
    if (nv.ok()) out.push_back(std::move(nv).value());
  }
  return out;
}

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

const char* HistEventName(uint64_t event) {
  return event < sizeof kHistEvents / sizeof kHistEvents[0] ? kHistEvents[event] : nullptr;
}

}  // namespace uzfs
