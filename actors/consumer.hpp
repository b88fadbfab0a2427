// The consumer actor: one member of one consumer group. Owns the partitions the coordinator
// assigned to it and runs the user's handler on their events, in offset order per key.
//
// Failures: by default a failing event is retried with backoff while later events of its key
// wait behind it and other keys flow on (retry_stm); after the last attempt it is written to
// "<topic>.dlq" and its key flows on. With failure_policy::restart_member a failure instead
// makes the member fail, and its supervisor restarts it: delivery resumes from the last commit.
//
// Flow control: a member commits the lowest unfinished offset and returns credit for finished
// events only, so at most `credit_window` events per partition are delivered and unfinished
// (waiting in the mailbox, being retried, or queued behind a retry), whatever the producer's
// rate.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/assignor.hpp"
#include "actors/handler.hpp"
#include "actors/member_instruments.hpp"
#include "actors/processed_ids.hpp"
#include "actors/producer.hpp"
#include "actors/retry_stm.hpp"
#include "messages/group.hpp"

namespace herald {

enum class failure_policy : uint8_t {
  retry_then_dead_letter,  ///< retry per retry_options, then write to <topic>.dlq
  restart_member,          ///< fail the member; its supervisor restarts it
};

struct consumer_options {
  /// Events per assigned partition that may be delivered but not yet finished.
  int64_t credit_window = 4096;
  /// How long a handler written as an actor may take for one delivery.
  std::chrono::milliseconds actor_handler_timeout{30000};
  retry_options retry;
  failure_policy on_failure = failure_policy::retry_then_dead_letter;
};

/// Counters a member updates once per delivery (or per retry); the runtime reads them.
struct consumer_probe {
  std::atomic<int64_t> handled{0};       ///< events the handler accepted
  std::atomic<int64_t> deliveries{0};    ///< delivery messages handled
  std::atomic<int64_t> failures{0};      ///< handler calls that failed
  std::atomic<int64_t> retries{0};       ///< retries scheduled
  std::atomic<int64_t> dead_letters{0};  ///< events written to the dead-letter topic
  std::atomic<int64_t> duplicates{0};    ///< events an idempotent member skipped
  std::atomic<int64_t> dropped{0};       ///< deliveries for partitions no longer owned
  std::atomic<int32_t> assigned{0};      ///< partitions owned now
  std::atomic<int64_t> assignments{0};   ///< assign messages received
  std::atomic<int64_t> starts{0};        ///< member actors started (1 + restarts)
};

struct consumer_args {
  std::string group;
  std::string member;
  caf::actor coordinator;
  /// Where to find the group's coordinator again (and fresh topic metadata) when it crashes
  /// and the registry restarts it.
  caf::actor registry;
  handler_fn fn;             ///< either this ...
  caf::actor handler_actor;  ///< ... or this receives every delivery and answers it
  consumer_options options;
  std::shared_ptr<consumer_probe> probe;
  /// Set for idempotent subscriptions: events whose id is in it are not handled again.
  std::shared_ptr<group_ids> processed;
  /// Writes dead letters (retry_then_dead_letter only).
  std::shared_ptr<producer_core> dead_letters;
  /// The member joins its group when it starts. A restarted member retries while the
  /// coordinator still lists its previous incarnation (member_exists); a first one does not.
  bool restarted = false;
  std::vector<topic_metadata> topics;
  start_position start;
  /// Called once with the result of a first member's join (the runtime reports it).
  std::function<void(const caf::error&)> on_joined;
  /// Metrics and tracer (either may be null).
  obs::instruments obs;
};

struct consumer_state {
  static inline const char* name = "herald.consumer";

  struct owned {
    caf::actor partition;
    epoch assignment;
    offset committed{-1};       ///< last commit sent
    offset delivered_next{-1};  ///< after the last delivered event
    int64_t uncredited = 0;     ///< finished events whose credit is not returned yet
    std::unique_ptr<retry_stm> retry;
    std::shared_ptr<processed_ids> ids;
    std::shared_ptr<obs::group_partition_cells> cells;  ///< null without metrics
    int64_t handled = 0;                                ///< not yet added to cells
  };

  consumer_args args;
  member_instruments inst;
  std::map<topic_partition, owned> partitions;
  std::optional<std::chrono::steady_clock::time_point> timer_due;
  /// Given-up events whose dead letter the full dead-letter lane refused, oldest first: one
  /// timer (or the next dead letter's acknowledgement) tries them again, not a timer each.
  struct blocked_dead_letter {
    topic_partition tp;
    epoch assignment;
    std::string key;
  };
  std::deque<blocked_dead_letter> dead_letter_backlog;
  bool dead_letter_timer = false;
  int join_attempts = 0;
  caf::actor_addr lost_coordinator;  ///< set while looking for its successor
};

using consumer_actor_t = caf::stateful_actor<consumer_state>;

caf::behavior consumer_actor(consumer_actor_t* self, consumer_args args);

}  // namespace herald
