#include "daemon/ops.h"

#include <spdlog/spdlog.h>

namespace uzfs {

namespace {

const char* TypeName(NvType t) {
  switch (t) {
    case NvType::kString: return "string";
    case NvType::kUint64: return "uint64";
    case NvType::kBooleanValue: return "boolean";
    case NvType::kNvList: return "nvlist";
    case NvType::kStringArray: return "string array";
    case NvType::kNvListArray: return "nvlist array";
    default: return "value";
  }
}

}  // namespace

void Registry::Add(OpDef def) { ops_[def.name] = std::move(def); }

NvList ErrorReply(const Status& s) {
  NvList r;
  r.AddUint64("errno", static_cast<uint64_t>(s.code() ? s.code() : EIO));
  r.AddString("message", s.message());
  r.AddNvList("result", NvList());
  return r;
}

NvList OkReply(NvList result) {
  NvList r;
  r.AddUint64("errno", 0);
  r.AddNvList("result", std::move(result));
  return r;
}

Status Registry::Validate(const Caller& caller, const NvList& req, const OpDef** out) const {
  const std::string* op = req.GetString("op");
  if (!op) return Status::Error(EINVAL, "request without an operation name");
  const NvValue* idv = req.Find("op_id");
  if (!idv || idv->type != NvType::kUint64) return Status::Error(EINVAL, "request without an operation id");
  const NvList* args = req.GetNvList("args");
  if (!args) return Status::Error(EINVAL, "request without arguments");
  for (const auto& p : req.pairs())
    if (p.name != "op" && p.name != "op_id" && p.name != "args")
      return Status::Error(EINVAL, "unexpected request field '" + p.name + "'");
  auto it = ops_.find(*op);
  if (it == ops_.end()) return Status::Error(ENOTSUP, "unknown operation '" + *op + "'");
  const OpDef& def = it->second;
  if (def.id != idv->u)
    return Status::Error(EINVAL, "operation '" + *op + "' has id " + std::to_string(def.id) +
                                     ", not " + std::to_string(idv->u));
  if (def.perm == Perm::kRoot && caller.uid != 0) return Status::Error(EPERM, "permission denied");
  for (const ArgSpec& a : def.args) {
    const NvValue* v = args->Find(a.name);
    if (!v) {
      if (a.required) return Status::Error(EINVAL, "missing argument '" + a.name + "'");
      continue;
    }
    if (v->type != a.type)
      return Status::Error(EINVAL, "argument '" + a.name + "' must be a " + TypeName(a.type));
  }
  for (const auto& p : args->pairs()) {
    bool known = false;
    for (const ArgSpec& a : def.args) known |= a.name == p.name;
    if (!known) return Status::Error(EINVAL, "unknown argument '" + p.name + "'");
  }
  if (out) *out = &def;
  return Status::Ok();
}

NvList Registry::Dispatch(const Caller& caller, const NvList& req) const {
  const OpDef* def = nullptr;
  Status s = Validate(caller, req, &def);
  if (!s.ok()) return ErrorReply(s);
  NvList result;
  try {
    s = def->handler(caller, *req.GetNvList("args"), &result);
  } catch (const std::exception& e) {
    s = Status::Error(EIO, std::string("internal error: ") + e.what());
  }
  if (!s.ok()) spdlog::debug("{}: {}", def->name, s.ToString());
  return s.ok() ? OkReply(std::move(result)) : ErrorReply(s);
}

}  // namespace uzfs
