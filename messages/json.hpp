// JSON checks on payloads, without building a document.
#pragma once

#include <string_view>

#include <caf/error.hpp>

namespace herald {

/// Checks that `text` is exactly one valid JSON text (RFC 8259). Uses Boost.JSON's SAX parser
/// with a handler that keeps nothing, so it allocates nothing (~1 GB/s). On failure the error
/// (errc::invalid_json) says what is wrong and at which byte.
[[nodiscard]] caf::error validate_json(std::string_view text);

}  // namespace herald
