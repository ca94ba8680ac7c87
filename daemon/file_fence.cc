// Fences on DAX extents (file_service.h): zfsd cannot unmap what a client mapped, and a
// process keeps a device-DAX mapping valid until it unmaps it or exits, whether or not its
// socket to zfsd is still there. So once zfsd stops reaching a client that maps DAX extents
// (a revocation it did not answer in time, or failed: Sever; or its session gone without
// unmapping: Drop), every extent it may still map is fenced in the pool
// (Pool::FenceDaxExtents): freed as usual (rollback, truncate, destroy -f), but never handed
// to a new file while that process lives. The library excludes its DAX mappings from fork
// (MADV_DONTFORK), so the process that connected is the only one that can hold them.
// Every extent a client may map is also in the fence book (dax_fence_book.h) before it is
// handed out, so the fences outlive an export of the pool and zfsd itself: a new import
// fences what the book says severed processes still map (ApplyFences).
#include <sys/socket.h>

#include <algorithm>
#include <iterator>
#include <map>

#include <spdlog/spdlog.h>

#include "daemon/file_service.h"
#include "daemon/file_service_types.h"

namespace uzfs {

std::shared_ptr<const FileService::Process> FileService::PeerProcess(int conn_fd) {
  struct ucred cred = {};
  socklen_t len = sizeof cred;
  if (::getsockopt(conn_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.pid <= 0)
    return std::make_shared<Process>();
  auto p = DaxProcess::Open(cred.pid);
  return p ? p : std::make_shared<Process>();
}

Status FileService::RecordDax(uint64_t session, uint64_t guid) {
  if (!book_) return Status::Ok();
  return book_->Update(session, guid, [&]() {
    std::pair<DaxFenceBook::Proc, DaxFenceBook::Extents> now;
    std::lock_guard<std::mutex> l(map_mu_);
    if (auto c = clients_.find(session); c != clients_.end()) now.first = c->second->proc;
    for (auto& [id, m] : maps_)
      if (m->dax && m->session == session && m->pool_guid == guid)
        now.second.insert(m->dax_extents.begin(), m->dax_extents.end());
    return now;
  });
}

void FileService::ApplyFences(Pool& pool) {
  if (!book_) return;
  // Not a structured binding: clang before 16 (the fuzz build) cannot capture one.
  for (const auto& severed : book_->Severed(pool.guid())) {
    const DaxFenceBook::Proc& proc = severed.first;
    const DaxFenceBook::Extents& extents = severed.second;
    spdlog::info("pool {}: fencing {} DAX extents until process {} exits", pool.name(), extents.size(),
                 proc->pid);
    pool.FenceDaxExtents({extents.begin(), extents.end()}, [proc] { return proc->Alive(); });
  }
}

void FileService::FenceSession(Pool& pool, uint64_t session, bool only_live) {
  std::vector<std::pair<uint64_t, uint64_t>> extents;
  std::shared_ptr<const Process> proc;
  {
    std::lock_guard<std::mutex> l(map_mu_);
    if (auto c = clients_.find(session); c != clients_.end()) proc = c->second->proc;
    for (auto& [id, m] : maps_) {
      if (!m->dax || m->session != session || m->pool != pool.name()) continue;
      if (only_live && m->dax_revoked) continue;
      extents.insert(extents.end(), m->dax_extents.begin(), m->dax_extents.end());
      // A writer's extents may stay its file's (a truncate keeps those before the end): the
      // file must move off them before anything shares them (MoveSeveredDax).
      if (m->writable && !m->dax_extents.empty() && (!proc || proc->Alive()))
        dax_moves_.push_back({pool.guid(), m->dax_ds, m->obj, {m->dax_extents.begin(), m->dax_extents.end()},
                              proc && (proc->pidfd >= 0 || proc->pid > 0) ? proc : nullptr});
    }
  }
  if (extents.empty()) return;
  if (!proc || (proc->pidfd < 0 && proc->pid <= 0)) {
    // Nothing to watch: the fence would hold for good. Not expected on Linux (SO_PEERCRED).
    spdlog::warn("session {}: its process is unknown; {} DAX extents it may map are not fenced",
                 session, extents.size());
    return;
  }
  if (!proc->Alive()) return;
  if (book_) {
    // On file first: the fence must outlive an export of the pool and zfsd.
    if (Status s = book_->Sever(proc, pool.guid(), {extents.begin(), extents.end()}); !s.ok())
      spdlog::error("session {}: {}", session, s.ToString());
  }
  spdlog::info("session {}: fencing {} DAX extents of pool {} until process {} exits", session,
               extents.size(), pool.name(), proc->pid);
  pool.FenceDaxExtents(std::move(extents), [proc] { return proc->Alive(); });
}

Status FileService::MoveSeveredDax(Pool& pool, const std::vector<std::string>& fs) {
  std::set<uint64_t> heads;
  for (const std::string& f : fs)
    if (auto h = pool.HeadDatasetObj(f); h.ok()) heads.insert(*h);
  std::vector<DaxMove> todo;
  {
    std::lock_guard<std::mutex> l(map_mu_);
    auto ours = std::stable_partition(dax_moves_.begin(), dax_moves_.end(), [&](const DaxMove& mv) {
      return mv.guid != pool.guid() || (!fs.empty() && !heads.count(mv.ds_obj));
    });
    todo.assign(std::make_move_iterator(ours), std::make_move_iterator(dax_moves_.end()));
    dax_moves_.erase(ours, dax_moves_.end());
  }
  Status result = Status::Ok();
  std::vector<DaxMove> left;
  for (DaxMove& mv : todo) {
    if (mv.proc && !mv.proc->Alive()) continue;  // its mapping is gone, and its fence
    // Only the extents the file still has move; a file gone (ENOENT) or another file on the
    // object (EINVAL: not a DAX file; or none of them) has nothing the client maps.
    Status s = pool.MoveDaxExtents(mv.ds_obj, mv.obj, mv.extents);
    if (s.ok() || s.code() == ENOENT || s.code() == EINVAL) continue;
    spdlog::error("object {} of dataset {}: cannot move a severed DAX client's extents: {}", mv.obj,
                  mv.ds_obj, s.ToString());
    if (result.ok()) result = Status::Error(s.code(), "cannot move a severed DAX client's extents: " + s.message());
    left.push_back(std::move(mv));
  }
  std::lock_guard<std::mutex> l(map_mu_);
  for (DaxMove& mv : left) dax_moves_.push_back(std::move(mv));
  return result;
}

void FileService::SeverDax(Pool& pool, const Mapping& m, const Status& why) {
  FenceSession(pool, m.session, /*only_live=*/false);
  Sever(m, why);
}

}  // namespace uzfs
