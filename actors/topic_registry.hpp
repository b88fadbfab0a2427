// The topic registry: one per runtime (per node). Creates, lists and deletes topics, spawns
// and monitors their partition actors, and hands out the coordinator of each consumer group
// (spawning it on first use). Owns the name -> partitions and name -> coordinator maps;
// everything else asks it.
#pragma once

#include <map>
#include <memory>
#include <string>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/group_coordinator.hpp"
#include "actors/partition.hpp"
#include "messages/topic.hpp"
#include "storage/log_storage.hpp"

namespace herald {

struct registry_options {
  partition_options partition;
  coordinator_options coordinator;
  int32_t max_partitions = 4096;  ///< per topic
};

struct registry_state {
  static inline const char* name = "herald.topic_registry";
  std::shared_ptr<storage_factory> storage;
  registry_options options;
  std::map<std::string, topic_metadata> topics;
  std::map<std::string, caf::actor> groups;
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
