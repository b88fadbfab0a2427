#include "schema/catalog.hpp"

#include "messages/errors.hpp"

namespace herald {

namespace {

std::string label(std::string_view type, uint32_t version) {
  return std::string{type} + " v" + std::to_string(version);
}

// The text of a Herald error without its code name, to wrap it in more context.
std::string text_of(const caf::error& err) {
  auto s = describe(err);
  auto name = std::string{to_string(static_cast<errc>(err.code()))} + ": ";
  return s.starts_with(name) ? s.substr(name.size()) : s;
}

}  // namespace

const schema_catalog::subject* schema_catalog::find(std::string_view type) const {
  auto it = subjects_.find(type);
  return it == subjects_.end() ? nullptr : &it->second;
}

const json_schema* schema_catalog::find(std::string_view type, uint32_t version) const {
  auto* s = find(type);
  if (!s) return nullptr;
  auto it = s->versions.find(version);
  return it == s->versions.end() ? nullptr : &it->second;
}

compatibility schema_catalog::mode_of(std::string_view type) const {
  auto* s = find(type);
  return s && s->mode ? *s->mode : default_mode;
}

validation schema_catalog::validation_for(std::string_view topic, std::string_view type) const {
  if (auto* s = find(type); s && s->check == validation::off) return validation::off;
  auto it = topics_.find(topic);
  return it == topics_.end() ? validation::on : it->second;
}

bool schema_catalog::governs(const event& ev) const {
  if (ev.is_tombstone()) return false;
  auto* s = find(ev.type());
  return s && !s->versions.empty() && validation_for(ev.topic(), ev.type()) == validation::on;
}

caf::error schema_catalog::validate(const event& ev) const {
  if (!governs(ev)) return caf::none;
  auto* s = find(ev.type());
  auto it = s->versions.find(ev.schema_version());
  if (it == s->versions.end()) {
    std::string known;
    for (auto& [v, _] : s->versions) known += (known.empty() ? "v" : ", v") + std::to_string(v);
    return make_error(errc::unknown_schema,
                      "event " + std::string{ev.id_text()} + " for topic '" +
                          std::string{ev.topic()} + "' is " +
                          label(ev.type(), ev.schema_version()) +
                          ", which is not registered (registered: " + known +
                          "); register that version or build the event with a registered "
                          "schema_version. Nothing was published");
  }
  if (auto err = it->second.validate(ev.payload()))
    return make_error(static_cast<errc>(err.code()), "event " + std::string{ev.id_text()} + " (" +
                                                         label(ev.type(), ev.schema_version()) +
                                                         " for topic '" + std::string{ev.topic()} +
                                                         "'): " + text_of(err) +
                                                         ". Nothing was published");
  return caf::none;
}

caf::expected<std::optional<schema_record>> schema_catalog::prepare(const std::string& type,
                                                                    uint32_t version,
                                                                    std::string_view text) const {
  if (type.empty())
    return make_error(errc::invalid_argument, "a schema needs an event type, e.g. \"OrderPlaced\"");
  if (version == 0)
    return make_error(errc::invalid_argument,
                      label(type, version) + ": schema versions start at 1");
  auto schema = json_schema::compile(text);
  if (!schema)
    return make_error(errc::invalid_schema, label(type, version) + ": " + text_of(schema.error()));
  std::vector<schema_version_ref> earlier;
  if (auto* s = find(type)) {
    if (auto it = s->versions.find(version); it != s->versions.end()) {
      if (it->second.canonical() == schema->canonical()) return std::nullopt;
      return make_error(errc::invalid_argument,
                        label(type, version) +
                            " is already registered with another schema; a version never "
                            "changes: register the change as v" +
                            std::to_string(s->versions.rbegin()->first + 1));
    }
    if (!s->versions.empty() && version < s->versions.rbegin()->first)
      return make_error(errc::invalid_argument, label(type, version) +
                                                    " is older than the latest registered v" +
                                                    std::to_string(s->versions.rbegin()->first) +
                                                    "; register versions in increasing order");
    for (auto& [v, sch] : s->versions) earlier.push_back({v, &sch});
  }
  if (auto err = check_compatibility(type, version, *schema, earlier, mode_of(type))) return err;
  schema_record r;
  r.what = schema_record::kind::schema;
  r.subject = type;
  r.version = version;
  r.schema = schema->canonical();
  return std::optional<schema_record>{std::move(r)};
}

caf::expected<std::shared_ptr<const schema_catalog>> schema_catalog::with(
    const schema_record& r) const {
  auto next = std::make_shared<schema_catalog>(*this);
  switch (r.what) {
    case schema_record::kind::schema: {
      auto schema = json_schema::compile(r.schema);
      if (!schema) return std::move(schema.error());
      next->subjects_[r.subject].versions[r.version] = std::move(*schema);
      break;
    }
    case schema_record::kind::compatibility:
      next->subjects_[r.subject].mode = r.mode;
      break;
    case schema_record::kind::validation:
      if (r.scope == validation_scope::topic)
        next->topics_[r.subject] = r.check;
      else
        next->subjects_[r.subject].check = r.check;
      break;
  }
  return std::shared_ptr<const schema_catalog>{std::move(next)};
}

}  // namespace herald
