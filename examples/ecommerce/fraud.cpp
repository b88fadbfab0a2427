#include "examples/ecommerce/fraud.hpp"

#include "examples/ecommerce/services.hpp"

namespace shop {

caf::behavior fraud_service(caf::stateful_actor<fraud_state>* self) {
  return {
      [self](const herald::delivery& d) -> caf::result<void> {
        auto& st = self->state;
        caf::error failed;
        herald::for_each_event(d, [&](const herald::event_view& e) {
          if (failed) return;
          auto o = parse_order(e);
          if (!o) {
            failed = std::move(o.error());
            return;
          }
          ++st.orders;
          bool bulk = false;
          for (auto& item : o->items) bulk = bulk || item.qty >= fraud_state::bulk_units;
          if (o->total >= fraud_state::large_total)
            ++st.large;
          else if (bulk)
            ++st.bulk;
        });
        // An error fails the whole delivery: the member fails, its supervisor restarts it, and
        // the partition's owner gets the delivery again from its first event (an actor handler
        // has no per-event retries or dead letters: docs/SUPERVISION.md).
        if (failed) return failed;
        return caf::unit;
      },
      [self](summary_atom) -> caf::result<std::string, int> {
        auto& st = self->state;
        auto line = label("fraud") + "flagged " + std::to_string(st.large + st.bulk) + " of " +
                    std::to_string(st.orders) + " orders: " + std::to_string(st.large) + " over " +
                    money(fraud_state::large_total) + ", " + std::to_string(st.bulk) + " bulk (" +
                    std::to_string(fraud_state::bulk_units) + "+ of one item)";
        return {std::move(line), st.orders};
      },
  };
}

}  // namespace shop
