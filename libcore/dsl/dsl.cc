#include "libcore/dsl/dsl.h"

namespace uzfs {
namespace {

constexpr int kMaxDepth = 64;  // dataset nesting bound (cycles in a corrupt MOS)

uint64_t W(const DnodePhys& dn, size_t i) { return Load64(dn.bonus.data() + 8 * i, dn.little); }

}  // namespace

Result<DslDirPhys> DslDirPhys::Decode(const DnodePhys& dn) {
  if (dn.bonustype != kOtDslDir || dn.bonus.size() < 256)
    return Status::Error(ECORRUPT, "not a DSL directory");
  DslDirPhys d;
  d.creation_time = W(dn, 0);
  d.head_dataset_obj = W(dn, 1);
  d.parent_obj = W(dn, 2);
  d.origin_obj = W(dn, 3);
  d.child_dir_zapobj = W(dn, 4);
  d.used_bytes = W(dn, 5);
  d.compressed_bytes = W(dn, 6);
  d.uncompressed_bytes = W(dn, 7);
  d.quota = W(dn, 8);
  d.reserved = W(dn, 9);
  d.props_zapobj = W(dn, 10);
  d.deleg_zapobj = W(dn, 11);
  d.flags = W(dn, 12);
  for (int i = 0; i < 5; i++) d.used_breakdown[i] = W(dn, 13 + i);
  return d;
}

Result<DslDatasetPhys> DslDatasetPhys::Decode(const DnodePhys& dn) {
  if (dn.bonustype != kOtDslDataset || dn.bonus.size() < 320)
    return Status::Error(ECORRUPT, "not a DSL dataset");
  DslDatasetPhys d;
  uint64_t* f[] = {&d.dir_obj,         &d.prev_snap_obj,    &d.prev_snap_txg,
                   &d.next_snap_obj,   &d.snapnames_zapobj, &d.num_children,
                   &d.creation_time,   &d.creation_txg,     &d.deadlist_obj,
                   &d.used_bytes,      &d.compressed_bytes, &d.uncompressed_bytes,
                   &d.unique_bytes,    &d.fsid_guid,        &d.guid,
                   &d.flags};
  for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) *f[i] = W(dn, i);
  d.bp = BlkPtr::Decode(dn.bonus.data() + 128, dn.little);
  d.next_clones_obj = W(dn, 32);
  d.props_obj = W(dn, 33);
  d.userrefs_obj = W(dn, 34);
  return d;
}

Result<std::unique_ptr<DslPool>> DslPool::Open(BlockReader* reader, const BlkPtr& mos_bp,
                                               const std::string& pool_name) {
  std::unique_ptr<DslPool> p(new DslPool);
  p->reader_ = reader;
  p->pool_ = pool_name;
  UZFS_ASSIGN(p->mos_, ObjSet::Open(reader, mos_bp));
  UZFS_ASSIGN(p->objdir_, Zap::Open(*p->mos_, 1));
  return p;
}

Result<DslDirPhys> DslPool::Dir(uint64_t obj) {
  UZFS_ASSIGN(DnodePhys dn, mos_->Dnode(obj));
  return DslDirPhys::Decode(dn);
}

Result<DslDatasetPhys> DslPool::Dataset(uint64_t obj) {
  UZFS_ASSIGN(DnodePhys dn, mos_->Dnode(obj));
  return DslDatasetPhys::Decode(dn);
}

Status DslPool::Walk(uint64_t dir_obj, const std::string& name, int depth,
                     std::vector<DatasetInfo>* out) {
  if (depth > kMaxDepth) return Status::Error(ECORRUPT, "dataset tree too deep at " + name);
  UZFS_ASSIGN(DslDirPhys dd, Dir(dir_obj));
  if (dd.child_dir_zapobj != 0) {
    UZFS_ASSIGN(Zap children, Zap::Open(*mos_, dd.child_dir_zapobj));
    for (const ZapEntry& e : children.entries()) {
      if (!e.name.empty() && e.name[0] == '$') continue;
      UZFS_TRY(Walk(e.first(), name + "/" + e.name, depth + 1, out));
    }
  }
  if (dd.head_dataset_obj == 0) return Status::Ok();
  UZFS_ASSIGN(DslDatasetPhys head, Dataset(dd.head_dataset_obj));
  if (head.snapnames_zapobj != 0) {
    UZFS_ASSIGN(Zap snaps, Zap::Open(*mos_, head.snapnames_zapobj));
    for (const ZapEntry& e : snaps.entries()) {
      DatasetInfo s;
      s.name = name + "@" + e.name;
      s.ds_obj = e.first();
      s.dir_obj = dir_obj;
      s.snapshot = true;
      UZFS_ASSIGN(s.ds, Dataset(s.ds_obj));
      out->push_back(std::move(s));
    }
  }
  DatasetInfo self;
  self.name = name;
  self.ds_obj = dd.head_dataset_obj;
  self.dir_obj = dir_obj;
  self.ds = head;
  out->push_back(std::move(self));
  return Status::Ok();
}

Result<std::vector<DatasetInfo>> DslPool::ListAll() {
  UZFS_ASSIGN(uint64_t root, DirectoryEntry("root_dataset"));
  std::vector<DatasetInfo> out;
  UZFS_TRY(Walk(root, pool_, 0, &out));
  return out;
}

Result<DatasetInfo> DslPool::Resolve(const std::string& name) {
  std::string fs = name.substr(0, name.find('@'));
  std::string snap = name.find('@') == std::string::npos ? "" : name.substr(name.find('@') + 1);
  if (fs.substr(0, fs.find('/')) != pool_)
    return Status::Error(ENOENT, "dataset does not exist");
  UZFS_ASSIGN(uint64_t dir, DirectoryEntry("root_dataset"));
  size_t pos = pool_.size();
  while (pos < fs.size()) {
    size_t next = fs.find('/', pos + 1);
    std::string comp = fs.substr(pos + 1, next == std::string::npos ? std::string::npos : next - pos - 1);
    UZFS_ASSIGN(DslDirPhys dd, Dir(dir));
    if (dd.child_dir_zapobj == 0 || comp.empty()) return Status::Error(ENOENT, "dataset does not exist");
    UZFS_ASSIGN(Zap children, Zap::Open(*mos_, dd.child_dir_zapobj));
    auto child = children.Lookup(comp);
    if (!child.ok()) return Status::Error(ENOENT, "dataset does not exist");
    dir = *child;
    pos = next == std::string::npos ? fs.size() : next;
  }
  UZFS_ASSIGN(DslDirPhys dd, Dir(dir));
  if (dd.head_dataset_obj == 0) return Status::Error(ENOENT, "dataset does not exist");
  DatasetInfo info;
  info.name = name;
  info.dir_obj = dir;
  info.ds_obj = dd.head_dataset_obj;
  UZFS_ASSIGN(info.ds, Dataset(info.ds_obj));
  if (!snap.empty()) {
    if (info.ds.snapnames_zapobj == 0) return Status::Error(ENOENT, "dataset does not exist");
    UZFS_ASSIGN(Zap snaps, Zap::Open(*mos_, info.ds.snapnames_zapobj));
    auto s = snaps.Lookup(snap);
    if (!s.ok()) return Status::Error(ENOENT, "dataset does not exist");
    info.ds_obj = *s;
    info.snapshot = true;
    UZFS_ASSIGN(info.ds, Dataset(info.ds_obj));
  }
  return info;
}

Result<std::unique_ptr<ObjSet>> DslPool::OpenObjset(const DatasetInfo& d) {
  return ObjSet::Open(reader_, d.ds.bp);
}

Result<uint64_t> DslPool::MosUsedBytes() {
  UZFS_ASSIGN(uint64_t root, DirectoryEntry("root_dataset"));
  UZFS_ASSIGN(DslDirPhys rd, Dir(root));
  UZFS_ASSIGN(Zap children, Zap::Open(*mos_, rd.child_dir_zapobj));
  UZFS_ASSIGN(uint64_t mosdir, children.Lookup("$MOS"));
  UZFS_ASSIGN(DslDirPhys md, Dir(mosdir));
  return md.used_bytes;
}

Result<NvList> DslPool::MosConfig() { return MosPackedNvlist("config"); }

Result<NvList> DslPool::MosPackedNvlist(const std::string& entry) {
  UZFS_ASSIGN(uint64_t obj, DirectoryEntry(entry));
  UZFS_ASSIGN(DnodePhys dn, mos_->Dnode(obj));
  if (dn.bonus.size() < 8) return Status::Error(ECORRUPT, entry + " object has no size");
  uint64_t size = Load64(dn.bonus.data(), dn.little);
  UZFS_ASSIGN(Bytes raw, mos_->Read(dn, 0, size));
  if (raw.size() < size) return Status::Error(ECORRUPT, entry + " object shorter than its size");
  return NvList::DecodeXdr(raw);
}

}  // namespace uzfs
