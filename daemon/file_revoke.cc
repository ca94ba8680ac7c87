// Revoking parts of DAX mappings (file_service.h): a client maps a DAX file's extents itself
// (file_dax.cc), so zfsd cannot unmap them; it asks the client's library to, over a revoke
// channel of its own (a socket pair; its client end went with the client's first DAX
// mapping), apart from the request/reply connection: a client blocked in a call (say, its
// own ftruncate of the mapped file) still answers. A request {op file_revoke, args {map, seq,
// kind, ...}} is answered {op file_revoked, args {map, seq, errno}}:
//   gone   {offset}: the mapping's pages past file offset `offset` (rounded up to the
//          mapping's pages: a system page on an emulated device, the extent on a real
//          device-DAX, whose mappings split only at its alignment) raise SIGBUS from now on;
//   pause: every access to the mapping waits (the library maps anonymous memory over it and
//          registers it with a userfaultfd of its own that nobody serves);
//   resume {extents, emulated} with the devices' descriptors: the library maps the extents
//          at the same addresses, the rest of the span gone, and wakes the waiting threads.
// A resume with no extents takes the whole mapping for good (RevokeForGood: a rollback to a
// snapshot without the file, zfs destroy -f, zpool export -f and destroy -f), waking any
// thread a pause holds.
// A client that does not answer within kRevokeTimeoutMs, answers an error or has no channel
// is severed (Sever: its session goes, the library makes every mapping raise SIGBUS).
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <chrono>
#include <set>

#include <spdlog/spdlog.h>

#include "daemon/file_service.h"
#include "daemon/file_service_types.h"
#include "libcore/zpl/zpl_dax.h"
#include "libzfs/proto.h"

namespace uzfs {

namespace {
constexpr int kRevokeTimeoutMs = 5000;
}  // namespace

Result<int> FileService::RevokeChannel(Client& cl) {
  std::lock_guard<std::mutex> l(map_mu_);
  if (cl.revoke_fd >= 0) return -1;
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return Status::Error(errno, "socketpair");
  cl.revoke_fd = sv[0];
  return sv[1];
}

std::vector<std::pair<std::shared_ptr<FileService::Mapping>, std::shared_ptr<FileService::Client>>>
FileService::DaxMappings(const std::string& pool, uint64_t ds_obj, uint64_t obj,
                         const std::set<uint64_t>* datasets) {
  std::vector<std::pair<std::shared_ptr<Mapping>, std::shared_ptr<Client>>> out;
  std::lock_guard<std::mutex> l(map_mu_);
  for (auto& [id, m] : maps_) {
    if (!m->dax || m->dax_revoked || m->pool != pool) continue;
    bool match = datasets ? datasets->count(m->dax_ds) > 0
                          : ds_obj == 0 || (m->dax_ds == ds_obj && (obj == 0 || m->obj == obj));
    if (!match) continue;
    auto c = clients_.find(m->session);
    if (c != clients_.end()) out.push_back({m, c->second});
  }
  return out;
}

Status FileService::AskClient(Client& cl, const Mapping& m, NvList args, const std::vector<int>& fds) {
  std::lock_guard<std::mutex> l(cl.revoke_mu);
  if (cl.revoke_fd < 0) return Status::Error(ENOTSUP, "the client has no revoke channel");
  const uint64_t seq = ++cl.revoke_seq;
  args.AddUint64("map", m.id);
  args.AddUint64("seq", seq);
  NvList req;
  req.AddString("op", proto::OpName(proto::OpId::kFileRevoke));
  req.AddUint64("op_id", static_cast<uint64_t>(proto::OpId::kFileRevoke));
  req.AddNvList("args", args);
  UZFS_TRY(proto::WriteMessage(cl.revoke_fd, req, fds));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kRevokeTimeoutMs);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Status::Error(ETIMEDOUT, "the client did not answer in time");
    auto reply = proto::ReadMessage(cl.revoke_fd, static_cast<int>(left.count()));
    if (!reply.ok()) {
      if (reply.status().code() == ETIMEDOUT)
        return Status::Error(ETIMEDOUT, "the client did not answer in time");
      return reply.status();
    }
    const NvList* a = reply->GetNvList("args");
    if (reply->GetUint64("op_id").value_or(0) != static_cast<uint64_t>(proto::OpId::kFileRevoked) || !a)
      return Status::Error(EPROTO, "not an answer to a revocation");
    if (a->GetUint64("seq").value_or(0) != seq) continue;  // a late answer to one given up on
    if (uint64_t e = a->GetUint64("errno").value_or(0))
      return Status::Error(static_cast<int>(e), "the client could not replace its mapping");
    return Status::Ok();
  }
}

void FileService::RevokeDaxPast(Pool& pool, uint64_t ds_obj, uint64_t obj, uint64_t size) {
  for (auto& [m, cl] : DaxMappings(pool.name(), ds_obj, obj)) {
    // The whole extents the client mapped: nothing of them past size, nothing to take.
    const uint64_t span_end = (m->file_off + m->len + kDaxExtentSize - 1) / kDaxExtentSize * kDaxExtentSize;
    if (span_end <= size) continue;
    NvList a;
    a.AddString("kind", "gone");
    a.AddUint64("offset", size);
    if (Status s = AskClient(*cl, *m, a); !s.ok()) {
      SeverDax(pool, *m, s);  // before the truncate frees what it may still map
      continue;
    }
    // What it still maps: the extents before size (a page past it is in the last one).
    std::lock_guard<std::mutex> l(map_mu_);
    std::vector<std::pair<uint64_t, uint64_t>> kept;
    const uint64_t first = m->file_off / kDaxExtentSize;
    const uint64_t keep = (size + kDaxExtentSize - 1) / kDaxExtentSize;
    for (size_t i = 0; i < m->dax_extents.size() && first + i < keep; i++) kept.push_back(m->dax_extents[i]);
    m->dax_extents = std::move(kept);
  }
  // What the clients gave up leaves the book (a failure only keeps more fenced).
  for (auto& [m, cl] : DaxMappings(pool.name(), ds_obj, obj)) (void)RecordDax(m->session, m->pool_guid);
}

void FileService::RevokeForGood(Pool& pool, const std::shared_ptr<Mapping>& m, Client& cl) {
  // A resume with no extents: the whole span gone, and any thread waiting in a paused span
  // woken (to its SIGBUS), whether the mapping was paused or not.
  NvList a;
  a.AddString("kind", "resume");
  a.AddUint64Array("extents", std::vector<uint64_t>{});
  a.AddUint64Array("emulated", std::vector<uint64_t>{});
  if (Status s = AskClient(cl, *m, a); !s.ok()) {
    SeverDax(pool, *m, s);
  } else {
    {
      std::lock_guard<std::mutex> l(map_mu_);
      m->dax_extents.clear();
    }
    (void)RecordDax(m->session, m->pool_guid);
  }
  if (TakeDaxHold(*m)) pool.UnmapDaxFile(m->dax_ds, m->obj);
}

bool FileService::TakeDaxHold(Mapping& m) {
  std::lock_guard<std::mutex> l(map_mu_);
  if (m.dax_revoked) return false;
  m.dax_revoked = true;
  return true;
}

void FileService::ReleaseDaxHold(Mapping& m) {
  if (!TakeDaxHold(m)) return;  // revoked for good: released then
  (void)pools_->With(m.pool, [&](Pool& p) {
    p.UnmapDaxFile(m.dax_ds, m.obj);
    return Status::Ok();
  });
}

// The mappings of filesystems fs (all of the pool's when fs is empty), found by their head
// datasets' objects: a mapping keeps the object it was made under through renames.
std::vector<std::pair<std::shared_ptr<FileService::Mapping>, std::shared_ptr<FileService::Client>>>
FileService::DaxMappingsOf(Pool& pool, const std::vector<std::string>& fs) {
  if (fs.empty()) return DaxMappings(pool.name(), 0, 0);
  std::set<uint64_t> heads;
  for (const std::string& f : fs)
    if (auto h = pool.HeadDatasetObj(f); h.ok()) heads.insert(*h);
  return DaxMappings(pool.name(), 0, 0, &heads);
}

void FileService::RevokeDax(Pool& pool, const std::vector<std::string>& fs) {
  for (auto& [m, cl] : DaxMappingsOf(pool, fs)) RevokeForGood(pool, m, *cl);
  // No live mapping of fs is left: files severed writers still reach move off their extents
  // now, before an export takes the pool where no zfsd knows them (a failure is logged; the
  // fences hold while those processes live).
  (void)MoveSeveredDax(pool, fs);
}

Status FileService::WithDaxPaused(Pool& pool, const std::vector<std::string>& fs,
                                  const std::function<Status()>& body) {
  auto maps = DaxMappingsOf(pool, fs);
  if (maps.empty()) {
    UZFS_TRY(MoveSeveredDax(pool, fs));  // the body must not share what they may store into
    return body();
  }
  std::set<uint64_t> datasets;
  std::vector<bool> paused(maps.size(), false);
  // Each file's generation: after a rollback its object may be another file, or none.
  std::vector<uint64_t> gen(maps.size(), 0);
  Status result = Status::Ok();
  for (size_t i = 0; i < maps.size(); i++) {
    auto& m = maps[i].first;
    auto& cl = maps[i].second;
    datasets.insert(m->dax_ds);
    auto g = pool.DaxFileGen(m->dax_ds, m->obj);
    gen[i] = g.ok() ? *g : 0;
    NvList a;
    a.AddString("kind", "pause");
    Status asked = AskClient(*cl, *m, a);
    if (asked.ok()) {
      paused[i] = true;
      continue;
    }
    SeverDax(pool, *m, asked);  // its extents fenced: it may store into them until it exits
  }
  // A severed writer's stores (this one's, or an earlier one's: a truncate or a resume it did
  // not answer) must not reach what the body makes (a snapshot would share the extents): its
  // file moves to copies of them, made now, every live mapping paused; the old extents, freed
  // and fenced, stay the client's alone. Its stores since the pause was asked may or may not
  // be in the copies, as with a power cut. If that fails the body must not run.
  result = MoveSeveredDax(pool, fs);
  if (result.ok()) {  // otherwise no body: the paused mappings are resumed as they were
    for (uint64_t ds : datasets) pool.SetDaxPaused(ds, true);
    result = body();
    for (uint64_t ds : datasets) pool.SetDaxPaused(ds, false);
  }
  // Resume: each mapping's extents as they are now (those a snapshot shares copied), or
  // nothing (SIGBUS) when the file is not the one mapped any more (rolled back past its
  // creation).
  for (size_t i = 0; i < maps.size(); i++) {
    if (!paused[i]) continue;
    auto& m = maps[i].first;
    auto& cl = maps[i].second;
    {
      std::lock_guard<std::mutex> l(map_mu_);
      if (m->dax_revoked) continue;  // taken for good meanwhile (zpool export -f)
    }
    auto now = pool.DaxFileGen(m->dax_ds, m->obj);
    if (!now.ok() || *now != gen[i]) {
      RevokeForGood(pool, m, *cl);
      continue;
    }
    Status s = [&]() -> Status {
      UZFS_ASSIGN(Pool::DaxMap dm, pool.MapDaxFile(m->dax_ds, m->obj, m->file_off, m->len));
      pool.UnmapDaxFile(dm.ds_obj, m->obj);  // the mapping holds the file already
      std::vector<int> fds;
      for (const std::string& dev : dm.devices) {
        int fd = ::open(dev.c_str(), (m->writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
        if (fd < 0) {
          int e = errno;
          for (int x : fds) ::close(x);
          return Status::Error(e, "cannot open dax device " + dev);
        }
        fds.push_back(fd);
      }
      std::vector<uint64_t> ext;
      std::vector<std::pair<uint64_t, uint64_t>> now_mapped;
      for (const Pool::DaxExtent& e : dm.extents) {
        ext.push_back(e.file_off);
        ext.push_back(e.device);
        ext.push_back(e.dev_off);
        now_mapped.push_back({e.vdev, e.dva_off});
      }
      {
        // Until it answers, the client may map the old extents or the new ones.
        std::lock_guard<std::mutex> l(map_mu_);
        m->dax_extents.insert(m->dax_extents.end(), now_mapped.begin(), now_mapped.end());
      }
      // On file before the client is told of them (zfsd may die right after).
      if (Status r = RecordDax(m->session, m->pool_guid); !r.ok()) {
        for (int x : fds) ::close(x);
        return r;
      }
      NvList a;
      a.AddString("kind", "resume");
      a.AddUint64Array("extents", std::move(ext));
      a.AddUint64Array("emulated", std::vector<uint64_t>(dm.emulated.begin(), dm.emulated.end()));
      Status asked = fds.size() <= proto::kMaxFds
                         ? AskClient(*cl, *m, a, fds)
                         : Status::Error(E2BIG, "the file's extents are on too many dax devices");
      for (int x : fds) ::close(x);
      if (asked.ok()) {
        {
          std::lock_guard<std::mutex> l(map_mu_);
          m->dax_extents = std::move(now_mapped);
        }
        (void)RecordDax(m->session, m->pool_guid);
      }
      return asked;
    }();
    if (!s.ok()) SeverDax(pool, *m, s);
  }
  return result;
}

}  // namespace uzfs
