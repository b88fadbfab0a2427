// Compatibility between versions of one event type's schema, with Confluent Schema
// Registry's modes and its rules for JSON Schema (docs/SCHEMAS.md has the table).
//
// The one question behind every mode: can a consumer that reads with schema R accept every
// event written with schema W? BACKWARD asks it with R = the new version and W = the previous
// one (consumers upgraded first), FORWARD the other way round (producers upgraded first), FULL
// both; the _TRANSITIVE variants ask it against every earlier version, not only the latest.
// Pure functions, no state: the registry calls them before it stores a version.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>

#include "schema/json_schema.hpp"

namespace herald {

enum class compatibility : uint8_t {
  none,
  backward,
  forward,
  full,
  backward_transitive,
  forward_transitive,
  full_transitive,
};

/// "backward", "full_transitive", ... (lower case, as stored in the _schemas topic).
const char* to_string(compatibility c);
/// "BACKWARD", "FULL_TRANSITIVE", ... (as error messages and Confluent spell them).
std::string upper(compatibility c);
/// Parses to_string()'s spelling (upper case accepted too).
std::optional<compatibility> parse_compatibility(std::string_view text);

/// Why a reader schema cannot read what a writer schema allows: where and which rule.
struct compatibility_break {
  std::string path;  ///< "items[].qty"; empty for the event itself
  std::string what;  ///< "was added as required without a default"
};

/// Whether every value valid for `writer` is read by `reader`, by Confluent's structural rules
/// (not by trying values). `reader_is_newer` only chooses the words ("was added" / "was
/// removed"). Returns the first break found.
std::optional<compatibility_break> find_break(const schema_node& reader, const schema_node& writer,
                                              bool reader_is_newer);

/// A registered version, as the check needs it.
struct schema_version_ref {
  uint32_t version;
  const json_schema* schema;
};

/// Checks `candidate` (version `version` of `type`) against the `earlier` versions (oldest
/// first) under `mode`. On a break: errc::incompatible_schema, e.g. "OrderPlaced v3: field
/// 'currency' was added as required without a default: BACKWARD forbids this (consumers on
/// v3 cannot read v2 events)".
[[nodiscard]] caf::error check_compatibility(std::string_view type, uint32_t version,
                                             const json_schema& candidate,
                                             const std::vector<schema_version_ref>& earlier,
                                             compatibility mode);

}  // namespace herald
