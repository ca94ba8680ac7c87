#include "libzfs/zfs_core.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

namespace uzfs::lzc {

namespace {

constexpr int kReplyTimeoutMs = -1;  // operations may take long (a big import); wait

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

bool IsConnectError(const Status& s) {
  return !s.ok() && s.message().rfind("cannot connect to zfsd at ", 0) == 0;
}

Result<NvList> Call(proto::OpId op, const NvList& args) {
  std::string path = proto::SocketPath();
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return Status::Error(errno, "cannot connect to zfsd at " + path + ": " + std::strerror(errno));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    return Status::Error(ENAMETOOLONG, "cannot connect to zfsd at " + path + ": path too long");
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int e = errno;
    return Status::Error(e, "cannot connect to zfsd at " + path + ": " + std::strerror(e));
  }
  NvList req;
  req.AddString("op", proto::OpName(op));
  req.AddUint64("op_id", static_cast<uint64_t>(op));
  req.AddNvList("args", args);
  UZFS_TRY(proto::WriteMessage(fd.get(), req));
  auto reply = proto::ReadMessage(fd.get(), kReplyTimeoutMs);
  if (!reply.ok()) {
    if (reply.status().code() == ENODATA || reply.status().code() == ECONNRESET)
      return Status::Error(ECONNRESET, "zfsd closed the connection");
    return reply.status();
  }
  uint64_t err = reply->GetUint64("errno").value_or(EIO);
  if (err != 0) {
    const std::string* m = reply->GetString("message");
    return Status::Error(static_cast<int>(err), m ? *m : std::strerror(static_cast<int>(err)));
  }
  const NvList* r = reply->GetNvList("result");
  return r ? *r : NvList();
}

Result<NvList> Version() { return Call(proto::OpId::kVersion, NvList()); }

Result<NvList> PoolScan(const std::vector<std::string>& dirs) {
  NvList a;
  if (!dirs.empty()) a.AddStringArray("dirs", dirs);
  return Call(proto::OpId::kPoolScan, a);
}

Status PoolCreate(const std::string& name, const NvList& nvroot, const NvList& props,
                  const NvList& fsprops, const std::string& altroot, const std::string& history) {
  NvList a;
  a.AddString("name", name);
  a.AddNvList("nvroot", nvroot);
  a.AddNvList("props", props);
  a.AddNvList("fsprops", fsprops);
  if (!altroot.empty()) a.AddString("altroot", altroot);
  a.AddString("history", history);
  return Call(proto::OpId::kPoolCreate, a).status();
}

Result<NvList> PoolImport(const std::string& pool, const std::vector<std::string>& devices,
                          const std::string& newname, bool force, const NvList& props,
                          const std::string& altroot, const std::string& history, bool nomount) {
  NvList a;
  a.AddString("pool", pool);
  if (nomount) a.AddBooleanValue("nomount", true);
  a.AddStringArray("devices", devices);
  if (!newname.empty()) a.AddString("newname", newname);
  a.AddBooleanValue("force", force);
  a.AddNvList("props", props);
  if (!altroot.empty()) a.AddString("altroot", altroot);
  a.AddString("history", history);
  return Call(proto::OpId::kPoolImport, a);
}

Status PoolExport(const std::string& name, bool force) {
  NvList a;
  a.AddString("name", name);
  a.AddBooleanValue("force", force);
  return Call(proto::OpId::kPoolExport, a).status();
}

Status PoolDestroy(const std::string& name, bool force) {
  NvList a;
  a.AddString("name", name);
  a.AddBooleanValue("force", force);
  return Call(proto::OpId::kPoolDestroy, a).status();
}

Result<NvList> PoolList() { return Call(proto::OpId::kPoolList, NvList()); }

Result<NvList> PoolStatus(const std::string& name) {
  NvList a;
  if (!name.empty()) a.AddString("name", name);
  return Call(proto::OpId::kPoolStatus, a);
}

Result<NvList> PoolGet(const std::string& name, const std::vector<std::string>& props) {
  NvList a;
  a.AddString("name", name);
  if (!props.empty()) a.AddStringArray("props", props);
  return Call(proto::OpId::kPoolGet, a);
}

Status PoolSet(const std::string& name, const std::string& prop, const std::string& value,
               const std::string& history) {
  NvList a;
  a.AddString("name", name);
  a.AddString("property", prop);
  a.AddString("value", value);
  a.AddString("history", history);
  return Call(proto::OpId::kPoolSet, a).status();
}

Result<NvList> PoolHistory(const std::string& name) {
  NvList a;
  a.AddString("name", name);
  return Call(proto::OpId::kPoolHistory, a);
}

Status PoolSync(const std::string& name) {
  NvList a;
  if (!name.empty()) a.AddString("name", name);
  return Call(proto::OpId::kPoolSync, a).status();
}

}  // namespace uzfs::lzc
