// The in-memory log: a deque of shared record batches. Appends and reads share batches, they
// copy no bytes; retention pops whole batches from the front.
#pragma once

#include <array>
#include <deque>
#include <map>
#include <mutex>

#include "storage/log_storage.hpp"

namespace herald {

class memory_log final : public log_storage {
 public:
  memory_log() = default;

  caf::expected<append_info> append(const record_batch_ptr& batch, timestamp append_time) override;
  caf::expected<offset> read(offset from, int32_t max_events, int64_t max_bytes,
                             std::vector<batch_slice>& out) const override;
  offset start_offset() const override { return start_; }
  offset end_offset() const override { return end_; }
  offset offset_for_time(timestamp t) const override;
  int64_t enforce_retention(const retention_policy& policy, timestamp now) override;
  storage_stats stats() const override;

 private:
  struct stored {
    offset base;
    timestamp append_time;
    timestamp max_time_so_far;  // running maximum: makes time lookups a binary search
    record_batch_ptr batch;
    int32_t span;  // offsets the batch covers (last_offset_delta + 1)
  };
  void pop_front();

  /// Where a read that stopped inside a batch stopped, so the next read from there (the same
  /// consumer group, after its next credit grant) starts at that byte instead of walking the
  /// batch from its first record: a group that keeps up reads a few records at a time, and
  /// the walk would cost O(batch) per delivery. One per recent reader (groups), reused
  /// round-robin; a miss only costs the walk.
  struct resume_hint {
    const record_batch* batch = nullptr;
    offset base;
    offset next;
    uint32_t pos = 0;
    uint32_t remaining = 0;
  };
  static constexpr size_t hint_slots = 8;

  std::deque<stored> batches_;
  // The partition actor is the only caller (log_storage.hpp), so read() may update these.
  mutable std::array<resume_hint, hint_slots> hints_{};
  mutable size_t next_hint_ = 0;
  offset start_{0};
  offset end_{0};
  int64_t events_ = 0;
  int64_t bytes_ = 0;
};

/// Keeps memory logs alive across partition actor restarts: a restarted partition reopens the
/// same log, so a supervisor restart loses nothing that was acknowledged.
class memory_storage_factory final : public storage_factory {
 public:
  caf::expected<log_storage_ptr> open(const std::string& topic, partition_id partition,
                                      const topic_config& config) override;
  caf::error remove(const std::string& topic, int32_t partitions) override;

 private:
  class handle;
  std::mutex mtx_;
  std::map<std::pair<std::string, int32_t>, std::shared_ptr<memory_log>> logs_;
};

}  // namespace herald
