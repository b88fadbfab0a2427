// A projection: a consumer group (named after the projection) that builds a read model from
// a topic (CQRS: queries go to the read model, never to the write side). Its handler is a
// projector actor (actors/projector.hpp) that the subscription's supervisor owns and restarts.
// The read model stores how far it got in each partition in the same atomic step as its rows,
// so each event is applied once however the process crashes (effectively-once), and a
// projection resumes from those positions. docs/PROJECTIONS.md.
//
//   auto model = herald::sqlite_read_model::open(herald::balances_sqlite_spec("bank.db"));
//   auto proj = herald::projection::start(rt, {.name = "balances", .topic = "accounts.events",
//                                              .model = *model});
//   proj->lag();       // events and milliseconds behind
//   proj->rebuild();   // drop the model, replay the topic from its first retained event
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <caf/expected.hpp>

#include "actors/projector.hpp"
#include "runtime/runtime.hpp"
#include "storage/read_model.hpp"

namespace herald {

struct projection_spec {
  std::string name;   ///< the consumer group; the model keeps its positions under this name
  std::string topic;  ///< the input topic
  std::shared_ptr<read_model> model;
  /// Tests only: see projector_args::after_commit.
  std::function<void(partition_id, offset next)> after_commit;
};

/// How far a projection's model is behind its topic.
struct projection_lag {
  int64_t events = 0;  ///< events in the topic the model has not applied yet
  /// Age of the oldest event not applied yet (now minus its timestamp); 0 when caught up.
  std::chrono::milliseconds behind{0};
};

class projection {
 public:
  [[nodiscard]] static caf::expected<projection> start(runtime& rt, projection_spec spec,
                                                       subscribe_options opts = {});

  projection() = default;
  projection(projection&&) noexcept = default;
  projection& operator=(projection&&) noexcept;
  ~projection();

  /// Measured now, from the model's positions and the partitions' ends (a few requests).
  [[nodiscard]] caf::expected<projection_lag> lag();
  /// Stops the projection, empties the model and its positions, and starts again: the new
  /// projector replays the topic from its first retained event. Returns once it runs; wait
  /// for lag() to reach 0 for the rebuild to be complete.
  [[nodiscard]] caf::error rebuild();
  /// Leaves the group (the model keeps its rows and positions). Idempotent.
  caf::error stop();

  const projection_probe& probe() const { return *probe_; }
  const herald::subscription& subscription() const { return sub_; }
  const std::shared_ptr<read_model>& model() const { return spec_.model; }

 private:
  caf::error run();

  runtime* rt_ = nullptr;
  projection_spec spec_;
  subscribe_options opts_;
  std::shared_ptr<projection_probe> probe_;
  std::shared_ptr<producer_core> dead_letters_;
  herald::subscription sub_;
};

}  // namespace herald
