#include "runtime/schema_registry.hpp"

#include <filesystem>

#include "base/logging.hpp"
#include "messages/errors.hpp"
#include "runtime/runtime.hpp"

namespace herald {

namespace {

auto& logger() {
  static auto l = log::get("schemas");
  return l;
}

}  // namespace

schema_registry::schema_registry(runtime& rt)
    : rt_(rt), handle_(std::make_shared<catalog_handle>()) {}

caf::error schema_registry::ensure_topic() {
  auto md = rt_.create_topic(schemas_topic, {.partitions = 1});
  if (!md && !is(md.error(), errc::topic_exists)) return std::move(md.error());
  return caf::none;
}

caf::error schema_registry::store(const schema_record& r) {
  if (auto err = ensure_topic()) return err;
  if (!producer_.valid()) producer_ = rt_.make_producer();
  // Stored first, applied second: what producers see is always in the topic.
  auto ack = producer_.publish(encode(r));
  if (!ack)
    return make_error(static_cast<errc>(ack.error().code()),
                      "the registry did not change: storing the change in '" +
                          std::string{schemas_topic} + "' failed: " + describe(ack.error()));
  auto next = handle_->load()->with(r);
  if (!next) return std::move(next.error());
  handle_->store(std::move(*next));
  return caf::none;
}

caf::error schema_registry::register_schema(const std::string& type, uint32_t version,
                                            std::string_view schema_json) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto rec = handle_->load()->prepare(type, version, schema_json);
  if (!rec) return std::move(rec.error());
  if (!*rec) return caf::none;  // the same schema, already registered as this version
  if (auto err = store(**rec)) return err;
  logger()->info("event=schema_registered type={} version={}", type, version);
  return caf::none;
}

caf::error schema_registry::set_compatibility(const std::string& type, compatibility mode) {
  if (type.empty()) return make_error(errc::invalid_argument, "set_compatibility needs a type");
  std::lock_guard<std::mutex> guard{mtx_};
  schema_record r;
  r.what = schema_record::kind::compatibility;
  r.subject = type;
  r.mode = mode;
  return store(r);
}

caf::error schema_registry::set_validation(validation_scope scope, const std::string& name,
                                           validation v) {
  if (name.empty())
    return make_error(errc::invalid_argument, "set_validation needs a topic or type name");
  std::lock_guard<std::mutex> guard{mtx_};
  schema_record r;
  r.what = schema_record::kind::validation;
  r.subject = name;
  r.scope = scope;
  r.check = v;
  return store(r);
}

caf::expected<std::string> schema_registry::schema(std::string_view type, uint32_t version) const {
  auto cat = handle_->load();
  if (auto* s = cat->find(type, version)) return s->canonical();
  return make_error(errc::unknown_schema,
                    std::string{type} + " v" + std::to_string(version) + " is not registered");
}

std::vector<uint32_t> schema_registry::versions(std::string_view type) const {
  std::vector<uint32_t> out;
  auto cat = handle_->load();
  if (auto* s = cat->find(type))
    for (auto& [v, _] : s->versions) out.push_back(v);
  return out;
}

compatibility schema_registry::compatibility_of(std::string_view type) const {
  return handle_->load()->mode_of(type);
}

caf::error schema_registry::load() {
  std::lock_guard<std::mutex> guard{mtx_};
  // On a data_dir the topic's log is there from an earlier run; reopening it is creating it.
  auto& dir = rt_.config().data_dir;
  if (!dir.empty() && std::filesystem::is_directory(std::filesystem::path{dir} / schemas_topic))
    if (auto err = ensure_topic()) return err;
  auto status = rt_.describe_partition(schemas_topic, 0);
  if (!status) return is(status.error(), errc::unknown_topic) ? caf::none : status.error();
  auto cat = handle_->load();
  size_t applied = 0;
  for (auto from = status->start; from < status->end;) {
    auto evs = rt_.read(schemas_topic, 0, from, 1024);
    if (!evs) return std::move(evs.error());
    if (evs->empty()) break;
    for (auto& ev : *evs) {
      from = ev.offset() + 1;
      auto r = decode_schema_record(ev);
      auto next =
          r ? cat->with(*r) : caf::expected<std::shared_ptr<const schema_catalog>>{r.error()};
      if (!next) {
        logger()->warn("topic={} offset={} event=schema_record_skipped error=\"{}\"", schemas_topic,
                       ev.offset().value, describe(next.error()));
        continue;
      }
      cat = std::move(*next);
      ++applied;
    }
  }
  handle_->store(std::move(cat));
  logger()->info("event=schemas_loaded records={}", applied);
  return caf::none;
}

handler_fn upcasting_handler(handler_fn inner,
                             std::map<std::string, uint32_t, std::less<>> expected,
                             upcaster_set upcasters, std::shared_ptr<catalog_handle> schemas) {
  return
      [inner = std::move(inner), expected = std::move(expected), upcasters = std::move(upcasters),
       schemas = std::move(schemas)](const event_view& e, handler_context& ctx) -> caf::error {
        auto it = expected.find(e.type());
        if (it == expected.end() || e.schema_version() == it->second || e.is_tombstone())
          return inner(e, ctx);
        auto label = std::string{e.type()} + " v" + std::to_string(e.schema_version());
        if (e.schema_version() > it->second)
          return make_error(errc::handler_failed,
                            label + " is newer than the v" + std::to_string(it->second) +
                                " this subscription expects, and nothing downcasts; upgrade the "
                                "consumer (raise its expected version)");
        auto payload = upcasters.upcast(e.type(), e.schema_version(), it->second, e.payload());
        if (!payload) return std::move(payload.error());
        if (auto* target = schemas ? schemas->load()->find(e.type(), it->second) : nullptr)
          if (auto err = target->validate(*payload))
            return make_error(errc::handler_failed,
                              label + " upcast to v" + std::to_string(it->second) +
                                  " does not match the registered v" + std::to_string(it->second) +
                                  ": " + describe(err) + "; fix the upcasters");
        return inner(e.with_payload(*payload, it->second), ctx);
      };
}

}  // namespace herald
