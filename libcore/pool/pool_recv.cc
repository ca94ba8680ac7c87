// zfs receive's pool side (see pool.h): zfs-fuse dmu_send.c's dmu_recv_begin (recv_new_sync:
// a new filesystem flagged DS_FLAG_INCONSISTENT), restore_object / restore_freeobjects /
// restore_write / restore_free over the new objset, dmu_recv_new_end (the snapshot with the
// stream's guid and creation time, the flag cleared), and dsl_destroy_inconsistent at import.
#include <algorithm>
#include <cerrno>

#include "libcore/dsl/dsl_write.h"
#include "libcore/pool/pool.h"
#include "libcore/zpl/zpl_dax.h"

namespace uzfs {

namespace {

constexpr uint64_t kDsFlagInconsistent = 1;        // DS_FLAG_INCONSISTENT
constexpr uint64_t kDsFlagCiDataset = 1ULL << 16;  // DS_FLAG_CI_DATASET
constexpr uint8_t kCompressFunctions = 14;         // ZIO_COMPRESS_FUNCTIONS (v23)
constexpr uint32_t kMaxBonus = 320;                // DN_MAX_BONUSLEN

uint64_t MulClamp(uint64_t a, uint64_t b) {
  unsigned __int128 p = static_cast<unsigned __int128>(a) * b;
  return p > UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(p);
}

Status Bad(const std::string& why) { return Status::Error(EINVAL, "invalid backup stream: " + why); }

}  // namespace

Result<Pool::RecvState> Pool::RecvBegin(const std::string& fs, const std::string& snap,
                                        const DrrRecord& begin, bool force, const std::string& origin) {
  if (begin.ostype != kOstZfs) return Status::Error(ENOTSUP, "only filesystem streams can be received");
  bool exists;
  {
    std::lock_guard<std::mutex> l(mu_);
    exists = ResolveDir(fs).ok();
  }
  if (begin.flags & kDrrFlagClone) {
    // dmu_recv_begin: a clone stream needs its origin, and cannot go into an existing fs.
    if (origin.empty() || exists) return Status::Error(EINVAL, "invalid backup stream");
    return RecvBeginClone(fs, snap, begin, origin);
  }
  if (begin.fromguid || exists) return RecvBeginExisting(fs, snap, begin, force);
  UZFS_TRY(CreateFilesystem(fs, {}));
  UZFS_TRY(Sync());  // the new ZPL skeleton on disk, so that nothing of it is pending below
  RecvState st;
  st.fs = fs;
  st.snap = snap;
  st.begin = begin;
  {
    std::lock_guard<std::mutex> l(mu_);
    UZFS_TRY(ResolveFs(fs, &st.dir, &st.ds_obj));
    DropDatasetLocked(st.ds_obj);  // synced: a fresh writer and ZAP store, no ZPL over them
    UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(*mos_, st.ds_obj));
    ds.flags |= kDsFlagInconsistent;
    if (begin.flags & kDrrFlagCiData) ds.flags |= kDsFlagCiDataset;
    UZFS_TRY(StoreDataset(*mos_, st.ds_obj, ds));
    // An empty objset, as dmu_objset_create_impl leaves it: the skeleton's objects go.
    UZFS_ASSIGN(auto skel, ObjSet::Open(this, ds.bp));
    UZFS_ASSIGN(OpenDataset * od, OpenDatasetObjsetLocked(st.dir, st.ds_obj));
    for (uint64_t obj = 0;;) {
      UZFS_ASSIGN(bool more, skel->NextObject(&obj));
      if (!more) break;
      UZFS_TRY(od->os->FreeObject(obj));
    }
  }
  UZFS_TRY(Sync());  // the flag on disk before any of the stream is (and the frees done)
  return st;
}

Result<Pool::RecvState> Pool::RecvBeginClone(const std::string& fs, const std::string& snap,
                                             const DrrRecord& begin, const std::string& origin) {
  RecvState st;
  st.fs = fs;
  st.snap = snap;
  st.begin = begin;
  {
    // recv_new_check / recv_new_sync with an origin: the clone made and flagged inconsistent
    // in one txg (the objset is the origin's: nothing to empty).
    std::lock_guard<std::mutex> l(mu_);
    UZFS_ASSIGN(DsRef oref, ResolveDataset(origin));
    if (!oref.snapshot) return Status::Error(EINVAL, "invalid backup stream");
    UZFS_ASSIGN(DslDatasetPhys o, LoadDataset(*mos_, oref.ds));
    if (o.guid != begin.fromguid)
      return Status::Error(ENODEV, "most recent snapshot of " + fs + " does not\nmatch incremental source");
    UZFS_TRY(CloneLocked(origin, fs, {}, 0, &st.ds_obj));
    UZFS_TRY(ResolveFs(fs, &st.dir, &st.ds_obj));
    UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(*mos_, st.ds_obj));
    ds.flags |= kDsFlagInconsistent;
    if (begin.flags & kDrrFlagCiData) ds.flags |= kDsFlagCiDataset;
    UZFS_TRY(StoreDataset(*mos_, st.ds_obj, ds));
  }
  UZFS_TRY(Sync());  // the clone and its flag on disk before any of the stream is
  return st;
}

Status Pool::RecvRecord(RecvState& st, const DrrRecord& r, ByteSpan payload) {
  const uint64_t reserve = r.type == kDrrWrite ? r.length : 0;
  if (reserve) dirty_.Throttle([this] { return suspended(); });
  StepAsideForSync();
  Status s = [&]() -> Status {
    std::lock_guard<std::mutex> l(mu_);
    if (!failed_.ok()) return failed_;
    UZFS_TRY(ReserveLocked(st.dir, st.ds_obj, reserve));
    UZFS_ASSIGN(OpenDataset * od, OpenDatasetObjsetLocked(st.dir, st.ds_obj));
    ObjsetWriter& os = *od->os;
    switch (r.type) {
      case kDrrObject: {  // restore_object
        // A DAX file (its znode's flags) has 2 MiB blocks, its extents (zpl_dax.h).
        const bool dax = r.obj_type == kOtPlainFileContents && r.bonustype == kOtZnode &&
                         r.bonuslen >= kZnodeFlagsOff + 8 && payload.size() >= kZnodeFlagsOff + 8 &&
                         (LoadLE64(payload.data() + kZnodeFlagsOff) & kFlagDaxFile);
        if (r.obj_type == kOtNone || r.obj_type >= kOtNumTypes || r.bonustype >= kOtNumTypes ||
            r.checksumtype >= static_cast<uint8_t>(ChecksumId::kFunctions) ||
            r.compress >= kCompressFunctions || r.blksz % 512 || r.blksz < 512 ||
            r.blksz > (dax ? kDaxExtentSize : kSpaMaxBlockSize) || r.bonuslen > kMaxBonus || r.object == 0)
          return Bad("bad object record");
        // dmu_object_reclaim: an object of the same type, block size and bonus layout keeps
        // its blocks (the stream sends only those born since its source); any other is
        // made anew.
        auto cur = os.Dnode(r.object);
        bool keep = cur.ok() && (*cur)->type == r.obj_type && (*cur)->datablksz() == r.blksz &&
                    (*cur)->bonustype == r.bonustype && (*cur)->bonuslen == r.bonuslen;
        if (cur.ok() && !keep) UZFS_TRY(os.FreeObject(r.object));
        if (!keep) {
          // A DAX file's extent-sized blocks are set after, as the ZPL creates one.
          auto got = os.Allocate(static_cast<uint8_t>(r.obj_type), dax ? 512 : r.blksz,
                                 static_cast<uint8_t>(r.bonustype), static_cast<uint16_t>(r.bonuslen),
                                 r.object);
          if (!got.ok() || *got != r.object) return Bad("object " + std::to_string(r.object) + " in use");
          if (dax) UZFS_TRY(os.SetBlockSize(r.object, r.blksz));
        }
        UZFS_TRY(os.SetChecksumCompress(r.object, r.checksumtype, r.compress));
        if (r.bonuslen) UZFS_TRY(os.SetBonus(r.object, payload.first(r.bonuslen)));
        // A file's ARC segment sized once to the znode's size (zp_size at 80), not grown by
        // every WRITE after it (as the ZPL tells it before its writes).
        // (Not a DAX file's: its data is on the dax class, never in the ARC.)
        if (r.obj_type == kOtPlainFileContents && r.bonustype == kOtZnode && r.bonuslen >= 88 && !dax)
          UZFS_TRY(os.NoteFileSize(r.object, LoadLE64(payload.data() + 80)));
        st.max_obj = std::max(st.max_obj, r.object);
        return Status::Ok();
      }
      case kDrrFreeObjects: {  // restore_freeobjects
        if (r.object + r.length < r.object) return Bad("bad freeobjects record");
        // Objects past the meta-dnode's blocks are free already.
        UZFS_ASSIGN(const DnodePhys* meta, os.Dnode(0));
        uint64_t nobj = MulClamp(meta->maxblkid + 1, meta->datablksz()) >> kDnodeShift;
        uint64_t end = std::min({r.object + r.length, std::max(nobj, st.max_obj + 1)});
        for (uint64_t obj = std::max<uint64_t>(r.object, 1); obj < end; obj++)
          if (os.Dnode(obj).ok()) UZFS_TRY(os.FreeObject(obj));
        return Status::Ok();
      }
      case kDrrWrite: {  // restore_write
        if (r.offset + r.length < r.offset || r.obj_type >= kOtNumTypes) return Bad("bad write record");
        if (!os.Dnode(r.object).ok()) return Bad("write to a free object");
        UZFS_ASSIGN(bool dax, RecvIsDaxFileLocked(*od, r.object));
        if (dax) return RecvDaxWriteLocked(*od, r.object, r.offset, payload);
        return os.Write(r.object, r.offset, payload);
      }
      case kDrrFree: {  // restore_free
        if (r.length != ~0ULL && r.offset + r.length < r.offset) return Bad("bad free record");
        if (!os.Dnode(r.object).ok()) return Bad("free of a free object");
        UZFS_ASSIGN(uint64_t len, os.Length(r.object));
        if (r.offset >= len) return Status::Ok();
        UZFS_ASSIGN(bool dax, RecvIsDaxFileLocked(*od, r.object));
        if (r.length == ~0ULL || r.offset + r.length >= len)
          return dax ? RecvDaxTruncateLocked(*od, r.object, r.offset) : os.Truncate(r.object, r.offset);
        if (dax) {  // zeros written where the extents are; holes stay holes
          for (uint64_t b = r.offset / kDaxExtentSize; b * kDaxExtentSize < r.offset + r.length; b++) {
            UZFS_ASSIGN(BlkPtr bp, os.BlockPointer(r.object, b));
            if (bp.is_hole()) continue;
            uint64_t from = std::max(b * kDaxExtentSize, r.offset);
            uint64_t to = std::min((b + 1) * kDaxExtentSize, r.offset + r.length);
            UZFS_TRY(RecvDaxWriteLocked(*od, r.object, from, Bytes(to - from, 0)));
          }
          return Status::Ok();
        }
        // A range inside the object: dmu_free_range punches it (whole blocks become holes,
        // taking no space, as on the sender).
        return os.FreeInside(r.object, r.offset, r.length);
      }
      default:
        return Bad("unexpected record type " + std::to_string(r.type));
    }
  }();
  if (reserve) dirty_.NoteDirty();
  return s;
}

Status Pool::RecvWriteByref(RecvState& st, const DrrRecord& r, const std::string& refsnap) {
  if (r.offset + r.length < r.offset || r.refoffset + r.length < r.refoffset ||
      r.length > kSpaMaxBlockSize)
    return Bad("bad write_byref record");
  Bytes data;
  {
    // The referenced snapshot cannot go while the lock is held (dmu_buf_hold on it).
    std::lock_guard<std::mutex> l(mu_);
    if (!failed_.ok()) return failed_;
    if (refsnap.empty()) {
      UZFS_ASSIGN(OpenDataset * od, OpenDatasetObjsetLocked(st.dir, st.ds_obj));
      if (!od->os->Dnode(r.refobject).ok()) return Bad("reference to a free object");
      UZFS_ASSIGN(data, od->os->Read(r.refobject, r.refoffset, r.length));
    } else {
      UZFS_ASSIGN(DsRef ref, ResolveDataset(refsnap));
      UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(*mos_, ref.ds));
      UZFS_ASSIGN(auto os, ObjSet::Open(this, ds.bp));
      auto dn = os->Dnode(r.refobject);
      if (!dn.ok()) return Bad("reference to a free object");
      UZFS_ASSIGN(data, os->Read(*dn, r.refoffset, r.length));
    }
  }
  if (data.size() != r.length) data.resize(r.length, 0);
  DrrRecord w = r;
  w.type = kDrrWrite;
  w.obj_type = 0;
  return RecvRecord(st, w, data);
}

Status Pool::RecvEnd(RecvState& st) {
  if (st.existing) return RecvEndExisting(st);
  UZFS_TRY(Sync());
  {
    std::lock_guard<std::mutex> l(mu_);
    DropDatasetLocked(st.ds_obj);  // synced; the ZPL opens over what the stream made
  }
  UZFS_TRY(Snapshot({st.fs + "@" + st.snap}));
  {
    std::lock_guard<std::mutex> l(mu_);
    UZFS_ASSIGN(DsRef ref, ResolveDataset(st.fs + "@" + st.snap));
    UZFS_ASSIGN(DslDatasetPhys snap, LoadDataset(*mos_, ref.ds));
    snap.creation_time = st.begin.creation_time;
    snap.guid = st.begin.toguid;
    snap.flags &= ~kDsFlagInconsistent;
    UZFS_TRY(StoreDataset(*mos_, ref.ds, snap));
    UZFS_ASSIGN(DslDatasetPhys head, LoadDataset(*mos_, st.ds_obj));
    head.flags &= ~kDsFlagInconsistent;
    UZFS_TRY(StoreDataset(*mos_, st.ds_obj, head));
  }
  return Sync();
}

Status Pool::RecvAbort(RecvState& st) {
  UZFS_TRY(DestroyFilesystem(st.existing ? st.fs + "/%" + st.snap : st.fs));
  return Sync();
}

Status Pool::DestroyInconsistent() {
  if (readonly_) return Status::Ok();
  std::vector<std::string> doomed;
  {
    UZFS_ASSIGN(auto all, Datasets(true));
    std::lock_guard<std::mutex> l(mu_);
    for (const DsEntry& e : all) {
      if (e.snapshot) continue;
      auto ref = ResolveDataset(e.name);
      if (!ref.ok()) continue;
      UZFS_ASSIGN(DslDatasetPhys ds, LoadDataset(*mos_, ref->ds));
      if (ds.flags & kDsFlagInconsistent) doomed.push_back(e.name);
    }
  }
  // Children first (Datasets lists them after their parents).
  for (auto it = doomed.rbegin(); it != doomed.rend(); ++it) UZFS_TRY(DestroyFilesystem(*it));
  return doomed.empty() ? Status::Ok() : Sync();
}

}  // namespace uzfs
