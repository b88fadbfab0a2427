// The projector actor: the handler of a projection's consumer group (runtime/projection.hpp).
// It applies deliveries to a read model, which stores its own position per partition in the
// same atomic step as the rows (storage/read_model.hpp).
//
// Lifecycle: the subscription's supervisor spawns it and restarts it together with its member
// (all_for_one). At start it reads the positions from the model and catches up every
// partition of the topic from there to the log end by reading the log itself, one model
// transaction per chunk: the projection resumes from the model's positions, not from the
// group's committed offsets (which may be behind, after a crash between a model commit and
// the group commit, or ahead, after the model was reset). Deliveries that arrive meanwhile
// wait; later ones are applied as they come, and the model skips what it has.
//
// It answers a delivery once the model committed it and the dead letters of refused events
// are stored. Refused events get one dead letter each: at start it reads which ones
// <topic>.dlq holds already, so a catch-up or a rebuild writes only the missing ones.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/producer.hpp"
#include "messages/group.hpp"
#include "storage/read_model.hpp"

namespace herald {

struct projection_probe {
  std::atomic<int64_t> applied{0};    ///< events given to the model (first time)
  std::atomic<int64_t> caught_up{0};  ///< of those, read from the log at start (catch-up)
  std::atomic<int64_t> skipped{0};    ///< delivered events the model had already
  std::atomic<int64_t> refused{0};    ///< events the model refused (dead letters)
  std::atomic<int64_t> commits{0};    ///< model transactions
  std::atomic<int64_t> starts{0};     ///< actor starts (1 + restarts)
  std::atomic<int64_t> ready{0};      ///< starts that finished catching up
};

struct projector_args {
  std::string name;  ///< the projection (its group, and its rows in the offsets table)
  std::string topic;
  std::shared_ptr<read_model> model;
  caf::actor registry;
  std::shared_ptr<producer_core> dead_letters;  ///< writes <topic>.dlq
  std::shared_ptr<projection_probe> probe;
  /// Fault injection for tests: called after each model commit, before the delivery is
  /// answered. Throwing kills the actor there (a crash between the model's commit and the
  /// group's).
  std::function<void(partition_id, offset next)> after_commit;
};

struct projector_state {
  static inline const char* name = "herald.projector";
  struct job {
    delivery d;
    caf::response_promise rp;
    int pending = 0;  ///< dead letters not yet stored
    bool applied = false;
  };
  projector_args args;
  bool ready = false;
  bool busy = false;
  std::map<int32_t, offset> next;  ///< the model's position per partition, as last committed
  /// (partition, offset) of the input events this projection dead-lettered before (read from
  /// <topic>.dlq at start), so that a catch-up or a rebuild does not write them again.
  std::set<std::pair<int32_t, int64_t>> dead;
  std::deque<job> jobs;
  uint64_t first_job = 0;
  std::vector<event_view> scratch;
  std::vector<refusal> refused;
};

using projector_actor_t = caf::stateful_actor<projector_state>;

caf::behavior projector_actor(projector_actor_t* self, projector_args args);

}  // namespace herald
