// The rules of supervision and retries without actors: how long to wait before attempt n
// (exponential backoff with jitter, or an explicit list of delays like JetStream's `backoff`),
// and whether a child that failed again is still within its restart intensity (at most
// max_restarts within window). Supervisors and consumer retries both use them.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include <caf/error.hpp>

namespace herald {

struct backoff_policy {
  std::chrono::milliseconds initial{10};
  double multiplier = 2.0;
  std::chrono::milliseconds max{5000};
  /// Each delay is scaled by a random factor in [1 - jitter, 1 + jitter], so that many
  /// failing actors do not retry in lockstep.
  double jitter = 0.2;
  /// When not empty, the delay before retry n is delays[min(n, size) - 1], and the fields
  /// above are ignored.
  std::vector<std::chrono::milliseconds> delays;

  /// The delay before retry number `attempt` (1 = the first retry).
  std::chrono::milliseconds delay(int attempt, std::mt19937_64& rng) const;

  [[nodiscard]] caf::error validate() const;
};

/// At most `max_restarts` restarts within `window`; one more is an escalation.
struct restart_intensity {
  int max_restarts = 5;
  std::chrono::milliseconds window{10000};
};

enum class restart_strategy : uint8_t {
  one_for_one,  ///< restart only the child that failed
  all_for_one,  ///< restart every child when one fails (children that depend on each other)
};

enum class restart_mode : uint8_t {
  permanent,  ///< always restarted
  transient,  ///< restarted only when it failed (not after a normal exit)
  temporary,  ///< never restarted
};

const char* to_string(restart_strategy x);
const char* to_string(restart_mode x);

/// Counts restarts in a sliding window.
class restart_window {
 public:
  using clock = std::chrono::steady_clock;
  explicit restart_window(restart_intensity limits) : limits_(limits) {}

  /// Records a restart at `now`; false when this restart exceeds the intensity (escalate).
  bool allow(clock::time_point now);
  /// Restarts recorded within the window ending at `now`.
  int recent(clock::time_point now);

 private:
  restart_intensity limits_;
  std::deque<clock::time_point> stamps_;
};

}  // namespace herald
