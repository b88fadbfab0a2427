// The bank account, an event-sourced entity: Deposit and Withdraw commands decide Deposited
// and Withdrawn events (amounts in integer cents) in the topic "accounts.events", key = the
// account id; the balance is derived from them. A withdrawal beyond the balance is refused
// and appends nothing.
//
// The payloads are exactly
//   {"event":"Deposited","account_id":"ACC-1","amount":1000}
//   {"event":"Withdrawn","account_id":"ACC-1","amount":250}
// so that read models (an account-balance projection) can consume the topic like any other.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "runtime/herald.hpp"

namespace bank {

inline constexpr const char* events_topic = "accounts.events";

struct deposit {
  int64_t amount = 0;  ///< cents, > 0
};
struct withdraw {
  int64_t amount = 0;  ///< cents, > 0
};

struct account {
  int64_t balance = 0;  ///< cents
  int64_t deposits = 0;
  int64_t withdrawals = 0;

  friend bool operator==(const account&, const account&) = default;
};

struct account_entity {
  using state = account;
  using command = std::variant<deposit, withdraw>;
  static constexpr uint32_t state_version = 1;

  static caf::expected<std::vector<herald::entity_event>> decide(const account& s,
                                                                 const std::string& id,
                                                                 const command& cmd);
  static void apply(account& s, const herald::event_view& e);
  static std::string encode(const account& s);
  static caf::expected<account> decode(std::string_view bytes);
};

/// The Deposited/Withdrawn payload for `id` (JSON-escaped).
std::string payload(std::string_view event, const std::string& id, int64_t amount);

/// "12.34" for 1234 cents.
std::string money(int64_t cents);

}  // namespace bank
