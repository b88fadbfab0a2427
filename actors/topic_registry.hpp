// The topic registry: one per runtime (per node). Creates, lists and deletes topics, spawns
// and supervises their partition actors (a crashed one restarts on its log), and hands out the
// coordinator of each consumer group (spawning it on first use). Owns the name -> partitions and
// name -> coordinator maps; everything else asks it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/group_coordinator.hpp"
#include "actors/partition.hpp"
#include "actors/restart_policy.hpp"
#include "messages/supervision.hpp"
#include "messages/topic.hpp"
#include "observability/instruments.hpp"
#include "storage/log_storage.hpp"

namespace herald {

struct registry_options {
  partition_options partition;
  coordinator_options coordinator;
  int32_t max_partitions = 4096;  ///< per topic
  /// The same for one group coordinator.
  restart_intensity coordinator_restarts{10, std::chrono::seconds{60}};
  /// How often one partition actor may crash and be restarted (with its log) before the
  /// registry gives up on it: it stays down and producers get errc::unknown_partition.
  restart_intensity partition_restarts{10, std::chrono::seconds{60}};
  /// Metrics and tracer for partitions and coordinators (the runtime sets them).
  obs::instruments obs;
};

struct registry_state {
  static inline const char* name = "herald.topic_registry";
  /// The registry supervises the partition actors (one_for_one, permanent): a crashed
  /// partition is started again on the same store at once, and every coordinator is told.
  struct supervised_partition {
    std::shared_ptr<partition_store> store;
    restart_window window;
    int64_t restarts = 0;
    std::string last_failure;
    bool failed = false;  ///< gave up: restarted too often
  };
  std::shared_ptr<storage_factory> storage;
  registry_options options;
  std::map<std::string, topic_metadata> topics;
  std::map<std::string, std::vector<supervised_partition>> partitions;  ///< by topic
  std::map<std::string, caf::actor> groups;
  /// The registry supervises the group coordinators too: a crashed one is started again with
  /// the committed offsets its predecessor accepted; members find it and rejoin.
  struct supervised_group {
    std::shared_ptr<std::map<topic_partition, offset>> committed;
    restart_window window;
    int64_t restarts = 0;
    std::string last_failure;
    bool failed = false;
  };
  std::map<std::string, supervised_group> group_sup;
};

using registry_actor_t = caf::stateful_actor<registry_state>;

caf::behavior topic_registry(registry_actor_t* self, std::shared_ptr<storage_factory> storage,
                             registry_options options);

/// Checks a topic name (the rules of Kafka: 1..249 of [A-Za-z0-9._-], not "." or "..").
[[nodiscard]] caf::error validate_topic_name(const std::string& name);

/// Checks a topic configuration against the limits in `options`.
[[nodiscard]] caf::error validate_topic_config(const topic_config& cfg,
                                               const registry_options& options);

}  // namespace herald
