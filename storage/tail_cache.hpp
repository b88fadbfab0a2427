// The newest batches of a partition kept in memory (shared, not copied), bounded by bytes, so
// that consumers keeping up with producers are served without touching the disk. It always
// holds a contiguous suffix of the log: [first(), end of the last batch).
// Owned by one segment_log and used under its lock. Cost: push O(1) amortized; a read binary-
// searches the batches and then slices like memory_log.
#pragma once

#include <deque>

#include "storage/read_budget.hpp"

namespace herald::disk {

class tail_cache {
 public:
  explicit tail_cache(int64_t max_bytes) : max_bytes_(max_bytes) {}

  void push(record_batch_ptr batch, offset base, timestamp append_time);
  /// True when the batch holding `o` (or the first after it) is cached.
  bool covers(offset o) const { return !entries_.empty() && o >= entries_.front().base; }
  /// Serves a read from `b.next` (which must be covered).
  void read(read_budget& b, std::vector<batch_slice>& out) const;
  /// Forgets batches that start below `o` (retention deleted them).
  void drop_below(offset o);
  void clear();
  int64_t bytes() const { return bytes_; }

 private:
  struct entry {
    offset base;
    timestamp append_time;
    record_batch_ptr batch;
    int32_t span;
  };
  std::deque<entry> entries_;
  int64_t bytes_ = 0;
  int64_t max_bytes_;
};

}  // namespace herald::disk
