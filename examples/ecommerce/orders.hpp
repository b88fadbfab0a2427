// The order service's side of the demo: what an order is, how it becomes an OrderPlaced event,
// and how a consumer reads one back. Every consumer parses the payload itself, once, where it
// needs the fields (Herald moves the JSON text untouched from producer to handler).
#pragma once

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/herald.hpp"

namespace shop {

/// Money in cents: totals must add up to the cent in every service.
using cents = int64_t;

struct line_item {
  std::string sku;
  int qty = 0;
  cents unit_price = 0;
};

struct order {
  std::string order_id;
  std::string user_id;
  std::vector<line_item> items;
  cents total = 0;
};

struct product {
  const char* sku;
  cents price;
};

inline constexpr std::array<product, 5> catalog{{
    {"WIDGET-01", 2499},
    {"GADGET-02", 8900},
    {"CABLE-03", 949},
    {"LAMP-04", 5450},
    {"DESK-05", 14900},
}};

/// Places deterministic orders: the same seed gives the same orders on every machine
/// (std::mt19937's output is fixed by the standard; distributions are not, so none is used).
class order_generator {
 public:
  explicit order_generator(uint32_t seed) : rng_(seed) {}
  order next();
  int placed() const { return next_number_ - 1; }

 private:
  uint32_t below(uint32_t n) { return static_cast<uint32_t>(rng_() % n); }
  std::mt19937 rng_;
  int next_number_ = 1;
};

/// The OrderPlaced event of `o`, keyed by order id (one order's events stay in order).
herald::event to_event(const order& o);

/// Reads an OrderPlaced payload; an error names the event and the field that is wrong.
caf::expected<order> parse_order(const herald::event_view& e);

/// "$12,345.67"
std::string money(cents c);

}  // namespace shop
