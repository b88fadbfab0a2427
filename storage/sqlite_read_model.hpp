// A durable read model in SQLite: the projection's tables (its schema) and the table
// herald_projection_offsets, written in the same transaction, one per applied run of events
// (a delivery, or a chunk of a replay). Column by column in docs/PROJECTIONS.md.
//
// The writer connection belongs to the projection's actor; query() runs on a second,
// read-only connection (WAL: readers never block the writer, and see the last commit).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "storage/read_model.hpp"
#include "storage/sqlite.hpp"

namespace herald {

struct sqlite_model_spec {
  std::string path;  ///< the database file (created if missing)
  /// CREATE TABLE IF NOT EXISTS ... of the model's tables (run at open).
  std::string schema;
  /// The model's tables, emptied by reset().
  std::vector<std::string> tables;
  /// Applies one event inside the open transaction; an error (errc::invalid_argument,
  /// errc::invalid_json) refuses the event: it must not have written anything then. An
  /// errc::storage_failure aborts the whole transaction.
  std::function<caf::error(sqlite_db&, const event_view&)> apply;
};

class sqlite_read_model final : public read_model {
 public:
  /// The version of herald_projection_offsets' layout, kept in herald_meta.
  static constexpr int64_t format_version = 1;

  [[nodiscard]] static caf::expected<std::shared_ptr<sqlite_read_model>> open(
      sqlite_model_spec spec);

  caf::expected<std::map<int32_t, model_position>> positions(const std::string& projection,
                                                             const std::string& topic) override;
  caf::error apply(const std::string& projection, const std::string& topic, partition_id p,
                   const std::vector<event_view>& events, offset next,
                   std::vector<refusal>& refused) override;
  caf::error reset(const std::string& projection) override;

  /// Runs `fn` on the read-only connection, serialized with other queries.
  template <class F>
  auto query(F&& fn) {
    std::lock_guard<std::mutex> guard{reader_mtx_};
    return fn(*reader_);
  }

 private:
  sqlite_read_model() = default;
  sqlite_model_spec spec_;
  std::mutex writer_mtx_;  // the actor, and positions()/reset() from user threads
  std::unique_ptr<sqlite_db> writer_;
  std::mutex reader_mtx_;
  std::unique_ptr<sqlite_db> reader_;
};

}  // namespace herald
