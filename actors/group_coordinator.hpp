// The group coordinator: one actor per consumer group. Owns the group's membership, which
// member reads which partition (through group_state) and the committed offsets. Monitors
// every member: a member's death is a leave, and its partitions are handed to the others from
// the last committed offsets.
#pragma once

#include <chrono>
#include <map>
#include <string>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/group_state.hpp"
#include "messages/group.hpp"
#include "observability/metrics.hpp"
#include "storage/offset_store.hpp"

namespace herald {

struct coordinator_options {
  /// How long a member may take to finish a revoke before its partition is handed on anyway
  /// (the member is then presumed stuck; events it is still handling may be handled twice).
  std::chrono::milliseconds revoke_timeout{10000};
  /// Where committed offsets survive restarts (the runtime sets it with a data_dir); null:
  /// in memory only. The coordinator loads its group's offsets at start and stores each
  /// accepted commit.
  std::shared_ptr<offset_store> offsets;
  /// Committed offsets kept for the next incarnation when this coordinator crashes (the
  /// topic registry holds it); loaded at start, updated with every accepted commit.
  std::shared_ptr<std::map<topic_partition, offset>> memory;
  /// Where committed offsets are published as metrics (null: metrics off).
  std::shared_ptr<obs::metrics> metrics;
};

struct coordinator_state {
  static inline const char* name = "herald.group_coordinator";

  explicit coordinator_state(caf::local_actor*) {}

  std::string group;
  coordinator_options options;
  std::unique_ptr<group_state> stm;
  std::map<std::string, caf::actor> members;              // name -> handle
  std::map<std::string, std::vector<caf::actor>> topics;  // topic -> partition actors
  int64_t commits = 0;
  int64_t fenced_commits = 0;
  /// Metric cells of the partitions this group committed on (looked up once each).
  std::map<topic_partition, std::shared_ptr<obs::group_partition_cells>> cells;
};

using coordinator_actor_t = caf::stateful_actor<coordinator_state>;

caf::behavior group_coordinator(coordinator_actor_t* self, std::string group,
                                coordinator_options options);

}  // namespace herald
