// The entity supervisor of one entity type: routes every command and query for an entity id
// to that id's entity actor, spawning it on first use (docs/EVENT_SOURCING.md).
//
// Lifecycle: started by the runtime as a permanent child of its root supervisor (so a crash
// of this actor restarts it, and its entities with it: they monitor it). It owns:
//  - the table id -> live entity actor. At most one actor per id runs in the process; an id
//    whose actor is passivating or restarting has its commands held here until the next
//    actor runs, so no two actors of one id ever overlap (the entity's version stays the
//    truth);
//  - the restarts: an entity that fails is restarted after a backoff, its state rebuilt from
//    its log; more than `restarts` restarts within the window (over all its entities) is an
//    escalation, and the root supervisor restarts the entity type;
//  - the passivation handshake: an idle entity asks (passivate_request), this actor stops
//    routing to it and answers; every command routed earlier reaches the entity first;
//  - the snapshot writer of the type;
//  - readers: a query of a past version or time runs on a short-lived reader actor, never on
//    the live entity;
//  - the span index: where each entity's events lie in its partition, so that an activation
//    reads from its snapshot (or first event) to its last event, not to the log end, and a
//    new entity reads nothing. Built by one scan of the topic when the type starts.
//
// Cost per command: one hash lookup and a delegate (the entity answers the caller directly).
#pragma once

#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/entity.hpp"
#include "actors/restart_policy.hpp"

namespace herald {

struct entity_supervisor_args {
  std::shared_ptr<const entity_type_config> config;
  caf::actor registry;
  std::shared_ptr<snapshot_store> snapshots;
  std::shared_ptr<entity_probe> probe;
  restart_intensity restarts{100, std::chrono::seconds{10}};
  backoff_policy backoff;
  std::chrono::milliseconds request_timeout{10000};
};

struct entity_supervisor_state {
  static inline const char* name = "herald.entity_supervisor";

  using request = std::variant<entity_command, get_entity_state>;
  struct held {
    request req;
    caf::response_promise rp;
  };
  struct slot {
    caf::actor actor;
    bool passivating = false;
    bool restarting = false;
    uint64_t generation = 0;
    int failures = 0;
    std::vector<held> waiting;
  };

  entity_supervisor_args args;
  std::vector<caf::actor> partitions;  ///< of the topic; empty until the registry answered
  /// Where each entity's events are (built by one scan of the topic at start, then kept up
  /// by passivations and crashes): an activation reads only its entity's span, and an id
  /// without events reads nothing. ~80 bytes per entity that ever had an event.
  std::unordered_map<std::string, entity_span> index;
  bool ready = false;  ///< partitions known and the index built
  caf::actor writer;
  std::unordered_map<std::string, slot> entities;
  std::unordered_map<caf::actor_id, std::string> ids;  ///< live entity actor -> its id
  std::vector<held> before_ready;
  restart_window window{restart_intensity{}};
  std::mt19937_64 rng{std::random_device{}()};
};

using entity_supervisor_t = caf::stateful_actor<entity_supervisor_state>;

caf::behavior entity_supervisor(entity_supervisor_t* self, entity_supervisor_args args);

}  // namespace herald
