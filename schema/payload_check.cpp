#include "schema/payload_check.hpp"

#include <cmath>
#include <string>
#include <vector>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/error.hpp>
#include <boost/json/serialize.hpp>

#include "messages/errors.hpp"
#include "messages/json.hpp"

namespace herald::detail {

namespace json = boost::json;

namespace {

// One open object or array, and where the parser is inside it.
struct frame {
  const schema_node* node = nullptr;  ///< its schema; null: anything goes below
  bool object = false;
  uint64_t index = 0;                 ///< array: the element being read
  uint64_t seen = 0;                  ///< object: bit i set once required[i] was read
  const schema_node* next = nullptr;  ///< object: the schema of the value after `key`
  std::string key;                    ///< object: the key being read (capacity reused)
};

// Reused by every check on a thread: after the first payloads, nothing grows.
struct scratch {
  std::vector<frame> frames;
  size_t depth = 0;
  std::string text;  ///< a string value assembled from its parts
};

scratch& thread_scratch() {
  thread_local scratch s;
  return s;
}

constexpr size_t max_required_checked = 64;

class checker {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);
  using ec_t = json::error_code;

  checker(const schema_node& root, scratch& s) : root_(&root), s_(s) {
    s_.depth = 0;  // a payload that failed may have left both behind
    s_.text.clear();
  }

  std::optional<schema_violation> violation;

  bool on_document_begin(ec_t&) { return true; }
  bool on_document_end(ec_t&) { return true; }

  bool on_object_begin(ec_t& ec) {
    auto* n = expected();
    if (n && !check_type(*n, json_types::object, [] { return std::string{"object"}; }))
      return stop(ec);
    if (n && n->enum_values) return fail_enum(ec, "an object");
    push(n, true);
    return true;
  }

  bool on_object_end(std::size_t, ec_t& ec) {
    auto& f = top();
    if (f.node) {
      auto& req = f.node->required;
      for (size_t i = 0; i < req.size() && i < max_required_checked; ++i) {
        if (f.seen & (uint64_t{1} << i)) continue;
        // The object's own key is cleared by now: path() ends at the object.
        violation = schema_violation{join(path(), req[i]), "required", "is missing"};
        return stop(ec);
      }
    }
    pop();
    return true;
  }

  bool on_array_begin(ec_t& ec) {
    auto* n = expected();
    if (n && !check_type(*n, json_types::array, [] { return std::string{"array"}; }))
      return stop(ec);
    if (n && n->enum_values) return fail_enum(ec, "an array");
    push(n ? n->items.get() : nullptr, false);  // null: elements are not constrained
    return true;
  }

  bool on_array_end(std::size_t, ec_t&) {
    pop();
    return true;
  }

  bool on_key_part(json::string_view sv, std::size_t, ec_t&) {
    top().key.append(sv.data(), sv.size());
    return true;
  }

  bool on_key(json::string_view sv, std::size_t, ec_t& ec) {
    auto& f = top();
    f.key.append(sv.data(), sv.size());
    f.next = nullptr;
    if (!f.node) return true;
    auto& req = f.node->required;
    for (size_t i = 0; i < req.size() && i < max_required_checked; ++i)
      if (req[i] == f.key) f.seen |= uint64_t{1} << i;
    const schema_node* sub = f.node->property(f.key);
    if (!sub) sub = f.node->additional.get();
    if (sub && sub->accepts_nothing()) {
      violation = schema_violation{path(), "additionalProperties",
                                   "is not allowed: the schema lists its properties and has "
                                   "\"additionalProperties\": false"};
      return stop(ec);
    }
    f.next = sub;
    return true;
  }

  bool on_string_part(json::string_view sv, std::size_t, ec_t&) {
    s_.text.append(sv.data(), sv.size());
    return true;
  }

  bool on_string(json::string_view sv, std::size_t, ec_t& ec) {
    std::string_view value{sv.data(), sv.size()};
    if (!s_.text.empty()) {
      s_.text.append(sv.data(), sv.size());
      value = s_.text;
    }
    bool ok = check_string(value);
    s_.text.clear();
    return ok ? done_value() : stop(ec);
  }

  bool on_number_part(json::string_view, ec_t&) { return true; }

  bool on_int64(int64_t i, json::string_view, ec_t& ec) {
    return check_number(json_types::integer, static_cast<double>(i), json::value(i)) ? done_value()
                                                                                     : stop(ec);
  }
  bool on_uint64(uint64_t u, json::string_view, ec_t& ec) {
    return check_number(json_types::integer, static_cast<double>(u), json::value(u)) ? done_value()
                                                                                     : stop(ec);
  }
  bool on_double(double d, json::string_view, ec_t& ec) {
    // JSON Schema: 1.0 is an integer.
    auto t = std::isfinite(d) && std::floor(d) == d ? json_types::integer : json_types::number;
    return check_number(t, d, json::value(d)) ? done_value() : stop(ec);
  }
  bool on_bool(bool b, ec_t& ec) {
    return check_scalar(json_types::boolean, json::value(b)) ? done_value() : stop(ec);
  }
  bool on_null(ec_t& ec) {
    return check_scalar(json_types::null, json::value(nullptr)) ? done_value() : stop(ec);
  }
  bool on_comment_part(json::string_view, ec_t&) { return true; }
  bool on_comment(json::string_view, ec_t&) { return true; }

 private:
  const schema_node* root_;
  scratch& s_;
  bool root_read_ = false;

  frame& top() { return s_.frames[s_.depth - 1]; }

  // The schema of the value that starts now; null: anything.
  const schema_node* expected() {
    if (s_.depth == 0) return root_read_ ? nullptr : root_;
    auto& f = top();
    return f.object ? f.next : f.node;
  }

  void push(const schema_node* n, bool object) {
    if (s_.frames.size() == s_.depth) s_.frames.emplace_back();
    auto& f = s_.frames[s_.depth++];
    f.node = n;
    f.object = object;
    f.index = 0;
    f.seen = 0;
    f.next = nullptr;
    f.key.clear();
  }

  void pop() {
    --s_.depth;
    done_value();
  }

  // A value ended: move on to the next array element or key.
  bool done_value() {
    if (s_.depth == 0) {
      root_read_ = true;
      return true;
    }
    auto& f = top();
    if (f.object)
      f.key.clear();
    else
      ++f.index;
    return true;
  }

  static std::string join(const std::string& path, const std::string& segment) {
    return path.empty() ? segment : path + "." + segment;
  }

  // Where the parser is: "items[0].qty". Only built for an error.
  std::string path() const {
    std::string out;
    for (size_t i = 0; i < s_.depth; ++i) {
      auto& f = s_.frames[i];
      if (f.object) {
        if (f.key.empty()) continue;
        if (!out.empty()) out += '.';
        out += f.key;
      } else {
        out += "[" + std::to_string(f.index) + "]";
      }
    }
    return out;
  }

  bool stop(ec_t& ec) {
    ec = json::error::extra_data;  // any error stops the parser; `violation` says why
    return false;
  }

  // `got` describes the value; called only for the error message.
  template <class Got>
  bool check_type(const schema_node& n, uint8_t t, Got got) {
    if (n.types & t) return true;
    if (n.accepts_nothing())
      violation = schema_violation{path(), "false", "no value is allowed here"};
    else
      violation = schema_violation{path(), "type",
                                   "expected " + describe_types(n.types) + ", got " + got()};
    return false;
  }

  bool fail_enum(ec_t& ec, const std::string& what) {
    violation = schema_violation{path(), "enum", what + " is not one of " + enum_text()};
    return stop(ec);
  }

  std::string enum_text() {
    auto* n = expected();
    json::array all(n->enum_values->begin(), n->enum_values->end());
    return json::serialize(all);
  }

  bool check_enum(const schema_node& n, const json::value& v) {
    if (!n.enum_values) return true;
    for (auto& e : *n.enum_values)
      if (json_equal(e, v)) return true;
    violation =
        schema_violation{path(), "enum", describe_value(v) + " is not one of " + enum_text()};
    return false;
  }

  bool check_scalar(uint8_t t, const json::value& v) {
    auto* n = expected();
    if (!n) return true;
    if (!check_type(*n, t, [&] { return describe_types(t) + " " + describe_value(v); }))
      return false;
    return check_enum(*n, v);
  }

  bool check_number(uint8_t t, double d, const json::value& v) {
    auto* n = expected();
    if (!n) return true;
    if (!check_scalar(t, v)) return false;
    if (n->minimum && d < *n->minimum) {
      violation = schema_violation{
          path(), "minimum",
          describe_value(v) + " is less than the minimum " + describe_number(*n->minimum)};
      return false;
    }
    if (n->maximum && d > *n->maximum) {
      violation = schema_violation{
          path(), "maximum",
          describe_value(v) + " is more than the maximum " + describe_number(*n->maximum)};
      return false;
    }
    return true;
  }

  bool check_string(std::string_view s) {
    auto* n = expected();
    if (!n) return true;
    if (!(n->types & json_types::string)) {
      json::value v(json::string_view{s.data(), s.size()});  // an error: allocating is fine
      return check_scalar(json_types::string, v);
    }
    if (n->enum_values) {
      bool found = false;
      for (auto& e : *n->enum_values)
        found = found || (e.is_string() && std::string_view{e.get_string()} == s);
      if (!found) {
        json::value v(json::string_view{s.data(), s.size()});
        violation =
            schema_violation{path(), "enum", describe_value(v) + " is not one of " + enum_text()};
        return false;
      }
    }
    if (n->min_length || n->max_length) {
      uint64_t cps = 0;
      for (unsigned char c : s) cps += (c & 0xC0) != 0x80;
      if (n->min_length && cps < *n->min_length) {
        violation = schema_violation{path(), "minLength",
                                     "length " + std::to_string(cps) + " is less than minLength " +
                                         std::to_string(*n->min_length)};
        return false;
      }
      if (n->max_length && cps > *n->max_length) {
        violation = schema_violation{path(), "maxLength",
                                     "length " + std::to_string(cps) + " is more than maxLength " +
                                         std::to_string(*n->max_length)};
        return false;
      }
    }
    return true;
  }
};

}  // namespace

caf::error check_payload(const schema_node& root, std::string_view payload) {
  if (payload.empty())
    return make_error(errc::invalid_json, "payload is empty; expected a JSON text");
  json::parse_options opts;
  opts.max_depth = max_json_depth;
  json::basic_parser<checker> p{opts, root, thread_scratch()};
  json::error_code ec;
  auto n = p.write_some(false, payload.data(), payload.size(), ec);
  if (auto& v = p.handler().violation) return make_error(errc::schema_violation, v->to_string());
  if (!ec && n < payload.size()) ec = json::error::extra_data;
  if (ec)
    return make_error(errc::invalid_json, "payload is not valid JSON: " + ec.message() +
                                              " at byte " + std::to_string(n));
  return caf::none;
}

}  // namespace herald::detail
