// zdb -r DATASET PATH DEST: copy one file out of a dataset (as OpenZFS's zdb -r), reading
// devices directly. Holes stay holes in DEST (only allocated blocks are read and written).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "cmd/zdb/pool_dumps.h"

namespace uzfs::zdb {

Result<std::unique_ptr<Spa>> OpenPool(const Options& o, const std::string& pool);  // zdb_pool.cc
std::string PoolOfTarget(const std::string& target);                                 // zdb_pool.cc

int CopyFileCmd(const Options& o) {
  const std::string& dataset = o.args[0];
  const std::string& path = o.args[1];
  const std::string& dest = o.args[2];
  auto spa = OpenPool(o, PoolOfTarget(dataset));
  if (!spa.ok()) {
    Fatal("can't open '" + dataset + "': " + spa.status().ToString());
    return kExitErrors;
  }
  auto dp = DslPool::Open(spa->get(), (*spa)->uberblock().rootbp, (*spa)->name());
  if (!dp.ok()) {
    Fatal("can't open '" + dataset + "': " + dp.status().ToString());
    return kExitErrors;
  }
  auto ds = (*dp)->Resolve(dataset);
  if (!ds.ok()) {
    Fatal("can't open '" + dataset + "': " + ds.status().ToString());
    return kExitErrors;
  }
  auto os = (*dp)->OpenObjset(*ds);
  if (!os.ok()) {
    Fatal("can't open '" + dataset + "': " + os.status().ToString());
    return kExitErrors;
  }
  auto zpl = Zpl::Open(**os);
  if (!zpl.ok()) {
    Fatal("can't open '" + dataset + "': " + zpl.status().ToString());
    return kExitErrors;
  }
  auto obj = (*zpl)->Lookup(path);
  if (!obj.ok()) {
    Fatal("cannot find '" + path + "' in '" + dataset + "': " + obj.status().ToString());
    return kExitErrors;
  }
  auto st = (*zpl)->Stat(*obj);
  if (!st.ok() || !S_ISREG(st->mode)) {
    Fatal("'" + path + "' is not a regular file");
    return kExitErrors;
  }
  int fd = ::open(dest.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    Fatal("cannot create '" + dest + "': " + ErrorText(errno));
    return kExitErrors;
  }
  Status s = (*zpl)->ForEachExtent(*obj, [&](uint64_t off, ByteSpan data) -> Status {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(off + done));
      if (n < 0) return Status::Error(errno, "write " + dest);
      done += static_cast<size_t>(n);
    }
    return Status::Ok();
  });
  if (s.ok() && ::ftruncate(fd, static_cast<off_t>(st->size)) != 0) s = Status::Error(errno, "truncate " + dest);
  if (::close(fd) != 0 && s.ok()) s = Status::Error(errno, "close " + dest);
  if (!s.ok()) {
    Fatal("copying '" + path + "': " + s.ToString());
    return kExitErrors;
  }
  std::fprintf(stderr, "Copied %s/%s to %s\n", dataset.c_str(), path.c_str(), dest.c_str());
  return kExitOk;
}

}  // namespace uzfs::zdb
