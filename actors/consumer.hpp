// The consumer actor: one member of one consumer group. Owns the partitions the coordinator
// assigned to it; runs the user's handler on every event delivered, in offset order per
// partition; after each delivery commits its position to the coordinator and returns the
// credit to the partition, so at most `credit_window` events per partition wait in its
// mailbox whatever the producer's rate.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/assignor.hpp"
#include "actors/handler.hpp"
#include "messages/group.hpp"

namespace herald {

struct consumer_options {
  /// Events per assigned partition that may be delivered but not yet handled.
  int64_t credit_window = 4096;
  /// How long a handler written as an actor may take for one delivery.
  std::chrono::milliseconds actor_handler_timeout{30000};
};

/// Counters a member updates once per delivery; the runtime reads them (lock-free).
struct consumer_probe {
  std::atomic<int64_t> handled{0};     ///< events the handler accepted
  std::atomic<int64_t> deliveries{0};  ///< delivery messages handled
  std::atomic<int64_t> failures{0};    ///< events the handler failed
  std::atomic<int64_t> dropped{0};     ///< deliveries for partitions no longer owned
  std::atomic<int32_t> assigned{0};    ///< partitions owned now
  std::atomic<int64_t> assignments{0};  ///< assign messages received
};

struct consumer_args {
  std::string group;
  std::string member;
  caf::actor coordinator;
  handler_fn fn;              ///< either this ...
  caf::actor handler_actor;   ///< ... or this receives every delivery and answers it
  consumer_options options;
  std::shared_ptr<consumer_probe> probe;
};

struct consumer_state {
  static inline const char* name = "herald.consumer";

  struct owned {
    caf::actor partition;
    epoch assignment;
    offset next{-1};  ///< after the last handled event; -1 until known
  };

  consumer_args args;
  std::map<topic_partition, owned> partitions;
};

using consumer_actor_t = caf::stateful_actor<consumer_state>;

caf::behavior consumer_actor(consumer_actor_t* self, consumer_args args);

}  // namespace herald
