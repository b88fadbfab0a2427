// The runtime: owns the CAF actor system and the broker's actors (topic registry,
// partitions, group coordinators), and hands out producers and subscriptions.
//
// Lifecycle: construct (starts everything), use, shutdown() (or destroy). shutdown() stops
// in reverse order of start: producers are flushed, groups are given drain_timeout to
// consume what was published, subscriptions commit and leave, then the broker stops.
// All member functions are thread-safe. Control-plane calls (topics, groups) block for one
// actor round trip (~0.1 ms); publishing and handling do not go through them.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/expected.hpp>

#include "actors/handler.hpp"
#include "messages/group.hpp"
#include "messages/partition.hpp"
#include "messages/supervision.hpp"
#include "messages/topic.hpp"
#include "observability/metrics.hpp"
#include "runtime/config.hpp"
#include "runtime/producer.hpp"
#include "runtime/schema_registry.hpp"
#include "runtime/subscription.hpp"

namespace caf {
class actor_system;
}

namespace herald::net {
class http_server;
}

namespace herald {

struct child_spec;

class runtime {
 public:
  /// Starts a runtime. Throws std::invalid_argument with validate()'s message when `cfg`
  /// is invalid.
  explicit runtime(runtime_config cfg = {});
  ~runtime();
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  // -- topics -----------------------------------------------------------------------------

  [[nodiscard]] caf::expected<topic_metadata> create_topic(const std::string& name,
                                                           topic_config cfg = {});
  [[nodiscard]] caf::error delete_topic(const std::string& name);
  [[nodiscard]] caf::expected<topic_metadata> topic(const std::string& name);
  [[nodiscard]] caf::expected<std::vector<topic_metadata>> topics();
  [[nodiscard]] caf::expected<herald::partition_status> describe_partition(const std::string& topic,
                                                                           int32_t partition);

  /// Reads retained events of one partition from `from` on, outside any group (replays,
  /// tools, tests). Returns owned copies; at most `max_events`.
  [[nodiscard]] caf::expected<std::vector<event>> read(const std::string& topic, int32_t partition,
                                                       offset from, int32_t max_events = 1024);

  // -- producing --------------------------------------------------------------------------

  producer make_producer();
  producer make_producer(producer_options opts);

  // -- consuming --------------------------------------------------------------------------

  /// Joins `group` as a new member that runs `handler` for every event of `topic` in the
  /// partitions the group assigns to it. `handler` is any callable accepted by
  /// make_handler(). Errors: unknown_topic, member_exists, shutting_down, timeout.
  template <class F>
  [[nodiscard]] caf::expected<subscription> subscribe(const std::string& topic,
                                                      const std::string& group, F handler,
                                                      subscribe_options opts = {}) {
    return subscribe_fn({topic}, group, make_handler(std::move(handler)), std::move(opts));
  }

  /// The same for several topics at once.
  [[nodiscard]] caf::expected<subscription> subscribe_fn(std::vector<std::string> topics,
                                                         const std::string& group,
                                                         handler_fn handler,
                                                         subscribe_options opts = {});

  /// Joins `group` with a handler written as a CAF actor: it receives each herald::delivery
  /// (a run of events of one partition; iterate it with for_each_event) and answers it with
  /// an empty message to accept it, or an error to fail it.
  [[nodiscard]] caf::expected<subscription> subscribe_actor(const std::string& topic,
                                                            const std::string& group,
                                                            caf::actor handler,
                                                            subscribe_options opts = {});

  /// Spawns a handler actor (for aggregators, projections).
  using actor_factory = std::function<caf::actor(caf::actor_system&)>;

  /// Like subscribe_actor(), with a handler actor that the subscription owns: `make` spawns
  /// it, and the subscription's supervisor restarts it together with the member
  /// (all_for_one). A handler that crashes starts again with fresh state and the member
  /// redelivers from its last commit; a member that crashes takes its handler along. The
  /// handler stops with the subscription.
  [[nodiscard]] caf::expected<subscription> subscribe_supervised_actor(const std::string& topic,
                                                                       const std::string& group,
                                                                       actor_factory make,
                                                                       subscribe_options opts = {});

  [[nodiscard]] caf::expected<group_description> describe_group(const std::string& group);
  [[nodiscard]] caf::expected<std::vector<std::string>> groups();

  /// Events not yet committed by `group`, per partition it reads, and in total.
  struct lag_info {
    std::vector<std::pair<topic_partition, int64_t>> partitions;
    int64_t total = 0;
  };
  [[nodiscard]] caf::expected<lag_info> group_lag(const std::string& group);

  // -- schemas ----------------------------------------------------------------------------

  /// The schema registry: JSON schemas per event type and version, compatibility modes,
  /// producer-side validation (runtime/schema_registry.hpp, docs/SCHEMAS.md).
  schema_registry& schemas();

  // -- dead letters and supervision ---------------------------------------------------------

  /// The dead letters of `topic` (from "<topic>.dlq"), oldest first, at most `max`.
  [[nodiscard]] caf::expected<std::vector<dead_letter_info>> dead_letters(const std::string& topic,
                                                                          size_t max = 10000);

  /// Publishes the dead letters of `topic` that match `filter` to `topic` again, with their
  /// original ids and correlation ids; returns how many. Run it after fixing what made them
  /// fail. An idempotent consumer applies each at most once, also when redriven twice.
  [[nodiscard]] caf::expected<size_t> redrive(const std::string& topic,
                                              const redrive_filter& filter = {});

  /// The supervision tree of this runtime, as data.
  [[nodiscard]] caf::expected<supervision_node> supervision_tree();

  /// Starts `spec` as a child of the runtime's root supervisor (a service built on the
  /// broker, such as an entity type) and returns its first handle; the spec's on_start learns
  /// every later one. shutdown() stops services after flushing the producers, before the
  /// groups drain and the broker stops. Errors: shutting_down, invalid_argument (name taken).
  [[nodiscard]] caf::expected<caf::actor> start_service(child_spec spec);

  // -- observability ----------------------------------------------------------------------

  /// Every metric now (docs/OBSERVABILITY.md): per partition, per group and partition (with
  /// lag in events and seconds), per handler, per actor mailbox. Empty with metrics off.
  /// Costs one registry pass plus one partition request per lagging (group, partition).
  [[nodiscard]] obs::metrics_snapshot metrics_snapshot();
  /// The same as one JSON object, and in the Prometheus text format (what /metrics serves).
  [[nodiscard]] std::string metrics_json();
  [[nodiscard]] std::string metrics_prometheus();

  /// The port the HTTP server listens on; 0 when it is off (observability.http_port = -1).
  uint16_t http_port() const;
  /// The HTTP server, to add routes to (null when off).
  net::http_server* http();

  /// Changes log levels now: "debug", or "info,consumer=debug" (base/logging.hpp).
  /// errc::invalid_argument, changing nothing, for an invalid specification.
  [[nodiscard]] caf::error set_log_level(const std::string& spec);

  /// Writes every span recorded so far to the trace file (no-op with tracing off).
  void flush_traces();

  // -- lifecycle --------------------------------------------------------------------------

  /// Flushes producers, lets groups drain (up to drain_timeout), stops subscriptions and the
  /// broker. Idempotent; the destructor calls it. Returns the first problem met (a producer
  /// that could not flush, groups that did not drain), after stopping everything anyway.
  caf::error shutdown();
  bool shutting_down() const;

  caf::actor_system& system();
  const caf::actor& registry() const;
  const runtime_config& config() const;

 private:
  void start_http();
  caf::expected<subscription> join(std::vector<std::string> topics, const std::string& group,
                                   handler_fn fn, caf::actor handler_actor, subscribe_options opts,
                                   actor_factory make_handler = nullptr);

  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace herald
