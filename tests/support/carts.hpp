// Cart sessions for aggregator tests: a seeded random session of ItemAdded/ItemRemoved
// events, a plain reference fold of it (written apart from the aggregator's), and the
// CartUpdated events read back from the output topic.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "messages/cart.hpp"
#include "runtime/herald.hpp"

namespace herald::test {

struct cart_session {
  std::vector<event> events;
  /// Per cart, the CartUpdated of every version, in order (index = version - 1).
  std::map<std::string, std::vector<cart::cart_updated>> expected;
  size_t rejected = 0;  ///< events the fold must refuse (removing more than the cart holds)
};

/// `n_events` events over `n_carts` carts, seeded; about one in ten removes more than the cart
/// holds (bad input). The expected versions come from a reference fold over std::map.
cart_session random_session(uint32_t seed, int n_carts, int n_events);

/// Every CartUpdated in `topic`, per cart in the order they were appended (one cart's
/// outputs share a partition).
std::map<std::string, std::vector<cart::cart_updated>> read_cart_updates(runtime& rt,
                                                                         const std::string& topic);

/// Every event of every partition of `topic`, per partition in offset order.
std::vector<std::vector<event>> read_topic(runtime& rt, const std::string& topic);

}  // namespace herald::test
