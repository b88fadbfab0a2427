// Two ready-made read models for projections, each in memory and in SQLite
// (docs/PROJECTIONS.md has their tables column by column):
//
//  - account balances over "accounts.events" (key = account id): Deposited / Withdrawn,
//    {"event":"Deposited","account_id":"ACC-1","amount":1000} in integer cents;
//  - order status over "orders" (key = order id): OrderPlaced (the e-commerce demo's event,
//    with user_id and total), then OrderPaid, OrderShipped, OrderDelivered, OrderCancelled.
//
// The event type is the event's type field (the payload's "event" member is used only when
// the type is empty). Bad events are refused with a message (and dead-lettered by the
// projection): a missing or mismatched id, an amount that is not a positive integer, an
// unknown type.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "storage/memory_read_model.hpp"
#include "storage/sqlite_read_model.hpp"

namespace herald {

inline constexpr const char* accounts_topic = "accounts.events";
inline constexpr const char* orders_topic = "orders";

// -- account balances ---------------------------------------------------------------------------

struct account_balance {
  std::string account_id;
  int64_t balance = 0;  ///< cents: deposits minus withdrawals
  int64_t deposits = 0;
  int64_t withdrawals = 0;

  friend bool operator==(const account_balance&, const account_balance&) = default;
};

using balances_memory = memory_read_model<account_balance>;
std::shared_ptr<balances_memory> make_balances_memory();
/// The model over table account_balances in the SQLite file `path`.
sqlite_model_spec balances_sqlite_spec(std::string path);

/// Queries (on the model's read-only connection).
[[nodiscard]] caf::expected<std::optional<account_balance>> balance_of(sqlite_read_model& m,
                                                                       const std::string& id);
[[nodiscard]] caf::expected<std::vector<account_balance>> all_balances(sqlite_read_model& m);

// -- order status -------------------------------------------------------------------------------

struct order_status {
  std::string order_id;
  std::string status;  ///< placed, paid, shipped, delivered, cancelled
  std::string user_id;
  int64_t total_cents = 0;
  int64_t events = 0;  ///< events of the order applied

  friend bool operator==(const order_status&, const order_status&) = default;
};

using orders_memory = memory_read_model<order_status>;
std::shared_ptr<orders_memory> make_order_status_memory();
sqlite_model_spec order_status_sqlite_spec(std::string path);

[[nodiscard]] caf::expected<std::optional<order_status>> order_status_of(sqlite_read_model& m,
                                                                         const std::string& id);
/// How many orders are in each status, e.g. {{"paid", 12}, {"placed", 3}}.
[[nodiscard]] caf::expected<std::vector<std::pair<std::string, int64_t>>> orders_by_status(
    sqlite_read_model& m);

}  // namespace herald
