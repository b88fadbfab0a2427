// The supervisor: CAF 0.17 has links and monitors but no supervisor, so Herald has one.
//
// A supervisor starts its children from child_specs, monitors them, and when one terminates
// abnormally restarts it after a backoff delay (restart_policy.hpp): only that child
// (one_for_one) or all of them (all_for_one). More than intensity.max_restarts restarts within
// intensity.window is an escalation: the supervisor stops its children and terminates with
// errc::escalated, which its own supervisor sees as a failed child. Children are stopped in
// reverse start order when the supervisor is asked to exit.
//
// State that must survive a restart lives outside the child (a store object captured by the
// child_spec's start function), so a restarted child resumes where the old one stopped.
#pragma once

#include <chrono>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/restart_policy.hpp"
#include "messages/supervision.hpp"

namespace herald {

struct child_spec {
  std::string name;
  restart_mode mode = restart_mode::permanent;
  /// The child is a supervisor itself: its subtree appears in the supervision tree.
  bool is_supervisor = false;
  /// Spawns the child; called again for every restart. Must not block.
  std::function<caf::actor(caf::actor_system&)> start;
  /// Called on the supervisor's thread after every (re)start with the new handle, so that
  /// whoever addresses the child learns it (must be thread-safe). Optional.
  std::function<void(const caf::actor&)> on_start;
};

/// Starts a child under a running supervisor (local only: a child_spec holds functions).
/// -> caf::actor, or errc::invalid_argument when the name is taken.
struct start_child {
  child_spec spec;
};

}  // namespace herald

// A child_spec holds functions: it can only be sent inside one process, which CAF needs to be
// told.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herald::start_child)

namespace herald {

struct supervisor_options {
  restart_strategy strategy = restart_strategy::one_for_one;
  restart_intensity intensity;
  backoff_policy backoff;
};

struct supervisor_state {
  static inline const char* name = "herald.supervisor";

  struct child {
    child_spec spec;
    caf::actor handle;
    bool restarting = false;
    uint64_t generation = 0;  // guards against stale restart timers
    int failures = 0;         // consecutive, for the backoff
    int64_t restarts = 0;
    std::string last_failure;
    std::chrono::steady_clock::time_point started;
  };

  std::string name_;
  supervisor_options options;
  std::vector<child> children;  // in start order
  restart_window window{restart_intensity{}};
  std::mt19937_64 rng{std::random_device{}()};
  bool stopping = false;
};

using supervisor_actor_t = caf::stateful_actor<supervisor_state>;

caf::behavior supervisor(supervisor_actor_t* self, std::string name, supervisor_options options,
                         std::vector<child_spec> children);

}  // namespace herald
