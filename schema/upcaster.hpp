// Upcasters: the steps that turn an event type's payload from version n into version n+1, so a
// handler that expects version 3 sees version 3 whatever version the producer wrote. Chained:
// a v1 event meets v1->v2, then v2->v3.
//
//   herald::upcaster_set up;
//   up.add("OrderPlaced", 1, [](boost::json::object& o) -> caf::error {
//     o["currency"] = "EUR";  // v2 added a required currency; v1 orders were all in euros
//     return caf::none;
//   });
//
// A step runs on the member's thread, per old event: the payload is parsed, changed and
// serialised again (allocations per event are the price of an old version; events already
// at the expected version pass through untouched). Copies share the steps; thread-safe to use.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace herald {

/// Changes a payload of version n in place into version n+1; an error fails the event.
using upcast_fn = std::function<caf::error(boost::json::object& payload)>;

class upcaster_set {
 public:
  /// Registers the step from version `from` of `type` to `from` + 1 (replacing one given
  /// before for the same step).
  upcaster_set& add(std::string type, uint32_t from, upcast_fn step);

  /// Errors unless every step from the lowest one registered for `type` up to `to` - 1 is
  /// there (a missing step would fail every event that needs it).
  [[nodiscard]] caf::error check_chain(std::string_view type, uint32_t to) const;

  /// Applies the steps from..to-1 to `payload` and returns the new payload text. Errors
  /// (errc::handler_failed): a step is missing, the payload is not a JSON object, a step
  /// failed or threw.
  [[nodiscard]] caf::expected<std::string> upcast(std::string_view type, uint32_t from, uint32_t to,
                                                  std::string_view payload) const;

  bool empty() const { return !steps_ || steps_->empty(); }

 private:
  using steps = std::map<std::string, std::map<uint32_t, upcast_fn>, std::less<>>;
  std::shared_ptr<steps> steps_;
};

}  // namespace herald
