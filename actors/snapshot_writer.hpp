// The snapshot writer of one entity type: entities hand it their snapshots and go on; it
// saves them to the type's snapshot_store (files or memory) and prunes old ones. One per
// entity type, linked to its entity supervisor; with a file store it runs on a thread of its
// own, so file I/O never blocks a scheduler thread.
//
// Snapshots waiting to be written are coalesced per entity (only the newest is written), so a
// slow disk costs snapshot freshness, never memory or command latency.
#pragma once

#include <map>
#include <memory>
#include <string>

#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/entity.hpp"
#include "storage/snapshot_store.hpp"

namespace herald {

/// The writer's own message: write what is pending now.
using snapshot_flush_atom = caf::atom_constant<caf::atom("h_snapfl")>;

struct snapshot_writer_state {
  static inline const char* name = "herald.snapshot_writer";
  std::string topic;
  std::shared_ptr<snapshot_store> store;
  int32_t keep = 2;
  std::shared_ptr<entity_probe> probe;
  std::map<std::string, entity_snapshot> pending;
  bool flush_queued = false;
};

using snapshot_writer_t = caf::stateful_actor<snapshot_writer_state>;

caf::behavior snapshot_writer(snapshot_writer_t* self, std::string topic,
                              std::shared_ptr<snapshot_store> store, int32_t keep,
                              std::shared_ptr<entity_probe> probe);

}  // namespace herald
