#include "libzfs/zfs_core.h"

#include <sys/socket.h>
#include <sys/stat.h>
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

Result<NvList> Call(proto::OpId op, const NvList& args, const std::vector<int>& fds) {
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
  UZFS_TRY(proto::WriteMessage(fd.get(), req, fds));
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

Status Ping() { return Call(proto::OpId::kPing, NvList()).status(); }

Result<DaemonVersion> Version() {
  UZFS_ASSIGN(NvList r, Call(proto::OpId::kVersion, NvList()));
  DaemonVersion v;
  if (const std::string* s = r.GetString("version")) v.version = *s;
  v.spa_version = r.GetUint64("spa_version").value_or(0);
  v.zpl_version = r.GetUint64("zpl_version").value_or(0);
  return v;
}

Result<NvList> PoolScan(const std::vector<std::string>& dirs, bool destroyed) {
  NvList a;
  if (!dirs.empty()) a.AddStringArray("dirs", dirs);
  if (destroyed) a.AddBooleanValue("destroyed", true);
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

Result<std::string> PoolImport(const std::string& pool, const std::vector<std::string>& devices,
                               const std::string& newname, bool force, const NvList& props,
                               const std::string& altroot, const std::string& history,
                               bool nomount, bool missing_log, bool destroyed) {
  NvList a;
  a.AddString("pool", pool);
  if (destroyed) a.AddBooleanValue("destroyed", true);
  if (nomount) a.AddBooleanValue("nomount", true);
  if (missing_log) a.AddBooleanValue("missing_log", true);
  a.AddStringArray("devices", devices);
  if (!newname.empty()) a.AddString("newname", newname);
  a.AddBooleanValue("force", force);
  a.AddNvList("props", props);
  if (!altroot.empty()) a.AddString("altroot", altroot);
  a.AddString("history", history);
  UZFS_ASSIGN(NvList r, Call(proto::OpId::kPoolImport, a));
  const std::string* n = r.GetString("name");
  return n ? *n : std::string();
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

Status PoolAdd(const std::string& name, const NvList& nvroot, const std::string& history) {
  NvList a;
  a.AddString("name", name);
  a.AddNvList("nvroot", nvroot);
  a.AddString("history", history);
  return Call(proto::OpId::kPoolAdd, a).status();
}

Status PoolRemove(const std::string& name, uint64_t guid, const std::string& history) {
  NvList a;
  a.AddString("name", name);
  a.AddUint64("guid", guid);
  a.AddString("history", history);
  return Call(proto::OpId::kPoolRemove, a).status();
}

Status PoolClear(const std::string& name, uint64_t guid, const std::string& history) {
  NvList a;
  a.AddString("name", name);
  a.AddUint64("guid", guid);
  a.AddString("history", history);
  return Call(proto::OpId::kPoolClear, a).status();
}

Result<EventBatch> PoolEvents(uint64_t after) {
  NvList a;
  a.AddUint64("after", after);
  UZFS_ASSIGN(NvList r, Call(proto::OpId::kPoolEvents, a));
  EventBatch b;
  if (const auto* ev = r.GetNvListArray("events")) b.events = *ev;
  b.dropped = r.GetUint64("dropped").value_or(0);
  b.last = r.GetUint64("last").value_or(after);
  return b;
}

Result<uint64_t> PoolEventsClear() {
  UZFS_ASSIGN(NvList r, Call(proto::OpId::kPoolEventsClear, NvList()));
  return r.GetUint64("cleared").value_or(0);
}

Status PoolScrub(const std::string& name, bool stop, const std::string& history) {
  NvList a;
  a.AddString("name", name);
  a.AddBooleanValue("stop", stop);
  a.AddString("history", history);
  return Call(proto::OpId::kPoolScrub, a).status();
}

Result<NvList> PoolVdevState(const std::string& name, uint64_t guid, const std::string& action,
                             bool temporary, const std::string& history, bool expand) {
  NvList a;
  a.AddString("name", name);
  a.AddUint64("guid", guid);
  a.AddString("action", action);
  a.AddBooleanValue("temporary", temporary);
  if (expand) a.AddBooleanValue("expand", true);
  a.AddString("history", history);
  return Call(proto::OpId::kPoolVdevState, a);
}

Status PoolAttach(const std::string& name, uint64_t guid, const NvList& nvroot, bool replacing,
                  const std::string& history) {
  NvList a;
  a.AddString("name", name);
  a.AddUint64("guid", guid);
  a.AddNvList("nvroot", nvroot);
  a.AddBooleanValue("replacing", replacing);
  a.AddString("history", history);
  return Call(proto::OpId::kPoolAttach, a).status();
}

Status PoolDetach(const std::string& name, uint64_t guid, const std::string& history) {
  NvList a;
  a.AddString("name", name);
  a.AddUint64("guid", guid);
  a.AddString("history", history);
  return Call(proto::OpId::kPoolDetach, a).status();
}

Result<uint64_t> InjectAdd(const std::string& pool, uint64_t guid, int error, int iotype,
                           uint32_t freq, unsigned labels) {
  NvList a;
  a.AddString("action", "add");
  a.AddString("name", pool);
  a.AddUint64("guid", guid);
  a.AddUint64("error", static_cast<uint64_t>(error));
  a.AddUint64("iotype", static_cast<uint64_t>(iotype));
  a.AddUint64("freq", freq);
  if (labels) a.AddUint64("labels", labels);
  UZFS_ASSIGN(NvList r, Call(proto::OpId::kPoolInject, a));
  return r.GetUint64("id").value_or(0);
}

Status InjectClear(uint64_t id) {
  NvList a;
  a.AddString("action", "clear");
  a.AddUint64("id", id);
  return Call(proto::OpId::kPoolInject, a).status();
}

Result<NvList> InjectList() {
  NvList a;
  a.AddString("action", "list");
  return Call(proto::OpId::kPoolInject, a);
}

Status InjectFaultDevice(const std::string& pool, uint64_t guid) {
  NvList a;
  a.AddString("action", "fault");
  a.AddString("name", pool);
  a.AddUint64("guid", guid);
  return Call(proto::OpId::kPoolInject, a).status();
}

Result<uint64_t> InjectMos(const std::string& pool, const std::string& type, int error, uint32_t freq,
                           bool flush_arc) {
  NvList a;
  a.AddString("action", "add_mos");
  a.AddString("name", pool);
  a.AddString("type", type);
  a.AddUint64("error", static_cast<uint64_t>(error));
  a.AddUint64("freq", freq);
  a.AddUint64("flush_arc", flush_arc ? 1 : 0);
  UZFS_ASSIGN(NvList r, Call(proto::OpId::kPoolInject, a));
  return r.GetUint64("id").value_or(0);
}

Result<uint64_t> InjectData(const std::string& fs, uint64_t object, uint64_t start, uint64_t end, int error,
                            uint32_t freq, bool flush_arc, int level, bool dnode) {
  NvList a;
  a.AddString("action", "add_data");
  if (level) a.AddUint64("level", static_cast<uint64_t>(level));
  if (dnode) a.AddString("type", "dnode");
  a.AddString("name", fs);
  a.AddUint64("object", object);
  a.AddUint64("start", start);
  a.AddUint64("end", end);
  a.AddUint64("error", static_cast<uint64_t>(error));
  a.AddUint64("freq", freq);
  a.AddUint64("flush_arc", flush_arc ? 1 : 0);
  UZFS_ASSIGN(NvList r, Call(proto::OpId::kPoolInject, a));
  return r.GetUint64("id").value_or(0);
}

Result<uint64_t> InjectRaw(const std::string& pool, uint64_t objset, uint64_t object, int level,
                           uint64_t blkid, int error, uint32_t freq, bool flush_arc) {
  NvList a;
  a.AddString("action", "add_raw");
  a.AddString("name", pool);
  a.AddUint64("objset", objset);
  a.AddUint64("object", object);
  a.AddUint64("level", static_cast<uint64_t>(level));
  a.AddUint64("blkid", blkid);
  a.AddUint64("error", static_cast<uint64_t>(error));
  a.AddUint64("freq", freq);
  a.AddUint64("flush_arc", flush_arc ? 1 : 0);
  UZFS_ASSIGN(NvList r, Call(proto::OpId::kPoolInject, a));
  return r.GetUint64("id").value_or(0);
}

Status InjectFlushArc() {
  NvList a;
  a.AddString("action", "flush_arc");
  return Call(proto::OpId::kPoolInject, a).status();
}

Status ZfsCreate(const std::string& name, const NvList& props, bool parents,
                 const std::string& history) {
  NvList a;
  a.AddString("name", name);
  a.AddNvList("props", props);
  a.AddBooleanValue("parents", parents);
  a.AddString("history", history);
  return Call(proto::OpId::kZfsCreate, a).status();
}

Result<std::vector<std::string>> ZfsDestroy(const std::string& name, const DestroyFlags& flags,
                                            const std::string& history) {
  NvList a;
  a.AddString("name", name);
  a.AddBooleanValue("recursive", flags.recursive);
  a.AddBooleanValue("dependents", flags.dependents);
  a.AddBooleanValue("force", flags.force);
  a.AddBooleanValue("dryrun", flags.dryrun);
  a.AddBooleanValue("defer", flags.defer);
  a.AddString("history", history);
  UZFS_ASSIGN(NvList r, Call(proto::OpId::kZfsDestroy, a));
  const NvValue* d = r.Find("destroyed");
  return d ? d->s_arr : std::vector<std::string>();
}

namespace {

// zfs hold and zfs release take the same arguments.
Status HoldCall(proto::OpId op, const std::string& snapshot, const std::string& tag,
                bool recursive, const std::string& history, bool temphold = false) {
  NvList a;
  a.AddString("name", snapshot);
  a.AddString("tag", tag);
  a.AddBooleanValue("recursive", recursive);
  if (temphold) a.AddBooleanValue("temphold", true);
  a.AddString("history", history);
  return Call(op, a).status();
}

}  // namespace

Status ZfsHold(const std::string& snapshot, const std::string& tag, bool recursive,
               const std::string& history, bool temphold) {
  return HoldCall(proto::OpId::kZfsHold, snapshot, tag, recursive, history, temphold);
}

Status ZfsRelease(const std::string& snapshot, const std::string& tag, bool recursive,
                  const std::string& history) {
  return HoldCall(proto::OpId::kZfsRelease, snapshot, tag, recursive, history);
}

Result<std::vector<Hold>> ZfsHolds(const std::string& snapshot) {
  NvList a;
  a.AddString("name", snapshot);
  UZFS_ASSIGN(NvList r, Call(proto::OpId::kZfsHolds, a));
  std::vector<Hold> out;
  if (const NvList* h = r.GetNvList("holds"))
    for (const auto& [tag, v] : h->pairs())
      if (v.type == NvType::kUint64) out.push_back({tag, v.u});
  return out;
}

Result<uint64_t> ZfsSend(const std::string& snapshot, const std::string& from, int out_fd,
                         bool fromorigin) {
  NvList a;
  a.AddString("name", snapshot);
  if (!from.empty()) a.AddString("from", from);
  if (fromorigin) a.AddBooleanValue("fromorigin", true);
  UZFS_ASSIGN(NvList r, Call(proto::OpId::kZfsSend, a, {out_fd}));
  return r.GetUint64("bytes").value_or(0);
}

Result<NvList> ZfsReceive(const std::string& target, const RecvOptions& o, int in_fd) {
  NvList a;
  a.AddString("target", target);
  a.AddBooleanValue("force", o.force);
  a.AddBooleanValue("dryrun", o.dryrun);
  a.AddBooleanValue("isprefix", o.isprefix);
  a.AddBooleanValue("istail", o.istail);
  return Call(proto::OpId::kZfsReceive, a, {in_fd});
}

Result<UserSpaceTables> ZfsUserspace(const std::string& name) {
  NvList a;
  a.AddString("name", name);
  UZFS_ASSIGN(NvList r, Call(proto::OpId::kZfsUserspace, a));
  UserSpaceTables t;
  const char* names[4] = {"userused", "userquota", "groupused", "groupquota"};
  for (int i = 0; i < 4; i++)
    if (const NvList* l = r.GetNvList(names[i]))
      for (const auto& [id, v] : l->pairs())
        if (v.type == NvType::kUint64) t.props[i][std::stoull(id)] = v.u;
  return t;
}

Status ZfsSetAcl(const std::string& name, bool unset, const NvList& acl) {
  NvList a;
  a.AddString("name", name);
  a.AddBooleanValue("unset", unset);
  a.AddNvList("acl", acl);
  return Call(proto::OpId::kZfsSetAcl, a).status();
}

Result<NvList> ZfsGetAcl(const std::string& name) {
  NvList a;
  a.AddString("name", name);
  UZFS_ASSIGN(NvList r, Call(proto::OpId::kZfsGetAcl, a));
  const NvList* acl = r.GetNvList("acl");
  return acl ? *acl : NvList();
}

Status TakeFailedName(const Status& s, std::string* name) {
  size_t tab = s.message().find('\t');
  if (s.ok() || tab == std::string::npos) return s;
  *name = s.message().substr(0, tab);
  return Status::Error(s.code(), s.message().substr(tab + 1));
}

Result<NvList> ZfsList(const std::vector<std::string>& names, bool recursive, int64_t depth) {
  NvList a;
  if (!names.empty()) a.AddStringArray("names", names);
  a.AddBooleanValue("recursive", recursive);
  a.AddInt64("depth", depth);
  return Call(proto::OpId::kZfsList, a);
}

Status ZfsSet(const std::string& name, const NvList& props, const std::string& history) {
  NvList a;
  a.AddString("name", name);
  a.AddNvList("props", props);
  a.AddString("history", history);
  return Call(proto::OpId::kZfsSet, a).status();
}

Status ZfsInherit(const std::string& name, const std::string& property, bool recursive,
                  bool received, const std::string& history) {
  NvList a;
  a.AddString("name", name);
  a.AddString("property", property);
  a.AddBooleanValue("recursive", recursive);
  a.AddBooleanValue("received", received);
  a.AddString("history", history);
  return Call(proto::OpId::kZfsInherit, a).status();
}

Status ZfsSnapshot(const std::vector<std::string>& names, bool recursive, const NvList& props,
                   const std::string& history) {
  NvList a;
  a.AddStringArray("names", names);
  a.AddBooleanValue("recursive", recursive);
  a.AddNvList("props", props);
  a.AddString("history", history);
  return Call(proto::OpId::kZfsSnapshot, a).status();
}

Status ZfsRollback(const std::string& snapshot, bool recursive, const std::string& history) {
  NvList a;
  a.AddString("name", snapshot);
  a.AddBooleanValue("recursive", recursive);
  a.AddString("history", history);
  return Call(proto::OpId::kZfsRollback, a).status();
}

Status ZfsClone(const std::string& origin, const std::string& name, const NvList& props,
                bool parents, const std::string& history) {
  NvList a;
  a.AddString("origin", origin);
  a.AddString("name", name);
  a.AddNvList("props", props);
  a.AddBooleanValue("parents", parents);
  a.AddString("history", history);
  return Call(proto::OpId::kZfsClone, a).status();
}

Status ZfsPromote(const std::string& name, const std::string& history) {
  NvList a;
  a.AddString("name", name);
  a.AddString("history", history);
  return Call(proto::OpId::kZfsPromote, a).status();
}

Status ZfsRename(const std::string& name, const std::string& newname, const RenameFlags& flags,
                 const std::string& history) {
  NvList a;
  a.AddString("name", name);
  a.AddString("newname", newname);
  a.AddBooleanValue("parents", flags.parents);
  a.AddBooleanValue("recursive", flags.recursive);
  a.AddBooleanValue("force", flags.force);
  a.AddString("history", history);
  return Call(proto::OpId::kZfsRename, a).status();
}

Result<std::vector<Mount>> ZfsMounts() {
  UZFS_ASSIGN(NvList r, Call(proto::OpId::kZfsMount, NvList()));
  std::vector<Mount> out;
  if (const auto* arr = r.GetNvListArray("mounts"))
    for (const NvList& m : *arr) {
      const std::string *n = m.GetString("name"), *p = m.GetString("mountpoint");
      out.push_back({n ? *n : "", p ? *p : ""});
    }
  return out;
}

std::string MountedFilesystemOf(uint64_t dev, const std::vector<Mount>& mounts) {
  for (const Mount& m : mounts) {
    struct stat ms;
    if (::stat(m.mountpoint.c_str(), &ms) == 0 && ms.st_dev == dev) return m.name;
  }
  return "";
}

Status ZfsMount(const std::string& name, const std::string& options) {
  // zfs_mount without a name only lists: refuse rather than report a mount that never was.
  if (name.empty()) return Status::Error(EINVAL, "empty filesystem name");
  NvList a;
  a.AddString("name", name);
  if (!options.empty()) a.AddString("options", options);
  return Call(proto::OpId::kZfsMount, a).status();
}

Status ZfsMountAt(const std::string& name, const std::string& options, const std::string& at,
                  bool zfsutil, bool sloppy, bool fake) {
  if (name.empty() || at.empty()) return Status::Error(EINVAL, "empty filesystem name or directory");
  NvList a;
  a.AddString("name", name);
  if (!options.empty()) a.AddString("options", options);
  a.AddString("at", at);
  a.AddBooleanValue("zfsutil", zfsutil);
  if (sloppy) a.AddBooleanValue("sloppy", true);
  if (fake) a.AddBooleanValue("fake", true);
  return Call(proto::OpId::kZfsMount, a).status();
}

Status ZfsUnmount(const std::string& name, bool force) {
  NvList a;
  a.AddString("name", name);
  a.AddBooleanValue("force", force);
  return Call(proto::OpId::kZfsUnmount, a).status();
}

Result<std::map<std::string, uint64_t>> ArcStats() {
  UZFS_ASSIGN(NvList r, Call(proto::OpId::kArcStats, NvList()));
  std::map<std::string, uint64_t> out;
  for (const auto& p : r.pairs())
    if (p.value.type == NvType::kUint64) out[p.name] = p.value.u;
  return out;
}

Status ArcSet(uint64_t arc_max) {
  NvList a;
  a.AddUint64("arc_max", arc_max);
  return Call(proto::OpId::kArcSet, a).status();
}

}  // namespace uzfs::lzc
