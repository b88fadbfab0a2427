// An event-sourced entity: one actor per entity id (docs/EVENT_SOURCING.md).
//
// Lifecycle: its entity supervisor spawns it on the first command or query for its id. It
// rebuilds its state from the latest usable snapshot plus the later events of its partition
// (or from every event), then runs commands one batch at a time: the command handler decides
// events against the current state, the entity applies them, appends them to its partition
// as one record batch, and answers once the partition acknowledged them (durable under the
// topic's policy). Commands that arrive meanwhile wait and go out together in the next batch
// (group commit). After idle_timeout without work it asks its supervisor to passivate it and
// stops. It fails (and its supervisor restarts it, rebuilding the state from the log) when an
// append fails or times out, its partition dies, or an event handler throws.
//
// The entity is the only writer of its id's events in the process, so its version is the
// truth and optimistic concurrency is a comparison (expected vs current version).
//
// A second mode serves queries of the past: with `reader` set it rebuilds up to a version or
// time limit, answers the query, and stops without ever appending.
#pragma once

#include <any>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/entity_replay.hpp"
#include "messages/entity.hpp"
#include "storage/snapshot_store.hpp"

namespace herald {

/// What the entity actor needs from an entity type, type-erased (runtime/entities.hpp adapts
/// a user's definition to it). One instance per entity type, shared by its actors: it must be
/// stateless or thread-safe.
class entity_logic {
 public:
  virtual ~entity_logic() = default;
  /// The state of an entity without events.
  virtual std::any initial() const = 0;
  /// The command handler: validates `command` against `state` and returns the events to
  /// append (none: nothing changes), or an error (the command is rejected).
  virtual caf::expected<std::vector<entity_event>> decide(const std::any& state,
                                                          const std::string& id,
                                                          const std::any& command) const = 0;
  /// The event handler: applies one event to the state. Throwing fails the entity.
  virtual void apply(std::any& state, const event_view& e) const = 0;
  /// The state as bytes for a snapshot, and back.
  virtual std::string encode(const std::any& state) const = 0;
  virtual caf::expected<std::any> decode(std::string_view bytes) const = 0;
  /// Version of encode()'s format: a snapshot with another one is ignored (full replay).
  virtual uint32_t state_version() const = 0;
};

/// Settings of one entity type, shared by its supervisor and its entities.
struct entity_type_config {
  std::string topic;  ///< the event topic: key = entity id
  std::shared_ptr<const entity_logic> logic;
  int64_t snapshot_every = 0;  ///< snapshot after this many new events; 0: never
  int32_t snapshots_kept = 2;
  std::chrono::milliseconds idle_timeout{60000};  ///< 0: never passivate
  std::chrono::milliseconds append_timeout{10000};
  std::chrono::milliseconds read_timeout{10000};
  int32_t read_events = 16384;  ///< per read while rebuilding
  int64_t read_bytes = 8 << 20;
  int32_t max_batch_commands = 1024;  ///< commands per group commit
  uint32_t max_event_bytes = 1u << 20;
};

/// Counters of one entity type, across its entities and their restarts (thread-safe).
struct entity_probe {
  std::atomic<int64_t> active{0};
  std::atomic<int64_t> activations{0};
  std::atomic<int64_t> passivations{0};
  std::atomic<int64_t> restarts{0};
  std::atomic<int64_t> commands{0};
  std::atomic<int64_t> conflicts{0};
  std::atomic<int64_t> rejected{0};
  std::atomic<int64_t> appends{0};
  std::atomic<int64_t> events_appended{0};
  std::atomic<int64_t> rebuilds{0};
  std::atomic<int64_t> rebuilds_from_snapshot{0};
  std::atomic<int64_t> events_replayed{0};
  std::atomic<int64_t> records_read{0};  ///< by rebuilds, any key (the cost of shared partitions)
  std::atomic<int64_t> snapshots_taken{0};
  std::atomic<int64_t> snapshots_written{0};
  std::atomic<int64_t> snapshot_failures{0};
  std::atomic<int64_t> snapshots_superseded{0};  ///< a newer one came before it was written

  /// Every snapshot taken so far was written, superseded or failed.
  bool snapshots_settled() const {
    return snapshots_written + snapshot_failures + snapshots_superseded >= snapshots_taken;
  }
  std::atomic<int64_t> snapshots_discarded{0};  ///< loaded but not matching the log
};

struct entity_args {
  std::shared_ptr<const entity_type_config> config;
  std::string id;
  partition_id partition{-1};
  caf::actor log;  ///< the partition actor
  caf::actor supervisor;
  /// Where the entity's events are, as its supervisor knows (exact and empty: none yet).
  entity_span span{offset{-1}, offset{-1}, false};
  std::shared_ptr<snapshot_store> snapshots;
  caf::actor snapshot_writer;
  std::shared_ptr<entity_probe> probe;
  /// Set for a reader: rebuild up to these limits, answer, stop.
  std::optional<get_entity_state> reader;
};

struct entity_actor_state {
  static inline const char* name = "herald.entity";

  enum class phase : uint8_t { rebuilding, ready, broken };

  struct waiting_command {
    entity_command cmd;
    caf::response_promise rp;
  };
  struct accepted_command {
    caf::response_promise rp;
    command_result result;
    int32_t first_index = 0;  ///< index of its first event in the batch
  };

  entity_args args;
  phase ph = phase::rebuilding;
  caf::error broken_reason;  ///< why the rebuild failed for good (phase::broken)
  std::any state;
  int64_t version = 0;
  timestamp last_time{0};
  offset first_offset{-1};  ///< of the entity's first event, once known
  offset last_offset{-1};
  std::optional<entity_replay> replay;
  int64_t snapshot_version = 0;  ///< version of the snapshot rebuilt from, or last taken
  int64_t events_replayed = 0;

  std::deque<waiting_command> queue;
  std::vector<std::pair<get_entity_state, caf::response_promise>> state_queries;
  /// The batch being appended: its commands, number, size.
  std::vector<accepted_command> in_flight;
  uint64_t append_seq = 0;
  bool appending = false;
  std::chrono::steady_clock::time_point append_started;
  bool append_timer = false;  ///< the watchdog of appends is armed

  std::chrono::steady_clock::time_point last_activity;
  bool idle_timer = false;
  bool passivating = false;  ///< asked the supervisor; stop once idle after its answer
  bool stop_when_idle = false;
};

using entity_actor_t = caf::stateful_actor<entity_actor_state>;

caf::behavior entity_actor(entity_actor_t* self, entity_args args);

}  // namespace herald
