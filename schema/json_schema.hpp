// JSON Schema (a draft-7 subset) compiled once and checked against payloads many times.
//
// Herald implements the subset itself on Boost.JSON instead of using Debian's valijson
// (libvalijson-dev 1.0): valijson's validator copies its error path (a vector of strings) for
// every property and array item it enters, whether or not errors are collected, which
// measured 46 heap allocations per 200-byte OrderPlaced payload (and a DOM to validate). Here
// a payload is checked while Boost.JSON's SAX parser reads it, without building a document
// and without allocating, and the same compiled tree serves the compatibility rules
// (schema/compatibility.hpp). docs/SCHEMAS.md lists the keywords and what each one checks.
//
// Lifecycle: compile() builds an immutable tree; copies share it. Thread-safe to use from any
// number of threads at once (validate() keeps its scratch buffer per thread).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace herald {

/// JSON types as a bit set; "number" includes "integer" when checking a value.
namespace json_types {
constexpr uint8_t null = 1, boolean = 2, integer = 4, number = 8, string = 16, array = 32,
                  object = 64;
constexpr uint8_t any = 127;
constexpr uint8_t none = 0;
}  // namespace json_types

/// "integer or string" for a bit set of json_types.
std::string describe_types(uint8_t types);

/// A number as people write it: 49.99, 1.5, 100 (Boost.JSON would print 4.999E1).
std::string describe_number(double d);

/// Equal as JSON values: numbers by value (1 == 1.0), objects regardless of key order.
bool json_equal(const boost::json::value& a, const boost::json::value& b);

/// A value for an error message: numbers as describe_number, the rest as compact JSON, cut
/// after 40 characters.
std::string describe_value(const boost::json::value& v);

/// One compiled (sub)schema. Absent keywords are empty optionals / null pointers.
struct schema_node {
  uint8_t types = json_types::any;  ///< from "type"; none for the schema `false`
  std::optional<std::vector<boost::json::value>> enum_values;
  std::optional<double> minimum;
  std::optional<double> maximum;
  std::optional<uint64_t> min_length;  ///< in Unicode code points
  std::optional<uint64_t> max_length;
  std::map<std::string, std::shared_ptr<const schema_node>, std::less<>> properties;
  std::vector<std::string> required;
  /// "additionalProperties": null = allowed (open content model), a node whose types are
  /// none = forbidden (closed), any other node = allowed if they match it (partially open).
  std::shared_ptr<const schema_node> additional;
  std::shared_ptr<const schema_node> items;  ///< "items" (one schema for every element)
  std::optional<boost::json::value> default_value;

  bool accepts_nothing() const { return types == json_types::none; }
  /// No keyword constrains the value (the schema {} or true).
  bool accepts_anything() const;
  bool closed() const { return additional && additional->accepts_nothing(); }
  bool is_required(std::string_view name) const;
  const schema_node* property(std::string_view name) const;
};

/// Why a payload does not match: where, which keyword, and what was wrong.
struct schema_violation {
  std::string path;  ///< "items[0].qty"; empty for the payload itself
  std::string rule;  ///< the keyword: "type", "required", "minimum", ...
  std::string detail;

  /// "field 'items[0].qty': 0 is less than the minimum 1 (rule 'minimum')"
  std::string to_string() const;
};

class json_schema {
 public:
  json_schema() = default;

  /// Parses and compiles `text`. Malformed JSON, a keyword with a wrong value and a keyword
  /// outside the subset are errc::invalid_schema, naming the place in the schema
  /// ("/properties/total/minimum") and what is allowed.
  [[nodiscard]] static caf::expected<json_schema> compile(std::string_view text);

  /// Checks one payload in one streaming pass (schema/payload_check.hpp). Not valid JSON:
  /// errc::invalid_json; valid JSON that does not match: errc::schema_violation with
  /// schema_violation::to_string() as text. Allocates only to report an error (after a
  /// thread's first payloads have sized its reused buffers).
  [[nodiscard]] caf::error validate(std::string_view payload) const;

  const schema_node& root() const { return *root_; }
  /// The schema as compact JSON text, keys in the order given (what the registry stores and
  /// compares to find a re-registration of the same schema).
  const std::string& canonical() const { return canonical_; }
  bool empty() const { return root_ == nullptr; }

 private:
  std::shared_ptr<const schema_node> root_;
  std::string canonical_;
};

}  // namespace herald
