// The durable log of one partition: a directory of segments (docs/STORAGE.md), a tail cache
// of the newest batches, and the durability policy of its topic.
//
// Lifecycle: open() recovers the directory (checks the last segment batch by batch, cuts a
// torn tail, rebuilds stale indexes) and returns a shared log; the disk_storage_factory keeps
// it while the topic exists and hands the partition actor a handle to it (a restarted actor
// gets the same log). close() syncs what was written; abandon() is for a deleted topic.
//
// Concurrency: the partition actor is the only caller of the log_storage functions, but the
// factory's sync threads (run_sync) and compaction thread (compact) work on the same log, so
// every member takes the log's mutex. The actor never waits on the disk's flush: appends
// write (one pwritev) and return; under durability `always` a sync thread makes them durable
// and reports it through the durability listener, so concurrent appends share one fdatasync.
//
// Costs: append = one pwritev (+ file creation on a roll); a read of the tail = memory only;
// an older read = an index binary search + the batches read; durable_offset() = one lock.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "storage/disk_options.hpp"
#include "storage/log_storage.hpp"
#include "storage/segment.hpp"
#include "storage/sync_scheduler.hpp"
#include "storage/tail_cache.hpp"

namespace herald {

namespace disk {
class compactor;
}

/// What one compaction pass did.
struct compaction_stats {
  int32_t segments_rewritten = 0;
  int64_t records_removed = 0;
  int64_t tombstones_removed = 0;
  int64_t bytes_before = 0;  ///< of the rewritten segments
  int64_t bytes_after = 0;
};

class segment_log final : public log_storage,
                          public disk::sync_target,
                          public std::enable_shared_from_this<segment_log> {
 public:
  struct params {
    std::string dir;  ///< the partition's directory
    std::string topic;
    partition_id partition;
    topic_config config;
    disk_options options;
    std::weak_ptr<disk::sync_scheduler> scheduler;
  };

  [[nodiscard]] static caf::expected<std::shared_ptr<segment_log>> open(params p);
  ~segment_log() override;

  // -- log_storage ------------------------------------------------------------------------

  caf::expected<append_info> append(const record_batch_ptr& batch, timestamp append_time) override;
  /// Returns only records below durable_offset(): nothing a crash could take back is shown.
  caf::expected<offset> read(offset from, int32_t max_events, int64_t max_bytes,
                             std::vector<batch_slice>& out) const override;
  offset start_offset() const override;
  offset end_offset() const override;
  /// `always`: what the last fdatasync covered; `interval`, `never`: what was written.
  offset durable_offset() const override;
  void set_durability_listener(durability_listener f) override;
  offset offset_for_time(timestamp t) const override;
  /// Deletes whole closed segments, oldest first, while a limit is exceeded. An active
  /// segment whose records are all past max_age is rolled first, so idle topics age out.
  int64_t enforce_retention(const retention_policy& policy, timestamp now) override;
  storage_stats stats() const override;
  /// fdatasyncs everything written, on the calling thread.
  caf::error flush() override;

  // -- lifecycle --------------------------------------------------------------------------

  /// Syncs everything written (every policy) and refuses further calls. Idempotent.
  caf::error close();
  /// Refuses further calls without syncing: the topic is being deleted.
  void abandon();

  /// Compacts the closed, durable segments now, on the calling thread (the factory's
  /// compaction thread, or a test). Appends continue meanwhile; they wait only while a
  /// rewritten segment is swapped in.
  [[nodiscard]] caf::expected<compaction_stats> compact(timestamp now = timestamp::now());

  // -- introspection (tests, benchmarks) --------------------------------------------------

  offset synced_offset() const;
  std::vector<offset> segment_bases() const;
  const std::string& dir() const { return p_.dir; }
  const topic_config& config() const { return p_.config; }

  void run_sync(disk::sync_scheduler& on) override;

 private:
  friend class disk::compactor;
  explicit segment_log(params p);

  caf::error recover();
  disk::segment& active() { return *segments_.rbegin()->second; }
  const disk::segment& active() const { return *segments_.rbegin()->second; }
  caf::error roll_locked();
  void request_sync_locked();
  /// Syncs what was written so far. `on`: the pool thread running it (counts the syncs), or
  /// null on any other thread.
  caf::error sync_now(disk::sync_scheduler* on);
  void delete_first_locked();
  std::string where() const;

  params p_;
  mutable std::mutex mtx_;
  std::mutex sync_mtx_;     // one sync of this log at a time
  std::mutex compact_mtx_;  // one compaction of this log at a time
  std::map<offset, std::unique_ptr<disk::segment>> segments_;  // by base; the last is active
  mutable disk::tail_cache cache_;
  offset end_{0};
  offset synced_{0};
  int64_t events_ = 0;
  int64_t bytes_ = 0;
  int64_t batches_ = 0;
  std::vector<disk::file_ptr> dirty_files_;  // written since the last sync snapshot
  bool dir_dirty_ = false;
  bool sync_queued_ = false;
  std::chrono::steady_clock::time_point next_interval_sync_;
  caf::error failure_;  // a failed fdatasync: the log accepts no more writes
  bool closed_ = false;
  durability_listener listener_;
};

}  // namespace herald
