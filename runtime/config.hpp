// Configuration of a Herald runtime. Plain structs with defaults that suit one process on a
// small machine; every field is documented where it is declared.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>

#include <caf/error.hpp>

#include "actors/consumer.hpp"
#include "actors/dead_letter.hpp"
#include "actors/producer.hpp"
#include "actors/restart_policy.hpp"
#include "actors/topic_registry.hpp"
#include "messages/group.hpp"
#include "observability/tracer.hpp"
#include "schema/upcaster.hpp"
#include "storage/disk_options.hpp"
#include "storage/log_storage.hpp"

namespace herald {

/// Metrics, traces, the HTTP endpoint and the log format (docs/OBSERVABILITY.md).
struct observability_options {
  /// Count events, bytes, offsets, lag and handler latency (relaxed atomics, once per batch).
  /// False: nothing is counted and metrics_snapshot() is empty.
  bool metrics = true;
  /// Spans to an OTLP/JSON file; off while tracing.file is empty.
  obs::tracing_options tracing;
  /// Port of the HTTP server that serves /metrics (Prometheus) and /metrics.json: -1 off (the
  /// default), 0 an ephemeral port (runtime::http_port() tells which).
  int http_port = -1;
  /// Address it listens on; "0.0.0.0" to be scraped from other machines.
  std::string http_address = "127.0.0.1";
  /// Log lines as "text" (key=value) or "json"; HERALD_LOG_FORMAT overrides it.
  std::string log_format = "text";
};

struct runtime_config {
  /// Scheduler threads of the actor system; 0 means one per CPU core, at least 4.
  size_t worker_threads = 0;
  /// trace, debug, info, warn, error, critical or off, optionally followed by per-subsystem
  /// levels ("info,consumer=debug"); HERALD_LOG_LEVEL overrides it (base/logging.hpp).
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
  /// Metrics, tracing, the HTTP endpoint, the log format.
  observability_options observability;
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
  /// What a failing handler causes (see actors/consumer.hpp): retries, then a dead letter in
  /// "<topic>.dlq" (the default), or a restart of the member.
  failure_policy on_failure = failure_policy::retry_then_dead_letter;
  /// Attempts per event, backoff between them, and per-key or strict partition order.
  retry_options retry;
  /// Skip events whose id the group already applied (redelivery after a crash, a producer
  /// retry, a redrive). The group remembers the last idempotence_window ids per partition;
  /// with a data_dir it saves them beside its committed offsets at each commit, so they
  /// survive a restart too (an event applied after the last commit before a crash may still
  /// be applied again: docs/STORAGE.md, "Processed ids").
  bool idempotent = false;
  size_t idempotence_window = 100000;
  /// How often the member may be restarted (after a crash or with restart_member) before the
  /// subscription fails for good with errc::escalated, and the delay before each restart.
  restart_intensity restarts{10, std::chrono::seconds{10}};
  backoff_policy restart_backoff{.initial = std::chrono::milliseconds{10},
                                 .multiplier = 2.0,
                                 .max = std::chrono::milliseconds{1000},
                                 .jitter = 0.2};
  /// Event type -> the schema version the handler is written for. An older event of such a
  /// type reaches the handler upcast by `upcasters` (and checked against that version when it
  /// is registered); a newer one fails like a handler error (retries, then a dead letter),
  /// since nothing downcasts. Function handlers only. docs/SCHEMAS.md, "Upcasting".
  std::map<std::string, uint32_t, std::less<>> expected_versions;
  /// The steps v(n) -> v(n+1) per event type (schema/upcaster.hpp).
  upcaster_set upcasters;
};

/// Which dead letters runtime::redrive() republishes. Both empty: all of them.
struct redrive_filter {
  std::string key;  ///< only this key
  offset from{-1};  ///< only dead-letter offsets in [from, to); -1: unbounded
  offset to{-1};
};

/// A dead letter read back by runtime::dead_letters().
struct dead_letter_info {
  event original;  ///< the event as it was (same id and correlation id)
  failure_story story;
  partition_id dlq_partition;
  offset dlq_offset;
};

}  // namespace herald
