// The aggregator actor: a consumer-group handler (runtime::subscribe_supervised_actor) that
// folds the events of an input topic into per-key state and publishes the state of a key to
// an output topic as the emit_policy says (actors/aggregate_stm.hpp holds the logic; this
// actor adds the log reads, the timers and the publishing). docs/AGGREGATOR.md.
//
// Lifecycle: the subscription's supervisor spawns it and restarts it together with its
// member (all_for_one). At start it waits until its producer has nothing in flight, then reads
// the output topic for the highest version of every key it emitted before. Its state is not
// saved anywhere: for each input partition it rebuilds the state from the log, reading
// [log start, first delivered offset) itself before it folds its first delivery, so a restart
// loses nothing and, by the version marks, emits nothing twice.
//
// It answers a delivery (and so lets the member commit) once the delivery is folded and the
// dead letters of its bad events are stored; outputs need not be stored by then, since a
// rebuild re-emits any version the output topic lacks.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/aggregate_stm.hpp"
#include "actors/producer.hpp"
#include "messages/group.hpp"

namespace herald {

/// Output headers: which aggregator emitted the event, the key's version, and the input
/// event that made the version ("<topic>/<partition>/<offset>").
namespace agg_header {
constexpr const char* source = "herald.agg.source";
constexpr const char* version = "herald.agg.version";
constexpr const char* input = "herald.agg.input";
}  // namespace agg_header

struct aggregator_spec {
  /// The aggregator's name: its consumer group, and the herald.agg.source of its outputs.
  std::string name;
  std::string input_topic;
  std::string output_topic;
  std::string output_type;  ///< the type of output events, e.g. "CartUpdated"
  emit_policy policy;
  /// Makes the (empty) table of one input partition.
  std::function<std::unique_ptr<fold_table>()> make_table;
  /// Event ids remembered per partition to skip duplicates (a producer retry, a redrive).
  /// The default covers a producer's in-flight window on a partition (max_inflight_batches
  /// x batch_max_events = 8,192) twice; a larger set costs a cache miss or three per event
  /// (10% of AGG's time at 100,000), a smaller one lets older duplicates through.
  size_t idempotence_window = 16384;
};

/// Counters, updated per delivery or per output; read from any thread.
struct aggregator_probe {
  std::atomic<int64_t> applied{0};         ///< input events folded into a new version
  std::atomic<int64_t> replayed{0};        ///< of those, read from the log to rebuild state
  std::atomic<int64_t> seen{0};            ///< redelivered events skipped by offset
  std::atomic<int64_t> duplicates{0};      ///< events skipped by id
  std::atomic<int64_t> rejected{0};        ///< bad events sent to <input>.dlq
  std::atomic<int64_t> emitted{0};         ///< outputs accepted by the producer
  std::atomic<int64_t> acknowledged{0};    ///< outputs stored in the output topic
  std::atomic<int64_t> starts{0};          ///< actor starts (1 + restarts): each rebuilds
  std::atomic<int64_t> ready{0};           ///< starts that finished reading the output topic
  std::atomic<int64_t> inputs_handled{0};  ///< delivered events answered (folded or skipped)
  /// Changes waiting for a quiet period or an interval tick (0: every fold is published).
  std::atomic<int64_t> pending{0};
};

struct aggregator_args {
  aggregator_spec spec;
  caf::actor registry;
  /// Publishes outputs and dead letters; shared by every incarnation of the actor.
  std::shared_ptr<producer_core> out;
  std::shared_ptr<aggregator_probe> probe;
};

struct aggregator_state {
  static inline const char* name = "herald.aggregator";

  struct job {
    delivery d;
    caf::response_promise rp;
    bool folded = false;
    std::vector<event> unsent;     ///< dead letters the producer did not accept yet
    int pending_dead_letters = 0;  ///< accepted, not yet stored
  };

  aggregator_args args;
  bool ready = false;  ///< the output topic is read
  bool busy = false;   ///< a log read for a rebuild is under way
  int flush_polls = 0;
  emitted_index emitted;
  std::map<int32_t, std::unique_ptr<aggregate_stm>> partitions;
  std::deque<job> jobs;
  uint64_t first_job = 0;    ///< sequence number of jobs.front()
  std::deque<event> outbox;  ///< outputs the producer did not accept yet (its lane was full)
  bool outbox_timer = false;
  std::optional<aggregate_stm::clock::time_point> quiet_timer;
  bool interval_timer = false;
  std::vector<emission> scratch;
  struct {
    int64_t applied = 0, replayed = 0, seen = 0, duplicates = 0, rejected = 0;
  } tally;  ///< counted per event, added to the probe per delivery
};

using aggregator_actor_t = caf::stateful_actor<aggregator_state>;

caf::behavior aggregator_actor(aggregator_actor_t* self, aggregator_args args);

/// The output event id of (aggregator, key, version): the same on every rebuild, so that an
/// idempotent consumer skips a version that reached the output topic twice. Its time part is
/// the input event's (`source_ms`), so ids still sort by time.
event_id output_id(std::string_view aggregator, std::string_view key, uint64_t version,
                   int64_t source_ms);

}  // namespace herald
