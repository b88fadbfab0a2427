// Checks a payload against a compiled schema in one streaming pass (Boost.JSON's SAX parser):
// no document is built, and the parser's and the checker's buffers live per thread, so a
// valid payload costs no allocation. json_schema::validate() is the public entry.
#pragma once

#include <optional>
#include <string_view>

#include <caf/error.hpp>

#include "schema/json_schema.hpp"

namespace herald::detail {

/// Not valid JSON: errc::invalid_json (with the byte); valid JSON that breaks the schema:
/// the first violation in document order (a missing required property is noticed where its
/// object ends).
[[nodiscard]] caf::error check_payload(const schema_node& root, std::string_view payload);

}  // namespace herald::detail
