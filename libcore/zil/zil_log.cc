#include "libcore/zil/zil_log.h"

#include <algorithm>

#include "libcore/base/bytes.h"
#include "libcore/zil/zil_write.h"

namespace uzfs {

void ZilWriter::Assign(Itx itx) {
  std::lock_guard<std::mutex> l(mu_);
  itx_seq_++;
  itxs_.push_back(std::move(itx));
}

void ZilWriter::Unlogged(uint64_t txg) {
  std::lock_guard<std::mutex> l(mu_);
  itx_seq_++;  // a commit after this change must see it
  unlogged_txg_ = std::max(unlogged_txg_, txg);
}

uint64_t ZilWriter::last_itx() const {
  std::lock_guard<std::mutex> l(mu_);
  return itx_seq_;
}

uint64_t ZilWriter::BeginCommit(uint64_t upto) {
  std::unique_lock<std::mutex> l(mu_);
  callers_++;
  // An elected caller gathering (issuing_, below) is woken once, when the callers it waits
  // for are in: a wake-up of every waiter at every arrival cost 8 threads of 4K
  // write+fsync a futex storm (5.4 futex calls per FUSE request; 2.4 woken once).
  if (issuing_) {
    // As the gatherer computed it: recent_callers_ changes only after its wait.
    if (callers_ == std::ranges::max(recent_callers_)) cv_.notify_all();
  }
  for (;;) {
    if (committed_ >= upto) {
      callers_--;
      return 0;
    }
    // zil_commit_waiter: records an issued commit took are waited for, not written again.
    // One commit at a time: on a disk whose flushes do not overlap (a virtio disk, a file
    // vdev on ext4; 8 threads of 4K write+fsync), a second commit written while the first
    // is in flight costs a flush of its own for fewer records: 2 in flight ran 25-35%
    // slower than 1, 8 ran 65-70% slower. Gathering the callers into one commit pays there.
    if (!writing_ && issued_ < upto) break;
    cv_.wait(l);
  }
  writing_ = issuing_ = true;
  // zil_commit_waiter's timeout: the callers the last commit answered are on their way
  // back (a write, then fsync again); waiting for them briefly makes one block of two.
  const int want = std::ranges::max(recent_callers_);
  const auto wait = std::min<std::chrono::microseconds>(last_write_ / 2, std::chrono::milliseconds(2));
  if (callers_ < want && wait.count() > 0)
    cv_.wait_for(l, wait, [&] { return callers_ >= want; });
  recent_callers_[recent_next_++ % recent_callers_.size()] = callers_;
  return ++next_ticket_;
}

void ZilWriter::Issued(uint64_t covered) {
  std::lock_guard<std::mutex> l(mu_);
  if (!issuing_) return;
  issued_ = std::max(issued_, covered);
  issued_at_ = std::chrono::steady_clock::now();
  issuing_ = false;
}

bool ZilWriter::EndCommit(uint64_t ticket, uint64_t covered, bool ok) {
  std::lock_guard<std::mutex> l(mu_);
  callers_--;
  if (!writing_ || ticket != next_ticket_) return false;  // not the commit in flight
  if (issuing_) {  // never got to Issued: its turn ends here
    issuing_ = false;
    if (ok) issued_ = std::max(issued_, covered);
  } else if (ok) {
    last_write_ = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - issued_at_);
  }
  if (ok) {
    committed_ = std::max(committed_, covered);
  } else {
    // What the failed commit took is not durable: its waiters become writers again (the
    // pool's failure answers them).
    issued_ = committed_;
  }
  writing_ = false;
  cv_.notify_all();
  return ok;
}

ZilWriter::Batch ZilWriter::TakeBatch(uint64_t synced) {
  std::lock_guard<std::mutex> l(mu_);
  Batch b;
  b.last = itx_seq_;
  b.need_sync = unlogged_txg_ > synced;
  for (Itx& itx : itxs_) {
    if (itx.txg <= synced) continue;  // zil_itx_clean: its txg holds it now
    b.bytes += itx.lr.size() + (itx.need_copy ? (itx.len + 7) / 8 * 8 : 0);
    b.itxs.push_back(std::move(itx));
  }
  itxs_.clear();
  return b;
}

bool ZilWriter::ready(uint64_t synced) const {
  std::lock_guard<std::mutex> l(mu_);
  return !tail_.is_hole() && chain_txg_ <= synced;
}

bool ZilWriter::empty_chain() const {
  std::lock_guard<std::mutex> l(mu_);
  return tail_.is_hole() && zh_.log.is_hole();
}

BlkPtr ZilWriter::tail() const {
  std::lock_guard<std::mutex> l(mu_);
  return tail_;
}

void ZilWriter::StartChain(BlkPtr first, uint64_t txg, uint64_t guid0, uint64_t guid1) {
  std::lock_guard<std::mutex> l(mu_);
  // zil_init_log_chain: a verifier of fresh random words, so no block of an older chain
  // can pass for one of this one.
  first.cksum.word[kZilZcGuid0] = guid0;
  first.cksum.word[kZilZcGuid1] = guid1;
  first.cksum.word[kZilZcObjset] = objset_;
  first.cksum.word[kZilZcSeq] = 1;
  tail_ = first;
  chain_txg_ = txg;
}

uint64_t ZilWriter::BlockSize(uint64_t bytes) {
  // zfs-fuse's zil_block_buckets less than 8K: a 4K write's record (4,288 bytes with its
  // lr_write_t, 4,472 with the chain header) took a 12K block of which only 8K is written,
  // so a third of the log's space was allocated, never written, and held for two txgs.
  // Any multiple of 4K is a valid size (zil_read_log_block reads BP_GET_LSIZE bytes and
  // checks zc_nused; the buckets are zil_lwb_write_start's policy, not the format).
  for (uint64_t b : {uint64_t{4096}, uint64_t{8192}, uint64_t{12288}, uint64_t{36864}})
    if (bytes + kZilChainSize <= b) return b;
  return 128 * 1024;
}

Result<std::vector<ZilWriter::BlockImage>> ZilWriter::Pack(std::vector<Itx>& itxs,
                                                           const AllocFn& alloc) {
  std::lock_guard<std::mutex> l(mu_);
  if (tail_.is_hole()) return Status::Error(EINVAL, "intent log has no chain");
  uint64_t remaining = 0;
  for (const Itx& itx : itxs) remaining += itx.lr.size();
  // zil_lwb_write_issue's zl_prev_blks: the block after this commit is sized for the
  // largest of the last commits, so the next one most likely fits it (an empty tail that
  // only points on would cost the commit a second dependent write).
  prev_sizes_[prev_next_++ % prev_sizes_.size()] = BlockSize(remaining);
  uint64_t predicted = 0;
  for (uint64_t p : prev_sizes_) predicted = std::max(predicted, p);

  std::vector<BlockImage> out;
  std::vector<Lwb> written;
  BlkPtr cur = tail_;
  uint64_t seq = lr_seq_;
  // A plain vector: Bytes' allocator makes insert copy byte by byte (allocator_traits
  // construct per element): about 4% of zfsd's CPU under 8 threads of 4K write+fsync.
  std::vector<uint8_t> records;
  uint64_t max_txg = 0;
  // Closes the current block: allocates its successor (sized for what is left), builds
  // the image pointing to it, and moves on to the successor.
  auto close_block = [&]() -> Status {
    UZFS_ASSIGN(BlkPtr next, alloc(remaining ? BlockSize(remaining) : predicted, cur));
    next.cksum = cur.cksum;
    next.cksum.word[kZilZcSeq] = cur.cksum.word[kZilZcSeq] + 1;
    out.push_back({cur, BuildLogBlock(cur, next, records)});
    written.push_back({cur, max_txg});
    cur = next;
    records.clear();
    max_txg = 0;
    return Status::Ok();
  };
  for (Itx& itx : itxs) {
    const uint64_t room = cur.lsize() - kZilChainSize;
    if (itx.lr.size() > 128 * 1024 - kZilChainSize)
      return Status::Error(EINVAL, "log record larger than a log block");
    if (records.size() + itx.lr.size() > room) UZFS_TRY(close_block());
    remaining -= std::min<uint64_t>(remaining, itx.lr.size());
    // zil_lwb_commit: lrc_seq numbers the records in the order they are written.
    SetLrSeq(itx.lr.data(), ++seq);
    records.insert(records.end(), itx.lr.begin(), itx.lr.end());
    max_txg = std::max(max_txg, itx.txg);
  }
  UZFS_TRY(close_block());
  // Only now, with every allocation made, does the chain move on.
  tail_ = cur;
  lr_seq_ = seq;
  for (Lwb& w : written) {
    lwbs_.push_back(w);
    live_bytes_ += w.bp.total_asize();
  }
  return out;
}

uint64_t ZilWriter::live_bytes() const {
  std::lock_guard<std::mutex> l(mu_);
  return live_bytes_;
}

bool ZilWriter::Sync(uint64_t txg, const std::function<void(const BlkPtr&)>& free) {
  std::lock_guard<std::mutex> l(mu_);
  while (!lwbs_.empty() && lwbs_.front().max_txg <= txg) {
    free(lwbs_.front().bp);
    live_bytes_ -= lwbs_.front().bp.total_asize();
    lwbs_.pop_front();
  }
  BlkPtr start = !lwbs_.empty() ? lwbs_.front().bp : tail_;
  if (start.is_hole()) return false;
  bool changed = std::memcmp(&start, &zh_.log, sizeof start) != 0;
  if (changed) zh_.log = start;
  return changed;
}

void ZilWriter::Destroy(const std::function<void(const BlkPtr&)>& free) {
  std::lock_guard<std::mutex> l(mu_);
  for (const Lwb& w : lwbs_) free(w.bp);
  lwbs_.clear();
  live_bytes_ = 0;
  if (!tail_.is_hole()) free(tail_);
  tail_ = BlkPtr{};
  zh_ = ZilHeader{};
  itxs_.clear();
  chain_txg_ = 0;
  lr_seq_ = 0;
}

}  // namespace uzfs
