// The fraud service, written as a CAF actor rather than a function, for users who already
// have actors: Herald hands it whole deliveries (a run of events of one partition), and the
// actor answers each one to accept it. Its state lives in the actor, so it needs no lock;
// main() asks for the summary with a message.
#pragma once

#include <string>

#include <caf/all.hpp>

#include "examples/ecommerce/orders.hpp"

namespace shop {

using summary_atom = caf::atom_constant<caf::atom("summary")>;

struct fraud_state {
  static inline const char* name = "shop.fraud";
  static constexpr cents large_total = 50000;
  static constexpr int bulk_units = 10;
  int orders = 0;
  int large = 0;  ///< total of large_total or more
  int bulk = 0;   ///< bulk_units or more of one product
};

/// Handles herald::delivery (answers to accept it, or with an error to fail it) and
/// summary_atom (answers with the summary line and the number of orders seen).
caf::behavior fraud_service(caf::stateful_actor<fraud_state>* self);

}  // namespace shop
