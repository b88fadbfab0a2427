#include "schema/schema_record.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "messages/errors.hpp"

namespace herald {

namespace json = boost::json;

namespace {

constexpr const char* schema_type = "herald.schema";
constexpr const char* compatibility_type = "herald.compatibility";
constexpr const char* validation_type = "herald.validation";

caf::error bad(const event& ev, const std::string& what) {
  return make_error(errc::invalid_schema, "record at offset " + std::to_string(ev.offset().value) +
                                              " of '" + schemas_topic + "' " + what);
}

}  // namespace

event encode(const schema_record& r) {
  json::object o;
  o["format"] = schema_record::format_version;
  const char* type = schema_type;
  std::string key = r.subject;
  switch (r.what) {
    case schema_record::kind::schema:
      o["subject"] = r.subject;
      o["version"] = r.version;
      o["schema"] = json::parse(r.schema);
      key += "/v" + std::to_string(r.version);
      break;
    case schema_record::kind::compatibility:
      type = compatibility_type;
      o["subject"] = r.subject;
      o["compatibility"] = to_string(r.mode);
      break;
    case schema_record::kind::validation:
      type = validation_type;
      o["scope"] = r.scope == validation_scope::topic ? "topic" : "type";
      o["subject"] = r.subject;
      o["validation"] = r.check == validation::on ? "on" : "off";
      key = std::string{r.scope == validation_scope::topic ? "topic:" : "type:"} + r.subject;
      break;
  }
  return event::builder{schemas_topic, type}
      .key(std::move(key))
      .payload(json::serialize(o))
      .build();
}

caf::expected<schema_record> decode_schema_record(const event& ev) {
  json::error_code ec;
  auto doc = json::parse(json::string_view{ev.payload().data(), ev.payload().size()}, ec);
  if (ec || !doc.is_object()) return bad(ev, "has no JSON object as payload");
  auto& o = doc.as_object();
  auto* format = o.if_contains("format");
  if (!format || !format->is_number()) return bad(ev, "has no \"format\"");
  if (format->to_number<uint64_t>() > schema_record::format_version)
    return bad(ev, "has format " + json::serialize(*format) + "; this Herald reads up to " +
                       std::to_string(schema_record::format_version) + ": upgrade it");
  auto text = [&](const char* name) -> const json::string* {
    auto* v = o.if_contains(name);
    return v && v->is_string() ? &v->as_string() : nullptr;
  };
  schema_record r;
  auto* subject = text("subject");
  if (!subject || subject->empty()) return bad(ev, "has no \"subject\"");
  r.subject = std::string{*subject};
  if (ev.type() == schema_type) {
    auto* version = o.if_contains("version");
    auto* schema = o.if_contains("schema");
    if (!version || !version->is_number() || !schema)
      return bad(ev, "lacks \"version\" or \"schema\"");
    r.what = schema_record::kind::schema;
    r.version = version->to_number<uint32_t>();
    r.schema = json::serialize(*schema);
  } else if (ev.type() == compatibility_type) {
    auto* mode = text("compatibility");
    auto parsed = mode ? parse_compatibility(*mode) : std::nullopt;
    if (!parsed) return bad(ev, "has no valid \"compatibility\"");
    r.what = schema_record::kind::compatibility;
    r.mode = *parsed;
  } else if (ev.type() == validation_type) {
    auto* scope = text("scope");
    auto* check = text("validation");
    if (!scope || (*scope != "topic" && *scope != "type") || !check ||
        (*check != "on" && *check != "off"))
      return bad(ev, "has no valid \"scope\" and \"validation\"");
    r.what = schema_record::kind::validation;
    r.scope = *scope == "topic" ? validation_scope::topic : validation_scope::type;
    r.check = *check == "on" ? validation::on : validation::off;
  } else {
    return bad(ev, "has the unknown type '" + std::string{ev.type()} + "'");
  }
  return r;
}

}  // namespace herald
