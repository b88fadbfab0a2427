#include "runtime/read_models.hpp"

#include <cmath>

#include "messages/errors.hpp"
#include "messages/json.hpp"

namespace herald {

namespace {

caf::error bad(std::string what) {
  return make_error(errc::invalid_argument, std::move(what));
}

/// The fields the two models read, parsed once per event.
struct parsed {
  std::string type;
  std::string id;
  int64_t amount = 0;
  std::string user_id;
  int64_t total_cents = 0;
};

caf::expected<parsed> read_event(const event_view& e, const char* id_field, bool wants_amount) {
  thread_local flat_json p;
  if (auto err = p.parse(e.payload())) return err;
  parsed out;
  out.type = e.type();
  if (out.type.empty())
    if (auto* f = p.find("event"); f && f->type == json_field::kind::string) out.type = f->text;
  auto* id = p.find(id_field);
  if (!id || id->type != json_field::kind::string || id->text.empty())
    return bad(std::string{"field '"} + id_field + "' is missing or not a non-empty string");
  if (id->text != e.key())
    return bad(std::string{"field '"} + id_field + "' is '" + id->text +
               "' but the event key is '" + std::string{e.key()} + "'; key events by " + id_field);
  out.id = id->text;
  if (wants_amount) {
    auto* a = p.find("amount");
    if (!a || a->type != json_field::kind::integer || a->integer <= 0)
      return bad("field 'amount' must be a positive integer (cents)");
    out.amount = a->integer;
  }
  if (auto* u = p.find("user_id"); u && u->type == json_field::kind::string) out.user_id = u->text;
  if (auto* t = p.find("total");
      t && (t->type == json_field::kind::integer || t->type == json_field::kind::number))
    out.total_cents = std::llround(t->number * 100.0);
  return out;
}

caf::expected<std::string> status_for(const std::string& type) {
  if (type == "OrderPlaced") return std::string{"placed"};
  if (type == "OrderPaid") return std::string{"paid"};
  if (type == "OrderShipped") return std::string{"shipped"};
  if (type == "OrderDelivered") return std::string{"delivered"};
  if (type == "OrderCancelled") return std::string{"cancelled"};
  return bad("unexpected event type '" + type +
             "'; the order-status view reads OrderPlaced, OrderPaid, OrderShipped, "
             "OrderDelivered and OrderCancelled");
}

caf::error check_account_type(const std::string& type) {
  if (type == "Deposited" || type == "Withdrawn") return caf::none;
  return bad("unexpected event type '" + type + "'; account balances read Deposited and Withdrawn");
}

}  // namespace

// -- account balances ---------------------------------------------------------------------------

std::shared_ptr<balances_memory> make_balances_memory() {
  return std::make_shared<balances_memory>(
      [](balances_memory::table& rows, const event_view& e) -> caf::error {
        auto ev = read_event(e, "account_id", true);
        if (!ev) return std::move(ev.error());
        if (auto err = check_account_type(ev->type)) return err;
        auto& row = rows[ev->id];
        row.account_id = ev->id;
        if (ev->type == "Deposited") {
          row.balance += ev->amount;
          ++row.deposits;
        } else {
          row.balance -= ev->amount;
          ++row.withdrawals;
        }
        return caf::none;
      });
}

sqlite_model_spec balances_sqlite_spec(std::string path) {
  sqlite_model_spec s;
  s.path = std::move(path);
  s.schema = R"(
CREATE TABLE IF NOT EXISTS account_balances (
  account_id  TEXT    PRIMARY KEY,
  balance     INTEGER NOT NULL,
  deposits    INTEGER NOT NULL,
  withdrawals INTEGER NOT NULL,
  updated_ms  INTEGER NOT NULL
) WITHOUT ROWID;)";
  s.tables = {"account_balances"};
  s.apply = [](sqlite_db& db, const event_view& e) -> caf::error {
    auto ev = read_event(e, "account_id", true);
    if (!ev) return std::move(ev.error());
    if (auto err = check_account_type(ev->type)) return err;
    bool dep = ev->type == "Deposited";
    auto st = db.prepare(
        "INSERT INTO account_balances(account_id, balance, deposits, withdrawals, updated_ms) "
        "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(account_id) DO UPDATE SET "
        "balance = balance + excluded.balance, deposits = deposits + excluded.deposits, "
        "withdrawals = withdrawals + excluded.withdrawals, updated_ms = excluded.updated_ms");
    if (!st) return std::move(st.error());
    (*st)
        ->bind(1, ev->id)
        .bind(2, dep ? ev->amount : -ev->amount)
        .bind(3, int64_t{dep ? 1 : 0})
        .bind(4, int64_t{dep ? 0 : 1})
        .bind(5, e.time().value / 1'000'000);
    return (*st)->run();
  };
  return s;
}

namespace {

account_balance balance_row(sqlite_stmt& st) {
  return {st.column_text(0), st.column_int(1), st.column_int(2), st.column_int(3)};
}

}  // namespace

caf::expected<std::optional<account_balance>> balance_of(sqlite_read_model& m,
                                                         const std::string& id) {
  return m.query([&](sqlite_db& db) -> caf::expected<std::optional<account_balance>> {
    auto st = db.prepare(
        "SELECT account_id, balance, deposits, withdrawals FROM account_balances "
        "WHERE account_id = ?1");
    if (!st) return std::move(st.error());
    (*st)->bind(1, id);
    auto row = (*st)->step();
    if (!row) return std::move(row.error());
    std::optional<account_balance> out;
    if (*row) out = balance_row(**st);
    (*st)->reset();
    return out;
  });
}

caf::expected<std::vector<account_balance>> all_balances(sqlite_read_model& m) {
  return m.query([&](sqlite_db& db) -> caf::expected<std::vector<account_balance>> {
    auto st = db.prepare(
        "SELECT account_id, balance, deposits, withdrawals FROM account_balances "
        "ORDER BY account_id");
    if (!st) return std::move(st.error());
    std::vector<account_balance> out;
    for (;;) {
      auto row = (*st)->step();
      if (!row) return std::move(row.error());
      if (!*row) break;
      out.push_back(balance_row(**st));
    }
    (*st)->reset();
    return out;
  });
}

// -- order status -------------------------------------------------------------------------------

std::shared_ptr<orders_memory> make_order_status_memory() {
  return std::make_shared<orders_memory>(
      [](orders_memory::table& rows, const event_view& e) -> caf::error {
        auto ev = read_event(e, "order_id", false);
        if (!ev) return std::move(ev.error());
        auto status = status_for(ev->type);
        if (!status) return std::move(status.error());
        auto& row = rows[ev->id];
        row.order_id = ev->id;
        row.status = *status;
        if (!ev->user_id.empty()) row.user_id = ev->user_id;
        if (ev->type == "OrderPlaced") row.total_cents = ev->total_cents;
        ++row.events;
        return caf::none;
      });
}

sqlite_model_spec order_status_sqlite_spec(std::string path) {
  sqlite_model_spec s;
  s.path = std::move(path);
  s.schema = R"(
CREATE TABLE IF NOT EXISTS order_status (
  order_id    TEXT    PRIMARY KEY,
  status      TEXT    NOT NULL,
  user_id     TEXT    NOT NULL,
  total_cents INTEGER NOT NULL,
  events      INTEGER NOT NULL,
  updated_ms  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS order_status_by_status ON order_status(status);)";
  s.tables = {"order_status"};
  s.apply = [](sqlite_db& db, const event_view& e) -> caf::error {
    auto ev = read_event(e, "order_id", false);
    if (!ev) return std::move(ev.error());
    auto status = status_for(ev->type);
    if (!status) return std::move(status.error());
    bool placed = ev->type == "OrderPlaced";
    auto st = db.prepare(
        "INSERT INTO order_status(order_id, status, user_id, total_cents, events, updated_ms) "
        "VALUES (?1, ?2, ?3, ?4, 1, ?5) ON CONFLICT(order_id) DO UPDATE SET "
        "status = excluded.status, "
        "user_id = CASE WHEN excluded.user_id = '' THEN user_id ELSE excluded.user_id END, "
        "total_cents = CASE WHEN ?6 THEN excluded.total_cents ELSE total_cents END, "
        "events = events + 1, updated_ms = excluded.updated_ms");
    if (!st) return std::move(st.error());
    (*st)
        ->bind(1, ev->id)
        .bind(2, *status)
        .bind(3, ev->user_id)
        .bind(4, ev->total_cents)
        .bind(5, e.time().value / 1'000'000)
        .bind(6, int64_t{placed ? 1 : 0});
    return (*st)->run();
  };
  return s;
}

caf::expected<std::optional<order_status>> order_status_of(sqlite_read_model& m,
                                                           const std::string& id) {
  return m.query([&](sqlite_db& db) -> caf::expected<std::optional<order_status>> {
    auto st = db.prepare(
        "SELECT order_id, status, user_id, total_cents, events FROM order_status "
        "WHERE order_id = ?1");
    if (!st) return std::move(st.error());
    (*st)->bind(1, id);
    auto row = (*st)->step();
    if (!row) return std::move(row.error());
    std::optional<order_status> out;
    if (*row)
      out = order_status{(*st)->column_text(0), (*st)->column_text(1), (*st)->column_text(2),
                         (*st)->column_int(3), (*st)->column_int(4)};
    (*st)->reset();
    return out;
  });
}

caf::expected<std::vector<std::pair<std::string, int64_t>>> orders_by_status(sqlite_read_model& m) {
  return m.query([&](sqlite_db& db) -> caf::expected<std::vector<std::pair<std::string, int64_t>>> {
    auto st =
        db.prepare("SELECT status, COUNT(*) FROM order_status GROUP BY status ORDER BY status");
    if (!st) return std::move(st.error());
    std::vector<std::pair<std::string, int64_t>> out;
    for (;;) {
      auto row = (*st)->step();
      if (!row) return std::move(row.error());
      if (!*row) break;
      out.emplace_back((*st)->column_text(0), (*st)->column_int(1));
    }
    (*st)->reset();
    return out;
  });
}

}  // namespace herald
