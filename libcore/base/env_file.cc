#include "libcore/base/env_file.h"

namespace uzfs {

Status WriteFileAtomically(Env* env, const std::string& path, ByteSpan data) {
  const std::string tmp = path + ".tmp";
  (void)env->Remove(tmp);
  Status s = [&]() -> Status {
    OpenOptions o;
    o.create = true;
    UZFS_ASSIGN(auto f, env->Open(tmp, o));
    UZFS_TRY(f->WriteAt(0, data));
    UZFS_TRY(f->Sync());
    return env->Rename(tmp, path);
  }();
  if (!s.ok()) (void)env->Remove(tmp);
  return s;
}

}  // namespace uzfs
