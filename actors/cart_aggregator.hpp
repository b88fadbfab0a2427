// The cart aggregator: the generic aggregator (actors/aggregator.hpp) folding ItemAdded and
// ItemRemoved (messages/cart.hpp, key = cart id) into one cart per key, published as
// CartUpdated to "cart.updated". Bad input (malformed JSON, a qty that is not a positive
// integer, a cart_id that is not the event's key, removing more than the cart holds) is
// refused by the fold and becomes a dead letter in "cart.events.dlq"; the cart is unchanged
// and its version does not move. docs/AGGREGATOR.md.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>

#include "actors/aggregator.hpp"
#include "messages/cart.hpp"

namespace herald::cart {

struct line_state {
  std::string sku;
  int64_t qty = 0;
  int64_t price = 0;
};

/// One cart: its lines sorted by sku (so CartUpdated lists them in one order everywhere), in
/// a flat vector: a cart holds a handful of lines, and one contiguous block costs one or two
/// cache misses per fold where a tree costs one per node (10,000 carts do not fit in cache).
struct cart_state {
  std::vector<line_state> lines;
  int64_t item_count = 0;
  int64_t total = 0;

  /// The line of `sku`, or null.
  const line_state* find(std::string_view sku) const;
};

/// Folds one input event into `cart` (the cart of key `key`); on error `cart` is unchanged.
/// `parser` is scratch space reused between calls.
[[nodiscard]] caf::error fold(cart_state& cart, std::string_view type, std::string_view key,
                              std::string_view payload, flat_json& parser);

/// The CartUpdated of `cart` at `version`.
cart_updated snapshot(std::string_view cart_id, const cart_state& cart, uint64_t version);

/// An empty table of carts for one partition.
std::unique_ptr<fold_table> make_table();

/// The aggregator_spec of the cart aggregator (name = consumer group).
aggregator_spec make_spec(emit_policy policy = emit_policy::on_change(),
                          std::string name = "cart-aggregator", std::string input = input_topic,
                          std::string output = output_topic);

}  // namespace herald::cart
