// The schema registry of a runtime: JSON schemas per event type and version, each type's
// compatibility mode, and where producers validate. Reached through runtime::schemas().
//
//   auto& reg = rt.schemas();
//   reg.register_schema("OrderPlaced", 1, R"({"type":"object","required":["order_id"], ...})");
//   reg.set_compatibility("OrderPlaced", herald::compatibility::full);
//
// Every change is first stored as a record in the `_schemas` topic (one partition) and only
// then applied, so the topic replays into the same registry: a runtime on a data_dir rebuilds
// it at start (docs/SCHEMAS.md has the rules, the record format and the guarantees).
//
// Not an actor: changes are rare control-plane calls that block for one publish round trip,
// serialised by one mutex; producers read an immutable snapshot (schema_catalog) through a
// catalog_handle and never wait for this class. Owned by the runtime; thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/handler.hpp"
#include "runtime/producer.hpp"
#include "schema/catalog.hpp"
#include "schema/upcaster.hpp"

namespace herald {

class runtime;

class schema_registry {
 public:
  explicit schema_registry(runtime& rt);
  schema_registry(const schema_registry&) = delete;
  schema_registry& operator=(const schema_registry&) = delete;

  /// Registers `schema_json` as version `version` of event type `type`, after checking it
  /// against the earlier versions under the type's compatibility mode. Registering the same
  /// schema again as the same version is a no-op. Errors: invalid_schema (malformed, or a
  /// keyword outside the subset), incompatible_schema (names the field and the rule),
  /// invalid_argument (version 0, below the latest, or taken by another schema), and the
  /// errors of storing the record (timeout, shutting_down): then nothing changed.
  [[nodiscard]] caf::error register_schema(const std::string& type, uint32_t version,
                                           std::string_view schema_json);

  /// Sets the compatibility mode later registrations of `type` are checked with (default
  /// BACKWARD, as in Confluent's registry). Applies to versions registered from now on.
  [[nodiscard]] caf::error set_compatibility(const std::string& type, compatibility mode);

  /// Turns producer-side validation on or off for a topic or an event type (default on).
  /// An event is validated when its type has a schema and neither its topic nor its type is
  /// off.
  [[nodiscard]] caf::error set_validation(validation_scope scope, const std::string& name,
                                          validation v);

  /// The canonical text of a registered version; errc::unknown_schema otherwise.
  [[nodiscard]] caf::expected<std::string> schema(std::string_view type, uint32_t version) const;
  /// The registered versions of `type`, ascending (empty if none).
  std::vector<uint32_t> versions(std::string_view type) const;
  compatibility compatibility_of(std::string_view type) const;

  /// The current snapshot, and the handle producers read it through.
  std::shared_ptr<const schema_catalog> snapshot() const { return handle_->load(); }
  const std::shared_ptr<catalog_handle>& handle() const { return handle_; }

  /// Rebuilds the registry from the `_schemas` topic (the runtime calls it once at start;
  /// with a data_dir that holds the topic, it is reopened first). Records that Herald did not
  /// write are skipped with a warning.
  [[nodiscard]] caf::error load();

 private:
  caf::error store(const schema_record& r);
  caf::error ensure_topic();

  runtime& rt_;
  std::shared_ptr<catalog_handle> handle_;
  mutable std::mutex mtx_;  ///< serialises changes (check, store, apply)
  producer producer_;       ///< writes `_schemas`; made on the first change
};

/// Wraps a handler so that events of the types in `expected` reach it at the expected
/// version: older ones are upcast with `upcasters` (and checked against the registered
/// expected version, when there is one); newer ones fail, since nothing downcasts.
handler_fn upcasting_handler(handler_fn inner,
                             std::map<std::string, uint32_t, std::less<>> expected,
                             upcaster_set upcasters, std::shared_ptr<catalog_handle> schemas);

}  // namespace herald
