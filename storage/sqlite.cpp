#include "storage/sqlite.hpp"

#include <sqlite3.h>

#include "messages/errors.hpp"

namespace herald {

sqlite_stmt::~sqlite_stmt() {
  sqlite3_finalize(s_);
}

sqlite_stmt& sqlite_stmt::reset() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
  return *this;
}

sqlite_stmt& sqlite_stmt::bind(int i, int64_t v) {
  sqlite3_bind_int64(s_, i, v);
  return *this;
}

sqlite_stmt& sqlite_stmt::bind(int i, std::string_view v) {
  sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}

caf::expected<bool> sqlite_stmt::step() {
  auto rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_.failure(std::string{"running '"} + sqlite3_sql(s_) + "'");
}

caf::error sqlite_stmt::run() {
  auto r = step();
  if (!r) return std::move(r.error());
  return caf::none;
}

int64_t sqlite_stmt::column_int(int i) const {
  return sqlite3_column_int64(s_, i);
}

std::string sqlite_stmt::column_text(int i) const {
  auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, i));
  return p ? std::string{p, static_cast<size_t>(sqlite3_column_bytes(s_, i))} : std::string{};
}

bool sqlite_stmt::column_null(int i) const {
  return sqlite3_column_type(s_, i) == SQLITE_NULL;
}

caf::expected<std::unique_ptr<sqlite_db>> sqlite_db::open(const std::string& path, mode m) {
  sqlite3* raw = nullptr;
  int flags =
      m == mode::read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  auto rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    sqlite3_close(raw);
    return make_error(errc::storage_failure, "cannot open SQLite database '" + path + "': " + msg +
                                                 "; check that the directory exists and is "
                                                 "writable");
  }
  std::unique_ptr<sqlite_db> db{new sqlite_db(raw, path)};
  // A writer holding the lock briefly (one delivery's transaction) is waited for, not failed.
  sqlite3_busy_timeout(raw, 10000);
  if (m == mode::read_write)
    if (auto err = db->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")) return err;
  return db;
}

sqlite_db::~sqlite_db() {
  cache_.clear();  // statements first: close refuses while they exist
  sqlite3_close(db_);
}

caf::error sqlite_db::exec(const std::string& sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string text = msg ? msg : "unknown error";
    sqlite3_free(msg);
    return make_error(errc::storage_failure,
                      "SQLite database '" + path_ + "': " + text + " (in '" + sql + "')");
  }
  return caf::none;
}

caf::expected<sqlite_stmt*> sqlite_db::prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &s, nullptr) !=
        SQLITE_OK)
      return failure("preparing '" + sql + "'");
    it = cache_.emplace(sql, std::make_unique<sqlite_stmt>(*this, s)).first;
  }
  return &it->second->reset();
}

caf::error sqlite_db::failure(const std::string& what) const {
  return make_error(errc::storage_failure,
                    "SQLite database '" + path_ + "': " + sqlite3_errmsg(db_) + " (" + what + ")");
}

sqlite_txn::sqlite_txn(sqlite_db& db) : db_(db) {
  begin_error_ = db_.exec("BEGIN IMMEDIATE");
  open_ = !begin_error_;
}

sqlite_txn::~sqlite_txn() {
  if (open_) (void)db_.exec("ROLLBACK");
}

caf::error sqlite_txn::commit() {
  if (!open_) return begin_error_;
  auto err = db_.exec("COMMIT");
  if (!err) open_ = false;
  return err;
}

}  // namespace herald
