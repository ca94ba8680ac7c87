// The intent log of one dataset, write side (zfs-fuse zil.c: the zilog_t of an open objset,
// zil_itx_assign, zil_commit_writer, zil_lwb_commit, zil_lwb_write_start, zil_sync,
// zil_destroy, zil_claim). The pool drives it: its commit (Pool::ZilCommit) takes a batch
// of records here, gets them numbered and packed into log blocks, writes the blocks and
// flushes; its txg sync asks for the header to write and the blocks to free.
//
// The chain on disk: zil_header_t.zh_log names the first log block still needed; each block
// names the next one in its zil_chain_t, allocated before the block is written, so the
// last block of the chain is always allocated and unwritten (the "tail", where the next
// commit writes). After a crash, claim walks from the header to the first block that does
// not verify (the tail or a block whose write was lost), and every block it passes is
// allocated again (the ones born after the last synced txg); replay applies the records
// whose txg did not sync. A block is freed by the sync of the last txg its records describe
// (lwb_max_txg): from then on the objset itself holds what the block said.
//
// Rules the pool keeps (why a crash never leaks a block nor loses an acknowledged record):
// - the txg a log block is allocated in must not close until the block that points to it
//   is written (TxgState::Hold around allocation and write): a synced allocation whose
//   pointer never reached the disk would be a leak no claim can find;
// - the first block of a chain goes into the header by a txg sync, before any record is
//   written there (zil_create's txg_wait_synced): ready() says whether that happened;
// - a commit is acknowledged only after the blocks it wrote, and those of every commit
//   issued before it, are flushed.
//
// Thread safety: mu_ guards the itx list, the chain and the commit tickets; every method
// takes it. The pool calls Assign/Unlogged under its own lock (the ZPL's), so the order is
// pool lock → mu_. Commits take tickets: one caller at a time takes records and packs them
// (BeginCommit elects it, Issued ends its turn); a caller whose records a commit in flight
// took waits for it. One commit is in flight at a time (BeginCommit in zil_log.cc says
// why): the next is elected once it ended, so no caller is ever told a record is durable
// while a block before it in the chain may be lost (zil_lwb_flush_vdevs_done's ordering).
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include "libcore/base/blkptr.h"
#include "libcore/base/status.h"
#include "libcore/dmu/dmu.h"
#include "libcore/zil/zil.h"
#include "libcore/zil/zil_itx.h"

namespace uzfs {

class ZilWriter : public ItxSink {
 public:
  // objset: the dataset's objset id (the verifier's ZIL_ZC_OBJSET word); zh: its header as
  // on disk (claimed logs must have been replayed or destroyed before the first commit).
  // An unclaimed header's block is the tail a previous run left (allocated, unwritten: a
  // clean export syncs every record's txg first); the chain goes on from it at once.
  ZilWriter(uint64_t objset, const ZilHeader& zh) : objset_(objset), zh_(zh) {
    if (zh.claim_txg == 0 && !zh.log.is_hole()) tail_ = zh.log;
  }

  // ---- ItxSink (under the pool lock) ----
  void Assign(Itx itx) override;
  void Unlogged(uint64_t txg) override;

  // ---- Commit (zil_commit) ----
  // The sequence number of the last record assigned so far: a commit for it covers every
  // change made before the call.
  uint64_t last_itx() const;
  // Writer election: 0 when records up to `upto` are durable (a commit covered them, or
  // did meanwhile); otherwise a ticket (> 0): the caller is to take and pack the records
  // (no other caller packs until it calls Issued or EndCommit). Waits while another caller
  // packs, or while a commit in flight covers `upto`. An elected caller that sees fewer
  // callers than the last commits had waits a little (at most half the last write's time,
  // 2 ms at most) for the others to come back, so one block and one flush serve them all
  // instead of every other commit carrying half of them.
  uint64_t BeginCommit(uint64_t upto);
  // The packing caller's records (up to `covered`) are packed: the next caller may pack
  // from the new tail while these are written.
  void Issued(uint64_t covered);
  // The ticket's commit ended (its blocks written and durable when ok; `covered` as given
  // to Issued, or the records it made durable another way); the next commit may start.
  // Returns ok: its records are durable. After a failure, callers waiting on it retry.
  bool EndCommit(uint64_t ticket, uint64_t covered, bool ok);

  // What a commit writes: the records still needed (txg after `synced`), oldest first.
  struct Batch {
    std::vector<Itx> itxs;
    uint64_t last = 0;            // the last itx sequence number taken
    bool need_sync = false;       // a change no record describes is unsynced: sync instead
    uint64_t bytes = 0;           // an estimate of the log bytes (need_copy data included)
  };
  // zil_commit_writer's first half: takes (removes) the assigned records; those of synced
  // txgs are dropped (zil_itx_clean).
  Batch TakeBatch(uint64_t synced);
  // The chain can take records: its first block is in a synced header.
  bool ready(uint64_t synced) const;
  // The space of the written blocks still needed (freed by Sync once their txgs are synced).
  uint64_t live_bytes() const;
  // There is no chain yet (the header names no block).
  bool empty_chain() const;
  // The chain's tail: the allocated, unwritten block the next commit writes first (a hole
  // when there is none).
  BlkPtr tail() const;
  // zil_create: the first block of a chain, allocated by the caller in the open txg `txg`
  // (its DVAs set); it goes into the header at the next sync. The caller then syncs.
  void StartChain(BlkPtr first, uint64_t txg, uint64_t guid0, uint64_t guid1);

  // zil_lwb_commit / zil_lwb_write_start: numbers the records (lrc_seq) and packs them into
  // log blocks from the tail on; each full block gets a successor allocated by alloc (a
  // block of `size` bytes, with DVAs, in the open txg; `hint` is the block before it).
  // Returns the blocks to write, in chain order; the last successor becomes the tail. On an
  // allocation error nothing changes in the chain.
  struct BlockImage {
    BlkPtr bp;
    Bytes data;  // bp.lsize() bytes
  };
  using AllocFn = std::function<Result<BlkPtr>(uint64_t size, const BlkPtr& hint)>;
  Result<std::vector<BlockImage>> Pack(std::vector<Itx>& itxs, const AllocFn& alloc);

  // ---- Syncing context (under the pool lock, in the txg's close) ----
  // zil_sync: blocks whose records all belong to txgs up to `txg` are freed (free(bp, txg));
  // the header is pointed at the first block still needed. Returns true when the header
  // changed (the objset must be written with header()).
  bool Sync(uint64_t txg, const std::function<void(const BlkPtr&)>& free);
  // zil_destroy: every block of the chain is freed and the header zeroed (snapshot, rollback,
  // destroy). Blocks are freed with free(bp). Records not yet written are dropped.
  void Destroy(const std::function<void(const BlkPtr&)>& free);
  const ZilHeader& header() const { return zh_; }

  // Log block sizes (zil_block_buckets and 8K, zil_log.cc says why): the smallest of 4, 8,
  // 12, 36 or 128 KiB that holds `bytes` plus the chain header.
  static uint64_t BlockSize(uint64_t bytes);

 private:
  struct Lwb {
    BlkPtr bp;
    uint64_t max_txg = 0;  // the newest txg its records describe
  };
  mutable std::mutex mu_;
  std::condition_variable cv_;
  const uint64_t objset_;
  ZilHeader zh_;
  std::vector<Itx> itxs_;           // assigned, not yet taken by a commit
  uint64_t itx_seq_ = 0;            // itxs assigned so far
  uint64_t unlogged_txg_ = 0;       // newest txg with a change no record describes
  bool writing_ = false;            // a commit is in flight (elected, not yet ended)
  bool issuing_ = false;            // its caller is still packing (zl_writer)
  uint64_t issued_ = 0;             // itxs taken by issued commits (in flight or ended)
  uint64_t committed_ = 0;          // itxs known durable (by a commit or a txg's sync)
  uint64_t next_ticket_ = 0;        // the last ticket handed out (the one in flight)
  std::deque<Lwb> lwbs_;            // written blocks still needed, oldest first
  uint64_t live_bytes_ = 0;         // their allocated size
  BlkPtr tail_;                     // allocated, unwritten; the chain ends here (hole: none)
  uint64_t chain_txg_ = 0;          // the txg whose sync puts the chain's first block in the header
  uint64_t lr_seq_ = 0;             // last record sequence number written (zl_lr_seq)
  std::array<uint64_t, 8> prev_sizes_{};  // block sizes the last commits needed (zl_prev_blks)
  uint64_t prev_next_ = 0;
  // Gathering (zil_commit_waiter's timeout, zfs_commit_timeout_pct): callers inside a
  // commit, how many there were at the last issues, and how long the last write took.
  int callers_ = 0;
  std::array<int, 8> recent_callers_{};
  size_t recent_next_ = 0;
  std::chrono::steady_clock::time_point issued_at_{};
  std::chrono::microseconds last_write_{0};
};

}  // namespace uzfs
