// A subscription: one member of one consumer group, running a handler. Returned by
// runtime::subscribe(). Stopping it (or destroying it) commits what was handled, leaves the
// group (its partitions go to the other members) and stops the member actor.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include <caf/actor.hpp>
#include <caf/error.hpp>

#include "actors/consumer.hpp"

namespace herald {

class runtime;

/// Shared between the subscription handle, the runtime (to stop it at shutdown), the member
/// actors of the subscription (one after the other, across restarts) and its supervisor.
struct subscription_state {
  std::string group;
  std::string member;
  std::shared_ptr<consumer_probe> probe;
  std::chrono::milliseconds stop_timeout{10000};
  caf::actor supervisor;  ///< the subscription's own supervisor (restarts the member)

  mutable std::mutex mtx;
  std::condition_variable cv;
  caf::actor actor;        ///< the current member actor; replaced by every restart
  bool join_done = false;  ///< the first member's join finished (join_error tells how)
  caf::error join_error;
  bool stopped = false;    ///< stop() ran
  bool exited = false;     ///< the subscription's supervisor terminated
  caf::error exit_reason;  ///< why, if it failed (errc::escalated: too many restarts)

  caf::actor current_actor() const {
    std::lock_guard<std::mutex> guard{mtx};
    return actor;
  }
};

class subscription {
 public:
  subscription() = default;
  explicit subscription(std::shared_ptr<subscription_state> st) : st_(std::move(st)) {}
  subscription(subscription&&) noexcept = default;
  subscription& operator=(subscription&&) noexcept;
  subscription(const subscription&) = delete;
  subscription& operator=(const subscription&) = delete;
  ~subscription();

  const std::string& group() const { return st_->group; }
  const std::string& member() const { return st_->member; }

  /// Events the handler accepted so far.
  int64_t handled() const { return st_->probe->handled.load(std::memory_order_relaxed); }
  /// Partitions this member owns now.
  int32_t assigned_partitions() const { return st_->probe->assigned.load(); }
  /// Counters of the member across its restarts (handled, failures, retries, dead letters...).
  const consumer_probe& probe() const { return *st_->probe; }

  /// False once the subscription stopped, or failed for good (see failure()). A member that
  /// fails is restarted by the subscription's supervisor and the subscription stays active.
  bool active() const;
  /// Why the subscription failed for good: errc::escalated when its member failed more often
  /// than its restart intensity allows.
  caf::error failure() const;

  /// Commits, leaves the group and stops the member. Idempotent.
  caf::error stop();

  /// The current member actor (for tests and tools); a restart replaces it.
  caf::actor actor() const { return st_->current_actor(); }
  bool valid() const { return st_ != nullptr; }

 private:
  std::shared_ptr<subscription_state> st_;
};

/// Stops a subscription given its shared state (the runtime uses it at shutdown).
caf::error stop_subscription(subscription_state& st);

}  // namespace herald
