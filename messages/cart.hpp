// The shopping-cart events of the cart aggregator (docs/AGGREGATOR.md): what a storefront
// publishes to "cart.events" (ItemAdded, ItemRemoved; key = cart id) and what the aggregator
// publishes to "cart.updated" (CartUpdated; key = cart id). Payloads are JSON; money is in
// integer cents, so totals add up to the cent.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "messages/event.hpp"
#include "messages/json.hpp"

namespace herald::cart {

inline constexpr const char* input_topic = "cart.events";
inline constexpr const char* output_topic = "cart.updated";
inline constexpr const char* item_added_type = "ItemAdded";
inline constexpr const char* item_removed_type = "ItemRemoved";
inline constexpr const char* cart_updated_type = "CartUpdated";

/// {"cart_id":"CART-1","sku":"WIDGET-01","qty":2,"price":2499}
struct item_added {
  std::string cart_id;
  std::string sku;
  int64_t qty = 0;
  int64_t price = 0;  ///< cents per unit
};

/// {"cart_id":"CART-1","sku":"WIDGET-01","qty":1}
struct item_removed {
  std::string cart_id;
  std::string sku;
  int64_t qty = 0;
};

struct cart_line {
  std::string sku;
  int64_t qty = 0;
  int64_t price = 0;  ///< cents per unit, from the latest ItemAdded of the sku

  friend bool operator==(const cart_line&, const cart_line&) = default;
};

/// {"cart_id":"CART-1","items":[{"sku":"WIDGET-01","qty":2,"price":2499}],"item_count":2,
///  "total":4998,"version":3} — the whole cart after `version` input events, items by sku.
struct cart_updated {
  std::string cart_id;
  std::vector<cart_line> items;
  int64_t item_count = 0;  ///< units over all lines
  int64_t total = 0;       ///< cents
  uint64_t version = 0;    ///< input events of this cart folded so far (duplicates not counted)

  friend bool operator==(const cart_updated&, const cart_updated&) = default;
};

std::string to_json(const item_added& x);
std::string to_json(const item_removed& x);
std::string to_json(const cart_updated& x);

/// The input events, keyed by cart id, for topic `topic`.
event make_event(const item_added& x, const std::string& topic = input_topic);
event make_event(const item_removed& x, const std::string& topic = input_topic);

/// Reads an input payload with `parser` (reused between calls). Errors (errc::invalid_json
/// or errc::invalid_argument) name the field and what is wrong with it: a missing or empty
/// cart_id or sku, a qty that is not a positive integer, a price that is not an integer >= 0.
[[nodiscard]] caf::error parse(std::string_view payload, flat_json& parser, item_added& out);
[[nodiscard]] caf::error parse(std::string_view payload, flat_json& parser, item_removed& out);

/// Reads a CartUpdated payload back (consumers, tests).
[[nodiscard]] caf::expected<cart_updated> parse_cart_updated(std::string_view payload);

}  // namespace herald::cart
