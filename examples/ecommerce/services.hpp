// Four of the demo's consumers, written as plain handler functions: each is its own consumer
// group, so each sees every order. A service's state is touched by its handler (on the
// group member's actor) and read by main() for the summary, hence the mutex.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <unordered_set>

#include <caf/error.hpp>

#include "examples/ecommerce/orders.hpp"

namespace shop {

/// Charges the card; declines orders over the card limit.
class payment_service {
 public:
  static constexpr cents card_limit = 100000;
  caf::error on_order(const herald::event_view& e);
  std::string summary() const;
  int orders_seen() const;

 private:
  mutable std::mutex mtx_;
  int paid_ = 0;
  int declined_ = 0;
  cents charged_ = 0;
};

/// Reserves stock for every line item.
class inventory_service {
 public:
  inventory_service();
  caf::error on_order(const herald::event_view& e);
  std::string summary() const;
  int orders_seen() const;

 private:
  mutable std::mutex mtx_;
  int orders_ = 0;
  std::map<std::string, int> stock_;
};

/// Emails a confirmation per order, once: an order delivered twice (at-least-once delivery)
/// is recognised by its id and not emailed again.
class notification_service {
 public:
  caf::error on_order(const herald::event_view& e);
  std::string summary() const;
  int orders_seen() const;
  int emails_sent() const;
  int duplicates() const;

 private:
  mutable std::mutex mtx_;
  std::unordered_set<std::string> emailed_;
  int duplicates_ = 0;
};

/// Revenue and best seller.
class analytics_service {
 public:
  caf::error on_order(const herald::event_view& e);
  std::string summary() const;
  int orders_seen() const;

 private:
  mutable std::mutex mtx_;
  int orders_ = 0;
  cents revenue_ = 0;
  std::map<std::string, int> units_;
};

/// "payment      " : the service name padded so that summaries line up.
std::string label(const char* service);

}  // namespace shop
