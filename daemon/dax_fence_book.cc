// The book of DAX fences (dax_fence_book.h). The file is an XDR nvlist {version 1,
// records: [{guid, pid, start, extents: [vdev, offset, ...]}]}, one record per pool and
// process (live and severed entries alike: a zfsd that reads it knows no sessions).
#include "daemon/dax_fence_book.h"

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <tuple>

#include <spdlog/spdlog.h>

#include "libcore/base/env_file.h"
#include "libcore/base/nvlist.h"

namespace uzfs {

namespace {
constexpr uint64_t kBookVersion = 1;
}  // namespace

DaxProcess::~DaxProcess() {
  if (pidfd >= 0) ::close(pidfd);
}

bool DaxProcess::Alive() const {
  if (pidfd >= 0) {
    // A pidfd polls readable once the process has exited.
    struct pollfd p = {pidfd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 0;
  }
  if (pid <= 0 || (::kill(pid, 0) != 0 && errno != EPERM)) return false;
  return start == 0 || StartTime(pid) == start;
}

uint64_t DaxProcess::StartTime(pid_t pid) {
  // Process introspection, not storage I/O: read straight from procfs.
  std::string path = "/proc/" + std::to_string(pid) + "/stat";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  // The command (field 2) is in parentheses and may hold spaces or ')': fields 3 on follow
  // the last ')'.
  std::string s(buf, static_cast<size_t>(n));
  size_t at = s.rfind(')');
  if (at == std::string::npos) return 0;
  const char* p = s.c_str() + at + 1;
  for (int field = 3; field < 22; field++) {
    while (*p == ' ') p++;
    while (*p && *p != ' ') p++;
  }
  return std::strtoull(p, nullptr, 10);
}

std::shared_ptr<const DaxProcess> DaxProcess::Open(pid_t pid, uint64_t start) {
  if (pid <= 0) return nullptr;
  auto p = std::make_shared<DaxProcess>();
  p->pid = pid;
  // The pidfd first, then the start time: if the process that started at `start` is still
  // pid after the pidfd exists, the pidfd is that process (a live process's pid is not
  // reused).
  p->pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  const uint64_t now = StartTime(pid);
  if (now == 0 || (start != 0 && now != start)) return nullptr;
  p->start = now;
  return p;
}

Status DaxFenceBook::Load() {
  std::lock_guard<std::mutex> l(mu_);
  auto f = env_->Open(path_, {});
  if (!f.ok()) {
    if (f.status().code() == ENOENT) return Status::Ok();
    return f.status();
  }
  UZFS_ASSIGN(uint64_t size, (*f)->Size());
  Bytes data(size);
  UZFS_TRY((*f)->ReadAt(0, data));
  auto nv = NvList::DecodeXdr(data);
  if (!nv.ok()) return Status::Error(nv.status().code(), path_ + ": " + nv.status().message());
  if (nv->GetUint64("version").value_or(0) != kBookVersion)
    return Status::Error(ENOTSUP, path_ + ": not a DAX fence file of this version");
  if (const auto* recs = nv->GetNvListArray("records")) {
    for (const NvList& r : *recs) {
      const auto* ext = r.GetUint64Array("extents");
      const uint64_t pid = r.GetUint64("pid").value_or(0), start = r.GetUint64("start").value_or(0);
      if (!ext || ext->size() % 2 || pid == 0 || start == 0) continue;
      Proc proc = DaxProcess::Open(static_cast<pid_t>(pid), start);
      if (!proc) continue;  // exited, or another process under its pid: nothing to fence
      Extents e;
      for (size_t i = 0; i < ext->size(); i += 2) e.insert({(*ext)[i], (*ext)[i + 1]});
      spdlog::info("process {} may still map {} DAX extents of pool guid {:x}: fenced until it exits",
                   pid, e.size(), r.GetUint64("guid").value_or(0));
      SeverLocked(proc, r.GetUint64("guid").value_or(0), e);
    }
  }
  return SaveLocked();
}

Status DaxFenceBook::Update(uint64_t session, uint64_t guid,
                            const std::function<std::pair<Proc, Extents>()>& now) {
  std::lock_guard<std::mutex> l(mu_);
  auto [proc, extents] = now();
  auto key = std::make_pair(session, guid);
  auto it = live_.find(key);
  if (extents.empty() || !proc) {
    if (it == live_.end()) return Status::Ok();
    live_.erase(it);
  } else {
    if (it != live_.end() && it->second.extents == extents) return Status::Ok();
    live_[key] = Entry{proc, guid, std::move(extents)};
  }
  return SaveLocked();
}

Status DaxFenceBook::Sever(const Proc& proc, uint64_t guid, const Extents& extents) {
  std::lock_guard<std::mutex> l(mu_);
  SeverLocked(proc, guid, extents);
  return SaveLocked();
}

void DaxFenceBook::SeverLocked(const Proc& proc, uint64_t guid, const Extents& extents) {
  for (Entry& e : severed_) {
    if (e.guid == guid && e.proc->pid == proc->pid && e.proc->start == proc->start) {
      e.extents.insert(extents.begin(), extents.end());
      return;
    }
  }
  severed_.push_back({proc, guid, extents});
}

std::vector<std::pair<DaxFenceBook::Proc, DaxFenceBook::Extents>> DaxFenceBook::Severed(uint64_t guid) {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::pair<Proc, Extents>> out;
  for (const Entry& e : severed_)
    if (e.guid == guid && e.proc->Alive()) out.push_back({e.proc, e.extents});
  return out;
}

Status DaxFenceBook::SaveLocked() {
  std::erase_if(severed_, [](const Entry& e) { return !e.proc->Alive(); });
  // One record per (pool, process): a live session's extents and a severed one's merged.
  std::map<std::tuple<uint64_t, pid_t, uint64_t>, Extents> recs;
  for (const Entry& e : severed_) recs[{e.guid, e.proc->pid, e.proc->start}].insert(e.extents.begin(), e.extents.end());
  for (const auto& [k, e] : live_)
    if (e.proc->Alive()) recs[{e.guid, e.proc->pid, e.proc->start}].insert(e.extents.begin(), e.extents.end());
  std::vector<NvList> list;
  for (const auto& [k, ext] : recs) {
    NvList r;
    r.AddUint64("guid", std::get<0>(k));
    r.AddUint64("pid", static_cast<uint64_t>(std::get<1>(k)));
    r.AddUint64("start", std::get<2>(k));
    std::vector<uint64_t> flat;
    for (const auto& [vdev, off] : ext) {
      flat.push_back(vdev);
      flat.push_back(off);
    }
    r.AddUint64Array("extents", std::move(flat));
    list.push_back(std::move(r));
  }
  NvList nv;
  nv.AddUint64("version", kBookVersion);
  nv.AddNvListArray("records", std::move(list));
  const Bytes data = nv.EncodeXdr();
  // Written whole under another name, then renamed over the book: a zfsd killed meanwhile
  // leaves the previous book, never half of one.
  if (Status s = WriteFileAtomically(env_, path_, data); !s.ok())
    return Status::Error(s.code(), "cannot write the DAX fence file " + path_ + ": " + s.message());
  return Status::Ok();
}

}  // namespace uzfs
