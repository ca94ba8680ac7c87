// Reading an operation's argument nvlist (the registry has checked names and types).
#pragma once

#include <map>
#include <string>

#include "libcore/base/nvlist.h"

namespace uzfs {

// A string argument, "" when absent.
inline std::string Str(const NvList& nv, const char* name) {
  const std::string* s = nv.GetString(name);
  return s ? *s : std::string();
}

// A boolean argument (boolean_value true, or a bare boolean), false when absent.
inline bool Flag(const NvList& nv, const char* name) {
  const NvValue* v = nv.Find(name);
  return v && (v->type == NvType::kBoolean || v->u != 0);
}

// An nvlist of strings (properties) as a map; its other pairs are ignored.
inline std::map<std::string, std::string> StringMap(const NvList* nv) {
  std::map<std::string, std::string> m;
  if (!nv) return m;
  for (const auto& p : nv->pairs())
    if (p.value.type == NvType::kString) m[p.name] = p.value.s;
  return m;
}

}  // namespace uzfs
