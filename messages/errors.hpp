// Herald's error codes. Errors are values: functions return caf::expected<T> or caf::error,
// built with make_error(errc, "what happened; what to do").
#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace herald {

enum class errc : uint8_t {
  none = 0,
  unknown_topic,            ///< no topic of that name
  topic_exists,             ///< create_topic on a name already taken
  invalid_topic_name,       ///< empty, too long or a character outside [A-Za-z0-9._-]
  invalid_partition_count,  ///< 0 or above the limit
  invalid_config,           ///< an option out of its range
  invalid_event,            ///< empty type, a field too long
  event_too_large,          ///< the encoded event exceeds max_event_bytes
  invalid_json,             ///< the payload is not one valid JSON text
  member_exists,            ///< a member of that name is already in the group
  invalid_argument,         ///< anything else a caller got wrong
  timeout,                  ///< an operation did not finish within its deadline
  shutting_down,            ///< the runtime is stopping and accepts no new work
  corrupt_batch,            ///< bytes that fail the record-batch checks (CRC, lengths)
  offset_out_of_range,      ///< a read below the log start or above its end
  fenced,                   ///< a message from an owner whose epoch was superseded
  handler_failed,           ///< a user handler threw or returned an error
  storage_failure,          ///< the storage layer could not read or write
  unknown_partition,        ///< partition number outside the topic's range
  producer_closed,          ///< publish on a producer after close()
  escalated,                ///< a supervisor gave up restarting a child and stopped
  version_conflict,         ///< an entity command expected another version than the current
  command_rejected,         ///< an entity's command handler refused the command
  invalid_schema,           ///< a JSON schema that is malformed or outside the supported subset
  incompatible_schema,      ///< a schema version that breaks its type's compatibility mode
  schema_violation,         ///< a payload that does not match its registered schema version
  unknown_schema,           ///< an event type or schema version that is not registered
};

/// The name of the code, e.g. "unknown_topic".
const char* to_string(errc x);

/// Builds an error of category "herald" whose context is the human-readable text.
caf::error make_error(errc code, std::string what);

/// Renders any error (Herald's, CAF's system and exit errors) as one readable line, without
/// needing an actor system: "unknown_topic: no topic 'x'; create it first ...".
std::string describe(const caf::error& err);

/// True if `err` is a Herald error with code `code`.
bool is(const caf::error& err, errc code);

}  // namespace herald

CAF_ERROR_CODE_ENUM(herald::errc, "herald")
