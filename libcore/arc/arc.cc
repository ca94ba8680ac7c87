// The ARC (arc.h has the model). Theory of operation, as this file implements it:
//
// Every cached thing is a header (Hdr): a data unit (object key + page-aligned offset, bytes in
// the object's memfd) or a metadata block (ArcMetaKey, bytes in the header). A header is in
// exactly one of four lists, most recently used at the front:
//   MRU (seen once), MFU (seen at least twice), MRU ghost, MFU ghost.
// Ghosts hold a key and a size and no data: they remember what was evicted recently.
//
// Sizes are bytes, as OpenZFS arc.c adapts Megiddo & Modha's ARC to variable-sized buffers:
// - A miss inserts at the front of MRU. A hit in MRU moves the header to MFU (its second
//   access), a hit in MFU moves it to MFU's front. (OpenZFS waits ARC_MINTIME before
//   promoting; we promote on the second access, as the paper does.)
// - A miss that finds a ghost is a ghost hit: the target p of MRU moves (arc_adapt):
//   MRU-ghost hit: p += max(1, mfu_ghost / mru_ghost) * size   (MRU was too small)
//   MFU-ghost hit: p -= max(1, mru_ghost / mfu_ghost) * size   (MFU was too small)
//   clipped to [0, c]; the ghost sizes are taken before the hit ghost leaves its list. The
//   unit comes back into MFU (it has been seen twice).
// - After every insertion the ARC evicts until mru + mfu <= c: from MRU's tail while
//   mru > p, else from MFU's tail (the other list when the chosen one has nothing
//   evictable). Held headers are skipped. An evicted data unit's pages are punched out of the
//   memfd (FALLOC_FL_PUNCH_HOLE: every mapping loses them at once); the header becomes a ghost
//   of its list. Then ghosts are trimmed from their tails so that mru + mru_ghost <= c and
//   the four lists together <= 2c (the paper's L1 <= c and L1 + L2 <= 2c).
// - c = c_max (there is no memory-pressure feedback yet; SetMax changes it at run time).
//
// Data units and segments: a segment is a memfd whose size is the file's size rounded up to a
// page; it only changes size by Segment() and Resize(). Insertion pwrites the unit clipped to
// the segment's size (so a unit straddling the end of the file counts only its pages inside),
// never extending the memfd. Bytes past the file's exact size in its last page are kept zero
// (Resize zeroes them whenever the size changes), as a kernel file system does on truncate
// and extension.
//
// Fills: a miss registers the unit in `filling`, drops the lock and calls the Filler; other
// readers of the same unit wait for it (no double fill). An Update, Resize or Drop that meets
// a fill in flight marks it stale, and a stale fill's bytes are returned to its reader but not
// cached (they may predate the change).
//
// Segments: one memfd per object costs one descriptor; an eviction that leaves a segment with
// no cached unit and no holder outside the ARC (a client mapping, a reader under way) closes
// it. Its ghosts stay, and the next Segment() call makes a new, empty memfd.
//
// Reader holds (HoldForRead): a reply that splices a unit's pages from the memfd holds it
// (holds++, so it is not evicted) and counts itself in `reading` per object; ForgetUnits
// waits until no reader holds a unit of the object before it punches the segment. A hold's
// token is the header's id, new whenever the unit becomes live, so a token outliving its
// unit (truncated or dropped meanwhile) releases nothing of a newer one.
//
// Locking: one mutex (mu) guards everything; memfd I/O of hits and evictions happens under it
// (a memcpy of one unit, or a punch). Fills never do: not the Filler's read, nor the write of
// its bytes into the memfd (InsertUnit, the unit still in `filling`; published under mu after).
// Against such a write (`writing`, write_done): Update and drops mark the fill stale, and its
// pages are punched again (Update waits for that: no mapping sees them after the write);
// Resize and ForgetUnits wait for the object's writes before they change the memfd.
#include "libcore/arc/arc.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <list>
#include <map>
#include <mutex>
#include <string>

namespace uzfs {

namespace {

constexpr uint64_t kMinCMin = 16ULL << 20;
constexpr uint64_t kMinDefaultMax = 64ULL << 20;

uint64_t RoundPage(uint64_t x) { return P2RoundUp(x, kArcPageSize); }

uint64_t CMinFor(uint64_t c_max) { return std::min(c_max, std::max(c_max / 32, kMinCMin)); }

Status Errno(const char* what) {
  int e = errno;
  return Status::Error(e ? e : EIO, std::string("arc: ") + what);
}

// Full pwrite/pread (memfds rarely return short counts, but EINTR and partial I/O are legal).
Status PwriteAll(int fd, const uint8_t* p, uint64_t n, uint64_t off) {
  while (n) {
    ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(off));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return Errno("pwrite to segment");
    p += w;
    n -= static_cast<uint64_t>(w);
    off += static_cast<uint64_t>(w);
  }
  return Status::Ok();
}

// Reads up to n bytes; bytes past the memfd's end read as zeros.
Status PreadZeroFill(int fd, uint8_t* p, uint64_t n, uint64_t off) {
  while (n) {
    ssize_t r = ::pread(fd, p, n, static_cast<off_t>(off));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Errno("pread from segment");
    if (r == 0) {
      std::memset(p, 0, n);
      return Status::Ok();
    }
    p += r;
    n -= static_cast<uint64_t>(r);
    off += static_cast<uint64_t>(r);
  }
  return Status::Ok();
}

Status ZeroRange(int fd, uint64_t off, uint64_t n) {
  Bytes z(n, 0);
  return PwriteAll(fd, z.data(), n, off);
}

enum State : int { kMru = 0, kMfu = 1, kMruGhost = 2, kMfuGhost = 3, kNumStates = 4 };

bool Live(int s) { return s == kMru || s == kMfu; }

struct UnitKey {
  ArcObjKey obj;
  uint64_t off = 0;
  auto operator<=>(const UnitKey&) const = default;
};

class SegmentImpl : public ArcSegment {
 public:
  SegmentImpl(int fd, const ArcObjKey& k, uint64_t exact)
      : fd_(fd), key_(k), size_(RoundPage(exact)), exact_(exact) {}
  ~SegmentImpl() override { ::close(fd_); }
  int fd() const override { return fd_; }
  const ArcObjKey& key() const override { return key_; }
  uint64_t size() const override { return size_.load(std::memory_order_relaxed); }
  uint64_t ResidentBytes() const override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return 0;
    return static_cast<uint64_t>(st.st_blocks) * 512;
  }

  // Under the ARC's mutex.
  void set_size(uint64_t exact) {
    exact_ = exact;
    size_.store(RoundPage(exact), std::memory_order_relaxed);
  }
  uint64_t exact() const { return exact_; }
  uint64_t live = 0;  // live units (guarded by the ARC's mutex)

 private:
  int fd_;
  ArcObjKey key_;
  std::atomic<uint64_t> size_;
  uint64_t exact_;  // the file size last given (guarded by the ARC's mutex)
};

}  // namespace

struct Arc::Impl {
  struct Hdr {
    bool meta = false;
    UnitKey unit;       // data
    ArcMetaKey mkey;    // metadata
    uint64_t len = 0;   // data: the unit's length
    uint64_t size = 0;  // accounted bytes (data: the unit clipped to its segment)
    int state = kMru;
    std::list<Hdr*>::iterator pos;
    uint32_t holds = 0;
    uint64_t id = 0;  // data: changes whenever the unit becomes live (a reader's hold token)
    Bytes data;  // metadata bytes (live metadata only)
  };
  struct Fill {
    bool stale = false;
  };

  std::mutex mu;
  std::condition_variable filled;  // a fill finished
  uint64_t c = 0, c_min = 0, c_max = 0, p = 0;
  std::list<Hdr*> lists[kNumStates];
  uint64_t lsize[kNumStates] = {0, 0, 0, 0};
  uint64_t data_size = 0, meta_size = 0;
  std::map<UnitKey, std::unique_ptr<Hdr>> units;
  std::map<ArcMetaKey, std::unique_ptr<Hdr>> metas;
  std::map<ArcObjKey, std::shared_ptr<SegmentImpl>> segs;
  std::map<UnitKey, std::shared_ptr<Fill>> filling;
  std::map<ArcObjKey, uint64_t> reading;  // reader holds (HoldForRead) per object
  std::condition_variable read_done;      // an object's last reader hold went
  std::map<ArcObjKey, uint64_t> writing;  // fills writing into an object's memfd without mu
  std::condition_variable write_done;     // an object's last such write finished
  uint64_t next_id = 0;
  int64_t mapped = 0;
  uint64_t data_hits = 0, data_misses = 0, meta_hits = 0, meta_misses = 0;
  uint64_t mru_hits = 0, mfu_hits = 0, mru_ghost_hits = 0, mfu_ghost_hits = 0;
  uint64_t evictions = 0, evicted_bytes = 0;

  // ---- list primitives (under mu) ----
  void Link(Hdr* h, int state) {
    h->state = state;
    lists[state].push_front(h);
    h->pos = lists[state].begin();
    lsize[state] += h->size;
    if (Live(state)) {
      (h->meta ? meta_size : data_size) += h->size;
      if (!h->meta)
        if (SegmentImpl* s = Seg(h->unit.obj)) s->live++;
    }
  }
  void Unlink(Hdr* h) {
    lists[h->state].erase(h->pos);
    lsize[h->state] -= h->size;
    if (Live(h->state)) {
      (h->meta ? meta_size : data_size) -= h->size;
      if (!h->meta)
        if (SegmentImpl* s = Seg(h->unit.obj); s && s->live) s->live--;
    }
  }
  void Move(Hdr* h, int state) {
    Unlink(h);
    Link(h, state);
  }
  // Changes a linked header's accounted size.
  void Resize(Hdr* h, uint64_t size) {
    lsize[h->state] = lsize[h->state] - h->size + size;
    if (Live(h->state)) {
      uint64_t& kind = h->meta ? meta_size : data_size;
      kind = kind - h->size + size;
    }
    h->size = size;
  }
  uint64_t Size() const { return lsize[kMru] + lsize[kMfu]; }

  SegmentImpl* Seg(const ArcObjKey& k) {
    auto it = segs.find(k);
    return it == segs.end() ? nullptr : it->second.get();
  }
  Hdr* Unit(const UnitKey& k) {
    auto it = units.find(k);
    return it == units.end() ? nullptr : it->second.get();
  }
  // The live unit of object k covering byte x, if any.
  Hdr* LiveUnitAt(const ArcObjKey& k, uint64_t x) {
    auto it = units.upper_bound(UnitKey{k, x});
    if (it == units.begin()) return nullptr;
    --it;
    Hdr* h = it->second.get();
    if (h->unit.obj != k || !Live(h->state) || h->unit.off + h->len <= x) return nullptr;
    return h;
  }

  // Removes a header from its list and index. A data unit's pages are left alone: the
  // callers drop or truncate them, or let them go with the memfd.
  void Destroy(Hdr* h) {
    Unlink(h);
    if (!h->meta) units.erase(h->unit);
    else metas.erase(h->mkey);
  }

  // ---- ARC policy (under mu) ----
  void Hit(Hdr* h) {
    (h->state == kMru ? mru_hits : mfu_hits)++;
    (h->meta ? meta_hits : data_hits)++;
    Move(h, kMfu);  // MRU → MFU on the second access; MFU → MFU's front
  }

  // arc_adapt on a ghost hit of `size` bytes.
  void Adapt(int ghost_state, uint64_t size) {
    if (ghost_state == kMruGhost) {
      mru_ghost_hits++;
      uint64_t mult = std::max<uint64_t>(1, lsize[kMfuGhost] / std::max<uint64_t>(1, lsize[kMruGhost]));
      uint64_t delta = mult * size;
      p = delta >= c - std::min(p, c) ? c : p + delta;
    } else {
      mfu_ghost_hits++;
      uint64_t mult = std::max<uint64_t>(1, lsize[kMruGhost] / std::max<uint64_t>(1, lsize[kMfuGhost]));
      uint64_t delta = mult * size;
      p = delta >= p ? 0 : p - delta;
    }
  }

  // The least recently used evictable header of a live list, or nullptr.
  Hdr* Victim(int state) {
    for (auto it = lists[state].rbegin(); it != lists[state].rend(); ++it)
      if ((*it)->holds == 0) return *it;
    return nullptr;
  }

  void EvictOne(Hdr* h) {
    evictions++;
    evicted_bytes += h->size;
    if (h->meta) {
      Bytes().swap(h->data);
    } else if (SegmentImpl* s = Seg(h->unit.obj); s && h->size) {
      (void)::fallocate(s->fd(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                        static_cast<off_t>(h->unit.off), static_cast<off_t>(h->size));
    }
    Move(h, h->state == kMru ? kMruGhost : kMfuGhost);
    if (!h->meta) {
      // A segment left without cached units that nobody outside holds costs only a
      // descriptor: close it (its ghosts stay; the next read makes a new memfd).
      auto it = segs.find(h->unit.obj);
      if (it != segs.end() && it->second->live == 0 && it->second.use_count() == 1) segs.erase(it);
    }
  }

  // Evicts down to c, then trims the ghosts (see the top of the file).
  void Evict() {
    while (Size() > c) {
      int first = lsize[kMru] > p ? kMru : kMfu;
      Hdr* v = Victim(first);
      if (!v) v = Victim(first == kMru ? kMfu : kMru);
      if (!v) break;  // only held bytes left
      EvictOne(v);
    }
    while (lsize[kMru] + lsize[kMruGhost] > c && !lists[kMruGhost].empty())
      Destroy(lists[kMruGhost].back());
    while (Size() + lsize[kMruGhost] + lsize[kMfuGhost] > 2 * c) {
      int g = !lists[kMfuGhost].empty() ? kMfuGhost : kMruGhost;
      if (lists[g].empty()) break;
      Destroy(lists[g].back());
    }
  }

  // Brings a data unit in (len bytes) after fill f, under l, f still in `filling`. The memfd
  // write (a page allocation per 4 KiB) drops l: see Locking at the top. (arc_buf_fill, too,
  // copies outside the hash lock.)
  void InsertUnit(std::unique_lock<std::mutex>& l, const UnitKey& k, uint64_t len, ByteSpan bytes,
                  const std::shared_ptr<Fill>& f) {
    auto sit = segs.find(k.obj);
    if (sit == segs.end() || k.off >= sit->second->size() || f->stale) return;
    std::shared_ptr<SegmentImpl> s = sit->second;  // keeps the memfd open across the write
    uint64_t clip = std::min(len, s->size() - k.off);
    Hdr* h = Unit(k);
    if (h && Live(h->state)) return;  // someone else brought it in
    writing[k.obj]++;
    l.unlock();
    bool wrote = PwriteAll(s->fd(), bytes.data(), clip, k.off).ok();
    l.lock();
    if (auto w = writing.find(k.obj); w != writing.end() && --w->second == 0) {
      writing.erase(w);
      write_done.notify_all();
    }
    h = Unit(k);  // the header may have gone (ghost trimmed, object dropped) meanwhile
    if (!wrote || f->stale || Seg(k.obj) != s.get() || (h && Live(h->state))) {
      if (!(h && Live(h->state)))
        (void)::fallocate(s->fd(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                          static_cast<off_t>(k.off), static_cast<off_t>(clip));
      return;
    }
    if (h) {  // ghost hit
      h->id = ++next_id;
      Adapt(h->state, clip);
      Unlink(h);
      h->len = len;
      h->size = clip;
      Link(h, kMfu);
    } else {
      auto nh = std::make_unique<Hdr>();
      nh->unit = k;
      nh->len = len;
      nh->size = clip;
      nh->id = ++next_id;
      h = nh.get();
      units.emplace(k, std::move(nh));
      Link(h, kMru);
    }
    Evict();
  }

  // Unregisters fill f of unit k and wakes the readers waiting for it.
  void EndFill(const UnitKey& k, const std::shared_ptr<Fill>& f) {
    if (auto it = filling.find(k); it != filling.end() && it->second == f) filling.erase(it);
    filled.notify_all();
  }

  // Marks stale the fills of units from `lo` on while match(object) holds.
  template <typename Match>
  void MarkStale(const UnitKey& lo, const Match& match) {
    for (auto it = filling.lower_bound(lo); it != filling.end() && match(it->first.obj); ++it)
      it->second->stale = true;
  }

  // Drops every unit (live and ghost) and segment of the objects from `lo` on while
  // match(object) holds. Pages are not punched: the memfd is a client's now, or freed with
  // its last reference.
  template <typename Match>
  void DropObjects(const ArcObjKey& lo, const Match& match) {
    UnitKey ulo{lo, 0};
    MarkStale(ulo, match);
    for (auto it = units.lower_bound(ulo); it != units.end() && match(it->first.obj);) {
      Hdr* h = (it++)->second.get();
      Destroy(h);
    }
    for (auto it = segs.lower_bound(lo); it != segs.end() && match(it->first);) it = segs.erase(it);
  }

  // Serves a unit: a hit copies out (when out is non-empty); a miss fills outside the lock
  // and inserts. Sets *filled to whether the Filler ran.
  Status Access(const ArcObjKey& k, uint64_t off, uint64_t len, uint64_t at, MutByteSpan out,
                const Filler& fill, bool need_segment, bool* did_fill) {
    *did_fill = false;
    if (off % kArcPageSize || len == 0 || len % kArcPageSize)
      return Status::Error(EINVAL, "arc: unit not page-aligned");
    if (at < off || at - off + out.size() > len)
      return Status::Error(EINVAL, "arc: read outside its unit");
    UnitKey uk{k, off};
    std::unique_lock<std::mutex> l(mu);
    for (;;) {
      Hdr* h = Unit(uk);
      if (h && Live(h->state)) {
        SegmentImpl* s = Seg(k);
        Hit(h);
        if (!out.empty()) return PreadZeroFill(s->fd(), out.data(), out.size(), at);
        return Status::Ok();
      }
      if (!filling.count(uk)) break;
      filled.wait(l);
    }
    if (need_segment && !Seg(k)) return Status::Error(ENOENT, "arc: object has no segment");
    data_misses++;
    auto f = std::make_shared<Fill>();
    filling[uk] = f;
    l.unlock();
    Result<Bytes> r = fill();
    if (!r.ok()) {
      l.lock();
      EndFill(uk, f);
      return r.status();
    }
    *did_fill = true;
    Bytes& b = r.value();
    b.resize(len, 0);
    if (!out.empty()) std::memcpy(out.data(), b.data() + (at - off), out.size());
    l.lock();
    InsertUnit(l, uk, len, b, f);
    EndFill(uk, f);
    return Status::Ok();
  }
};

Arc::Arc(uint64_t max_bytes) : impl_(std::make_unique<Impl>()) {
  impl_->c_max = impl_->c = max_bytes;
  impl_->c_min = CMinFor(max_bytes);
  impl_->p = impl_->c / 2;
}

Arc::~Arc() {
  // Headers own nothing outside; segments close their memfds when the last owner lets go.
}

uint64_t Arc::DefaultMax() {
  long pages = ::sysconf(_SC_PHYS_PAGES), psz = ::sysconf(_SC_PAGESIZE);
  uint64_t phys = pages > 0 && psz > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(psz) : 0;
  return std::max(phys / 2, kMinDefaultMax);
}

void Arc::SetMax(uint64_t max_bytes) {
  std::lock_guard<std::mutex> l(impl_->mu);
  impl_->c_max = impl_->c = max_bytes;
  impl_->c_min = CMinFor(max_bytes);
  impl_->p = std::min(impl_->p, impl_->c);
  impl_->Evict();
}

Result<std::shared_ptr<ArcSegment>> Arc::Segment(const ArcObjKey& k, uint64_t size) {
  std::lock_guard<std::mutex> l(impl_->mu);
  auto it = impl_->segs.find(k);
  if (it != impl_->segs.end()) return std::shared_ptr<ArcSegment>(it->second);
  std::string name = "uzfs-arc:" + std::to_string(k.pool) + "/" + std::to_string(k.space) + "/" +
                     std::to_string(k.object);
  int fd = ::memfd_create(name.c_str(), MFD_CLOEXEC);
  if (fd < 0) return Errno("memfd_create");
  if (::ftruncate(fd, static_cast<off_t>(RoundPage(size))) != 0) {
    Status s = Errno("ftruncate of a new segment");
    ::close(fd);
    return s;
  }
  auto seg = std::make_shared<SegmentImpl>(fd, k, size);
  impl_->segs.emplace(k, seg);
  return std::shared_ptr<ArcSegment>(seg);
}

std::shared_ptr<ArcSegment> Arc::FindSegment(const ArcObjKey& k) {
  std::lock_guard<std::mutex> l(impl_->mu);
  auto it = impl_->segs.find(k);
  if (it == impl_->segs.end()) return nullptr;
  return it->second;
}

Status Arc::Resize(const ArcObjKey& k, uint64_t size) {
  Impl& im = *impl_;
  std::unique_lock<std::mutex> l(im.mu);
  // A fill's write in flight would extend a shrunk memfd again (pwrite past the end grows it).
  im.write_done.wait(l, [&] { return !im.writing.count(k); });
  SegmentImpl* s = im.Seg(k);
  if (!s || s->exact() == size) return Status::Ok();
  uint64_t old_round = s->size(), new_round = RoundPage(size);
  uint64_t keep_from = std::min(s->exact(), size);  // bytes from here to its page's end → 0
  if (new_round < old_round) {
    // Units past the new end go (ghosts too: their layout no longer exists).
    UnitKey lo{k, new_round};
    auto same = [&](const ArcObjKey& o) { return o == k; };
    im.MarkStale(lo, same);
    for (auto it = im.units.lower_bound(lo); it != im.units.end() && same(it->first.obj);) {
      Impl::Hdr* h = (it++)->second.get();
      im.Destroy(h);  // ftruncate below frees the pages
    }
    // A fill in flight for the unit that straddles the end is still good (it is clipped).
    if (::ftruncate(s->fd(), static_cast<off_t>(new_round)) != 0) return Errno("ftruncate (shrink)");
  } else if (new_round > old_round) {
    if (::ftruncate(s->fd(), static_cast<off_t>(new_round)) != 0) return Errno("ftruncate (grow)");
  }
  s->set_size(size);
  // The units straddling either end count what now lies inside.
  for (uint64_t edge : {old_round, new_round}) {
    if (edge == 0) continue;
    if (Impl::Hdr* h = im.LiveUnitAt(k, edge - 1)) {
      uint64_t clip = std::min(h->len, new_round - h->unit.off);
      if (clip != h->size) im.Resize(h, clip);
    }
  }
  if (keep_from % kArcPageSize && im.LiveUnitAt(k, keep_from)) {
    uint64_t end = std::min(RoundPage(keep_from), new_round);
    UZFS_TRY(ZeroRange(s->fd(), keep_from, end - keep_from));
  }
  im.Evict();  // a grown straddling unit may push the ARC over c
  return Status::Ok();
}

Status Arc::Read(const ArcObjKey& k, uint64_t off, uint64_t len, uint64_t at, MutByteSpan out,
                 const Filler& fill) {
  bool did_fill = false;
  return impl_->Access(k, off, len, at, out, fill, false, &did_fill);
}

Result<bool> Arc::Fault(const ArcObjKey& k, uint64_t off, uint64_t len, const Filler& fill) {
  bool did_fill = false;
  UZFS_TRY(impl_->Access(k, off, len, off, MutByteSpan(), fill, true, &did_fill));
  return did_fill;
}

struct Arc::FillTicket {
  ArcObjKey k;
  uint64_t off = 0, len = 0;
  std::shared_ptr<Impl::Fill> fill;
};

std::shared_ptr<Arc::FillTicket> Arc::BeginFill(const ArcObjKey& k, uint64_t off, uint64_t len) {
  Impl& im = *impl_;
  if (off % kArcPageSize || len == 0 || len % kArcPageSize) return nullptr;
  UnitKey uk{k, off};
  std::lock_guard<std::mutex> l(im.mu);
  Impl::Hdr* h = im.Unit(uk);
  if ((h && Live(h->state)) || im.filling.count(uk)) return nullptr;
  im.data_misses++;
  auto t = std::make_shared<FillTicket>();
  t->k = k;
  t->off = off;
  t->len = len;
  t->fill = std::make_shared<Impl::Fill>();
  im.filling[uk] = t->fill;
  return t;
}

void Arc::FinishFill(const std::shared_ptr<FillTicket>& t, const Result<Bytes>& r) {
  if (!t) return;
  Impl& im = *impl_;
  UnitKey uk{t->k, t->off};
  // No copy of a full fill (a Bytes copy is a per-byte loop: its allocator is not
  // std::allocator); a short one (a hole's tail) is padded with zeros, outside the lock.
  Bytes pad;
  ByteSpan bytes = r.ok() && r->size() >= t->len ? ByteSpan(*r).first(t->len) : ByteSpan();
  if (r.ok() && r->size() < t->len) {
    pad.assign(t->len, 0);
    std::memcpy(pad.data(), r->data(), r->size());
    bytes = pad;
  }
  std::unique_lock<std::mutex> l(im.mu);
  if (r.ok()) im.InsertUnit(l, uk, t->len, bytes, t->fill);
  im.EndFill(uk, t->fill);
}

Result<bool> Arc::ReadIfCached(const ArcObjKey& k, uint64_t off, uint64_t len, uint64_t at,
                               MutByteSpan out, bool wait) {
  Impl& im = *impl_;
  if (at < off || at - off + out.size() > len) return Status::Error(EINVAL, "arc: read outside its unit");
  UnitKey uk{k, off};
  std::unique_lock<std::mutex> l(im.mu);
  for (;;) {
    Impl::Hdr* h = im.Unit(uk);
    if (h && Live(h->state)) {
      im.Hit(h);
      UZFS_TRY(PreadZeroFill(im.Seg(k)->fd(), out.data(), out.size(), at));
      return true;
    }
    if (!wait || !im.filling.count(uk)) return false;
    im.filled.wait(l);
  }
}

Status Arc::Update(const ArcObjKey& k, uint64_t off, uint64_t len, uint64_t at, ByteSpan data) {
  Impl& im = *impl_;
  if (at < off || at - off + data.size() > len)
    return Status::Error(EINVAL, "arc: update outside its unit");
  std::unique_lock<std::mutex> l(im.mu);
  UnitKey uk{k, off};
  if (auto it = im.filling.find(uk); it != im.filling.end()) {
    it->second->stale = true;
    // Its older bytes may be going into the memfd: wait until the writer punched them.
    im.write_done.wait(l, [&] { return !im.writing.count(k); });
  }
  Impl::Hdr* h = im.Unit(uk);
  if (!h || !Live(h->state)) return Status::Ok();
  SegmentImpl* s = im.Seg(k);
  uint64_t end = std::min<uint64_t>(at + data.size(), std::min(off + h->size, s->size()));
  if (end <= at) return Status::Ok();
  return PwriteAll(s->fd(), data.data(), end - at, at);
}

Result<Bytes> Arc::Peek(const ArcObjKey& k, uint64_t off, uint64_t len) {
  Impl& im = *impl_;
  std::lock_guard<std::mutex> l(im.mu);
  Impl::Hdr* h = im.Unit(UnitKey{k, off});
  if (!h || !Live(h->state)) return Status::Error(ENOENT, "arc: unit not cached");
  Bytes out(len, 0);
  uint64_t n = std::min(len, h->size);
  UZFS_TRY(PreadZeroFill(im.Seg(k)->fd(), out.data(), n, off));
  return out;
}

Result<uint64_t> Arc::HoldForRead(const ArcObjKey& k, uint64_t off, const ArcSegment* seg, bool wait,
                                   bool hit) {
  Impl& im = *impl_;
  UnitKey uk{k, off};
  std::unique_lock<std::mutex> l(im.mu);
  for (;;) {
    Impl::Hdr* h = im.Unit(uk);
    if (h && Live(h->state)) {
      // A unit of another memfd (the object dropped and cached anew) is not the caller's.
      if (im.Seg(k) != seg) return uint64_t{0};
      if (hit) im.Hit(h);
      h->holds++;
      im.reading[k]++;
      return h->id;
    }
    if (!wait || !im.filling.count(uk)) return uint64_t{0};
    im.filled.wait(l);
  }
}

void Arc::ReleaseRead(const ArcObjKey& k, uint64_t off, uint64_t token) {
  Impl& im = *impl_;
  std::lock_guard<std::mutex> l(im.mu);
  if (auto it = im.reading.find(k); it != im.reading.end() && --it->second == 0) {
    im.reading.erase(it);
    im.read_done.notify_all();
  }
  // The unit may have gone meanwhile (a truncate, a drop) and come back: not ours then.
  Impl::Hdr* h = im.Unit(UnitKey{k, off});
  if (!h || h->id != token || !Live(h->state) || h->holds == 0) return;
  if (--h->holds == 0) im.Evict();
}

Status Arc::Hold(const ArcObjKey& k, uint64_t off) {
  std::lock_guard<std::mutex> l(impl_->mu);
  Impl::Hdr* h = impl_->Unit(UnitKey{k, off});
  if (!h || !Live(h->state)) return Status::Error(ENOENT, "arc: unit not cached");
  h->holds++;
  return Status::Ok();
}

void Arc::Release(const ArcObjKey& k, uint64_t off) {
  std::lock_guard<std::mutex> l(impl_->mu);
  Impl::Hdr* h = impl_->Unit(UnitKey{k, off});
  if (!h || h->holds == 0) return;
  if (--h->holds == 0) impl_->Evict();
}

bool Arc::Cached(const ArcObjKey& k, uint64_t off) {
  std::lock_guard<std::mutex> l(impl_->mu);
  Impl::Hdr* h = impl_->Unit(UnitKey{k, off});
  return h && Live(h->state);
}

void Arc::DropObject(const ArcObjKey& k) {
  std::lock_guard<std::mutex> l(impl_->mu);
  impl_->DropObjects(k, [&](const ArcObjKey& o) { return o == k; });
}

void Arc::ForgetUnits(const ArcObjKey& k) {
  Impl& im = *impl_;
  std::unique_lock<std::mutex> l(im.mu);
  // The punch below would turn the bytes a reply is splicing into zeros: let it finish.
  // And for fills writing into it (their pages would land after the punch).
  while (im.reading.count(k) || im.writing.count(k))
    (im.reading.count(k) ? im.read_done : im.write_done).wait(l);
  auto match = [&](const ArcObjKey& o) { return o == k; };
  UnitKey lo{k, 0};
  im.MarkStale(lo, match);
  for (auto it = im.units.lower_bound(lo); it != im.units.end() && match(it->first.obj);) {
    Impl::Hdr* h = (it++)->second.get();
    im.Destroy(h);
  }
  if (SegmentImpl* s = im.Seg(k); s && s->size())
    ::fallocate(s->fd(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(s->size()));
}

void Arc::DropSpace(uint64_t pool, uint64_t space) {
  std::lock_guard<std::mutex> l(impl_->mu);
  impl_->DropObjects(ArcObjKey{pool, space, 0},
                     [&](const ArcObjKey& o) { return o.pool == pool && o.space == space; });
}

void Arc::DropPool(uint64_t pool) {
  Impl& im = *impl_;
  std::lock_guard<std::mutex> l(im.mu);
  im.DropObjects(ArcObjKey{pool, 0, 0}, [&](const ArcObjKey& o) { return o.pool == pool; });
  for (auto it = im.metas.lower_bound(ArcMetaKey{pool, 0, 0, 0, 0});
       it != im.metas.end() && it->first.pool == pool;) {
    Impl::Hdr* h = (it++)->second.get();
    im.Destroy(h);
  }
}

std::optional<Bytes> Arc::GetMeta(const ArcMetaKey& k) {
  Impl& im = *impl_;
  std::lock_guard<std::mutex> l(im.mu);
  auto it = im.metas.find(k);
  if (it == im.metas.end() || !Live(it->second->state)) {
    im.meta_misses++;
    return std::nullopt;
  }
  im.Hit(it->second.get());
  return it->second->data;
}

void Arc::PutMeta(const ArcMetaKey& k, ByteSpan data) {
  Impl& im = *impl_;
  std::lock_guard<std::mutex> l(im.mu);
  auto it = im.metas.find(k);
  Impl::Hdr* h = it == im.metas.end() ? nullptr : it->second.get();
  if (h && Live(h->state)) return;  // same key, same bytes
  if (h) {  // ghost hit
    im.Adapt(h->state, data.size());
    im.Unlink(h);
    h->size = data.size();
    h->data.assign(data.begin(), data.end());
    im.Link(h, kMfu);
  } else {
    auto nh = std::make_unique<Impl::Hdr>();
    nh->meta = true;
    nh->mkey = k;
    nh->size = data.size();
    nh->data.assign(data.begin(), data.end());
    h = nh.get();
    im.metas.emplace(k, std::move(nh));
    im.Link(h, kMru);
  }
  im.Evict();
}

void Arc::AddMapped(int64_t delta_bytes) {
  std::lock_guard<std::mutex> l(impl_->mu);
  impl_->mapped += delta_bytes;
  if (impl_->mapped < 0) impl_->mapped = 0;
}

uint64_t Arc::Target() {
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->c;
}

ArcStats Arc::Stats() {
  Impl& im = *impl_;
  std::lock_guard<std::mutex> l(im.mu);
  ArcStats s;
  s.size = im.Size();
  s.c = im.c, s.c_min = im.c_min, s.c_max = im.c_max, s.p = im.p;
  s.mru_size = im.lsize[kMru], s.mfu_size = im.lsize[kMfu];
  s.mru_ghost_size = im.lsize[kMruGhost], s.mfu_ghost_size = im.lsize[kMfuGhost];
  s.data_size = im.data_size, s.meta_size = im.meta_size;
  for (auto& [k, h] : im.units)
    if (h->holds && Live(h->state)) s.held_size += h->size;
  for (auto& [k, seg] : im.segs) s.resident += seg->ResidentBytes();
  s.segments = im.segs.size();
  s.mapped = static_cast<uint64_t>(im.mapped);
  s.data_hits = im.data_hits, s.data_misses = im.data_misses;
  s.meta_hits = im.meta_hits, s.meta_misses = im.meta_misses;
  s.hits = im.data_hits + im.meta_hits, s.misses = im.data_misses + im.meta_misses;
  s.mru_hits = im.mru_hits, s.mfu_hits = im.mfu_hits;
  s.mru_ghost_hits = im.mru_ghost_hits, s.mfu_ghost_hits = im.mfu_ghost_hits;
  s.evictions = im.evictions, s.evicted_bytes = im.evicted_bytes;
  return s;
}

}  // namespace uzfs
