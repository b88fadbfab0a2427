// Tuning of the on-disk log, shared by every partition of a disk_storage_factory. Per-topic
// choices (durability, compaction, retention) live in topic_config; these are the knobs an
// operator sets once per data directory. docs/STORAGE.md explains each.
#pragma once

#include <chrono>
#include <cstdint>

#include <caf/error.hpp>

namespace herald {

struct disk_options {
  /// The active segment rolls before a batch would take it past this size.
  int64_t segment_bytes = int64_t{64} << 20;
  /// ... or when its first batch was appended this long ago (checked at append).
  std::chrono::milliseconds segment_age{std::chrono::hours{24 * 7}};
  /// A sparse index entry is written at most every this many bytes of log.
  int32_t index_interval_bytes = 4096;
  /// Recently appended batches kept in memory per partition, so tailing consumers never
  /// read the disk.
  int64_t tail_cache_bytes = int64_t{32} << 20;
  /// Threads that run background fdatasyncs (group commit); fsyncs of different files
  /// proceed in parallel, so more than one helps on devices that merge flushes.
  int32_t sync_threads = 2;
  /// How often compacted topics are checked for closed segments to clean; 0: only when
  /// segment_log::compact() is called.
  std::chrono::milliseconds compaction_interval{std::chrono::seconds{30}};
  /// Tombstones older than this (by append time) are removed by compaction, after having
  /// hidden their key's older records for at least this long.
  std::chrono::milliseconds tombstone_retention{std::chrono::hours{24}};
  /// Committed group offsets are written at once and fdatasynced at most this often.
  std::chrono::milliseconds offsets_sync_interval{100};
};

/// Checks ranges; the error names the field and what is allowed.
[[nodiscard]] caf::error validate(const disk_options& opts);

}  // namespace herald
