// libFuzzer target for what zfsd does with a client's bytes before any handler runs: the
// frame decoder (length prefix + XDR nvlist, libzfs/proto.h) and the dispatcher's checks
// (request shape, name/id agreement, permission, argument schema; daemon/ops.h) against the
// real op table. Any input must decode or fail cleanly; a decoded request must validate or be
// refused with a non-zero errno, the same way for a root and an unprivileged caller except
// for EPERM; the reply to any request must itself be a valid, encodable message.
// Only handlers without side effects (ping, version, arc_stats) are run; the others touch
// devices. The file API's ops are validated too (their handlers need a connection).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "daemon/file_service.h"
#include "daemon/ops.h"
#include "daemon/ops_arc.h"
#include "daemon/ops_pool.h"
#include "daemon/pool_table.h"
#include "libzfs/proto.h"

namespace {

const uzfs::Registry& Ops() {
  // The table is never started: no cache file is read, no pool imported.
  static uzfs::PoolTable* table = new uzfs::PoolTable("/nonexistent/uzfs-message-fuzz");
  static uzfs::MountTable* mounts = new uzfs::MountTable(table);
  static uzfs::Arc* arc = new uzfs::Arc(64ull << 20);
  static uzfs::FileService* files = new uzfs::FileService(table, mounts, arc);  // not started
  static uzfs::Registry* reg = [] {
    auto* r = new uzfs::Registry;
    uzfs::RegisterPoolOps(*r, table, mounts);
    uzfs::RegisterDatasetOps(*r, table, mounts);
    uzfs::RegisterArcOps(*r, arc, [](uzfs::NvList* out) { files->AddStats(out); });
    files->Register(*r);
    return r;
  }();
  return *reg;
}

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "%s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto req = uzfs::proto::DecodeFrame(uzfs::ByteSpan(data, size));
  if (!req.ok()) {
    if (req.status().code() == 0) Die("decode failed with errno 0");
    return 0;
  }
  const uzfs::Registry& reg = Ops();
  const uzfs::Caller root{0, 0, 1}, user{65534, 65534, 2};
  const uzfs::OpDef* def = nullptr;
  uzfs::Status as_root = reg.Validate(root, *req, &def);
  uzfs::Status as_user = reg.Validate(user, *req, nullptr);
  if (!as_root.ok() && as_root.code() == EPERM) Die("root was refused permission");
  if (as_root.ok() != as_user.ok() && as_user.code() != EPERM)
    Die("root and user differ by more than EPERM");
  if (as_root.ok()) {
    if (def == nullptr || def->name != *req->GetString("op")) Die("validated the wrong op");
    if (def->name == "ping" || def->name == "version" || def->name == "arc_stats") {
      uzfs::NvList reply = reg.Dispatch(user, *req);
      if (reply.GetUint64("errno").value_or(1) != 0) Die("ping/version/arc_stats failed");
    }
  } else {
    uzfs::NvList reply = uzfs::ErrorReply(as_root);
    if (reply.GetUint64("errno").value_or(0) == 0) Die("error reply with errno 0");
    uzfs::Bytes enc = reply.EncodeXdr();
    if (!uzfs::NvList::DecodeXdr(enc).ok()) Die("error reply does not decode");
  }
  return 0;
}
