#include "storage/sqlite_read_model.hpp"

#include "messages/errors.hpp"

namespace herald {

namespace {

constexpr const char* offsets_schema = R"(
CREATE TABLE IF NOT EXISTS herald_meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS herald_projection_offsets (
  projection    TEXT    NOT NULL,
  topic         TEXT    NOT NULL,
  partition     INTEGER NOT NULL,
  next_offset   INTEGER NOT NULL,
  last_event_ms INTEGER NOT NULL,
  updated_ms    INTEGER NOT NULL,
  PRIMARY KEY (projection, topic, partition)
) WITHOUT ROWID;
)";

}  // namespace

caf::expected<std::shared_ptr<sqlite_read_model>> sqlite_read_model::open(sqlite_model_spec spec) {
  if (spec.path.empty() || !spec.apply)
    return make_error(errc::invalid_config, "sqlite_model_spec needs a path and an apply function");
  std::shared_ptr<sqlite_read_model> m{new sqlite_read_model};
  auto w = sqlite_db::open(spec.path);
  if (!w) return std::move(w.error());
  m->writer_ = std::move(*w);
  if (auto err = m->writer_->exec(offsets_schema)) return err;
  if (!spec.schema.empty())
    if (auto err = m->writer_->exec(spec.schema)) return err;
  // A file written by a later layout of the offsets table is refused, not misread.
  auto get = m->writer_->prepare("SELECT value FROM herald_meta WHERE key = 'offsets_format'");
  if (!get) return std::move(get.error());
  auto row = (*get)->step();
  if (!row) return std::move(row.error());
  if (*row) {
    auto v = (*get)->column_int(0);
    if (v > format_version)
      return make_error(errc::storage_failure,
                        "SQLite read model '" + spec.path + "' has offsets format " +
                            std::to_string(v) + ", newer than this Herald's (" +
                            std::to_string(format_version) +
                            "); open it with a newer Herald or rebuild it into a new file");
  } else {
    (*get)->reset();
    if (auto err =
            m->writer_->exec("INSERT INTO herald_meta(key, value) VALUES ('offsets_format', " +
                             std::to_string(format_version) + ")"))
      return err;
  }
  auto r = sqlite_db::open(spec.path, sqlite_db::mode::read_only);
  if (!r) return std::move(r.error());
  m->reader_ = std::move(*r);
  m->spec_ = std::move(spec);
  return m;
}

caf::expected<std::map<int32_t, model_position>> sqlite_read_model::positions(
    const std::string& projection, const std::string& topic) {
  std::lock_guard<std::mutex> guard{writer_mtx_};
  auto st = writer_->prepare(
      "SELECT partition, next_offset, last_event_ms FROM herald_projection_offsets "
      "WHERE projection = ?1 AND topic = ?2");
  if (!st) return std::move(st.error());
  (*st)->bind(1, projection).bind(2, topic);
  std::map<int32_t, model_position> out;
  for (;;) {
    auto row = (*st)->step();
    if (!row) return std::move(row.error());
    if (!*row) break;
    out[static_cast<int32_t>((*st)->column_int(0))] = {offset{(*st)->column_int(1)},
                                                       (*st)->column_int(2)};
  }
  (*st)->reset();
  return out;
}

caf::error sqlite_read_model::apply(const std::string& projection, const std::string& topic,
                                    partition_id p, const std::vector<event_view>& events,
                                    offset next, std::vector<refusal>& refused) {
  std::lock_guard<std::mutex> guard{writer_mtx_};
  auto& db = *writer_;
  sqlite_txn txn{db};
  if (txn.begin_error()) return txn.begin_error();
  // The stored position, read inside the transaction: what is below it was applied already.
  auto get = db.prepare(
      "SELECT next_offset, last_event_ms FROM herald_projection_offsets "
      "WHERE projection = ?1 AND topic = ?2 AND partition = ?3");
  if (!get) return std::move(get.error());
  (*get)->bind(1, projection).bind(2, topic).bind(3, int64_t{p.value});
  auto row = (*get)->step();
  if (!row) return std::move(row.error());
  offset stored{*row ? (*get)->column_int(0) : -1};
  int64_t last_ms = *row ? (*get)->column_int(1) : 0;
  (*get)->reset();
  size_t refused_before = refused.size();
  for (auto& e : events) {
    if (stored.value >= 0 && e.offset() < stored) continue;
    if (auto err = spec_.apply(db, e)) {
      if (is(err, errc::storage_failure)) {
        refused.resize(refused_before);
        return err;  // the transaction rolls back
      }
      refused.push_back({e.offset(), std::move(err)});
    }
    last_ms = e.time().value / 1'000'000;
  }
  if (next <= stored) return caf::none;  // nothing new: leave the transaction empty
  auto put = db.prepare(
      "INSERT INTO herald_projection_offsets"
      "(projection, topic, partition, next_offset, last_event_ms, updated_ms) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
      "ON CONFLICT(projection, topic, partition) DO UPDATE SET "
      "next_offset = excluded.next_offset, last_event_ms = excluded.last_event_ms, "
      "updated_ms = excluded.updated_ms");
  if (!put) return std::move(put.error());
  (*put)
      ->bind(1, projection)
      .bind(2, topic)
      .bind(3, int64_t{p.value})
      .bind(4, next.value)
      .bind(5, last_ms)
      .bind(6, timestamp::now().value / 1'000'000);
  if (auto err = (*put)->run()) return err;
  return txn.commit();
}

caf::error sqlite_read_model::reset(const std::string& projection) {
  std::lock_guard<std::mutex> guard{writer_mtx_};
  auto& db = *writer_;
  sqlite_txn txn{db};
  if (txn.begin_error()) return txn.begin_error();
  for (auto& t : spec_.tables)
    if (auto err = db.exec("DELETE FROM " + t)) return err;
  auto del = db.prepare("DELETE FROM herald_projection_offsets WHERE projection = ?1");
  if (!del) return std::move(del.error());
  (*del)->bind(1, projection);
  if (auto err = (*del)->run()) return err;
  return txn.commit();
}

}  // namespace herald
