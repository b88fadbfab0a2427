#include "schema/json_schema.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "messages/errors.hpp"
#include "messages/json.hpp"
#include "schema/payload_check.hpp"

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
          if (out->required.size() > 64)
            return fail(here, "lists more than 64 properties, the most Herald checks");
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
        for (auto& e : x.as_array())
          if (e.is_array() || e.is_object())
            return fail(here,
                        "values must be strings, numbers, booleans or null (arrays and "
                        "objects in an enum are not supported)");
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

bool json_equal(const json::value& a, const json::value& b) {
  if (a.is_number() && b.is_number()) return a.to_number<double>() == b.to_number<double>();
  return a == b;
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

caf::error json_schema::validate(std::string_view payload) const {
  if (!root_) return validate_json(payload);
  return detail::check_payload(*root_, payload);
}

}  // namespace herald
