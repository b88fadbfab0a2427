// What the schema registry knows, as an immutable snapshot: per event type its versions and
// compatibility mode, and the validation settings per topic and per type.
//
// The runtime's schema_registry owns the current snapshot and replaces it (copy on write)
// after every change it stored in `_schemas`; producers read it through a catalog_handle,
// one atomic load per publish call, and never lock the registry. Registration is rare; reads
// are per event, so lookups take string_views and allocate nothing.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "messages/event.hpp"
#include "schema/compatibility.hpp"
#include "schema/json_schema.hpp"
#include "schema/schema_record.hpp"

namespace herald {

class schema_catalog {
 public:
  struct subject {
    std::map<uint32_t, json_schema> versions;  ///< ascending
    std::optional<compatibility> mode;         ///< unset: the catalog's default
    validation check = validation::on;
  };

  /// Confluent's default.
  static constexpr compatibility default_mode = compatibility::backward;

  const subject* find(std::string_view type) const;
  const json_schema* find(std::string_view type, uint32_t version) const;
  compatibility mode_of(std::string_view type) const;
  /// Off when the topic or the event type has validation off; on otherwise.
  validation validation_for(std::string_view topic, std::string_view type) const;

  /// Whether validate() checks `ev` (its type has schemas and validation is on for it).
  bool governs(const event& ev) const;

  /// Checks an event about to be published: nothing to check when its type has no schema or
  /// validation is off for its topic or type; errc::unknown_schema when its schema version is
  /// not registered; else the payload against that version (errc::schema_violation naming
  /// the field and the rule, or errc::invalid_json).
  [[nodiscard]] caf::error validate(const event& ev) const;

  /// Checks a new version without changing anything: nullopt if exactly this schema is
  /// already registered as this version, the record to store otherwise. Errors:
  /// invalid_schema (malformed), incompatible_schema (breaks the mode), invalid_argument
  /// (a version not above the latest, or an existing one with another schema).
  [[nodiscard]] caf::expected<std::optional<schema_record>> prepare(const std::string& type,
                                                                    uint32_t version,
                                                                    std::string_view text) const;

  /// A copy with `r` applied (records are applied as stored, without checks: they were
  /// checked before they were stored). Errors only for a record whose schema does not compile.
  [[nodiscard]] caf::expected<std::shared_ptr<const schema_catalog>> with(
      const schema_record& r) const;

  const std::map<std::string, subject, std::less<>>& subjects() const { return subjects_; }

 private:
  std::map<std::string, subject, std::less<>> subjects_;
  std::map<std::string, validation, std::less<>> topics_;
};

/// Where producers find the current catalog. Thread-safe. load() costs an atomic reference
/// count increment under libstdc++'s lock bit (~20 ns); in_use() is one plain load, so a
/// runtime with no schemas registered costs its producers nothing per event. store() happens
/// once per registry change.
class catalog_handle {
 public:
  catalog_handle() : current_(std::make_shared<const schema_catalog>()) {}
  std::shared_ptr<const schema_catalog> load() const { return current_.load(); }
  /// The current catalog, or null while no type has a schema.
  std::shared_ptr<const schema_catalog> load_if_used() const {
    return in_use_.load(std::memory_order_acquire) ? load() : nullptr;
  }
  void store(std::shared_ptr<const schema_catalog> c) {
    bool used = false;
    for (auto& [name, s] : c->subjects()) used = used || !s.versions.empty();
    current_.store(std::move(c));
    in_use_.store(used, std::memory_order_release);
  }

 private:
  std::atomic<std::shared_ptr<const schema_catalog>> current_;
  std::atomic<bool> in_use_{false};
};

}  // namespace herald
