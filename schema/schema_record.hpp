// The records of the `_schemas` topic: every change to the registry is one event there, so
// replaying the topic from its start rebuilds the registry (docs/SCHEMAS.md, "Storage").
#pragma once

#include <cstdint>
#include <string>

#include <caf/expected.hpp>

#include "messages/event.hpp"
#include "schema/compatibility.hpp"

namespace herald {

/// The topic that stores the registry: one partition, so records replay in the order they
/// were accepted.
inline constexpr const char* schemas_topic = "_schemas";

/// Whether producers check payloads against their registered schema version.
enum class validation : uint8_t { on, off };

/// Where a validation setting applies.
enum class validation_scope : uint8_t { topic, type };

struct schema_record {
  enum class kind : uint8_t {
    schema,         ///< version `version` of `subject` is `schema`
    compatibility,  ///< `subject`'s compatibility mode is `mode`
    validation,     ///< validation of the `scope` named `subject` is `check`
  };
  /// Version of the payload layout; readers refuse a newer one.
  static constexpr uint32_t format_version = 1;

  kind what = kind::schema;
  std::string subject;  ///< the event type; for validation records a topic or an event type
  uint32_t version = 0;
  std::string schema;  ///< the schema's canonical JSON text
  compatibility mode = compatibility::backward;
  validation_scope scope = validation_scope::type;
  validation check = validation::on;
};

/// The event that stores `r` in the `_schemas` topic.
event encode(const schema_record& r);

/// Reads a record back; errc::invalid_schema names what is wrong with a record that Herald
/// did not write (wrong event type, missing field, newer format).
[[nodiscard]] caf::expected<schema_record> decode_schema_record(const event& ev);

}  // namespace herald
