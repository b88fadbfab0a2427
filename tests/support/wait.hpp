// Waiting on conditions in tests: poll a predicate until it holds or a deadline passes.
// Never sleep to synchronise; always wait on the condition, with a bound.
#pragma once

#include <chrono>
#include <thread>

namespace herald::test {

/// Default bound for conditions that should hold within milliseconds; generous so that a
/// loaded CI machine does not fail a correct test.
inline constexpr std::chrono::seconds default_wait{20};

/// Returns true as soon as `pred()` holds, false if it still does not after `timeout`.
template <class Pred>
bool wait_until(Pred&& pred, std::chrono::milliseconds timeout = default_wait) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(std::chrono::microseconds{200});
  }
  return true;
}

}  // namespace herald::test
