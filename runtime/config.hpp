// Configuration of a Herald runtime. Plain structs with defaults that suit one process on a
// small machine; every field is documented where it is declared.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include <caf/error.hpp>

#include "actors/consumer.hpp"
#include "actors/producer.hpp"
#include "actors/topic_registry.hpp"
#include "messages/group.hpp"
#include "storage/disk_options.hpp"
#include "storage/log_storage.hpp"

namespace herald {

struct runtime_config {
  /// Scheduler threads of the actor system; 0 means one per CPU core, at least 4.
  size_t worker_threads = 0;
  /// trace, debug, info, warn, error, critical or off (see base/logging.hpp).
  std::string log_level = "info";
  /// Defaults for make_producer().
  producer_options producer;
  /// Defaults for subscribe().
  consumer_options consumer;
  /// Partition delivery sizes, coordinator time-outs, topic limits.
  registry_options broker;
  /// Control-plane calls (create a topic, join a group, ...) fail after this long.
  std::chrono::milliseconds request_timeout{10000};
  /// How long shutdown() waits for groups to consume what was published before stopping.
  std::chrono::milliseconds drain_timeout{10000};
  /// Where partitions keep their logs. Null: a disk_storage_factory on data_dir when that is
  /// set, else in memory.
  std::shared_ptr<storage_factory> storage;
  /// A directory for durable logs and committed group offsets (docs/STORAGE.md). Empty:
  /// nothing survives the process. Set: topics default to storage "disk" there, and a
  /// runtime restarted on it finds its topics' records and resumes every group.
  std::string data_dir;
  /// Tuning of the disk storage (segment size, tail cache, sync threads, ...).
  disk_options disk;
};

/// Checks ranges and names; the error says which field is wrong and what is allowed.
[[nodiscard]] caf::error validate(const runtime_config& cfg);

/// Options of one subscription (one member of one group).
struct subscribe_options {
  /// The member's name, unique within the group; empty: "<group>-<n>", unique per runtime.
  std::string member;
  /// Where a group without committed offsets starts on each partition.
  start_position start = start_position::earliest();
  /// Events per partition delivered ahead of the handler; -1: the runtime's default.
  int64_t credit_window = -1;
};

}  // namespace herald
