// The producer handle users hold. Thread-safe; cheap to share by reference. Closing it (or
// destroying the last handle) flushes what it accepted and stops its actor.
//
//   auto p = rt.make_producer();
//   auto ack = p.publish(herald::make_event("orders", "OrderPlaced", id, json));  // waits
//   p.publish_async(ev);  // returns at once; p.flush() waits for every acknowledgement
#pragma once

#include <memory>
#include <vector>

#include "actors/producer.hpp"

namespace herald {

class producer {
 public:
  producer() = default;
  explicit producer(std::shared_ptr<producer_core> core) : core_(std::move(core)) {}
  producer(producer&&) noexcept = default;
  producer& operator=(producer&&) noexcept;
  producer(const producer&) = delete;
  producer& operator=(const producer&) = delete;
  ~producer();

  /// Publishes one event and waits for the broker's acknowledgement (its partition and
  /// offset). Throughput: one round trip per call; use publish_async() for streams.
  [[nodiscard]] caf::expected<publish_ack> publish(const event& ev);
  /// Publishes several events and waits for all acknowledgements (in input order).
  [[nodiscard]] caf::expected<std::vector<publish_ack>> publish(const std::vector<event>& evs);
  /// Accepts one event for sending and returns; blocks only when the partition's buffer is
  /// full (back-pressure). The event is copied: the caller may reuse it.
  [[nodiscard]] caf::error publish_async(const event& ev);
  /// Waits until every accepted event is acknowledged; reports failures since the last flush.
  [[nodiscard]] caf::error flush();
  /// Flushes and stops. Further publishes fail with errc::producer_closed.
  void close();

  producer_stats stats() const;
  producer_id id() const;
  bool valid() const { return core_ != nullptr; }

 private:
  std::shared_ptr<producer_core> core_;
};

}  // namespace herald
