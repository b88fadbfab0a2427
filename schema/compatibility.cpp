#include "schema/compatibility.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include <boost/json/serialize.hpp>

#include "messages/errors.hpp"

namespace herald {

namespace {

std::string join(const std::string& path, const std::string& segment) {
  if (path.empty()) return segment;
  if (segment.front() == '[') return path + segment;
  return path + "." + segment;
}

// The words for a change of one bound from the old schema to the new one.
template <class T, class Fmt>
std::string bound_change(const char* keyword, const std::optional<T>& old_v,
                         const std::optional<T>& new_v, Fmt fmt) {
  std::string k = keyword;
  if (!old_v) return k + " " + fmt(*new_v) + " was added";
  if (!new_v) return k + " " + fmt(*old_v) + " was removed";
  return k + " changed from " + fmt(*old_v) + " to " + fmt(*new_v);
}

class checker {
 public:
  explicit checker(bool reader_is_newer) : reader_newer_(reader_is_newer) {}

  std::optional<compatibility_break> run(const schema_node& r, const schema_node& w,
                                         const std::string& path) {
    if (w.accepts_nothing() || r.accepts_anything()) return std::nullopt;
    if (auto b = types(r, w, path)) return b;
    if (auto b = enums(r, w, path)) return b;
    if (auto b = bounds(r, w, path)) return b;
    if (w.types & json_types::object)
      if (auto b = object(r, w, path)) return b;
    if ((w.types & json_types::array) && r.items) {
      if (!w.items)
        return brk(path, reader_newer_ ? "got an \"items\" schema (any element was allowed)"
                                       : "lost its \"items\" schema (any element is allowed)");
      if (auto b = run(*r.items, *w.items, join(path, "[]"))) return b;
    }
    return std::nullopt;
  }

 private:
  bool reader_newer_;

  static std::optional<compatibility_break> brk(const std::string& path, std::string what) {
    return compatibility_break{path, std::move(what)};
  }
  const schema_node& old_of(const schema_node& r, const schema_node& w) const {
    return reader_newer_ ? w : r;
  }
  const schema_node& new_of(const schema_node& r, const schema_node& w) const {
    return reader_newer_ ? r : w;
  }

  std::optional<compatibility_break> types(const schema_node& r, const schema_node& w,
                                           const std::string& path) {
    if ((w.types & ~r.types) == 0) return std::nullopt;
    return brk(path, "changed type from " + describe_types(old_of(r, w).types) + " to " +
                         describe_types(new_of(r, w).types));
  }

  std::optional<compatibility_break> enums(const schema_node& r, const schema_node& w,
                                           const std::string& path) {
    if (!r.enum_values) return std::nullopt;
    if (!w.enum_values)
      return brk(path, reader_newer_ ? "got an \"enum\" (any value was allowed)"
                                     : "lost its \"enum\" (any value is allowed now)");
    for (auto& v : *w.enum_values) {
      bool found = std::any_of(r.enum_values->begin(), r.enum_values->end(),
                               [&](auto& x) { return json_equal(x, v); });
      if (!found)
        return brk(path, "enum value " + describe_value(v) +
                             (reader_newer_ ? " was removed" : " was added"));
    }
    return std::nullopt;
  }

  std::optional<compatibility_break> bounds(const schema_node& r, const schema_node& w,
                                            const std::string& path) {
    auto& o = old_of(r, w);
    auto& n = new_of(r, w);
    auto num = [](double d) {
      return describe_number(d);
    };
    auto len = [](uint64_t x) {
      return std::to_string(x);
    };
    if (r.minimum && (!w.minimum || *w.minimum < *r.minimum))
      return brk(path, bound_change("minimum", o.minimum, n.minimum, num));
    if (r.maximum && (!w.maximum || *w.maximum > *r.maximum))
      return brk(path, bound_change("maximum", o.maximum, n.maximum, num));
    if (r.min_length && (!w.min_length || *w.min_length < *r.min_length))
      return brk(path, bound_change("minLength", o.min_length, n.min_length, len));
    if (r.max_length && (!w.max_length || *w.max_length > *r.max_length))
      return brk(path, bound_change("maxLength", o.max_length, n.max_length, len));
    return std::nullopt;
  }

  std::optional<compatibility_break> object(const schema_node& r, const schema_node& w,
                                            const std::string& path) {
    // A property the reader requires must always be written, unless the reader has a default.
    for (auto& name : r.required) {
      if (w.is_required(name)) continue;
      auto* rp = r.property(name);
      if (rp && rp->default_value) continue;
      bool declared = w.property(name) != nullptr;
      if (reader_newer_)
        return brk(join(path, name), declared ? "became required without a default"
                                              : "was added as required without a default");
      return brk(join(path, name),
                 declared ? "is no longer required, but the older version requires it "
                            "without a default"
                          : "was removed, but the older version requires it without a default");
    }
    // Properties the reader declares: the writer's own schema for them, or what its
    // additionalProperties lets through.
    for (auto& [name, rp] : r.properties) {
      auto at = join(path, name);
      if (auto* wp = w.property(name)) {
        if (auto b = run(*rp, *wp, at)) return b;
      } else if (w.closed()) {
        continue;  // the writer never writes it
      } else if (w.additional) {
        if (auto b = run(*rp, *w.additional, at)) return b;
      } else if (!rp->accepts_anything()) {
        return brk(at, reader_newer_
                           ? "was added to an open content model (the older version allows any "
                             "additional property, so its events may carry '" +
                                 name + "' with another value)"
                           : "was removed into an open content model (the newer version's events "
                             "may carry '" +
                                 name + "' with any value)");
      }
    }
    // Properties only the writer declares: the reader's additionalProperties must take them.
    for (auto& [name, wp] : w.properties) {
      if (r.property(name)) continue;
      auto at = join(path, name);
      if (r.closed())
        return brk(at, reader_newer_ ? "was removed from a closed content model "
                                       "(\"additionalProperties\": false now rejects it)"
                                     : "was added, but the older version has a closed content "
                                       "model (\"additionalProperties\": false)");
      if (r.additional)
        if (auto b = run(*r.additional, *wp, at)) return b;
    }
    // Undeclared properties: the writer's additionalProperties against the reader's.
    if (!w.closed() && r.additional) {
      if (!w.additional)
        return brk(path, reader_newer_ ? "\"additionalProperties\" was restricted (the older "
                                         "version allows any additional property)"
                                       : "\"additionalProperties\" was relaxed (the newer "
                                         "version allows any additional property)");
      if (auto b = run(*r.additional, *w.additional, join(path, "*"))) return b;
    }
    return std::nullopt;
  }
};

constexpr std::array<std::pair<compatibility, const char*>, 7> names{{
    {compatibility::none, "none"},
    {compatibility::backward, "backward"},
    {compatibility::forward, "forward"},
    {compatibility::full, "full"},
    {compatibility::backward_transitive, "backward_transitive"},
    {compatibility::forward_transitive, "forward_transitive"},
    {compatibility::full_transitive, "full_transitive"},
}};

}  // namespace

const char* to_string(compatibility c) {
  for (auto& [v, name] : names)
    if (v == c) return name;
  return "unknown";
}

std::string upper(compatibility c) {
  std::string s = to_string(c);
  for (auto& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return s;
}

std::optional<compatibility> parse_compatibility(std::string_view text) {
  std::string lower{text};
  for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (auto& [v, name] : names)
    if (lower == name) return v;
  return std::nullopt;
}

std::optional<compatibility_break> find_break(const schema_node& reader, const schema_node& writer,
                                              bool reader_is_newer) {
  return checker{reader_is_newer}.run(reader, writer, "");
}

caf::error check_compatibility(std::string_view type, uint32_t version,
                               const json_schema& candidate,
                               const std::vector<schema_version_ref>& earlier, compatibility mode) {
  if (mode == compatibility::none || earlier.empty()) return caf::none;
  bool transitive = mode == compatibility::backward_transitive ||
                    mode == compatibility::forward_transitive ||
                    mode == compatibility::full_transitive;
  bool backward = mode != compatibility::forward && mode != compatibility::forward_transitive;
  bool forward = mode != compatibility::backward && mode != compatibility::backward_transitive;
  auto report = [&](const compatibility_break& b, uint32_t reader, uint32_t writer) {
    auto where = b.path.empty() ? std::string{"the event"} : "field '" + b.path + "'";
    return make_error(errc::incompatible_schema,
                      std::string{type} + " v" + std::to_string(version) + ": " + where + " " +
                          b.what + ": " + upper(mode) + " forbids this (consumers on v" +
                          std::to_string(reader) + " cannot read v" + std::to_string(writer) +
                          " events); make the change compatible, register it under another "
                          "event type, or set this type's compatibility to NONE");
  };
  // Newest first: the latest version is the one every mode checks.
  for (auto it = earlier.rbegin(); it != earlier.rend(); ++it) {
    auto& old = *it->schema;
    if (backward)
      if (auto b = find_break(candidate.root(), old.root(), true))
        return report(*b, version, it->version);
    if (forward)
      if (auto b = find_break(old.root(), candidate.root(), false))
        return report(*b, it->version, version);
    if (!transitive) break;
  }
  return caf::none;
}

}  // namespace herald
