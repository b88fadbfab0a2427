// Dead letters: an event given up after its last attempt, written to "<topic>.dlq" with the
// story of its failure in herald.dlq.* headers. The dead letter keeps the event's id,
// correlation id, key, type, payload and headers, so redriving it to the original topic
// publishes the same fact again (an idempotent consumer that never applied it applies it once).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "messages/event.hpp"
#include "messages/ids.hpp"

namespace herald {

/// "orders" -> "orders.dlq".
std::string dead_letter_topic(const std::string& topic);

namespace dlq_header {
constexpr const char* topic = "herald.dlq.topic";
constexpr const char* partition = "herald.dlq.partition";
constexpr const char* offset = "herald.dlq.offset";
constexpr const char* group = "herald.dlq.group";
constexpr const char* attempts = "herald.dlq.attempts";
constexpr const char* first_failure = "herald.dlq.first_failure";  ///< RFC 3339, UTC, ms
constexpr const char* last_failure = "herald.dlq.last_failure";
constexpr const char* error = "herald.dlq.error";
}  // namespace dlq_header

/// Why and where an event failed.
struct failure_story {
  std::string topic;
  partition_id partition;
  herald::offset offset;
  std::string group;
  int attempts = 0;
  timestamp first_failure;
  timestamp last_failure;
  std::string error;
};

/// The dead letter of `ev` (for topic dead_letter_topic(story.topic)).
event make_dead_letter(const event_view& ev, const failure_story& story);

/// A dead letter read back: the original event (herald.dlq.* headers removed, for a redrive)
/// and its failure story. Nothing when `dead_letter` lacks the headers.
struct parsed_dead_letter {
  event original;  ///< same id, correlation id, key, type, payload, headers
  failure_story story;
};
std::optional<parsed_dead_letter> parse_dead_letter(const event& dead_letter);

/// "2026-11-23T14:30:48.123Z" <-> timestamp.
std::string rfc3339(timestamp t);
std::optional<timestamp> parse_rfc3339(const std::string& text);

}  // namespace herald
