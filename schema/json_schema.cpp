#include "schema/json_schema.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "messages/errors.hpp"
#include "messages/json.hpp"

namespace herald {

namespace json = boost::json;

namespace {

constexpr std::array<std::pair<uint8_t, const char*>, 7> type_names{{
    {json_types::null, "null"},
    {json_types::boolean, "boolean"},
    {json_types::integer, "integer"},
    {json_types::number, "number"},
    {json_types::string, "string"},
    {json_types::array, "array"},
    {json_types::object, "object"},
}};

// Keywords that describe and never constrain: accepted and ignored.
constexpr std::array<std::string_view, 6> annotations{"$schema", "$id",         "$comment",
                                                      "title",   "description", "examples"};

// -- compiling --------------------------------------------------------------------------------

class compiler {
 public:
  caf::error error;

  std::shared_ptr<const schema_node> node(const json::value& v, const std::string& at) {
    auto out = std::make_shared<schema_node>();
    if (v.is_bool()) {
      if (!v.as_bool()) out->types = json_types::none;
      return out;
    }
    if (!v.is_object()) return fail(at, "a schema must be a JSON object or true/false");
    for (auto& [k, x] : v.as_object()) {
      std::string_view key{k.data(), k.size()};
      auto here = at + "/" + std::string{key};
      if (key == "type") {
        if (!types(x, here, out->types)) return nullptr;
      } else if (key == "properties") {
        if (!x.is_object()) return fail(here, "must be an object of schemas");
        for (auto& [name, sub] : x.as_object()) {
          auto n = node(sub, here + "/" + std::string{name});
          if (!n) return nullptr;
          out->properties.emplace(std::string{name}, std::move(n));
        }
      } else if (key == "required") {
        if (!x.is_array()) return fail(here, "must be an array of property names");
        for (auto& r : x.as_array()) {
          if (!r.is_string()) return fail(here, "must be an array of property names (strings)");
          std::string name{r.as_string()};
          if (out->is_required(name)) return fail(here, "names '" + name + "' twice");
          out->required.push_back(std::move(name));
        }
      } else if (key == "additionalProperties") {
        if (x.is_bool() && x.as_bool()) continue;  // the default: open
        auto n = node(x, here);
        if (!n) return nullptr;
        out->additional = n->accepts_anything() ? nullptr : std::move(n);
      } else if (key == "items") {
        if (x.is_array())
          return fail(here,
                      "the tuple form (an array of schemas) is not supported; give one "
                      "schema for every element");
        auto n = node(x, here);
        if (!n) return nullptr;
        out->items = std::move(n);
      } else if (key == "enum") {
        if (!x.is_array() || x.as_array().empty())
          return fail(here, "must be a non-empty array of values");
        out->enum_values.emplace(x.as_array().begin(), x.as_array().end());
      } else if (key == "minimum" || key == "maximum") {
        if (!x.is_number()) return fail(here, "must be a number");
        (key == "minimum" ? out->minimum : out->maximum) = x.to_number<double>();
      } else if (key == "minLength" || key == "maxLength") {
        auto n = length(x);
        if (!n) return fail(here, "must be a non-negative integer");
        (key == "minLength" ? out->min_length : out->max_length) = *n;
      } else if (key == "default") {
        out->default_value = x;
      } else if (std::find(annotations.begin(), annotations.end(), key) == annotations.end()) {
        return fail(here, "keyword '" + std::string{key} +
                              "' is not supported by Herald's JSON Schema subset (type, "
                              "properties, required, additionalProperties, enum, items, "
                              "minimum, maximum, minLength, maxLength, default: "
                              "docs/SCHEMAS.md); remove it or express it with those");
      }
    }
    if (out->minimum && out->maximum && *out->minimum > *out->maximum)
      return fail(at, "minimum is greater than maximum: no number matches");
    if (out->min_length && out->max_length && *out->min_length > *out->max_length)
      return fail(at, "minLength is greater than maxLength: no string matches");
    return out;
  }

 private:
  std::nullptr_t fail(const std::string& at, const std::string& what) {
    error = make_error(errc::invalid_schema,
                       "at '" + (at.empty() ? std::string{"/"} : at) + "': " + what);
    return nullptr;
  }

  bool types(const json::value& x, const std::string& at, uint8_t& out) {
    auto one = [&](const json::value& t) -> uint8_t {
      if (t.is_string())
        for (auto& [bit, name] : type_names)
          if (t.as_string() == name) return bit;
      fail(at, "unknown type " + json::serialize(t) +
                   "; expected null, boolean, integer, number, string, array or object");
      return 0;
    };
    out = 0;
    if (x.is_array()) {
      if (x.as_array().empty()) {
        fail(at, "must name at least one type");
        return false;
      }
      for (auto& t : x.as_array()) {
        auto bit = one(t);
        if (!bit) return false;
        out |= bit;
      }
    } else {
      out = one(x);
      if (!out) return false;
    }
    // "number" admits integers too, as the JSON Schema spec says.
    if (out & json_types::number) out |= json_types::integer;
    return true;
  }

  static std::optional<uint64_t> length(const json::value& x) {
    if (x.is_uint64()) return x.as_uint64();
    if (x.is_int64() && x.as_int64() >= 0) return static_cast<uint64_t>(x.as_int64());
    if (x.is_double() && x.as_double() >= 0 && std::floor(x.as_double()) == x.as_double())
      return static_cast<uint64_t>(x.as_double());
    return std::nullopt;
  }
};

// -- validating -------------------------------------------------------------------------------

uint8_t type_of(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return json_types::null;
    case json::kind::bool_:
      return json_types::boolean;
    case json::kind::int64:
    case json::kind::uint64:
      return json_types::integer;
    case json::kind::double_: {
      // JSON Schema: 1.0 is an integer.
      auto d = v.get_double();
      return std::isfinite(d) && std::floor(d) == d ? json_types::integer : json_types::number;
    }
    case json::kind::string:
      return json_types::string;
    case json::kind::array:
      return json_types::array;
    case json::kind::object:
      return json_types::object;
  }
  return json_types::none;
}

uint64_t code_points(json::string_view s) {
  uint64_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Values equal as JSON: numbers by value (1 == 1.0), objects regardless of key order.
bool json_equal(const json::value& a, const json::value& b) {
  if (a.is_number() && b.is_number()) return a.to_number<double>() == b.to_number<double>();
  return a == b;
}

std::optional<schema_violation> violation(std::string rule, std::string detail) {
  return schema_violation{{}, std::move(rule), std::move(detail)};
}

// Adds the segment of the level that called into a violation found below it.
void prefix(schema_violation& v, const std::string& segment) {
  if (v.path.empty())
    v.path = segment;
  else if (v.path.front() == '[')
    v.path = segment + v.path;
  else
    v.path = segment + "." + v.path;
}

std::optional<schema_violation> check_node(const schema_node& s, const json::value& v) {
  auto t = type_of(v);
  if (!(s.types & t)) {
    if (s.accepts_nothing()) return violation("false", "no value is allowed here");
    return violation("type", "expected " + describe_types(s.types) + ", got " + describe_types(t) +
                                 " " + describe_value(v));
  }
  if (s.enum_values) {
    bool found = false;
    for (auto& e : *s.enum_values) found = found || json_equal(e, v);
    if (!found) {
      json::array all(s.enum_values->begin(), s.enum_values->end());
      return violation("enum", describe_value(v) + " is not one of " + json::serialize(all));
    }
  }
  if (v.is_number()) {
    auto d = v.to_number<double>();
    if (s.minimum && d < *s.minimum)
      return violation("minimum", describe_value(v) + " is less than the minimum " +
                                      describe_number(*s.minimum));
    if (s.maximum && d > *s.maximum)
      return violation("maximum", describe_value(v) + " is more than the maximum " +
                                      describe_number(*s.maximum));
  } else if (v.is_string() && (s.min_length || s.max_length)) {
    auto n = code_points(v.get_string());
    if (s.min_length && n < *s.min_length)
      return violation("minLength", "length " + std::to_string(n) + " is less than minLength " +
                                        std::to_string(*s.min_length));
    if (s.max_length && n > *s.max_length)
      return violation("maxLength", "length " + std::to_string(n) + " is more than maxLength " +
                                        std::to_string(*s.max_length));
  } else if (v.is_object()) {
    auto& o = v.get_object();
    for (auto& r : s.required) {
      if (!o.contains(r)) {
        auto out = violation("required", "is missing");
        out->path = r;
        return out;
      }
    }
    for (auto& [k, x] : o) {
      std::string_view key{k.data(), k.size()};
      const schema_node* sub = s.property(key);
      if (!sub) sub = s.additional.get();
      if (!sub) continue;
      if (sub->accepts_nothing()) {
        auto out = violation("additionalProperties",
                             "is not allowed: the schema lists its properties and has "
                             "\"additionalProperties\": false");
        out->path = std::string{key};
        return out;
      }
      if (auto bad = check_node(*sub, x)) {
        prefix(*bad, std::string{key});
        return bad;
      }
    }
  } else if (v.is_array() && s.items) {
    auto& a = v.get_array();
    for (size_t i = 0; i < a.size(); ++i) {
      if (auto bad = check_node(*s.items, a[i])) {
        prefix(*bad, "[" + std::to_string(i) + "]");
        return bad;
      }
    }
  }
  return std::nullopt;
}

// One scratch buffer per thread: a payload is parsed into it and dropped, so validating
// allocates nothing for payloads that fit.
constexpr size_t scratch_bytes = 64 * 1024;

unsigned char* scratch() {
  thread_local std::unique_ptr<unsigned char[]> buf{new unsigned char[scratch_bytes]};
  return buf.get();
}

}  // namespace

std::string describe_types(uint8_t types) {
  if (types == json_types::any) return "any type";
  if ((types & json_types::number) && (types & json_types::integer))
    types &= static_cast<uint8_t>(~json_types::integer);
  std::string out;
  for (auto& [bit, name] : type_names) {
    if (!(types & bit)) continue;
    if (!out.empty()) out += " or ";
    out += name;
  }
  return out.empty() ? "nothing" : out;
}

std::string describe_number(double d) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  return std::string{buf, r.ptr};
}

std::string describe_value(const json::value& v) {
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  if (v.is_double()) return describe_number(v.get_double());
  auto text = json::serialize(v);
  if (text.size() > 40) text = text.substr(0, 40) + "...";
  return text;
}

bool schema_node::accepts_anything() const {
  return types == json_types::any && !enum_values && !minimum && !maximum && !min_length &&
         !max_length && properties.empty() && required.empty() && !additional && !items;
}

bool schema_node::is_required(std::string_view name) const {
  return std::find(required.begin(), required.end(), name) != required.end();
}

const schema_node* schema_node::property(std::string_view name) const {
  auto it = properties.find(name);
  return it == properties.end() ? nullptr : it->second.get();
}

std::string schema_violation::to_string() const {
  auto where = path.empty() ? std::string{"the payload"} : "field '" + path + "'";
  return where + (rule == "required" || rule == "additionalProperties" ? " " : ": ") + detail +
         " (rule '" + rule + "')";
}

caf::expected<json_schema> json_schema::compile(std::string_view text) {
  json::error_code ec;
  json::parse_options opts;
  opts.max_depth = max_json_depth;
  auto doc = json::parse(json::string_view{text.data(), text.size()}, ec, {}, opts);
  if (ec) return make_error(errc::invalid_schema, "the schema is not valid JSON: " + ec.message());
  compiler c;
  auto root = c.node(doc, "");
  if (!root) return std::move(c.error);
  json_schema out;
  out.root_ = std::move(root);
  out.canonical_ = json::serialize(doc);
  return out;
}

std::optional<schema_violation> json_schema::check(const json::value& v) const {
  if (!root_) return std::nullopt;
  return check_node(*root_, v);
}

caf::error json_schema::validate(std::string_view payload) const {
  json::monotonic_resource mr{scratch(), scratch_bytes};
  json::parse_options opts;
  opts.max_depth = max_json_depth;
  json::error_code ec;
  auto v = json::parse(json::string_view{payload.data(), payload.size()}, ec, &mr, opts);
  if (ec) return make_error(errc::invalid_json, "payload is not valid JSON: " + ec.message());
  if (auto bad = check(v)) return make_error(errc::schema_violation, bad->to_string());
  return caf::none;
}

}  // namespace herald
