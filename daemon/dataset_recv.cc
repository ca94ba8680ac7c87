// zfsd's zfs receive (libzfs_sendrecv.c zfs_receive_impl / zfs_receive_one, zfs_ioc_recv,
// dmu_send.c dmu_recv_stream): the stream is read from the client's descriptor on the
// connection's thread without the ops mutex (Session::then); each record is applied under
// the pool's own lock (Pool::RecvRecord). Error messages are whole lines as zfs-fuse prints
// them ("cannot receive new filesystem stream: ...").
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>

#include "daemon/args.h"
#include "daemon/dataset_ops.h"
#include "daemon/ops.h"
#include "daemon/server.h"
#include "libcore/base/zfs_prop.h"
#include "libcore/dmu/dmu_send_package.h"

namespace uzfs {

namespace {

constexpr const char* kRecv = "cannot receive";
constexpr const char* kRecvNew = "cannot receive new filesystem stream";
constexpr const char* kRecvIncr = "cannot receive incremental stream";

Status Line(int code, const std::string& prefix, const std::string& why) {
  return Status::Error(code, prefix + ": " + why);
}

}  // namespace

// The stream as zfsd reads it: in pieces of up to kRecvChunk bytes, each record and its
// payload then taken from the buffer in place. (A read(2) of each 312-byte record and then
// of its payload had a cold stream file read at a fifth of the rate large reads get.) All of
// a receive's reads go through one RecvInput, so what it read ahead of one substream's END
// is the next one's. Used by one thread.
class RecvInput {
 public:
  explicit RecvInput(int fd) : fd_(fd), buf_(kRecvChunk) {}

  // The next n bytes (n <= kRecvChunk), valid until the next call; false at a short read
  // (the stream ended early) or an error.
  bool Next(size_t n, ByteSpan* out) {
    if (end_ - start_ < n && !Fill(n)) return false;
    *out = ByteSpan(buf_.data() + start_, n);
    start_ += n;
    return true;
  }
  // The next n bytes (any n) copied to p.
  bool Read(uint8_t* p, size_t n) {
    while (n) {
      size_t k = std::min(n, kRecvChunk);
      ByteSpan b;
      if (!Next(k, &b)) return false;
      std::memcpy(p, b.data(), k);
      p += k;
      n -= k;
    }
    return true;
  }

 private:
  static constexpr size_t kRecvChunk = 4 << 20;  // > the largest record: a DAX extent's WRITE
  // Reads until n bytes are buffered, what is left moved to the front first when n would
  // not fit after it.
  bool Fill(size_t n) {
    if (start_ + n > buf_.size()) {
      std::memmove(buf_.data(), buf_.data() + start_, end_ - start_);
      end_ -= start_;
      start_ = 0;
    }
    while (end_ - start_ < n) {
      ssize_t r = ::read(fd_, buf_.data() + end_, buf_.size() - end_);
      if (r < 0 && errno == EINTR && !StreamsStopping()) continue;  // stopping: the stream ends
      if (r <= 0) return false;
      end_ += static_cast<size_t>(r);
    }
    return true;
  }
  const int fd_;
  Bytes buf_;
  size_t start_ = 0, end_ = 0;  // the bytes read and not yet taken
};

namespace {

// A stream that ends before its DRR_END: cut short, or interrupted because zfsd stops.
Status CutShort() {
  if (StreamsStopping()) return Status::Error(ESHUTDOWN, "zfsd is stopping");
  return Line(EINVAL, kRecvNew, "invalid backup stream");
}

// The stream's header could not be read: it ended, or zfsd stops.
Status ReadFailed() {
  if (StreamsStopping()) return Status::Error(ESHUTDOWN, "zfsd is stopping");
  return Line(EINVAL, kRecv, "failed to read from stream");
}

struct RecvFlags {
  bool force = false, dryrun = false, isprefix = false, istail = false;
};

// The stream after its BEGIN record: read record by record, checksummed, each handed to
// apply (payload: the bonus or data that follows it). EINVAL "invalid backup stream" for a
// short stream or a bad record, ECKSUM for a checksum that does not match at DRR_END.
Status ReadRecords(RecvInput& in, bool swap, ZioCksum* zc, uint64_t* bytes,
                   const std::function<Status(const DrrRecord&, ByteSpan)>& apply) {
  ByteSpan rec, payload;
  for (;;) {
    if (!in.Next(kDrrSize, &rec)) return CutShort();
    *bytes += kDrrSize;
    ZioCksum before = *zc;
    Fletcher4Incremental(rec, zc);
    auto r = DrrRecord::Decode(rec.data(), swap);
    if (!r.ok()) return Line(EINVAL, kRecvNew, "invalid backup stream");
    if (r->type == kDrrEnd) {
      if (!(r->key_cksum == before))
        return Line(ECKSUM, kRecvNew, "invalid stream (checksum mismatch)");
      return Status::Ok();
    }
    uint64_t len = 0;
    if (r->type == kDrrObject) len = (uint64_t{r->bonuslen} + 7) & ~uint64_t{7};
    if (r->type == kDrrWrite) len = r->length;
    // A block is at most 128 KiB in v23, a DAX file's extent 2 MiB (the pool checks which).
    if (len > std::max(kSpaMaxBlockSize, kDaxExtentSize) || len % 8)
      return Line(EINVAL, kRecvNew, "invalid backup stream");
    payload = ByteSpan();
    if (len && !in.Next(len, &payload)) return CutShort();
    *bytes += len;
    Fletcher4Incremental(payload, zc);
    if (apply) UZFS_TRY(apply(*r, payload));
  }
}

}  // namespace

Status DatasetOps::Receive(Session* session, const NvList& args) {
  if (!session || session->fds_in.empty() || session->fds_in[0] < 0)
    return Status::Error(EINVAL, "no descriptor to read the stream from");
  std::string target = Str(args, "target");
  RecvFlags f;
  f.force = Flag(args, "force");
  f.dryrun = Flag(args, "dryrun");
  f.isprefix = Flag(args, "isprefix");
  f.istail = Flag(args, "istail");
  if (f.istail) f.isprefix = true;
  UZFS_TRY(CheckDatasetName(target, true));
  int fd = session->fds_in[0];
  session->fds_in[0] = -1;
  session->then = [this, target, f, fd]() {
    NvList result;
    // The stream holds its pool, as a send does: an export or destroy meanwhile is "pool is
    // busy" (spa_open's reference in dmu_recv_begin). Without the pool, ReceiveStream says
    // what is missing in zfs-fuse's words.
    std::string pool = target.substr(0, target.find_first_of("/@"));
    bool held = false;
    RecvInput in(fd);
    Status s = t_->WithHeld(pool, [&](Pool&) {
      held = true;
      return ReceiveStream(in, target, f.force, f.dryrun, f.isprefix, f.istail, &result);
    });
    if (!held && s.code() == ENOENT) s = ReceiveStream(in, target, f.force, f.dryrun, f.isprefix, f.istail, &result);
    ::close(fd);
    return s.ok() ? OkReply(std::move(result)) : ErrorReply(s);
  };
  return Status::Ok();
}

Status DatasetOps::ReceiveStream(RecvInput& in, const std::string& target, bool force, bool dryrun,
                                 bool isprefix, bool istail, NvList* result) {
  std::string pool = target.substr(0, target.find_first_of("/@"));
  auto exists = [&](const std::string& name) {
    return t_->With(pool, [&](Pool& p) { return p.DatasetProps(name).status(); }).ok();
  };
  if (isprefix && !exists(target))
    return Line(ENOENT, kRecv, "specified fs (" + target + ") does not exist");
  uint8_t rec[kDrrSize];
  if (!in.Read(rec, kDrrSize)) return ReadFailed();
  bool swap = LoadRaw<uint64_t>(rec + 8) == Bswap64(kDmuBackupMagic);
  auto b = DrrRecord::Decode(rec, swap);
  if (!b.ok() || b->type != kDrrBegin || b->magic != kDmuBackupMagic)
    return Line(EINVAL, kRecv, "invalid stream (bad magic number)");
  if (swap)
    return Line(ENOTSUP, kRecv, "streams of the other byte order are not supported by uzfs yet");
  uint64_t features = DrrFeatures(b->versioninfo);
  uint64_t hdrtype = b->versioninfo & 3;
  // DMU_STREAM_SUPPORTED: dedup (-D) is the only feature of v23 streams.
  if ((features & ~(kFeatureDedup | kFeatureDedupProps)) || (hdrtype != kDmuSubstream && hdrtype != kDmuCompoundStream)) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%lx", static_cast<unsigned long>(features));
    return Line(EINVAL, kRecv, std::string("stream has unsupported feature, feature flags = ") + buf);
  }
  if (hdrtype != kDmuCompoundStream) return ReceiveOne(in, rec, *b, swap, target, force, dryrun, isprefix, istail, result);
  // zfs_receive_package: a compound stream's header (BEGIN, the fss nvlist, END with the
  // header's checksum), then substreams until a second END. zfs send -I writes one without
  // an nvlist (a series of incremental streams); -R and -p write the nvlist.
  Bytes header(rec, rec + kDrrSize);
  ReplHeaderInfo info;
  const bool package = b->payloadlen != 0;
  if (package) {
    if (b->payloadlen > (16u << 20)) return Line(EINVAL, kRecv, "invalid backup stream");
    header.resize(kDrrSize + b->payloadlen);
    if (!in.Read(header.data() + kDrrSize, b->payloadlen)) return ReadFailed();
    // recv_read_nvlist unpacks the list before the END is read: a list that does not unpack
    // is "malformed", one that does but was changed has an "incorrect header checksum".
    auto nv = NvList::DecodeXdr(ByteSpan(header.data() + kDrrSize, b->payloadlen));
    if (!nv.ok()) return Line(EINVAL, kRecv, "invalid stream (malformed nvlist)");
    auto parsed = ParseReplHeader(*nv);
    if (!parsed.ok()) return Line(EINVAL, kRecv, "invalid backup stream");
    info = std::move(*parsed);
    if (info.recursive && target.find('@') != std::string::npos)
      return Line(EINVAL, kRecv, "cannot specify snapshot name for multi-snapshot stream");
  }
  uint8_t end[kDrrSize];
  if (!in.Read(end, kDrrSize)) return ReadFailed();
  auto e = DrrRecord::Decode(end, swap);
  if (!e.ok()) return Line(EINVAL, kRecv, "invalid backup stream");
  if (Status c = CheckPackageHeader(header, *e); !c.ok())
    return Line(EINVAL, kRecv, c.message());
  std::vector<std::string> made, warnings;  // new filesystems, in order; property failures
  std::vector<std::string> log, errors;     // recv_incremental_replication's -v lines, errors
  // zfs_receive_package: an incremental package first makes the target's tree the stream's
  // (destroys with -F, renames), then again after its substreams (renames under parents
  // they made). tofs: where the stream's top filesystem goes.
  const bool replication = package && !info.fromsnap.empty();
  std::string tofs = target;
  if (isprefix) {
    const std::string& tn = b->toname;
    size_t i = istail ? tn.rfind('/') : tn.find_first_of("/@");
    if (istail && i == std::string::npos) tofs += "/", i = 0;
    tofs += tn.substr(i);
    tofs = tofs.substr(0, tofs.find('@'));
  }
  bool softerr = false;
  if (replication && !dryrun) softerr = RecvIncrementalReplication(tofs, info, force, isprefix, &log, &errors);
  // An error's message carries what was printed before it, as zfs-fuse's output has it.
  auto failed = [&](Status s) {
    std::string pre;
    for (const std::string& e : errors) pre += e + "\n";
    return pre.empty() ? s : Status::Error(s.code(), pre + s.message());
  };
  const std::string sendfs = b->toname.substr(0, b->toname.find('@'));
  uint64_t n = 0, bytes = 2 * kDrrSize + b->payloadlen;
  std::vector<std::string> tonames, intos, origins;  // each substream's, for zfs receive -v
  std::vector<uint64_t> incrs;
  for (;;) {
    if (!in.Read(rec, kDrrSize)) return ReadFailed();
    auto sb = DrrRecord::Decode(rec, swap);
    if (sb.ok() && sb->type == kDrrEnd) break;  // the package's end
    if (!sb.ok() || sb->type != kDrrBegin || sb->magic != kDmuBackupMagic ||
        (sb->versioninfo & 3) != kDmuSubstream)
      return Line(EINVAL, kRecv, "invalid stream (bad magic number)");
    NvList one;
    Status st = ReceiveOne(in, rec, *sb, swap, target, force, dryrun, isprefix, istail, &one, sendfs,
                           package ? &info : nullptr, &warnings);
    if (!st.ok()) return failed(st);
    const std::string* into = one.GetString("into");
    if (package && !dryrun && into && !one.GetUint64("skipped").value_or(0)) {
      // zfs_receive_one: the filesystem's "props" go with its ioctl (ReceiveOne set them
      // before its data), the snapshot's "snapprops" are set after it.
      std::string snapname;
      if (const ReplFs* f = info.FindSnap(sb->toguid, &snapname)) {
        std::string fsname = into->substr(0, into->find('@'));
        if (!one.GetUint64("props_set").value_or(0)) SetReceivedProps(fsname, f->props, &warnings);
        if (auto it = f->snapprops.find(snapname); it != f->snapprops.end())
          SetReceivedProps(*into, it->second, &warnings);
      }
    }
    // zfs_receive: the package's filesystems, new or not, are mounted after (the changelist
    // of top_zfs with CL_GATHER_MOUNT_ALWAYS).
    if (const std::string* fsname = one.GetString("fs")) made.push_back(*fsname);
    else if (into && package && !dryrun) made.push_back(into->substr(0, into->find('@')));
    if (made.size() > 1 && std::find(made.begin(), made.end() - 1, made.back()) != made.end() - 1)
      made.pop_back();
    bytes += one.GetUint64("bytes").value_or(0);
    if (const std::string* t = one.GetString("toname")) tonames.push_back(*t);
    if (const std::string* i = one.GetString("into")) intos.push_back(*i);
    const std::string* o = one.GetString("origin");
    origins.push_back(o ? *o : "");
    incrs.push_back(one.GetUint64("incremental").value_or(0));
    *result = std::move(one);
    n++;
  }
  if (replication && !dryrun) {
    log.push_back("");  // the second pass's lines after the substreams'
    softerr = RecvIncrementalReplication(tofs, info, force, isprefix, &log, &errors);
  }
  if (package && !dryrun) {
    // A mounted filesystem takes the mount properties it received (atime, readonly...),
    // as zfs-fuse's property changelist remounts it: a remount without options re-reads them.
    MountTable::TempOptions again;
    again.remount = true;
    for (const std::string& fs : made)
      if (m_->Mounted(fs)) (void)m_->Mount(fs, again);
  }
  result->AddUint64("bytes", bytes + kDrrSize);
  result->AddUint64("streams", n);
  result->AddStringArray("repl_log", std::move(log));
  result->AddStringArray("repl_errors", std::move(errors));
  if (softerr) result->AddUint64("softerr", 1);
  result->AddStringArray("series_toname", std::move(tonames));
  result->AddStringArray("series_into", std::move(intos));
  result->AddStringArray("series_origin", std::move(origins));
  result->Remove("origin");
  result->AddUint64Array("series_incremental", std::move(incrs));
  result->Remove("fs");
  result->Remove("props_set");
  result->AddStringArray("made", std::move(made));  // for the CLI to mount, parents first
  result->AddStringArray("warnings", std::move(warnings));
  return Status::Ok();
}

void DatasetOps::SetReceivedProps(const std::string& name, const NvList& props,
                                  std::vector<std::string>* warnings) {
  std::string pool = name.substr(0, name.find_first_of("/@"));
  std::vector<std::pair<std::string, std::string>> list;
  for (const NvList::Pair& p : props.pairs()) {
    std::string value;
    if (p.value.type == NvType::kString) {
      value = p.value.s;
    } else if (auto v = props.GetUint64(p.name)) {
      const DatasetPropDef* def = FindDatasetProp(p.name);
      if (!def) continue;  // unknown to pool version 23: left out, as send_iterate_prop does
      value = def->kind == PropKind::kNumber ? std::to_string(*v) : IndexName(*def, *v);
    } else {
      continue;
    }
    list.emplace_back(p.name, value);
  }
  std::vector<std::pair<std::string, Status>> errors;
  Status s = t_->With(pool, [&](Pool& pl) { return pl.ReceiveProps(name, list, &errors); });
  if (!s.ok()) warnings->push_back("cannot receive properties on " + name + ": " + s.message());
  for (const auto& [prop, e] : errors)  // zfs_receive_one's prop_errbuf lines
    warnings->push_back("cannot receive " + prop + " property on " + name + ": " + e.message());
}

void DatasetOps::RestoreProps(const std::string& fs, const std::vector<Pool::DsProp>& orig, bool first) {
  // zfs_ioc_recv on an error: clear_received_props of the stream's, then the original
  // received values as received and (what a first receive cleared) the local ones as local.
  // After a failed first receive with properties the "$hasrecvd" mark it set goes too
  // (dsl_prop_unset_hasrecvd), so the next receive again replaces the local values.
  std::string pool = fs.substr(0, fs.find_first_of("/@"));
  (void)t_->With(pool, [&](Pool& p) -> Status {
    std::vector<std::pair<std::string, std::string>> recvd;
    for (const Pool::DsProp& d : orig)
      if (d.received != "-") recvd.emplace_back(d.name, d.received);
    std::vector<std::pair<std::string, Status>> errors;
    if (p.ReceiveProps(fs, recvd, &errors).ok() && first) (void)p.UnsetHasRecvd(fs);
    for (const Pool::DsProp& d : orig)
      if (d.source == "local") (void)p.SetDatasetProp(fs, d.name, d.value);
    return Status::Ok();
  });
}

Status DatasetOps::CreateRecvParents(const std::string& target, const std::string& fs) {
  if (fs.compare(0, target.size() + 1, target + "/") != 0) return Status::Ok();
  std::string pool = target.substr(0, target.find_first_of("/@"));
  std::vector<std::string> made;
  Status s = t_->With(pool, [&](Pool& p) -> Status {
    for (size_t i = fs.find('/', target.size() + 1); i != std::string::npos; i = fs.find('/', i + 1)) {
      std::string a = fs.substr(0, i);
      if (p.DatasetProps(a).ok()) continue;
      if (!p.CreateFilesystem(a, {}).ok())
        return Line(EINVAL, kRecvNew, "failed to create ancestor '" + a + "'");
      made.push_back(a);
    }
    return made.empty() ? Status::Ok() : p.Sync();
  });
  // create_parents mounts each one it made (-u or not), as zfs create does.
  for (const std::string& a : made)
    if (Status m = m_->MountIfAuto(a); !m.ok() && s.ok())
      s = Line(m.code(), kRecvNew, "failed to mount ancestor '" + a + "'");
  return s;
}

// zfs_receive_one: one substream, whose BEGIN record rec (decoded: begin) was read.
Status DatasetOps::ReceiveOne(RecvInput& in, const uint8_t* rec, const DrrRecord& begin, bool swap,
                              const std::string& target, bool force, bool dryrun, bool isprefix,
                              bool istail, NvList* result, const std::string& stream_fs,
                              const ReplHeaderInfo* info, std::vector<std::string>* prop_warnings) {
  auto t0 = std::chrono::steady_clock::now();
  std::string pool = target.substr(0, target.find_first_of("/@"));
  auto exists = [&](const std::string& name) {
    return t_->With(pool, [&](Pool& p) { return p.DatasetProps(name).status(); }).ok();
  };
  const DrrRecord* b = &begin;
  const std::string& toname = b->toname;
  size_t at = toname.find('@');
  if (at == std::string::npos) return Line(EINVAL, kRecv, "invalid stream (bad snapshot name)");
  // The filesystem zfs send named: a compound stream's top, else this substream's own.
  std::string sendfs = stream_fs.empty() ? toname.substr(0, at) : stream_fs;
  if (toname.compare(0, sendfs.size(), sendfs) != 0) return Line(EINVAL, kRecv, "invalid backup stream");
  // zfs_receive_one: how much of the stream's name is tacked onto the target.
  std::string chop;
  if (istail) {
    if (target.find('@') != std::string::npos)
      return Line(EINVAL, kRecv, "invalid argument - snapshot not allowed with -e");
    size_t slash = sendfs.rfind('/');
    chop = slash == std::string::npos ? "/" + toname : toname.substr(slash);
  } else if (isprefix) {
    if (target.find('@') != std::string::npos)
      return Line(EINVAL, kRecv, "invalid argument - snapshot not allowed with -d");
    size_t slash = toname.find('/');
    chop = toname.substr(slash == std::string::npos ? at : slash);
  } else if (target.find('@') == std::string::npos) {
    chop = toname.substr(sendfs.size());
  }
  std::string value = target + chop;
  if (!CheckDatasetName(value, true).ok() || value.find('@') == std::string::npos)
    return Line(EINVAL, kRecv, "invalid name");
  // zfs_receive_one: a clone stream's origin is the local snapshot with its fromguid, found
  // as guid_to_name finds it (below the target first, then the whole pool).
  const bool clone = b->flags & kDrrFlagClone;
  std::string origin;
  if (clone) {
    origin = GuidToName(target, b->fromguid);
    if (origin.empty()) return Line(ENOENT, kRecv, "local origin for clone " + value + " does not exist");
    result->AddString("origin", origin);  // zfs receive -v: "found clone origin ..."
  }
  if (b->fromguid == 0 || clone) {
    // A new filesystem whose parent is not there: the parent found by the guid of its
    // fromsnap (renamed on the sender and here).
    size_t slash = value.rfind('/');
    const ReplFs* f = info ? info->FindSnap(b->toguid, nullptr) : nullptr;
    if (slash != std::string::npos && f && f->parentfromsnap && !exists(value.substr(0, slash))) {
      std::string parent = GuidToName(target, f->parentfromsnap);
      if (!parent.empty()) value = parent.substr(0, parent.find('@')) + value.substr(slash);
    }
  } else if (info && !exists(value.substr(0, value.find('@')))) {
    // An incremental of a package whose filesystem is not there: the one holding its
    // source, by guid. (zfs-fuse looks for a lone stream's source too; uzfs does not.)
    std::string from = GuidToName(target, b->fromguid);
    if (!from.empty()) value = from.substr(0, from.find('@')) + value.substr(value.find('@'));
  }
  std::string fs = value.substr(0, value.find('@')), snap = value.substr(value.find('@') + 1);
  result->AddString("toname", toname);
  result->AddString("into", value);
  result->AddUint64("incremental", b->fromguid != 0);
  // zfs_receive_one: an incremental goes into the existing filesystem; a full or clone
  // stream makes a new one, or (-F) replaces one that has no snapshots (a clone stream:
  // refused then by dmu_recv_begin).
  const bool incremental = b->fromguid != 0 && !clone;
  const char* errbuf = incremental ? kRecvIncr : kRecvNew;
  const bool existing = exists(fs);
  if (existing && !incremental) {
    if (!force)
      return Line(EEXIST, kRecvNew, "destination '" + fs + "' exists\nmust specify -F to overwrite it");
    std::string snaps, origin;
    (void)t_->With(pool, [&](Pool& p) -> Status {
      UZFS_ASSIGN(auto list, p.Snapshots(fs));
      if (!list.empty()) snaps = list.front().name;
      UZFS_ASSIGN(origin, p.Origin(fs));
      return Status::Ok();
    });
    if (!snaps.empty())
      return Line(EEXIST, kRecvNew, "destination has snapshots (eg. " + snaps + ")\nmust destroy them to overwrite it");
    if (!origin.empty())
      return Line(EEXIST, kRecvNew, "destination '" + fs + "' is a clone\nmust destroy it to overwrite it");
  }
  if (!existing && (incremental || fs.find('/') == std::string::npos))
    return Line(ENOENT, errbuf, "destination '" + fs + "' does not exist");
  if (!existing && isprefix && !istail && !dryrun) UZFS_TRY(CreateRecvParents(target, fs));
  ZioCksum zc;
  Fletcher4Incremental(ByteSpan(rec, kDrrSize), &zc);
  uint64_t bytes = kDrrSize;
  if (dryrun) {  // recv_skip: the stream read to its end
    UZFS_TRY(ReadRecords(in, swap, &zc, &bytes, {}));
    result->AddUint64("bytes", bytes);
    return Status::Ok();
  }
  Pool::RecvState st;
  Status s = t_->With(pool, [&](Pool& p) -> Status {
    auto r = p.RecvBegin(fs, snap, *b, force, origin);
    if (!r.ok()) return r.status();
    st = std::move(*r);
    return Status::Ok();
  });
  if (!s.ok()) {
    // zfs_receive_one's words for the ioctl's errors.
    if (s.code() == EEXIST && existing) {
      // The snapshot is here already with the stream's guid (zfs_receive_one's "snap ...
      // already exists; ignoring"): the stream is consumed and ignored.
      bool same = false;
      (void)t_->With(pool, [&](Pool& p) -> Status {
        UZFS_ASSIGN(auto list, p.Snapshots(fs));
        for (const auto& row : list) same |= row.name == value && row.guid == b->toguid;
        return Status::Ok();
      });
      if (same) {
        UZFS_TRY(ReadRecords(in, swap, &zc, &bytes, {}));
        result->AddUint64("bytes", bytes);
        result->AddUint64("skipped", 1);
        return Status::Ok();
      }
      return Status::Error(EEXIST, "cannot restore to " + value + ": destination already exists");
    }
    if (s.code() == ENOENT && !existing) return Line(ENOENT, errbuf, "dataset does not exist");
    return Line(s.code(), errbuf, s.message());
  }
  // zfs_ioc_recv sets the received properties before dmu_recv_stream "so that they are
  // applied to the new data" (compression, checksum, copies, recordsize), an existing
  // filesystem's too, whose values before (origprops) are put back if the stream fails.
  std::vector<Pool::DsProp> origprops;
  bool restore_props = false, first_recvd_props = false;
  if (info && prop_warnings) {
    if (const ReplFs* f = info->FindSnap(b->toguid, nullptr)) {
      if (existing)
        restore_props = t_->With(pool, [&](Pool& p) -> Status {
                            UZFS_ASSIGN(origprops, p.DatasetProps(fs));
                            UZFS_ASSIGN(bool has, p.HasRecvdProps(fs));
                            first_recvd_props = !has;
                            return Status::Ok();
                          }).ok();
      SetReceivedProps(fs, f->props, prop_warnings);
      result->AddUint64("props_set", 1);  // the package loop does not set them again
    }
  }
  // restore_write_byref's guid_to_ds_map: the snapshots a deduplicated stream's WRITE_BYREF
  // records name, found among the named target's and its descendants' snapshots (as
  // find_ds_by_guid fills it from drc_top_ds); the stream's own toguid is the objset being
  // received.
  std::map<uint64_t, std::string> refsnaps;
  s = ReadRecords(in, swap, &zc, &bytes, [&](const DrrRecord& r, ByteSpan payload) {
    if (r.type != kDrrWriteByref)
      return t_->With(pool, [&](Pool& p) { return p.RecvRecord(st, r, payload); });
    std::string refsnap;
    if (r.refguid != r.toguid) {
      auto it = refsnaps.find(r.refguid);
      if (it == refsnaps.end()) it = refsnaps.emplace(r.refguid, GuidToName(target, r.refguid, true)).first;
      if (it->second.empty()) return Status::Error(EINVAL, "invalid backup stream");
      refsnap = it->second;
    }
    return t_->With(pool, [&](Pool& p) { return p.RecvWriteByref(st, r, refsnap); });
  });
  if (s.ok() && st.existing) {
    // The target's contents change under its mount, as in a rollback (the mount stays;
    // zfs_resume_fs), and under its mapped DAX files, paused around the swap and resumed on
    // the received file's extents, or SIGBUS where it has no such file
    // (FileService::WithDaxPaused, as for zfs rollback).
    s = m_->Rollback(fs, [&] {
      return t_->With(pool, [&](Pool& p) {
        return t_->WithDaxPaused(p, {fs}, [&] { return p.RecvEnd(st); });
      });
    });
  } else if (s.ok()) {
    s = t_->With(pool, [&](Pool& p) { return p.RecvEnd(st); });
  }
  if (!s.ok()) {
    // Nothing half-made stays (dmu_recv_stream's dsl_dataset_destroy of what it created;
    // for an existing target, the temporary clone).
    (void)t_->With(pool, [&](Pool& p) { return p.RecvAbort(st); });
    if (restore_props) RestoreProps(fs, origprops, first_recvd_props);
    if (s.message().rfind("cannot ", 0) == 0) {
      if (incremental && s.message().rfind(kRecvNew, 0) == 0)
        return Status::Error(s.code(), kRecvIncr + s.message().substr(std::string(kRecvNew).size()));
      return s;
    }
    if (s.code() == EINVAL) return Line(EINVAL, errbuf, "invalid backup stream");
    return Line(s.code(), errbuf, s.message());
  }
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - t0).count();
  result->AddUint64("bytes", bytes);
  result->AddUint64("seconds", static_cast<uint64_t>(secs));
  if (!st.existing) result->AddString("fs", fs);  // a new filesystem, for the CLI to mount
  return Status::Ok();
}

}  // namespace uzfs
