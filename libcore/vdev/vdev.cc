// Leaf, mirror and raidz vdevs for reading. Facts: zfs-fuse vdev_file.c / vdev_disk.c (leaf
// offsets past VDEV_LABEL_START_SIZE), vdev_mirror.c (try the next child on error),
// vdev_raidz.c (vdev_raidz_io_start / io_done / combrec: read data columns, fall back to
// parity, then to combinatorial reconstruction driven by the checksum).
#include "libcore/vdev/vdev.h"

#include <algorithm>
#include <cstring>
#include <atomic>
#include <mutex>

#include "libcore/vdev/vdev_label.h"
#include "libcore/vdev/vdev_raidz.h"

namespace uzfs {

uint64_t Vdev::PsizeToAsize(uint64_t psize) const {
  uint64_t unit = 1ULL << ashift;
  if (type != "raidz") return P2RoundUp(psize, unit);
  uint64_t cols = children.size();
  uint64_t asize = ((psize - 1) >> ashift) + 1;
  asize += nparity * ((asize + cols - nparity - 1) / (cols - nparity));
  asize = (asize + nparity) / (nparity + 1) * (nparity + 1) << ashift;  // roundup
  return asize;
}

Status Vdev::WriteV(uint64_t offset, std::span<const ByteSpan> parts, std::vector<VdevIoError>* errs) {
  if (parts.size() == 1) return Write(offset, parts[0], errs);
  Bytes joined;
  for (ByteSpan p : parts) joined.insert(joined.end(), p.begin(), p.end());
  return Write(offset, joined, errs);
}

uint64_t Vdev::GuidSum() const {
  uint64_t s = guid;
  for (const auto& c : children) s += c->GuidSum();
  return s;
}

namespace {

std::string Describe(const Vdev& v) {
  if (!v.open_path.empty()) return v.open_path;
  if (!v.path.empty()) return v.path;
  if (v.type == "raidz") return "raidz" + std::to_string(v.nparity) + "-" + std::to_string(v.id);
  return v.type + "-" + std::to_string(v.id);
}

class LeafVdev : public Vdev {
 public:
  explicit LeafVdev(std::unique_ptr<File> f) {
    cur_.store(f.get(), std::memory_order_release);
    if (f) files_.push_back(std::move(f));
  }
  bool available() const override { return cur() != nullptr && !health.dead(); }

  Status Read(uint64_t offset, MutByteSpan out, const BlockVerifier* verify,
              std::vector<VdevIoError>* errs, bool) override {
    auto fail = [&](int code, std::string what) { return Fail(errs, code, what); };
    File* f = cur();
    if (!f) return fail(ENXIO, "device unavailable");
    if (health.dead()) return fail(ENXIO, "device " + DeadWord() + ": no I/O");
    if (offset > UINT64_MAX - kVdevLabelStartSize - out.size())
      return fail(EIO, "offset out of range");
    // zio_handle_device_injection: an injected error stands for the device's.
    const int injected = inject.Hit(false);
    Status s = injected ? Status::Error(injected, "injected: " + std::string(strerror(injected)))
                        : f->ReadAt(offset + kVdevLabelStartSize, out);
    if (!s.ok()) {
      NoteError(VdevErrKind::kRead, offset, out.size());
      return fail(s.code() ? s.code() : EIO, "read error: " + s.message());
    }
    // A block that does not verify is not counted here: most such reads are speculative
    // (an intent log chain's unwritten tail, ZIO_FLAG_SPECULATIVE), and the callers that
    // know better (a mirror's self-healing) do not write back.
    if (verify && !(*verify)(out)) return fail(ECKSUM, "checksum mismatch");
    io.Count(false, out.size());
    return Status::Ok();
  }

  Status Write(uint64_t offset, ByteSpan data, std::vector<VdevIoError>* errs,
               bool durable) override {
    return LeafWrite(offset, data.size(), errs, [&](File* f) {
      return durable ? f->WriteAtDurable(offset + kVdevLabelStartSize, data)
                     : f->WriteAt(offset + kVdevLabelStartSize, data);
    });
  }
  Status WriteV(uint64_t offset, std::span<const ByteSpan> parts, std::vector<VdevIoError>* errs) override {
    uint64_t size = 0;
    for (ByteSpan p : parts) size += p.size();
    return LeafWrite(offset, size, errs,
                     [&](File* f) { return f->WriteAtV(offset + kVdevLabelStartSize, parts); });
  }
  Status Flush() override {
    File* f = cur();
    if (!f) return Status::Error(ENXIO, Describe(*this) + ": device unavailable");
    if (health.dead()) return Status::Error(ENXIO, Describe(*this) + ": device " + DeadWord());
    const int injected = inject.Hit(true);
    Status s = injected ? Status::Error(injected, Describe(*this) + ": flush: injected: " +
                                                      std::string(strerror(injected)))
                        : f->Sync();
    // A failed flush loses writes the device had taken: a write error.
    if (!s.ok()) NoteError(VdevErrKind::kWrite);
    return s;
  }
  File* file() override { return cur(); }

  // A failed I/O of this leaf: reported in errs (when given) and returned.
  Status Fail(std::vector<VdevIoError>* errs, int code, const std::string& what) {
    if (errs) errs->push_back({Describe(*this), guid, code, what});
    return Status::Error(code, Describe(*this) + ": " + what);
  }
  // Write's and WriteV's checks, injection and accounting around write(f).
  template <typename Fn>
  Status LeafWrite(uint64_t offset, uint64_t size, std::vector<VdevIoError>* errs, Fn&& write) {
    auto fail = [&](int code, std::string what) { return Fail(errs, code, what); };
    File* f = cur();
    if (!f) return fail(ENXIO, "device unavailable");
    if (health.dead()) return fail(ENXIO, "device " + DeadWord() + ": no I/O");
    if (asize && offset + size > asize) return fail(EIO, "write past the end");
    const int injected = inject.Hit(true);
    Status s = injected ? Status::Error(injected, "injected: " + std::string(strerror(injected))) : write(f);
    if (!s.ok()) {
      NoteError(VdevErrKind::kWrite, offset, size);
      return fail(s.code() ? s.code() : EIO, "write error: " + s.message());
    }
    io.Count(true, size);
    return Status::Ok();
  }

  void NoteError(VdevErrKind k, uint64_t offset = 0, uint64_t size = 0) override {
    // A checksum error is the data's, not the device's: counted, no probe (vdev_stat_update
    // probes only after an I/O error).
    // A leaf being resilvered holds stale blocks by design: not errors (v23 does not even read
    // them, vdev_mirror_child_select skipping children whose DTL has the block's txg).
    if (k == VdevErrKind::kChecksum && resilvering.load(std::memory_order_relaxed)) return;
    // A dead leaf counts nothing and reports nothing (vdev_stat_update); a DEGRADED one does.
    const LeafState before = health.state();
    if (health.dead()) return;
    LeafState after;
    std::function<bool()> may = nullptr;
    if (may_fault) may = [this] { return may_fault(*this); };
    if (prober && k != VdevErrKind::kChecksum)
      after = health.OnError(k, [this] { return prober(*this); }, may);
    else
      after = health.OnError(k, nullptr, may);
    // spa_async_remove: a removed device is let go (a pending loop detach completes).
    if (after == LeafState::kRemoved) ReleaseDevice();
    if (on_error) {
      ErrorReport r{k, size ? offset + kVdevLabelStartSize : 0, size, before, after};
      on_error(*this, r);
    }
  }
  void ReleaseDevice() override {
    std::lock_guard<std::mutex> l(files_mu_);
    for (auto& f : files_) f->Release();
  }
  void ReplaceFile(std::unique_ptr<File> f) override {
    if (!f) return;
    std::lock_guard<std::mutex> l(files_mu_);
    cur_.store(f.get(), std::memory_order_release);
    files_.push_back(std::move(f));
  }

 private:
  File* cur() const { return cur_.load(std::memory_order_acquire); }
  std::string DeadWord() const {
    switch (health.state()) {
      case LeafState::kFaulted: return "faulted";
      case LeafState::kOffline: return "offline";
      case LeafState::kRemoved: return "removed";
      default: return "unavailable";
    }
  }
  std::atomic<File*> cur_{nullptr};
  std::mutex files_mu_;
  std::vector<std::unique_ptr<File>> files_;  // the current one last; older ones kept open
};

// Flushes every available child; fails only when none could be flushed.
Status FlushChildren(Vdev& v) {
  Status last = Status::Ok();
  int good = 0;
  for (auto& c : v.children) {
    if (!c->available()) continue;
    Status s = c->Flush();
    if (s.ok()) good++;
    else last = s;
  }
  return good || v.children.empty() ? Status::Ok() : last;
}

class MirrorVdev : public Vdev {
 public:
  bool available() const override {
    for (const auto& c : children)
      if (c->available()) return true;
    return false;
  }
  Status Read(uint64_t offset, MutByteSpan out, const BlockVerifier* verify,
              std::vector<VdevIoError>* errs, bool scrub) override {
    Status last = Status::Error(ENXIO, Describe(*this) + ": no children");
    bool saw_cksum = false;
    bool have = false;
    Bytes other;
    std::vector<std::pair<Vdev*, int>> bad;  // sides read before a good one, and their error
    // vdev_mirror_child_select: a side being resilvered is read last (it may be stale).
    // The usual case (no such side) reads in order without building a list.
    Vdev* order_small[4];
    std::vector<Vdev*> order_big;
    Vdev** order = order_small;
    if (children.size() > 4) {
      order_big.resize(children.size());
      order = order_big.data();
    }
    size_t n = 0;
    for (int pass = 0; pass < 2; pass++)
      for (auto& c : children)
        if (c->resilvering.load(std::memory_order_relaxed) == (pass == 1)) order[n++] = c.get();
    for (size_t k = 0; k < n; k++) {
      Vdev* c = order[k];
      // Scrub: keep reading the other sides (into scratch) once one side is good.
      MutByteSpan dst = out;
      if (have) {
        other.assign(out.size(), 0);
        dst = other;
      }
      Status s = c->Read(offset, dst, verify, errs, scrub);
      if (s.ok()) {
        if (!scrub) {
          Heal(offset, out, bad);
          io.Count(false, out.size());
          return s;
        }
        have = true;
        continue;
      }
      saw_cksum |= s.code() == ECKSUM;
      if (s.code() == ECKSUM || s.code() == EIO) bad.push_back({c, s.code()});
      last = s;
    }
    // A scrub read every side: those that failed before or after the good one are repaired.
    if (have) {
      Heal(offset, out, bad);
      io.Count(false, out.size());
      return Status::Ok();
    }
    // No side verified: nothing is counted here, as the read may be speculative (an intent
    // log chain's unwritten tail) and the mirror does not know the block.
    if (saw_cksum) return Status::Error(ECKSUM, "mirror: no side verifies");
    return last;
  }
  Status Write(uint64_t offset, ByteSpan data, std::vector<VdevIoError>* errs,
               bool durable) override {
    return WriteSides(data.size(), [&](Vdev& c) { return c.Write(offset, data, errs, durable); });
  }
  Status WriteV(uint64_t offset, std::span<const ByteSpan> parts, std::vector<VdevIoError>* errs) override {
    uint64_t size = 0;
    for (ByteSpan p : parts) size += p.size();
    return WriteSides(size, [&](Vdev& c) { return c.WriteV(offset, parts, errs); });
  }
  Status Flush() override { return FlushChildren(*this); }

 private:
  // vdev_mirror's write rule, for Write and WriteV: write(side) on every available side;
  // success when at least one side took it.
  template <typename Fn>
  Status WriteSides(uint64_t size, Fn&& write) {
    Status last = Status::Error(ENXIO, Describe(*this) + ": no children");
    int good = 0;
    for (auto& c : children) {
      if (!c->available()) continue;
      Status s = write(*c);
      if (s.ok()) good++;
      else last = s;
    }
    if (!good) return last;
    io.Count(true, size);
    return Status::Ok();
  }
  // vdev_mirror_io_done's repair: once a side returned the block verified, each side read
  // before it that gave a checksum mismatch has it counted (CKSUM; a side's I/O errors were
  // counted by the side itself), and every such side gets the good copy written back
  // (zio_vdev_io_repair) when the pool heals (self_heal: a pool imported writable). A repair
  // that fails is the side's write error, as any write's.
  void Heal(uint64_t offset, ByteSpan good, const std::vector<std::pair<Vdev*, int>>& bad) {
    const uint64_t sector = uint64_t{1} << (ashift ? ashift : 9);
    // A block smaller than a sector (a 512-byte metadata block on 4K sectors) is written
    // padded to the sector its allocation takes (zio_vdev_io_start pads the same way).
    Bytes padded;
    if (good.size() % sector != 0) {
      padded.assign(P2RoundUp(good.size(), sector), 0);
      std::copy(good.begin(), good.end(), padded.begin());
    }
    const ByteSpan data = padded.empty() ? good : ByteSpan(padded);
    for (const auto& [side, code] : bad) {
      if (code == ECKSUM) side->NoteError(VdevErrKind::kChecksum, offset, good.size());
      if (!self_heal || !side->available()) continue;
      if (side->Write(offset, data, nullptr).ok()) CountRepair(good.size());
    }
  }
};

class RaidzVdev : public Vdev {
 public:
  bool available() const override {
    uint64_t missing = 0;
    for (const auto& c : children) missing += !c->available();
    return missing <= nparity;
  }

  Status Read(uint64_t offset, MutByteSpan out, const BlockVerifier* verify,
              std::vector<VdevIoError>* errs, bool scrub) override {
    Status s = ReadColumns(offset, out, verify, errs, scrub);
    if (s.ok()) io.Count(false, out.size());
    if (s.ok() && scrub && self_heal && verify) ResilverColumns(offset, out);
    return s;
  }

 private:
  Status ReadColumns(uint64_t offset, MutByteSpan out, const BlockVerifier* verify,
                     std::vector<VdevIoError>* errs, bool scrub) {
    uint64_t unit = 1ULL << ashift;
    uint64_t size = P2RoundUp(out.size(), unit);
    if (size < out.size()) return Status::Error(EINVAL, "raidz: size overflow");
    UZFS_ASSIGN(RaidzMap m, RaidzMapAlloc(offset, size, ashift, children.size(), nparity));
    RaidzColumns cols(m.cols);
    std::vector<bool> missing(m.cols, false);
    std::vector<VdevIoError> local;
    auto read_col = [&](uint64_t c) {
      cols[c] = Bytes(m.col[c].size);
      if (m.col[c].size == 0) return;
      Vdev* child = children[m.col[c].devidx].get();
      if (!child->Read(m.col[c].offset, cols[c], nullptr, &local, scrub).ok()) missing[c] = true;
    };
    auto assemble_and_verify = [&]() {
      uint64_t pos = 0;
      for (uint64_t c = m.firstdatacol; c < m.cols && pos < out.size(); c++) {
        uint64_t n = std::min<uint64_t>(cols[c].size(), out.size() - pos);
        std::copy_n(cols[c].begin(), n, out.begin() + static_cast<long>(pos));
        pos += n;
      }
      return !verify || (*verify)(out);
    };
    auto flush = [&]() {
      if (errs) errs->insert(errs->end(), local.begin(), local.end());
    };
    auto blame = [&](const std::vector<int>& bad) {
      for (int c : bad) {
        if (missing[c]) continue;
        Vdev* child = children[m.col[c].devidx].get();
        local.push_back({Describe(*child), child->guid, ECKSUM,
                         "checksum mismatch on raidz column " + std::to_string(c)});
      }
    };

    // vdev_raidz_io_done's repair, once the block verified: the columns in silent returned
    // wrong bytes without an error (CKSUM counted on their device); every column in bad
    // (those and the unreadable ones) gets its good contents written back, data from the
    // verified block and parity regenerated from it, when the pool heals (self_heal).
    // A scrub also checks the parity columns the reconstruction did not need: one that differs
    // from parity regenerated from the verified data is silently bad as well.
    auto heal = [&](std::vector<int> bad, std::vector<int> silent) {
      RaidzColumns good = cols;
      RaidzGenerateParity(m, good);
      for (uint64_t c = 0; scrub && c < m.firstdatacol; c++) {
        if (m.col[c].size == 0 || missing[c] || good[c] == cols[c]) continue;
        if (std::find(bad.begin(), bad.end(), static_cast<int>(c)) != bad.end()) continue;
        Vdev* child = children[m.col[c].devidx].get();
        local.push_back({Describe(*child), child->guid, ECKSUM,
                         "parity mismatch on raidz column " + std::to_string(c)});
        bad.push_back(static_cast<int>(c));
        silent.push_back(static_cast<int>(c));
      }
      for (int c : silent)
        children[m.col[c].devidx]->NoteError(VdevErrKind::kChecksum, m.col[c].offset, m.col[c].size);
      if (!self_heal || bad.empty()) return;
      for (int c : bad) {
        Vdev* child = children[m.col[c].devidx].get();
        if (m.col[c].size == 0 || !child->available()) continue;
        if (child->Write(m.col[c].offset, good[c], nullptr).ok()) CountRepair(good[c].size());
      }
    };

    for (uint64_t c = m.firstdatacol; c < m.cols; c++) read_col(c);
    uint64_t nmissing_data = 0;
    for (uint64_t c = m.firstdatacol; c < m.cols; c++) nmissing_data += missing[c];
    if (nmissing_data == 0 && assemble_and_verify()) {
      if (scrub) CheckParity(m, cols, read_col, missing, local);
      flush();
      return Status::Ok();
    }
    // Need parity now.
    for (uint64_t c = 0; c < m.firstdatacol; c++) read_col(c);
    std::vector<int> known_bad;
    for (uint64_t c = 0; c < m.cols; c++)
      if (missing[c]) known_bad.push_back(static_cast<int>(c));
    if (known_bad.size() > nparity) {
      flush();
      return Status::Error(EIO, Describe(*this) + ": more columns unreadable than parity");
    }
    if (nmissing_data > 0) {
      RaidzColumns work = cols;
      if (RaidzReconstruct(m, work, known_bad).ok()) {
        std::swap(work, cols);
        if (assemble_and_verify()) {
          heal(known_bad, {});
          flush();
          return Status::Ok();
        }
        std::swap(work, cols);
      }
    }
    // Combinatorial reconstruction: assume 1..(nparity - known) more columns are silently bad.
    uint64_t spare = nparity - known_bad.size();
    for (uint64_t k = 1; k <= spare; k++) {
      std::vector<int> pick;
      if (TryCombos(m, cols, known_bad, k, 0, pick, out, verify, assemble_and_verify)) {
        blame(pick);
        std::vector<int> bad = known_bad;
        bad.insert(bad.end(), pick.begin(), pick.end());
        heal(bad, pick);
        flush();
        return Status::Ok();
      }
    }
    flush();
    if (errs)
      errs->push_back({"", guid, ECKSUM, "raidz: no combination of columns verifies"});
    return Status::Error(ECKSUM, Describe(*this) + ": raidz reconstruction failed");
  }

 public:
  Status Write(uint64_t offset, ByteSpan data, std::vector<VdevIoError>* errs,
               bool durable) override {
    uint64_t unit = 1ULL << ashift;
    if (data.size() % unit) return Status::Error(EINVAL, "raidz: unaligned write");
    UZFS_ASSIGN(RaidzMap m, RaidzMapAlloc(offset, data.size(), ashift, children.size(), nparity));
    RaidzColumns cols(m.cols);
    uint64_t pos = 0;
    for (uint64_t c = 0; c < m.cols; c++) {
      cols[c] = Bytes(m.col[c].size);
      if (c < m.firstdatacol) continue;
      std::copy_n(data.begin() + static_cast<long>(pos), m.col[c].size, cols[c].begin());
      pos += m.col[c].size;
    }
    RaidzGenerateParity(m, cols);
    uint64_t failed = 0;
    Status last = Status::Ok();
    for (uint64_t c = 0; c < m.cols; c++) {
      if (m.col[c].size == 0) continue;
      Vdev* child = children[m.col[c].devidx].get();
      Status s = child->available() ? child->Write(m.col[c].offset, cols[c], errs, durable)
                                    : Status::Error(ENXIO, "column device unavailable");
      if (!s.ok()) {
        failed++;
        last = s;
      }
    }
    // vdev_raidz_io_done: a write survives as long as no more columns failed than parity.
    if (failed > nparity) return last;
    io.Count(true, data.size());
    return Status::Ok();
  }
  Status Flush() override { return FlushChildren(*this); }

 private:
  // A column whose device is being replaced (a replacing or spare vdev with a side whose
  // DTL is not empty) cannot tell its stale new side from the old one (a column has no
  // checksum of its own), so a scrub or resilver that verified the block writes the column
  // to it whole: every side gets the good bytes (v23's resilver writes the block to the
  // child whose DTL holds its txg; vdev_raidz_io_done repairs that column).
  void ResilverColumns(uint64_t offset, ByteSpan verified) {
    std::vector<bool> target(children.size(), false);
    bool any = false;
    for (size_t i = 0; i < children.size(); i++) {
      if (children[i]->is_leaf() || !children[i]->available()) continue;
      ForEachLeaf(*children[i], [&](const Vdev& l) {
        if (l.resilvering.load(std::memory_order_relaxed)) target[i] = any = true;
      });
    }
    if (!any) return;
    const uint64_t unit = 1ULL << ashift;
    const uint64_t size = P2RoundUp(verified.size(), unit);
    auto map = RaidzMapAlloc(offset, size, ashift, children.size(), nparity);
    if (!map.ok()) return;
    const RaidzMap& m = *map;
    RaidzColumns cols(m.cols);
    uint64_t pos = 0;
    for (uint64_t c = 0; c < m.cols; c++) {
      cols[c] = Bytes(m.col[c].size);
      if (c < m.firstdatacol) continue;
      const uint64_t n = std::min<uint64_t>(m.col[c].size, verified.size() - std::min(pos, verified.size()));
      std::copy_n(verified.begin() + static_cast<long>(pos), n, cols[c].begin());
      pos += m.col[c].size;
    }
    RaidzGenerateParity(m, cols);
    for (uint64_t c = 0; c < m.cols; c++) {
      if (m.col[c].size == 0 || !target[m.col[c].devidx]) continue;
      if (children[m.col[c].devidx]->Write(m.col[c].offset, cols[c], nullptr).ok())
        CountRepair(cols[c].size());
    }
  }

  // Scrub: read the parity columns and compare them with parity regenerated from good data
  // (vdev_raidz_io_done's parity check under ZIO_FLAG_SCRUB). A wrong one is a checksum error
  // of its device; it and an unreadable one are rewritten when the pool heals.
  template <typename R>
  void CheckParity(const RaidzMap& m, RaidzColumns& cols, R& read_col, std::vector<bool>& missing,
                   std::vector<VdevIoError>& local) {
    for (uint64_t c = 0; c < m.firstdatacol; c++) read_col(c);
    RaidzColumns want = cols;
    RaidzGenerateParity(m, want);
    for (uint64_t c = 0; c < m.firstdatacol; c++) {
      if (m.col[c].size == 0 || (!missing[c] && want[c] == cols[c])) continue;
      Vdev* child = children[m.col[c].devidx].get();
      if (!missing[c]) {
        local.push_back({Describe(*child), child->guid, ECKSUM,
                         "parity mismatch on raidz column " + std::to_string(c)});
        child->NoteError(VdevErrKind::kChecksum, m.col[c].offset, m.col[c].size);
      }
      if (self_heal && child->available() && child->Write(m.col[c].offset, want[c], nullptr).ok())
        CountRepair(want[c].size());
    }
  }

  template <typename F>
  bool TryCombos(const RaidzMap& m, RaidzColumns& cols, const std::vector<int>& known_bad,
                 uint64_t k, uint64_t start, std::vector<int>& pick, MutByteSpan out,
                 const BlockVerifier* verify, F& assemble_and_verify) {
    if (pick.size() == k) {
      bool has_data = false;
      for (int c : pick) has_data |= static_cast<uint64_t>(c) >= m.firstdatacol;
      if (!has_data) return false;
      std::vector<int> targets = known_bad;
      targets.insert(targets.end(), pick.begin(), pick.end());
      RaidzColumns work = cols;
      if (!RaidzReconstruct(m, work, targets).ok()) return false;
      std::swap(work, cols);
      if (assemble_and_verify()) return true;
      std::swap(work, cols);
      return false;
    }
    (void)out;
    (void)verify;
    for (uint64_t c = start; c < m.cols; c++) {
      if (std::find(known_bad.begin(), known_bad.end(), static_cast<int>(c)) != known_bad.end())
        continue;
      if (m.col[c].size == 0) continue;
      pick.push_back(static_cast<int>(c));
      if (TryCombos(m, cols, known_bad, k, c + 1, pick, out, verify, assemble_and_verify))
        return true;
      pick.pop_back();
    }
    return false;
  }
};

class MissingVdev : public Vdev {
 public:
  bool available() const override { return false; }
  Status Read(uint64_t, MutByteSpan, const BlockVerifier*, std::vector<VdevIoError>* errs,
              bool) override {
    if (errs) errs->push_back({"", guid, ENXIO, "top-level vdev " + std::to_string(id) + " missing"});
    return Status::Error(ENXIO, "top-level vdev " + std::to_string(id) + " is missing");
  }
  Status Write(uint64_t, ByteSpan, std::vector<VdevIoError>*, bool) override {
    return Status::Error(ENXIO, "top-level vdev " + std::to_string(id) + " is missing");
  }
  Status Flush() override { return Status::Ok(); }
};

class HoleVdev : public Vdev {
 public:
  bool available() const override { return true; }
  Status Read(uint64_t, MutByteSpan, const BlockVerifier*, std::vector<VdevIoError>* errs,
              bool) override {
    if (errs) errs->push_back({"", 0, ENXIO, "top-level vdev " + std::to_string(id) + " is a hole"});
    return Status::Error(ENXIO, "top-level vdev " + std::to_string(id) + " is a hole");
  }
  Status Write(uint64_t, ByteSpan, std::vector<VdevIoError>*, bool) override {
    return Status::Error(ENXIO, "top-level vdev " + std::to_string(id) + " is a hole");
  }
  Status Flush() override { return Status::Ok(); }
};

class RootVdev : public Vdev {
 public:
  bool available() const override {
    for (const auto& c : children)
      if (!c->available()) return false;
    return true;
  }
  Status Read(uint64_t, MutByteSpan, const BlockVerifier*, std::vector<VdevIoError>*,
              bool) override {
    return Status::Error(EINVAL, "the root vdev has no address space");
  }
  Status Write(uint64_t, ByteSpan, std::vector<VdevIoError>*, bool) override {
    return Status::Error(EINVAL, "the root vdev has no address space");
  }
  Status Flush() override { return FlushChildren(*this); }
};

Result<std::unique_ptr<Vdev>> Build(const NvList& nv, const LeafOpener& open, uint64_t ashift,
                                    int depth) {
  if (depth > 4) return Status::Error(ECORRUPT, "vdev tree nested too deeply");
  const std::string* type = nv.GetString("type");
  if (!type) return Status::Error(ECORRUPT, "vdev without type");
  uint64_t guid = nv.GetUint64("guid").value_or(0);
  if (auto a = nv.GetUint64("ashift")) ashift = *a;
  std::unique_ptr<Vdev> v;
  const std::vector<NvList>* kids = nv.GetNvListArray("children");
  if (*type == "file" || *type == "disk" || *type == "dax") {
    const std::string* p = nv.GetString("path");
    auto f = open(guid, p ? *p : std::string());
    std::string opened = f ? f->Name() : std::string();
    v = std::make_unique<LeafVdev>(std::move(f));
    v->open_path = opened;
  } else if (*type == "mirror" || *type == "replacing" || *type == "spare") {
    v = std::make_unique<MirrorVdev>();
  } else if (*type == "raidz") {
    v = std::make_unique<RaidzVdev>();
    v->nparity = nv.GetUint64("nparity").value_or(1);  // v1 pools wrote no nparity: raidz1
  } else {
    return Status::Error(ECORRUPT, "unknown vdev type '" + *type + "'");
  }
  v->type = *type;
  v->guid = guid;
  v->id = nv.GetUint64("id").value_or(0);
  if (const std::string* p = nv.GetString("path")) v->path = *p;
  v->ashift = ashift;
  v->asize = nv.GetUint64("asize").value_or(0);
  v->metaslab_array = nv.GetUint64("metaslab_array").value_or(0);
  v->metaslab_shift = nv.GetUint64("metaslab_shift").value_or(0);
  v->create_txg = nv.GetUint64("create_txg").value_or(0);
  v->is_log = nv.GetUint64("is_log").value_or(0) != 0;
  v->whole_disk = nv.GetUint64("whole_disk").value_or(0) != 0;
  v->is_spare = nv.GetUint64("is_spare").value_or(0) != 0;
  // vdev_load: a leaf taken offline for good (zpool offline without -t) stays offline; its
  // DTL's contents are read by the pool (the object is in the MOS).
  if (v->is_leaf() && nv.GetUint64("offline").value_or(0)) v->health.Set(LeafState::kOffline);
  // vdev_open: a leaf faulted (vdev_faulted) and not offline comes up FAULTED, one degraded
  // (vdev_degraded) DEGRADED; faulted takes precedence (vdev_fault clears vdev_degraded).
  else if (v->is_leaf() && nv.GetUint64("faulted").value_or(0)) v->health.Set(LeafState::kFaulted);
  else if (v->is_leaf() && nv.GetUint64("degraded").value_or(0)) v->health.Set(LeafState::kDegraded);
  v->dtl_object = nv.GetUint64("DTL").value_or(0);
  // A leaf with a DTL may hold stale blocks: read last, its checksum errors not counted,
  // until the pool has read the DTL (Pool::LoadDtlsLocked says whether it is empty).
  if (v->is_leaf() && v->dtl_object) v->resilvering.store(true, std::memory_order_relaxed);
  if (!v->is_leaf()) {
    if (!kids || kids->empty()) return Status::Error(ECORRUPT, *type + " vdev without children");
    if (kids->size() > 255) return Status::Error(ECORRUPT, "too many children");
    for (const NvList& k : *kids) {
      UZFS_ASSIGN(auto child, Build(k, open, ashift, depth + 1));
      v->children.push_back(std::move(child));
    }
  }
  if (v->type == "raidz" && (v->nparity < 1 || v->nparity > 3 ||
                             v->nparity >= v->children.size()))
    return Status::Error(ECORRUPT, "raidz nparity " + std::to_string(v->nparity) + " with " +
                                       std::to_string(v->children.size()) + " children");
  return v;
}

}  // namespace

Result<std::unique_ptr<Vdev>> BuildVdevTree(const NvList& vdev_tree, const LeafOpener& open) {
  auto a = vdev_tree.GetUint64("ashift");
  if (!a || *a < 9 || *a > 17)
    return Status::Error(ECORRUPT, "top-level vdev ashift missing or out of range");
  return Build(vdev_tree, open, *a, 0);
}

ProbeResult ProbeLeaf(Vdev& leaf, Env* env) {
  // An injected ENXIO fails the probe's I/O and its reopen alike (the device is "pulled").
  if (leaf.inject.gone()) return ProbeResult::kGone;
  // vdev_disk_io_done: a block device that is no longer there is removed, not probed.
  if (File* f = leaf.file(); f && !f->Present().ok()) return ProbeResult::kRemoved;
  if (File* f = leaf.file()) {
    bool ok = true;
    auto size = f->Size();
    if (!size.ok() || *size < 4 * kVdevLabelSize) ok = false;
    // vdev_probe: the pad area (8K at 8K into a label, vl_pad2) of each label but the
    // first, read and written back as it was; then a flush. A zinject -L pad2 handler
    // fails those I/Os (zio_handle_label_injection in zio_vdev_io_done), so the probe.
    if (leaf.inject.LabelHit(kLabelPad2)) ok = false;
    constexpr uint64_t kPadOffset = 8 * 1024, kPadSize = 8 * 1024;
    const uint64_t psize = ok ? P2Align(*size, kVdevLabelSize) : 0;
    for (int l = 1; ok && l < kVdevLabels; l++) {
      Bytes pad(kPadSize);
      const uint64_t off = VdevLabelOffset(psize, l) + kPadOffset;
      ok = f->ReadAt(off, pad).ok() && f->WriteAt(off, pad).ok();
    }
    if (ok) ok = f->Sync().ok();
    if (ok) return ProbeResult::kOk;
  }
  const std::string& path = !leaf.open_path.empty() ? leaf.open_path : leaf.path;
  if (!env || path.empty()) return ProbeResult::kFailed;
  auto r = env->Open(path, OpenOptions{});
  if (r.ok()) return ProbeResult::kFailed;
  const int code = r.status().code();
  if (code != ENOENT && code != ENXIO && code != ENODEV) return ProbeResult::kFailed;
  return leaf.type == "disk" ? ProbeResult::kRemoved : ProbeResult::kGone;
}

std::unique_ptr<Vdev> MakeRootVdev(uint64_t pool_guid, std::vector<std::unique_ptr<Vdev>> tops) {
  auto v = std::make_unique<RootVdev>();
  v->type = "root";
  v->guid = pool_guid;
  v->children = std::move(tops);
  return v;
}

Vdev* FindParent(Vdev& root, const Vdev* v) {
  for (auto& c : root.children) {
    if (c.get() == v) return &root;
    if (Vdev* p = FindParent(*c, v)) return p;
  }
  return nullptr;
}

bool VdevComplete(const Vdev& v) {
  if (!v.available()) return false;
  if (v.is_leaf()) return v.dtl.empty();
  if (v.type == "raidz") {
    uint64_t bad = 0;
    for (const auto& c : v.children) bad += !VdevComplete(*c);
    return bad <= v.nparity;
  }
  for (const auto& c : v.children)
    if (VdevComplete(*c)) return true;
  return false;
}

std::unique_ptr<Vdev> MakeMirrorVdev(const std::string& type) {
  std::unique_ptr<Vdev> v;
  if (type == "raidz") v = std::make_unique<RaidzVdev>();
  else v = std::make_unique<MirrorVdev>();
  v->type = type;
  return v;
}

std::unique_ptr<Vdev> MakeHoleVdev(uint64_t id) {
  auto v = std::make_unique<HoleVdev>();
  v->type = "hole";
  v->id = id;
  return v;
}

std::unique_ptr<Vdev> MakeMissingVdev(uint64_t id) {
  auto v = std::make_unique<MissingVdev>();
  v->type = "missing";
  v->id = id;
  return v;
}

}  // namespace uzfs
