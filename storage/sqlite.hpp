// A thin RAII layer over SQLite 3 (Debian's libsqlite3): a connection, prepared statements
// cached by their text, and transactions. Read models of projections are built on it
// (storage/sqlite_read_model.hpp). Errors are values: errc::storage_failure with SQLite's
// message and the statement that failed.
//
// A connection is used by one thread at a time (its owner's); SQLite is built serialized on
// Debian, but interleaved transactions on one connection would be wrong anyway.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <caf/error.hpp>
#include <caf/expected.hpp>

struct sqlite3;
struct sqlite3_stmt;

namespace herald {

class sqlite_db;

/// A prepared statement, reset on every bind_all/step cycle. Owned by its connection's cache.
class sqlite_stmt {
 public:
  sqlite_stmt(sqlite_db& db, sqlite3_stmt* s) : db_(db), s_(s) {}
  ~sqlite_stmt();
  sqlite_stmt(const sqlite_stmt&) = delete;
  sqlite_stmt& operator=(const sqlite_stmt&) = delete;

  /// Clears the previous run and bindings.
  sqlite_stmt& reset();
  /// Binds parameter `i` (1-based).
  sqlite_stmt& bind(int i, int64_t v);
  sqlite_stmt& bind(int i, std::string_view v);
  /// Runs to the next row: true when there is one, false when done; errors as values.
  [[nodiscard]] caf::expected<bool> step();
  /// Runs a statement that returns no rows.
  [[nodiscard]] caf::error run();
  int64_t column_int(int i) const;
  std::string column_text(int i) const;
  bool column_null(int i) const;

 private:
  sqlite_db& db_;
  sqlite3_stmt* s_;
};

class sqlite_db {
 public:
  enum class mode : uint8_t { read_write, read_only };
  /// Opens (creating it for read_write) the database at `path`, in WAL mode with
  /// synchronous=FULL: a committed transaction survives a crash of the process and of the
  /// machine. Readers on other connections do not block the writer.
  [[nodiscard]] static caf::expected<std::unique_ptr<sqlite_db>> open(const std::string& path,
                                                                      mode m = mode::read_write);
  ~sqlite_db();
  sqlite_db(const sqlite_db&) = delete;
  sqlite_db& operator=(const sqlite_db&) = delete;

  /// Runs one or more statements without results (schema, pragmas).
  [[nodiscard]] caf::error exec(const std::string& sql);
  /// The cached prepared statement for `sql`, reset.
  [[nodiscard]] caf::expected<sqlite_stmt*> prepare(const std::string& sql);
  /// An error naming SQLite's message and `what`.
  caf::error failure(const std::string& what) const;
  const std::string& path() const { return path_; }
  sqlite3* handle() { return db_; }

 private:
  sqlite_db(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
  std::map<std::string, std::unique_ptr<sqlite_stmt>, std::less<>> cache_;
};

/// BEGIN IMMEDIATE on construction (the write lock up front: no upgrade deadlock between two
/// writers); ROLLBACK on destruction unless commit() succeeded.
class sqlite_txn {
 public:
  explicit sqlite_txn(sqlite_db& db);
  ~sqlite_txn();
  sqlite_txn(const sqlite_txn&) = delete;
  sqlite_txn& operator=(const sqlite_txn&) = delete;
  /// The error of BEGIN, if it failed (nothing else may run then).
  const caf::error& begin_error() const { return begin_error_; }
  [[nodiscard]] caf::error commit();

 private:
  sqlite_db& db_;
  caf::error begin_error_;
  bool open_ = false;
};

}  // namespace herald
