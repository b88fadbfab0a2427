// The storage interface behind a partition: an append-only log of record batches. The
// partition actor owns one instance and is its only caller (no locking inside). The core
// ships memory_log; the on-disk segment log and the Kafka backend implement the same
// interface, so the partition actor does not change with the backend.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "messages/ids.hpp"
#include "messages/record_batch.hpp"
#include "messages/topic.hpp"

namespace herald {

/// Where an appended batch went.
struct append_info {
  offset base;
  int32_t count = 0;
};

struct storage_stats {
  offset start;  ///< first retained offset (== end when empty)
  offset end;    ///< offset of the next record appended
  int64_t events = 0;
  int64_t bytes = 0;
  int64_t batches = 0;
};

class log_storage {
 public:
  virtual ~log_storage() = default;

  /// Appends `batch` at the end of the log, stamped with `append_time`, and returns its
  /// offsets. On error nothing of the batch is in the log.
  /// Cost: O(1) for memory_log (the batch is shared, not copied).
  [[nodiscard]] virtual caf::expected<append_info> append(const record_batch_ptr& batch,
                                                          timestamp append_time) = 0;

  /// Appends slices of records from `from` on to `out`: at most `max_events` records and
  /// about `max_bytes` (always at least one record when any exists). Returns the next
  /// offset to read. Error offset_out_of_range when `from` is below start_offset(); reading at
  /// or past the end appends nothing and returns `from`.
  [[nodiscard]] virtual caf::expected<offset> read(offset from, int32_t max_events,
                                                   int64_t max_bytes,
                                                   std::vector<batch_slice>& out) const = 0;

  virtual offset start_offset() const = 0;
  virtual offset end_offset() const = 0;

  /// Offsets below this survive a crash of the process; consumers see only records below
  /// it, and producers get acknowledgements only for them. memory_log: the end (nothing
  /// survives a crash anyway, and nothing is pending).
  virtual offset durable_offset() const { return end_offset(); }

  /// Called (from any thread) when durable_offset() advanced without an append, e.g. when a
  /// background fsync finished. The partition sends itself a message from it. Storages whose
  /// durable offset only moves inside append() never call it.
  using durability_listener = std::function<void(offset durable)>;
  virtual void set_durability_listener(durability_listener) {}

  /// The first offset whose record has a timestamp >= `t`, or end_offset().
  virtual offset offset_for_time(timestamp t) const = 0;

  /// Deletes whole batches, oldest first, while the log exceeds a limit of `policy`.
  /// Returns how many records were deleted.
  virtual int64_t enforce_retention(const retention_policy& policy, timestamp now) = 0;

  virtual storage_stats stats() const = 0;

  /// Makes everything appended so far durable (no-op in memory).
  [[nodiscard]] virtual caf::error flush() { return caf::none; }
};

using log_storage_ptr = std::unique_ptr<log_storage>;

/// Creates the storage of one partition; the topic registry calls it when a partition
/// actor starts (and again when a supervisor restarts one: then it must reopen the same log).
class storage_factory {
 public:
  virtual ~storage_factory() = default;
  [[nodiscard]] virtual caf::expected<log_storage_ptr> open(const std::string& topic,
                                                            partition_id partition,
                                                            const topic_config& config) = 0;
  /// Removes the data of a deleted topic.
  [[nodiscard]] virtual caf::error remove(const std::string& topic, int32_t partitions) = 0;
  /// The backend a topic gets when its config leaves `storage` empty.
  virtual std::string default_backend() const { return "memory"; }
};

}  // namespace herald
