// The payments example's domain: payments, the checkout that sends them, a card gateway that
// fails, and the settlement service that charges them. main.cpp tells the story.
//
// The settlement handler runs on its member's actor and main() reads its ledger for the
// report, hence the mutex. Everything random is seeded: the figures are the same on every run.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>

#include "runtime/herald.hpp"

namespace pay {

using cents = int64_t;
using clock = std::chrono::steady_clock;

struct payment {
  std::string id;  ///< PAY-0001, ... (the business id; Herald's event id is separate)
  int seq = 0;     ///< the order the checkout sent it in
  std::string card;
  std::string currency;
  cents amount = 0;
};

/// "USD 1,234.56".
std::string money(const std::string& currency, cents amount);

/// Makes `n` payments for 12 cards; two of them (card-05, card-11) are Swiss cards paying in
/// CHF, which the merchant's gateway profile does not accept yet.
std::vector<payment> checkout(uint32_t seed, int n);

herald::event to_event(const payment& p);
/// The payment in a PaymentRequested payload (empty fields if it is not one).
payment from_json(std::string_view payload);

/// A card gateway that fails: 20% of first and second attempts time out (deterministically
/// per payment and attempt, so the story does not depend on thread timing), and every charge
/// in CHF is rejected until the fix is deployed (enable_chf()).
class gateway {
 public:
  explicit gateway(uint32_t seed) : seed_(seed) {}
  caf::error charge(const payment& p, int attempt);
  void enable_chf() { chf_enabled_ = true; }
  int calls() const { return calls_; }
  int timeouts() const { return timeouts_; }
  int rejections() const { return rejections_; }

 private:
  uint32_t seed_;
  std::atomic<bool> chf_enabled_{false};
  std::atomic<int> calls_{0};
  std::atomic<int> timeouts_{0};
  std::atomic<int> rejections_{0};
};

/// The consumer: charges each payment through the gateway and books it in a ledger. It keeps
/// no idempotence of its own: the subscription is idempotent (Herald skips event ids the group
/// already applied), and the ledger counts charges per payment to prove it.
class settlement {
 public:
  explicit settlement(gateway& gw) : gw_(gw) {}
  caf::error on_payment(const herald::event_view& e, herald::handler_context& ctx);

  /// When each attempt at `payment_id` ran.
  std::vector<clock::time_point> attempts(const std::string& payment_id) const;
  /// Payments charged so far, and how many times each (must be 1).
  std::map<std::string, int> charges() const;
  int charged() const;
  std::map<std::string, cents> totals() const;
  /// True while every card's payments were charged in the order the checkout sent them.
  bool in_order() const;

 private:
  gateway& gw_;
  mutable std::mutex mtx_;
  std::map<std::string, std::vector<clock::time_point>> attempts_;
  std::map<std::string, int> charges_;
  std::map<std::string, cents> totals_;
  std::map<std::string, int> last_seq_;  // per card
  bool in_order_ = true;
};

}  // namespace pay
