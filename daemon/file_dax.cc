// Mappings of DAX files (libcore/zpl/zpl_dax.h) for libzfs's uzfs_mmap: the client maps the
// persistent memory itself, so a store reaches the device without zfsd, the ARC or a page
// cache. Phase 1 places the extents the mapping covers and syncs their placement
// (Pool::MapDaxFile), then sends the dax devices' descriptors (read-only for a read-only
// mapping) and the extent map; the client maps each extent at its place in one reserved
// range. Phase 2 (file_service.cc) records the address; unmapping releases the file's hold.
// The FUSE mount's cache of the file (shared mmap(2) through the mount) is dropped when a
// mapping is made and when a writable one goes (docs/design.md section 9).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "daemon/file_service.h"
#include "daemon/file_service_types.h"
#include "libzfs/proto.h"

namespace uzfs {

Status FileService::MmapDax(const Caller& c, const std::shared_ptr<Client>& cl,
                            const std::string& pool, const std::string& fs, uint64_t obj,
                            uint64_t off, uint64_t len, bool writable, NvList* out) {
  // The mount's page cache of the file (its mmap(2)s, fuse_ops_file.cc) goes first: dirty
  // pages are written back into the extents (launder) before the client can store there,
  // and whatever it stores is read anew. Not under the pool lock: the write-back is a FUSE
  // WRITE that takes it.
  mounts_->Invalidate(fs, obj, 0, 0);
  Pool::DaxMap dm;
  uint64_t size = 0, guid = 0;
  UZFS_TRY(pools_->With(pool, [&](Pool& p) -> Status {
    guid = p.guid();
    UZFS_ASSIGN(dm, p.MapDaxFile(fs, obj, off, len));
    return Status::Ok();
  }));
  auto release = [&]() {
    (void)pools_->With(pool, [&](Pool& p) {
      p.UnmapDaxFile(dm.ds_obj, obj);
      return Status::Ok();
    });
  };
  if (!dm.extents.empty()) size = dm.extents.back().file_off + kDaxExtentSize;
  std::vector<int> fds;
  for (const std::string& dev : dm.devices) {
    int fd = ::open(dev.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) {
      int e = errno;
      for (int x : fds) ::close(x);
      release();
      return Status::Error(e, "cannot open dax device " + dev);
    }
    fds.push_back(fd);
  }
  auto m = std::make_shared<Mapping>();
  m->session = cl->session;
  m->conn_fd = cl->conn_fd;
  m->pool = pool;
  m->fs = fs;
  m->obj = obj;
  m->file_off = off;
  m->len = len;
  m->writable = writable;
  m->dax = true;
  m->dax_ds = dm.ds_obj;
  m->pool_guid = guid;
  for (const Pool::DaxExtent& e : dm.extents) m->dax_extents.push_back({e.vdev, e.dva_off});
  {
    std::lock_guard<std::mutex> l(map_mu_);
    m->id = next_map_++;
    maps_[m->id] = m;
  }
  // On file before the client can map anything: zfsd may die the moment it answers, and
  // the next one must still know this process may store into these extents.
  if (Status s = RecordDax(cl->session, guid); !s.ok()) {
    for (int x : fds) ::close(x);
    RemoveMapping(m);
    return s;
  }
  // The client's revoke channel goes with its first DAX mapping (file_revoke.cc); without
  // room for it among the descriptors the mapping has none: a revocation severs it.
  int channel = -1;
  if (fds.size() < proto::kMaxFds) {
    auto ch = RevokeChannel(*cl);
    if (!ch.ok()) {
      for (int x : fds) ::close(x);
      RemoveMapping(m);
      return ch.status();
    }
    channel = *ch;
  }
  for (int fd : fds) c.session->fds_out.push_back(fd);
  if (channel >= 0) {
    c.session->fds_out.push_back(channel);
    out->AddBooleanValue("revoke_channel", true);
  }
  // extents: (file offset, device index, device offset) triples; emulated: per device.
  std::vector<uint64_t> ext;
  for (const Pool::DaxExtent& e : dm.extents) {
    ext.push_back(e.file_off);
    ext.push_back(e.device);
    ext.push_back(e.dev_off);
  }
  std::vector<uint64_t> emulated(dm.emulated.begin(), dm.emulated.end());
  out->AddUint64("map", m->id);
  out->AddUint64("size", size);
  out->AddBooleanValue("dax", true);
  out->AddUint64("extent_size", kDaxExtentSize);
  out->AddUint64Array("extents", std::move(ext));
  out->AddUint64Array("emulated", std::move(emulated));
  return Status::Ok();
}

}  // namespace uzfs
