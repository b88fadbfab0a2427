// The producer: a thread-safe core that user threads publish into, and a small actor that
// receives the partitions' acknowledgements for it.
//
// Batching is per partition ("lane"): an event joins its lane's open batch, which ships when it
// is full (batch_max_events / batch_max_bytes) or `linger` after its first event, whichever
// comes first (Kafka's linger.ms). A timer runs only while some batch is open. publish() (the
// waiting kind) and flush() ship at once. Shipping one batch per event instead costs a
// wake-up of a scheduler thread per event, which measured 6x slower (see bench/RESULTS.md).
// A lane holds at most max_inflight_batches unacknowledged batches plus one open batch: when
// both are full, publish blocks (up to send_timeout). That is the back-pressure that bounds a
// producer's memory however slow the partition is.
//
// Concurrency: one mutex per producer, taken once per publish call and once per
// acknowledgement or timer tick. Batches are sent to partitions under that mutex, so a
// partition receives a producer's batches in sequence order.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>
#include <caf/stateful_actor.hpp>

#include "base/adaptive_mutex.hpp"
#include "messages/event.hpp"
#include "messages/partition.hpp"
#include "messages/record_batch.hpp"
#include "messages/topic.hpp"
#include "observability/tracer.hpp"
#include "schema/catalog.hpp"

namespace herald::obs {
class lineage;
}

namespace herald {

struct producer_options {
  int32_t batch_max_events = 2048;                ///< a lane's open batch ships when this full
  int32_t batch_max_bytes = 256 * 1024;           ///< ... or this many bytes
  int32_t max_inflight_batches = 4;               ///< unacknowledged batches per partition
  std::chrono::microseconds linger{250};          ///< longest an accepted event waits for its batch
  std::chrono::milliseconds send_timeout{30000};  ///< longest a publish blocks for space
  std::chrono::milliseconds ack_timeout{30000};   ///< longest publish()/flush() wait for acks
  bool validate_json = true;                      ///< check payloads with Boost.JSON before sending
                                                  ///< (schema validation is the registry's setting)
};

/// Where one published event went.
struct publish_ack {
  std::string topic;
  partition_id partition;
  herald::offset offset;
  event_id id;
};

struct producer_stats {
  int64_t published = 0;     ///< events accepted by publish calls
  int64_t acknowledged = 0;  ///< events the broker stored
  int64_t failed = 0;        ///< events the broker refused or that were lost in flight
  int64_t batches = 0;       ///< batches sent
  int64_t outstanding = 0;   ///< accepted and not yet acknowledged or failed
};

/// Looks up a topic (the runtime asks the topic registry).
using metadata_fn = std::function<caf::expected<topic_metadata>(const std::string& topic)>;

class producer_core : public std::enable_shared_from_this<producer_core> {
  using lock_t = std::unique_lock<adaptive_mutex>;
  using clock = std::chrono::steady_clock;

 public:
  producer_core(caf::actor_system& sys, producer_id id, producer_options opts, metadata_fn md);
  ~producer_core();
  producer_core(const producer_core&) = delete;
  producer_core& operator=(const producer_core&) = delete;

  /// Where to ask for the successor of a partition actor that died (the topic registry).
  /// Without it, a partition's death fails its unacknowledged events. Call before start().
  void set_registry(caf::actor registry) { registry_ = std::move(registry); }
  /// Records publish spans of sampled events (null: tracing off). Call before start().
  void set_tracer(std::shared_ptr<obs::tracer> t) { tracer_ = std::move(t); }
  const caf::actor& registry() const { return registry_; }

  /// Where to find the registered schemas: events whose type has one are checked against the
  /// version they name (schema/catalog.hpp) instead of only for JSON syntax. Without it (the
  /// dead-letter producer), payloads are only checked for syntax. Call before start().
  void set_schemas(std::shared_ptr<catalog_handle> schemas) { schemas_ = std::move(schemas); }

  /// Spawns the producer's actor. Call once, before publishing.
  void start();

  /// Checks `ev`, encodes it into its partition's open batch and returns. The
  /// acknowledgement is counted (see flush()). Blocks only while the partition's buffer is
  /// full. Errors: invalid_event, invalid_json, schema_violation, unknown_schema,
  /// event_too_large, unknown_topic, timeout, producer_closed. On error nothing of `ev` was
  /// accepted.
  [[nodiscard]] caf::error publish_async(const event& ev);

  /// Publishes `ev` and waits for the broker's acknowledgement.
  [[nodiscard]] caf::expected<publish_ack> publish(const event& ev);

  /// Publishes all of `evs` (each to its key's partition) and waits until all are
  /// acknowledged. Every event is checked before any is sent: one bad event rejects the call.
  [[nodiscard]] caf::expected<std::vector<publish_ack>> publish(const std::vector<event>& evs);

  /// Called once with the acknowledgements of a publish_async(ev, done) call, or its error;
  /// runs on the producer actor's thread and must not block (send a message, set a flag).
  using completion = std::function<void(caf::expected<std::vector<publish_ack>>)>;

  /// Publishes without blocking (for callers that are actors): `done` is called when the
  /// broker acknowledged or refused. The batch ships at once. When the partition's lane is
  /// full (max_inflight_batches unacknowledged and a full open batch) it returns
  /// errc::timeout at once instead of waiting: the caller tries again later.
  [[nodiscard]] caf::error publish_async(const event& ev, completion done);

  /// Looks `topic` up now (one registry round trip), so that publishing to it later never
  /// waits for the registry. Call it from a thread that may block before an actor publishes
  /// with this producer. Errors: unknown_topic, timeout, producer_closed.
  [[nodiscard]] caf::error prepare(const std::string& topic);

  /// Sends every open batch and waits until every event accepted so far is acknowledged or
  /// failed. Returns the first failure since the previous flush, if any.
  [[nodiscard]] caf::error flush();

  /// Flushes (bounded by ack_timeout), then stops the actor. Idempotent.
  void close();

  producer_stats stats() const;
  producer_id id() const { return id_; }
  const producer_options& options() const { return opts_; }

  // -- called by the producer actor -------------------------------------------------------
  void on_ack(append_ack& ack);
  /// A partition actor died: with a registry, its lanes keep their unacknowledged batches
  /// and wait for its successor; returns the topics to look up again. Without, they fail.
  std::vector<std::string> on_down(const caf::actor_addr& source, const caf::error& reason);
  /// Fresh metadata of a topic whose partition died: lanes whose successor is there resend
  /// their unacknowledged batches to it, in order, with their sequence numbers (the partition
  /// drops those it already has). True while some lane still waits for its successor.
  bool on_metadata(const topic_metadata& md);
  /// The successor did not come (topic gone, registry unreachable, waited too long).
  void on_refresh_failed(const std::string& topic, const caf::error& err);
  /// Ships batches older than linger; returns how long until the next one is due, or a
  /// negative duration when no batch is open (the timer stops).
  std::chrono::nanoseconds on_linger_tick();

 private:
  struct sync_waiter;
  struct waiter_ref {
    std::shared_ptr<sync_waiter> waiter;
    uint32_t slot;   // index in the caller's input
    uint32_t index;  // index of the record in the batch
  };
  /// A publish span waiting for its acknowledgement (which gives its offset and end).
  struct pending_span {
    uint32_t index;  // of the record in the batch
    obs::span span;
  };
  struct inflight_batch {
    uint64_t seq;
    int32_t count;
    std::vector<waiter_ref> waiters;
    std::vector<pending_span> spans;
    record_batch_ptr batch;  // kept to resend it, same sequence, to a restarted partition
  };
  struct lane {
    std::string topic;
    partition_id partition;
    caf::actor actor;      // null after the partition actor died, until it is back
    caf::actor_addr dead;  // the actor that died, while waiting for its successor
    batch_builder open;
    std::vector<waiter_ref> open_waiters;
    std::vector<pending_span> open_spans;
    std::deque<inflight_batch> inflight;
    uint64_t next_seq = 0;
    clock::time_point open_since;  // when the open batch got its first event
  };
  struct topic_entry {
    topic_metadata meta;
    std::vector<std::unique_ptr<lane>> lanes;
    uint32_t sticky = 0;      // lane for events without a key
    uint64_t sticky_seq = 0;  // that lane's next_seq when chosen: moves on once it ships
  };

  /// The registry's current snapshot, null while no type has a schema (take it once per
  /// publish call).
  std::shared_ptr<const schema_catalog> schemas() const;
  caf::error check(const event& ev, const schema_catalog* schemas) const;
  caf::expected<topic_entry*> topic_for(lock_t& lk, std::string_view name);
  caf::error enqueue(lock_t& lk, const event& ev, const std::shared_ptr<sync_waiter>& w,
                     uint32_t slot, clock::time_point deadline);
  bool full(const lane& l) const;
  bool can_send(const lane& l) const;
  void seal_and_send(lane& l);
  void add_publish_span(lane& l, const event& ev, const obs::lineage& lin);
  void ship_open(bool force);
  void fail_lane(lane& l, const caf::error& err);
  lane* find_lane(const std::string& topic, partition_id p);
  caf::expected<std::vector<publish_ack>> await(lock_t& lk, sync_waiter& w);
  void settle(waiter_ref& r, const caf::error* err);

  caf::actor_system& sys_;
  const producer_id id_;
  const producer_options opts_;
  metadata_fn metadata_;
  caf::actor actor_;
  caf::actor registry_;
  std::shared_ptr<catalog_handle> schemas_;
  std::shared_ptr<obs::tracer> tracer_;

  mutable adaptive_mutex mtx_;
  std::condition_variable_any cv_;
  std::map<std::string, std::unique_ptr<topic_entry>, std::less<>> topics_;
  topic_entry* last_topic_ = nullptr;
  bool closed_ = false;
  bool tick_armed_ = false;
  int flushing_ = 0;  // flush() calls waiting
  caf::error first_error_;
  int64_t failed_since_flush_ = 0;
  producer_stats stats_;
};

/// Receives acknowledgements and partition deaths for one producer_core.
struct producer_actor_state {
  static inline const char* name = "herald.producer";
  std::shared_ptr<producer_core> core;
};

using producer_actor_t = caf::stateful_actor<producer_actor_state>;

caf::behavior producer_actor(producer_actor_t* self, std::shared_ptr<producer_core> core);

}  // namespace herald
