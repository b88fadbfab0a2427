#include "examples/ecommerce/services.hpp"

#include <algorithm>
#include <cstdio>

namespace shop {

std::string label(const char* service) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%-13s", service);
  return buf;
}

// -- payment ----------------------------------------------------------------------------------

caf::error payment_service::on_order(const herald::event_view& e) {
  auto o = parse_order(e);
  // An error fails this attempt: the member retries the event with backoff, then writes it
  // to "orders.dlq" (docs/SUPERVISION.md). A malformed order fails every attempt.
  if (!o) return std::move(o.error());
  std::lock_guard<std::mutex> guard{mtx_};
  if (o->total > card_limit) {
    ++declined_;
  } else {
    ++paid_;
    charged_ += o->total;
  }
  return caf::none;
}

std::string payment_service::summary() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return label("payment") + "paid " + std::to_string(paid_) + " orders (" + money(charged_) +
         "), declined " + std::to_string(declined_) + " over the " + money(card_limit) +
         " card limit";
}

int payment_service::orders_seen() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return paid_ + declined_;
}

// -- inventory --------------------------------------------------------------------------------

inventory_service::inventory_service() {
  for (auto& p : catalog) stock_[p.sku] = 500;
}

caf::error inventory_service::on_order(const herald::event_view& e) {
  auto o = parse_order(e);
  if (!o) return std::move(o.error());
  std::lock_guard<std::mutex> guard{mtx_};
  ++orders_;
  for (auto& item : o->items) stock_[item.sku] -= item.qty;
  return caf::none;
}

std::string inventory_service::summary() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::string out = label("inventory") + "stock left:";
  for (auto& p : catalog) {
    // Appends, not `" " + sku + ...`: g++ 12 warns falsely (-Wrestrict) on those temporaries.
    out += ' ';
    out += p.sku;
    out += '=';
    out += std::to_string(stock_.at(p.sku));
  }
  return out;
}

int inventory_service::orders_seen() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return orders_;
}

// -- notification -----------------------------------------------------------------------------

caf::error notification_service::on_order(const herald::event_view& e) {
  // The key is the order id: no need to parse the payload to know whom not to email twice.
  std::lock_guard<std::mutex> guard{mtx_};
  if (!emailed_.emplace(e.key()).second) ++duplicates_;
  return caf::none;
}

std::string notification_service::summary() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return label("notification") + "sent " + std::to_string(emailed_.size()) +
         " order confirmation emails";
}

int notification_service::orders_seen() const {
  return emails_sent();
}

int notification_service::emails_sent() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return static_cast<int>(emailed_.size());
}

int notification_service::duplicates() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return duplicates_;
}

// -- analytics --------------------------------------------------------------------------------

caf::error analytics_service::on_order(const herald::event_view& e) {
  auto o = parse_order(e);
  if (!o) return std::move(o.error());
  std::lock_guard<std::mutex> guard{mtx_};
  ++orders_;
  revenue_ += o->total;
  for (auto& item : o->items) units_[item.sku] += item.qty;
  return caf::none;
}

std::string analytics_service::summary() const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto best = std::max_element(units_.begin(), units_.end(),
                               [](auto& a, auto& b) { return a.second < b.second; });
  std::string out = label("analytics") + "revenue " + money(revenue_) + " from " +
                    std::to_string(orders_) + " orders";
  if (orders_ > 0) out += ", average " + money(revenue_ / orders_);
  if (best != units_.end())
    out += ", best seller " + best->first + " (" + std::to_string(best->second) + " units)";
  return out;
}

int analytics_service::orders_seen() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return orders_;
}

}  // namespace shop
