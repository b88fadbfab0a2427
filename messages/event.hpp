// The event envelope: an immutable fact with an id, a type, a topic, a key, a timestamp,
// headers and a JSON payload.
//
// Two classes:
//  - `event` owns its fields. Users build one with event::builder and publish it; once built it
//    cannot change (only getters). Safe to copy and to share between threads.
//  - `event_view` borrows them from a record batch: it is what handlers receive, costs no
//    allocation, and is valid only while the delivery that carries it is (the handler call).
//    to_event() makes an owned copy.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "messages/event_id.hpp"
#include "messages/ids.hpp"

namespace boost::json {
class value;
}

namespace herald {

struct header {
  std::string key;
  std::string value;

  friend bool operator==(const header&, const header&) = default;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, header& x) {
    return f(x.key, x.value);
  }
};

using header_list = std::vector<header>;

/// Limits of the encoding; the runtime's max_event_bytes bounds the whole event further.
namespace limits {
constexpr size_t max_string = 65535;    ///< type, key, ids, traceparent, header key/value
constexpr size_t max_headers = 65535;   ///< free-form headers per event
constexpr size_t max_topic_name = 249;  ///< same limit as Kafka
}  // namespace limits

class event_view;

class event {
 public:
  class builder;

  /// An empty event (no id, no type); publishing it fails with errc::invalid_event.
  event() = default;

  const event_id& id() const { return id_; }
  std::string_view id_text() const { return {id_text_.data(), id_text_.size()}; }
  std::string_view topic() const { return topic_; }
  std::string_view type() const { return type_; }
  std::string_view key() const { return key_; }
  /// JSON text; empty for a tombstone.
  std::string_view payload() const { return payload_; }
  /// A tombstone marks its key as deleted for compaction; it has no payload.
  bool is_tombstone() const { return tombstone_; }
  /// Producer's wall-clock time when the event was built.
  herald::timestamp time() const { return time_; }
  /// Set when the event was read from a log; -1 otherwise.
  partition_id partition() const { return partition_; }
  herald::offset offset() const { return offset_; }

  /// The id of the flow this event belongs to: inherited from the event that caused it, or
  /// this event's own id for the first event of a flow.
  std::string_view correlation_id() const {
    return correlation_id_.empty() ? id_text() : std::string_view{correlation_id_};
  }
  /// The id of the event that caused this one; empty for the first event of a flow.
  std::string_view causation_id() const { return causation_id_; }
  /// W3C trace context (`traceparent`), empty when not traced.
  std::string_view traceparent() const { return traceparent_; }
  uint32_t schema_version() const { return schema_version_; }
  const header_list& headers() const { return headers_; }
  /// The first header with that key, if any.
  std::optional<std::string_view> header(std::string_view key) const;
  /// True when the correlation id was not set explicitly (it is this event's id).
  bool starts_flow() const { return correlation_id_.empty(); }

  /// Parses the payload (Boost.JSON). Use where the payload is needed, not per hop.
  caf::expected<boost::json::value> json() const;

  friend bool operator==(const event&, const event&) = default;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, event& x) {
    return f(x.id_, x.id_text_, x.topic_, x.type_, x.key_, x.payload_, x.tombstone_, x.time_,
             x.partition_, x.offset_, x.correlation_id_, x.causation_id_, x.traceparent_,
             x.schema_version_, x.headers_);
  }

 private:
  friend class event_view;
  friend class batch_builder;

  event_id id_;
  std::array<char, event_id::text_size> id_text_{};
  std::string topic_;
  std::string type_;
  std::string key_;
  std::string payload_;
  bool tombstone_ = false;
  herald::timestamp time_;
  partition_id partition_{-1};
  herald::offset offset_{-1};
  std::string correlation_id_;
  std::string causation_id_;
  std::string traceparent_;
  uint32_t schema_version_ = 1;
  header_list headers_;
};

/// Builds an event. Setters return the builder for chaining; build() moves the fields out.
///
///   auto ev = herald::event::builder{"orders", "OrderPlaced"}
///                 .key(order_id)
///                 .payload(R"({"order_id":"ORD-1","total":49.99})")
///                 .build();
class event::builder {
 public:
  builder(std::string topic, std::string type);

  builder& key(std::string k);
  builder& payload(std::string json_text);
  /// A tombstone: no payload; compaction deletes the key.
  builder& tombstone();
  builder& correlation_id(std::string id);
  builder& causation_id(std::string id);
  builder& traceparent(std::string tp);
  builder& schema_version(uint32_t v);
  builder& header(std::string key, std::string value);
  /// Keeps an existing id (a redrive, an import); by default build() assigns a new one.
  builder& id(event_id id);
  /// Overrides the creation time (default: now).
  builder& time(herald::timestamp t);

  /// Assigns the id and the timestamp unless given, and returns the event. This consumes the
  /// builder: build one builder per event. Validation (sizes, JSON) happens when the event is
  /// published.
  event build();

 private:
  event ev_;
};

/// Shorthand for the common case.
event make_event(std::string topic, std::string type, std::string key, std::string payload);

/// A header key/value pair borrowed from a record.
struct header_view {
  std::string_view key;
  std::string_view value;
};

/// An event borrowed from a record batch (see the file comment). Not thread-safe.
class event_view {
 public:
  event_view() = default;

  event_id id() const { return id_; }
  std::string_view id_text() const;
  std::string_view topic() const { return topic_; }
  std::string_view type() const { return type_; }
  std::string_view key() const { return key_; }
  std::string_view payload() const { return payload_; }
  bool is_tombstone() const { return tombstone_; }
  herald::timestamp time() const { return time_; }
  partition_id partition() const { return partition_; }
  herald::offset offset() const { return offset_; }
  std::string_view correlation_id() const { return correlation_self_ ? id_text() : correlation_; }
  std::string_view causation_id() const { return causation_; }
  std::string_view traceparent() const { return traceparent_; }
  uint32_t schema_version() const { return schema_version_; }
  size_t header_count() const { return header_count_; }
  /// Visits every free-form header in order.
  template <class F>
  void for_each_header(F&& f) const {
    const char* p = headers_;
    for (size_t i = 0; i < header_count_; ++i) {
      auto h = read_header(p);
      f(h);
    }
  }
  std::optional<std::string_view> header(std::string_view key) const;
  caf::expected<boost::json::value> json() const;

  /// An owned copy that outlives the delivery.
  event to_event() const;

  /// The same event with another payload and schema version; `payload` must outlive the
  /// copy. How an upcast event reaches a handler as the version it expects.
  event_view with_payload(std::string_view payload, uint32_t schema_version) const {
    auto v = *this;
    v.payload_ = payload;
    v.schema_version_ = schema_version;
    return v;
  }

 private:
  friend class batch_cursor;
  friend class batch_builder;
  static header_view read_header(const char*& p);

  event_id id_;
  std::string_view topic_;
  std::string_view type_;
  std::string_view key_;
  std::string_view payload_;
  std::string_view correlation_;
  std::string_view causation_;
  std::string_view traceparent_;
  const char* headers_ = nullptr;
  uint32_t header_count_ = 0;
  uint32_t schema_version_ = 1;
  herald::timestamp time_;
  partition_id partition_{-1};
  herald::offset offset_{-1};
  bool tombstone_ = false;
  bool correlation_self_ = false;
  mutable bool id_rendered_ = false;
  mutable std::array<char, event_id::text_size> id_text_;
};

}  // namespace herald
