// A three-hop flow for observability tests: OrderPlaced on "orders" is handled by group
// "payment", which publishes PaymentCompleted on "payments"; group "shipping" handles that
// and publishes ShipmentRequested on "shipments"; group "audit" records what arrives there.
// The handlers set no correlation, causation or trace field: whatever the events carry, the
// runtime gave them.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "runtime/herald.hpp"

namespace herald::test {

class three_hop_flow {
 public:
  /// Creates the topics and subscribes the three groups on `rt`.
  explicit three_hop_flow(runtime& rt);
  ~three_hop_flow();

  /// Every event that arrived on "payments" and "shipments" so far (owned copies).
  std::vector<event> payments() const;
  std::vector<event> shipments() const;
  /// Waits until `n` shipments arrived (false after the bound).
  bool wait_for_shipments(size_t n) const;
  /// Stops the subscriptions and producers (before the runtime goes).
  void stop();

 private:
  struct shared;
  std::shared_ptr<shared> st_;
  std::vector<subscription> subs_;
};

}  // namespace herald::test
