#include "actors/cart_aggregator.hpp"

#include <algorithm>

#include "messages/errors.hpp"

namespace herald::cart {

namespace {

caf::error wrong_key(std::string_view cart_id, std::string_view key) {
  // One cart's events must share a key, or they would be spread over partitions and lose
  // their order.
  return make_error(errc::invalid_argument,
                    "cart_id '" + std::string{cart_id} + "' differs from the event key '" +
                        std::string{key} + "'; publish cart events with key = cart_id");
}

/// Scratch space of one table: parsing reuses its buffers.
struct scratch {
  flat_json parser;
};

}  // namespace

const line_state* cart_state::find(std::string_view sku) const {
  for (auto& l : lines)
    if (l.sku == sku) return &l;
  return nullptr;
}

caf::error fold(cart_state& cart, std::string_view type, std::string_view key,
                std::string_view payload, flat_json& parser) {
  if (type == item_added_type) {
    item_added x;
    if (auto err = parse(payload, parser, x)) return err;
    if (x.cart_id != key) return wrong_key(x.cart_id, key);
    auto it = std::lower_bound(cart.lines.begin(), cart.lines.end(), x.sku,
                               [](const line_state& l, const std::string& s) { return l.sku < s; });
    if (it == cart.lines.end() || it->sku != x.sku) it = cart.lines.insert(it, {x.sku, 0, 0});
    auto& l = *it;
    cart.total += (l.qty + x.qty) * x.price - l.qty * l.price;
    cart.item_count += x.qty;
    l.qty += x.qty;
    l.price = x.price;
    return caf::none;
  }
  if (type == item_removed_type) {
    item_removed x;
    if (auto err = parse(payload, parser, x)) return err;
    if (x.cart_id != key) return wrong_key(x.cart_id, key);
    auto it = std::find_if(cart.lines.begin(), cart.lines.end(),
                           [&](const line_state& l) { return l.sku == x.sku; });
    if (it == cart.lines.end())
      return make_error(errc::invalid_argument,
                        "cart '" + x.cart_id + "' holds no '" + x.sku + "'; nothing to remove");
    auto& l = *it;
    if (x.qty > l.qty)
      return make_error(errc::invalid_argument, "removing " + std::to_string(x.qty) + " of '" +
                                                    x.sku + "' from cart '" + x.cart_id +
                                                    "', which holds " + std::to_string(l.qty));
    l.qty -= x.qty;
    cart.item_count -= x.qty;
    cart.total -= x.qty * l.price;
    if (l.qty == 0) cart.lines.erase(it);
    return caf::none;
  }
  return make_error(errc::invalid_argument,
                    "unexpected event type '" + std::string{type} +
                        "'; the cart aggregator reads ItemAdded and ItemRemoved");
}

cart_updated snapshot(std::string_view cart_id, const cart_state& cart, uint64_t version) {
  cart_updated out;
  out.cart_id = cart_id;
  out.items.reserve(cart.lines.size());
  for (auto& l : cart.lines) out.items.push_back({l.sku, l.qty, l.price});
  out.item_count = cart.item_count;
  out.total = cart.total;
  out.version = version;
  return out;
}

std::unique_ptr<fold_table> make_table() {
  auto s = std::make_shared<scratch>();
  return std::make_unique<basic_fold_table<cart_state>>(
      [s](cart_state& cart, const event_view& e) {
        return fold(cart, e.type(), e.key(), e.payload(), s->parser);
      },
      [](std::string_view key, const cart_state& cart, const key_meta& m) {
        return to_json(snapshot(key, cart, m.version));
      });
}

aggregator_spec make_spec(emit_policy policy, std::string name, std::string input,
                          std::string output) {
  aggregator_spec spec;
  spec.name = std::move(name);
  spec.input_topic = std::move(input);
  spec.output_topic = std::move(output);
  spec.output_type = cart_updated_type;
  spec.policy = std::move(policy);
  spec.make_table = [] {
    return make_table();
  };
  return spec;
}

}  // namespace herald::cart
