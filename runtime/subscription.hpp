// A subscription: one member of one consumer group, running a handler. Returned by
// runtime::subscribe(). Stopping it (or destroying it) commits what was handled, leaves the
// group (its partitions go to the other members) and stops the member actor.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include <caf/actor.hpp>
#include <caf/error.hpp>

#include "actors/consumer.hpp"

namespace herald {

class runtime;

/// Shared between the subscription handle, the runtime (to stop it at shutdown) and the
/// member actor's exit hook.
struct subscription_state {
  std::string group;
  std::string member;
  caf::actor actor;
  std::shared_ptr<consumer_probe> probe;
  std::chrono::milliseconds stop_timeout{10000};
  std::mutex mtx;
  bool stopped = false;  ///< stop() ran
  bool exited = false;   ///< the member actor terminated
  caf::error exit_reason;
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
  /// Counters of the member (handled, failures, deliveries dropped after a revoke...).
  const consumer_probe& probe() const { return *st_->probe; }

  /// False once the member stopped or died (see failure()).
  bool active() const;
  /// Why the member actor terminated, if it failed.
  caf::error failure() const;

  /// Commits, leaves the group and stops the member. Idempotent.
  caf::error stop();

  /// The member actor (for tests and tools).
  const caf::actor& actor() const { return st_->actor; }
  bool valid() const { return st_ != nullptr; }

 private:
  std::shared_ptr<subscription_state> st_;
};

/// Stops a subscription given its shared state (the runtime uses it at shutdown).
caf::error stop_subscription(subscription_state& st);

}  // namespace herald
