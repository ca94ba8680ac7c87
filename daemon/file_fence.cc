// Fences on DAX extents (file_service.h): zfsd cannot unmap what a client mapped, and a
// process keeps a device-DAX mapping valid until it unmaps it or exits, whether or not its
// socket to zfsd is still there. So once zfsd stops reaching a client that maps DAX extents
// (a revocation it did not answer in time, or failed: Sever; or its session gone without
// unmapping: Drop), every extent it may still map is fenced in the pool
// (Pool::FenceDaxExtents): freed as usual (rollback, truncate, destroy -f), but never handed
// to a new file while that process lives. The library excludes its DAX mappings from fork
// (MADV_DONTFORK), so the process that connected is the only one that can hold them.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <map>

#include <spdlog/spdlog.h>

#include "daemon/file_service.h"
#include "daemon/file_service_types.h"

namespace uzfs {

bool FileService::Process::Alive() const {
  if (pidfd >= 0) {
    // A pidfd polls readable once the process has exited.
    struct pollfd p = {pidfd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 0;
  }
  return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
}

std::shared_ptr<const FileService::Process> FileService::PeerProcess(int conn_fd) {
  auto p = std::make_shared<Process>();
  struct ucred cred = {};
  socklen_t len = sizeof cred;
  if (::getsockopt(conn_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.pid <= 0) return p;
  p->pid = cred.pid;
  p->pidfd = static_cast<int>(::syscall(SYS_pidfd_open, cred.pid, 0));
  return p;
}

void FileService::FenceSession(Pool& pool, uint64_t session, bool only_live) {
  std::vector<std::pair<uint64_t, uint64_t>> extents;
  std::shared_ptr<const Process> proc;
  {
    std::lock_guard<std::mutex> l(map_mu_);
    for (auto& [id, m] : maps_) {
      if (!m->dax || m->session != session || m->pool != pool.name()) continue;
      if (only_live && m->dax_revoked) continue;
      extents.insert(extents.end(), m->dax_extents.begin(), m->dax_extents.end());
    }
    if (auto c = clients_.find(session); c != clients_.end()) proc = c->second->proc;
  }
  if (extents.empty()) return;
  if (!proc || (proc->pidfd < 0 && proc->pid <= 0)) {
    // Nothing to watch: the fence would hold for good. Not expected on Linux (SO_PEERCRED).
    spdlog::warn("session {}: its process is unknown; {} DAX extents it may map are not fenced",
                 session, extents.size());
    return;
  }
  if (!proc->Alive()) return;
  spdlog::info("session {}: fencing {} DAX extents of pool {} until process {} exits", session,
               extents.size(), pool.name(), proc->pid);
  pool.FenceDaxExtents(std::move(extents), [proc] { return proc->Alive(); });
}

void FileService::SeverDax(Pool& pool, const Mapping& m, const Status& why) {
  FenceSession(pool, m.session, /*only_live=*/false);
  Sever(m, why);
}

}  // namespace uzfs
