// JSON checks on payloads, without building a document.
#pragma once

#include <cstddef>
#include <string_view>

#include <caf/error.hpp>

namespace herald {

/// Deepest nesting of arrays and objects a payload may have. RFC 8259 lets a parser set such a
/// limit; Boost.JSON's default (32) refused valid documents nested 33 deep, so Herald sets its own,
/// and validate_json() and event::json() use the same one.
constexpr std::size_t max_json_depth = 256;

/// Checks that `text` is exactly one valid JSON text (RFC 8259). Uses Boost.JSON's SAX parser
/// with a handler that keeps nothing, so it allocates nothing (~1 GB/s). On failure the error
/// (errc::invalid_json) says what is wrong and at which byte.
[[nodiscard]] caf::error validate_json(std::string_view text);

}  // namespace herald
