// The vdev tree of an opened pool, for reading: leaves (file, disk), mirrors (also the
// "replacing" and "spare" interior vdevs, which read like mirrors) and raidz1/2/3.
//
// Addresses: a top-level vdev is read at DVA offsets (bytes of its allocatable space). A leaf
// adds the 4 MiB front area (2 labels + boot region, docs/ondisk-v23.md sections 3 and 5); a
// mirror passes the offset to each side; raidz maps it onto columns (vdev_raidz.h).
//
// Self-healing on read: a caller passes a BlockVerifier (normally "the bp checksum matches");
// a mirror tries each side until one verifies, raidz reconstructs missing columns and, when all
// columns read but the data does not verify, tries every combination of up to nparity bad
// columns (vdev_raidz_combrec). Each failure met on the way is appended to `errs`, with the
// leaf device when one is known to be at fault. Nothing is ever written back (read-only).
//
// Thread safety: Read may be called from several threads when the Files allow it (PosixEnv).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "libcore/base/bytes.h"
#include "libcore/base/env.h"
#include "libcore/base/nvlist.h"
#include "libcore/base/status.h"
#include "libcore/vdev/vdev_dtl.h"
#include "libcore/vdev/vdev_health.h"
#include "libcore/vdev/vdev_inject.h"

namespace uzfs {

// True when the bytes are the wanted block.
using BlockVerifier = std::function<bool(ByteSpan)>;

struct VdevIoError {
  std::string device;  // leaf path, or empty when no single leaf is to blame
  uint64_t guid = 0;   // guid of the vdev at fault (leaf when known)
  int code = 0;        // EIO, ENXIO (device missing), ECKSUM
  std::string what;
};

class Vdev {
 public:
  virtual ~Vdev() = default;

  // Config facts, from the label's vdev_tree (0 / empty when absent).
  std::string type;       // "file", "disk", "dax", "mirror", "raidz", "replacing", "spare", "missing",
                          // "hole" (a removed log device's id: no device, no space)
  uint64_t id = 0;
  uint64_t guid = 0;
  std::string path;       // leaves: path from the label
  std::string open_path;  // leaves: the device actually opened (empty when missing)
  uint64_t ashift = 0;    // top-level: from the label; children inherit it
  uint64_t asize = 0;
  uint64_t nparity = 0;   // raidz
  uint64_t metaslab_array = 0;
  uint64_t metaslab_shift = 0;
  uint64_t create_txg = 0;
  bool is_log = false;
  bool whole_disk = false;  // leaves: a disk we partitioned (the path is its partition 1)
  // Leaves: a hot spare of the pool serving in a "spare" vdev (ZPOOL_CONFIG_IS_SPARE,
  // vdev_isspare); its guid is the one the pool's spare list names.
  bool is_spare = false;
  std::vector<std::unique_ptr<Vdev>> children;

  // Leaves: error counters and fault state (vdev_health.h); interior vdevs keep theirs at
  // zero and ONLINE (their state follows their children: available()).
  LeafHealth health;
  // Leaves: the txgs the device missed (vdev_dtl.h) and its space map object in the MOS
  // (0: none yet); guarded by the owning pool's mu_. offline_temporary: zpool offline -t
  // (vdev_tmpoffline), not written to the config, so an import brings the leaf back.
  Dtl dtl;
  uint64_t dtl_object = 0;
  bool offline_temporary = false;
  // Leaves: a resilver is under way and this leaf's DTL is not empty: its stale blocks are
  // rewritten without being counted as checksum errors, and mirrors read it last.
  std::atomic<bool> resilvering{false};
  // Leaves: the fault zinject injected (vdev_inject.h); none by default.
  LeafInject inject;
  // Mirrors and raidz: a side (a column) that failed a read the others served is rewritten
  // with the good copy (self-healing). Set by a pool imported or created writable before its
  // first read of user data; read-only opens (zdb, readonly=on) leave it false.
  bool self_heal = false;
  // Mirrors, raidz and (ditto copies) top-level vdevs: the bytes written back by
  // self-healing (what a scrub reports as repaired).
  std::atomic<uint64_t> repair_bytes{0};
  void CountRepair(uint64_t bytes) { repair_bytes.fetch_add(bytes, std::memory_order_relaxed); }
  // vdev_stat_t's vs_ops / vs_bytes (zpool iostat): the reads and writes that succeeded on
  // this vdev as a whole (a top-level's of whole blocks, a leaf's to its device; label and
  // uberblock writes are not counted), as vdev_stat_update counts each zio on its own vdev.
  // Atomics: counted by any I/O thread, read without a lock.
  struct IoCounters {
    std::atomic<uint64_t> ops[2]{}, bytes[2]{};  // [0] reads, [1] writes
    void Count(bool write, uint64_t n) {
      ops[write].fetch_add(1, std::memory_order_relaxed);
      bytes[write].fetch_add(n, std::memory_order_relaxed);
    }
  };
  IoCounters io;
  // Leaves: how an I/O error's probe is made (a writable pool sets it, ProbeLeaf with its
  // Env). Unset (zdb, a read-only open): errors are counted and only kFaultAfter of them
  // fault the leaf. Set before the first I/O; never changed while I/O runs.
  std::function<ProbeResult(Vdev&)> prober;
  // Leaves: whether the diagnosis engine's count of errors may fault this leaf (vdev_fault's
  // back-off: not when it holds its top-level vdev's only copy). Unset: it may. Set with
  // prober; called on the I/O's thread, outside any lock of the vdev.
  std::function<bool(const Vdev&)> may_fault;
  // Leaves: told of every error counted (zfs_ereport_post's moment): its kind, where on the
  // device (offset from the device's start and size; 0 and 0 when not known) and the leaf's
  // state before and after it (a change is a statechange event). A writable pool sets it to
  // post events (zpool events); called on the I/O's thread, with no lock of the vdev held.
  struct ErrorReport {
    VdevErrKind kind;
    uint64_t offset = 0, size = 0;
    LeafState before = LeafState::kOnline, after = LeafState::kOnline;
  };
  std::function<void(Vdev&, const ErrorReport&)> on_error;
  // Leaves: an I/O error of kind k met outside Read/Write/Flush (a label write through
  // file()): counted and probed as the leaf's own errors are. offset and size: the I/O's,
  // in this vdev's address space (after the front labels), when known.
  virtual void NoteError(VdevErrKind k, uint64_t offset = 0, uint64_t size = 0) {
    (void)k, (void)offset, (void)size;
  }
  // Leaves: a freshly opened device takes the place of the current one (zpool clear's
  // reopen). The one it replaces stays open until the vdev goes (another thread may be in
  // the middle of an I/O on it; closing would let its descriptor number be reused).
  virtual void ReplaceFile(std::unique_ptr<File> f) { (void)f; }
  // Leaves: a removed device is let go (spa_async_remove; File::Release of every File the
  // leaf holds, the current one and those ReplaceFile kept), so its last holder is gone.
  virtual void ReleaseDevice() {}

  bool is_leaf() const { return children.empty() && type != "mirror" && type != "raidz" &&
                                type != "replacing" && type != "spare" && type != "root" &&
                                type != "hole"; }
  bool is_hole() const { return type == "hole"; }
  // A device of the dax class: a device-DAX character device (or a file emulating one), a
  // top-level vdev of its own whose space only dax=on file data takes.
  bool is_dax() const { return type == "dax"; }
  // False for a leaf whose device was not found or that is dead (FAULTED, UNAVAIL:
  // health), and for an interior vdev that cannot serve reads (raidz with more than nparity
  // unavailable children, mirror with none).
  virtual bool available() const = 0;
  // Sum of the guids of this vdev and all below it (for ub_guid_sum).
  uint64_t GuidSum() const;

  // Reads out.size() bytes at `offset` of this vdev's address space (see top of file). When
  // verify is non-null, success means the returned bytes satisfied it; otherwise ECKSUM.
  // EIO / ENXIO when the bytes cannot be read at all.
  // scrub (zdb -c, zpool scrub: ZIO_FLAG_SCRUB): also read and check the redundancy a normal
  // read skips: every mirror side is read and verified, and raidz parity columns are read and
  // compared with parity regenerated from the verified data; each bad copy found is appended
  // to errs, counted in its leaf's CKSUM and, when the pool heals (self_heal), rewritten.
  // (The default argument is declared here only; overrides must not repeat it.)
  virtual Status Read(uint64_t offset, MutByteSpan out, const BlockVerifier* verify,
                      std::vector<VdevIoError>* errs, bool scrub = false) = 0;

  // Write side (pools opened writable). Writes data (a multiple of 2^ashift bytes) at
  // `offset` of this vdev's address space: a leaf at offset + 4 MiB, a mirror to every
  // available side (success when at least one side took it, as vdev_mirror's write rule),
  // raidz as data + parity columns (vdev_raidz_map_alloc's layout). Each failed child is
  // appended to errs. EROFS when the device was opened read-only. durable (the intent log's
  // writes): each leaf makes its part durable before returning (File::WriteAtDurable),
  // without a Flush of everything else written.
  // (The default argument is declared here only; overrides must not repeat it.)
  virtual Status Write(uint64_t offset, ByteSpan data, std::vector<VdevIoError>* errs,
                       bool durable = false) = 0;
  // Writes parts back to back from offset: what Write of their concatenation does (the
  // write pipeline's aggregated runs, vdev_queue_aggregate's, without copying them
  // together). By default the concatenation is made and written (raidz, whose columns cut
  // across the parts); leaves and mirrors hand the parts down (pwritev).
  virtual Status WriteV(uint64_t offset, std::span<const ByteSpan> parts, std::vector<VdevIoError>* errs);
  // Makes every completed write below this vdev durable (DKIOCFLUSHWRITECACHE).
  virtual Status Flush() = 0;
  // The opened device of a leaf (nullptr for interior vdevs and missing leaves): labels are
  // written through it.
  virtual File* file() { return nullptr; }
  // Bytes of allocatable space this vdev offers for a block of psize bytes (vdev_psize_to_asize:
  // rounded to 2^ashift; raidz adds parity and rounds to nparity + 1 sectors).
  uint64_t PsizeToAsize(uint64_t psize) const;
};

// Calls fn on every leaf at or below v, in tree order (v const or not; fn takes V&).
template <typename V, typename Fn>
void ForEachLeaf(V& v, Fn&& fn) {
  if (v.is_leaf()) {
    fn(v);
    return;
  }
  for (auto& c : v.children) ForEachLeaf(static_cast<V&>(*c), fn);
}

// v's parent at or below root (null when v is not below it).
Vdev* FindParent(Vdev& root, const Vdev* v);

// A vdev that can serve every block: available and missing no txg (a leaf's DTL empty; a
// mirror with one such child; raidz with at most nparity children not so). vdev_dtl_required
// asks it of the top-level vdev with one leaf taken away.
bool VdevComplete(const Vdev& v);

// An interior vdev of type "mirror", "replacing" or "spare" with no children yet (zpool
// attach and replace insert one above a leaf: vdev_add_parent).
std::unique_ptr<Vdev> MakeMirrorVdev(const std::string& type);

// Provides the opened device of a leaf: by guid (preferred) and/or label path. Returns nullptr
// when the device is missing; the tree then holds an unavailable leaf.
using LeafOpener = std::function<std::unique_ptr<File>(uint64_t guid, const std::string& path)>;

// Builds a top-level vdev (and its children) from a label's vdev_tree nvlist. ECORRUPT when
// the tree is malformed (unknown type, raidz without nparity or with nparity >= children,
// ashift outside 9..17, nesting deeper than 4).
Result<std::unique_ptr<Vdev>> BuildVdevTree(const NvList& vdev_tree, const LeafOpener& open);

// The root of a pool's tree (type "root", guid = pool_guid); reads are not served at the root
// (DVAs name a top-level vdev), so its Read fails with EINVAL.
std::unique_ptr<Vdev> MakeRootVdev(uint64_t pool_guid, std::vector<std::unique_ptr<Vdev>> tops);

// vdev_probe of a leaf after an I/O error: the pad areas of labels 1-3 read and written back
// through its open device, then flushed; when that fails, its path opened afresh through env
// (read-only) tells a device that is gone (kGone: ENOENT, ENXIO, ENODEV) from one that does
// not answer (kFailed). A block device ("disk") that is gone, or whose File says it is no
// longer there (File::Present), is kRemoved. A leaf with an injected ENXIO (vdev_inject.h)
// is kGone.
ProbeResult ProbeLeaf(Vdev& leaf, Env* env);

// A placeholder top-level vdev for an id no label describes; every read fails with ENXIO.
std::unique_ptr<Vdev> MakeMissingVdev(uint64_t id);

// A hole in the top-level namespace (vdev_hole_ops, SPA_VERSION_HOLES): the id of a removed
// log device that is not the last one. No device, no space, guid 0; available (it takes no
// part in the pool's health); every read and write fails with ENXIO.
std::unique_ptr<Vdev> MakeHoleVdev(uint64_t id);

}  // namespace uzfs
