// What a subscription runs for each event. Users pass any callable taking the event (and
// optionally the handler_context); it returns nothing or a caf::error. Throwing, or returning
// an error, is a failure of that event.
#pragma once

#include <functional>
#include <string>
#include <type_traits>
#include <utility>

#include <caf/error.hpp>

#include "messages/event.hpp"
#include "messages/group.hpp"
#include "messages/record_batch.hpp"

namespace herald {

/// What a handler knows besides the event. Owned by the member actor; valid during the call.
class handler_context {
 public:
  handler_context(const std::string& group, const std::string& member, int attempt = 1)
      : group_(group), member_(member), attempt_(attempt) {}
  const std::string& group() const { return group_; }
  const std::string& member() const { return member_; }
  /// 1 for the first delivery of this event to this member, 2 for its first retry, ...
  int attempt() const { return attempt_; }

 private:
  const std::string& group_;
  const std::string& member_;
  int attempt_;
};

using handler_fn = std::function<caf::error(const event_view&, handler_context&)>;

/// Wraps a user callable into a handler_fn. Accepted signatures (R is void or convertible to
/// caf::error): R(const event_view&), R(const event_view&, handler_context&).
template <class F>
handler_fn make_handler(F f) {
  if constexpr (std::is_invocable_v<F&, const event_view&, handler_context&>) {
    using R = std::invoke_result_t<F&, const event_view&, handler_context&>;
    if constexpr (std::is_void_v<R>) {
      return [f = std::move(f)](const event_view& e, handler_context& c) mutable -> caf::error {
        f(e, c);
        return caf::none;
      };
    } else {
      static_assert(std::is_convertible_v<R, caf::error>, "a handler returns void or caf::error");
      return [f = std::move(f)](const event_view& e, handler_context& c) mutable -> caf::error {
        return f(e, c);
      };
    }
  } else {
    static_assert(std::is_invocable_v<F&, const event_view&>,
                  "a handler takes (const herald::event_view&) or (const herald::event_view&, "
                  "herald::handler_context&)");
    using R = std::invoke_result_t<F&, const event_view&>;
    if constexpr (std::is_void_v<R>) {
      return [f = std::move(f)](const event_view& e, handler_context&) mutable -> caf::error {
        f(e);
        return caf::none;
      };
    } else {
      static_assert(std::is_convertible_v<R, caf::error>, "a handler returns void or caf::error");
      return [f = std::move(f)](const event_view& e, handler_context&) mutable -> caf::error {
        return f(e);
      };
    }
  }
}

/// Calls `f(view)` for every event of a delivery, in offset order (for handlers written as
/// actors, which receive whole deliveries).
template <class F>
void for_each_event(const delivery& d, F&& f) {
  event_view v;
  for (auto& s : d.slices) {
    batch_cursor cur{s, d.topic, d.partition};
    while (!cur.done()) {
      cur.next(v);
      f(static_cast<const event_view&>(v));
    }
  }
}

}  // namespace herald
