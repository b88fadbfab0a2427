// JSON checks on payloads, without building a document.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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

namespace herald {

/// One top-level member of a JSON object read by flat_json.
struct json_field {
  enum class kind : uint8_t { string, integer, number, boolean, null, nested };
  std::string key;
  kind type = kind::null;
  std::string text;     ///< kind::string: the unescaped value
  int64_t integer = 0;  ///< kind::integer (also set for kind::boolean: 0 or 1)
  double number = 0;    ///< kind::number and kind::integer
};

/// Reads the top-level members of one JSON object with Boost.JSON's SAX parser, without
/// building a document: nested objects and arrays are checked and marked kind::nested, not
/// kept. Meant for the small flat payloads of domain events (ItemAdded, Deposited ...) on hot
/// paths: an instance reuses its buffers, so parsing a payload like the ones before it does
/// not allocate. Not thread-safe: one per actor or thread.
class flat_json {
 public:
  /// Parses `text`; an error (errc::invalid_json) says what is wrong and at which byte.
  [[nodiscard]] caf::error parse(std::string_view text);
  /// The member named `key`, or null. When a key repeats, the last one wins.
  const json_field* find(std::string_view key) const;
  size_t size() const { return used_; }

  /// Called by the parser's handler.
  json_field& add_field();

 private:
  std::vector<json_field> fields_;
  size_t used_ = 0;
};

}  // namespace herald
