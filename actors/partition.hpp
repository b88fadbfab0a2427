// The partition actor: one per (topic, partition). Owns the partition's log (a log_storage),
// assigns offsets to appended batches, answers producers, and pushes records to the member of
// each consumer group that owns the partition, within that member's credit.
//
// State it owns: one cursor per group (member, epoch, next offset, credit). The storage and
// the last batch sequences per producer (to drop retried batches) live in a partition_store
// that the topic registry keeps for the next incarnation when this actor crashes.
// Hot path per batch: one storage append (no copy), one ack, one delivery per group with
// credit. Nothing is done per event except walking record lengths when a delivery must start
// or stop inside a batch.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "messages/group.hpp"
#include "messages/partition.hpp"
#include "messages/topic.hpp"
#include "observability/instruments.hpp"
#include "storage/log_storage.hpp"

namespace herald {

struct partition_options {
  int32_t max_delivery_events = 1024;    ///< records per delivery message
  int64_t max_delivery_bytes = 1 << 20;  ///< bytes per delivery message (soft)
  int32_t producer_dedupe_window = 8;    ///< batches remembered per producer
};

/// What a partition keeps across restarts of its actor: the log and the producers' recent
/// batch sequences. The topic registry holds it and hands it to every incarnation, so a
/// restarted partition still drops a batch that a producer resends after the crash.
struct partition_store {
  struct sent_batch {
    uint64_t seq;
    offset base;
    int32_t count;
  };
  log_storage_ptr log;
  std::unordered_map<uint64_t, std::deque<sent_batch>> producers;
};

struct partition_args {
  std::string topic;
  partition_id partition;
  topic_config config;
  std::shared_ptr<partition_store> store;
  partition_options options;
  obs::instruments obs;
};

struct partition_state {
  static inline const char* name = "herald.partition";

  struct cursor {
    caf::actor member;
    epoch assignment;
    offset next;
    int64_t credit = 0;
    int64_t delivered = 0;
  };
  using sent_batch = partition_store::sent_batch;

  std::string topic;
  partition_id partition;
  topic_config config;
  partition_options options;
  std::shared_ptr<partition_store> store;
  log_storage* log = nullptr;  ///< store->log
  std::map<std::string, cursor> groups;
  /// Acknowledgements of appended batches that are not durable yet, in offset order.
  struct pending_ack {
    caf::actor to;
    append_ack ack;
  };
  std::deque<pending_ack> pending_acks;
  int64_t appended_events = 0;
  int64_t appended_batches = 0;
  std::shared_ptr<obs::partition_cells> cells;  ///< null: metrics off
  std::shared_ptr<obs::mailbox_cell> mailbox;
  std::shared_ptr<obs::tracer> tracer;  ///< null: tracing off
};

using partition_actor_t = caf::stateful_actor<partition_state>;

caf::behavior partition_actor(partition_actor_t* self, partition_args args);

}  // namespace herald
