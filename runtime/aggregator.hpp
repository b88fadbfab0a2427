// An aggregator running in a runtime: a consumer group (named after the aggregator) whose
// handler is an aggregator actor (actors/aggregator.hpp), owned and restarted by the
// subscription's supervisor, plus the producer that publishes its outputs and dead letters.
//
//   auto agg = herald::aggregator::start(rt, herald::cart::make_spec());   // CartUpdated
//   ...
//   agg->stop();
//
// start() creates the output topic (with the input's partition count, so a key lands on the
// same partition number in both) and "<input>.dlq" when they are missing. Stopping (or
// destroying) it leaves the group, flushes the outputs already accepted and closes the
// producer; keys whose output was still waiting for a quiet period or an interval are
// emitted by the next start, which rebuilds the state from the input topic.
#pragma once

#include <memory>

#include <caf/expected.hpp>

#include "actors/aggregator.hpp"
#include "runtime/runtime.hpp"

namespace herald {

class aggregator {
 public:
  /// Errors: unknown_topic (the input), invalid_config (the policy, the spec), and those of
  /// create_topic and subscribe.
  [[nodiscard]] static caf::expected<aggregator> start(runtime& rt, aggregator_spec spec,
                                                       subscribe_options opts = {});

  aggregator() = default;
  aggregator(aggregator&&) noexcept = default;
  aggregator& operator=(aggregator&&) noexcept;
  ~aggregator();

  /// Leaves the group and flushes the outputs. Idempotent.
  caf::error stop();

  const aggregator_probe& probe() const { return *probe_; }
  /// The subscription: handled(), active(), the current member actor.
  const herald::subscription& subscription() const { return sub_; }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::shared_ptr<aggregator_probe> probe_;
  std::shared_ptr<producer_core> out_;
  herald::subscription sub_;
};

}  // namespace herald
