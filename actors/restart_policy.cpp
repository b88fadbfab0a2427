#include "actors/restart_policy.hpp"

#include <algorithm>
#include <cmath>

#include "messages/errors.hpp"

namespace herald {

std::chrono::milliseconds backoff_policy::delay(int attempt, std::mt19937_64& rng) const {
  attempt = std::max(attempt, 1);
  if (!delays.empty())
    return delays[static_cast<size_t>(std::min<int>(attempt, static_cast<int>(delays.size())) - 1)];
  double base = static_cast<double>(initial.count()) * std::pow(multiplier, attempt - 1);
  base = std::min(base, static_cast<double>(max.count()));
  if (jitter > 0) {
    std::uniform_real_distribution<double> dist{1.0 - jitter, 1.0 + jitter};
    base *= dist(rng);
  }
  return std::chrono::milliseconds{static_cast<int64_t>(std::llround(std::max(base, 0.0)))};
}

caf::error backoff_policy::validate() const {
  auto bad = [](std::string what) {
    return make_error(errc::invalid_config, std::move(what));
  };
  if (initial.count() < 0 || max.count() < 0) return bad("backoff delays must not be negative");
  if (multiplier < 1.0) return bad("backoff multiplier must be at least 1");
  if (jitter < 0.0 || jitter >= 1.0) return bad("backoff jitter must be in [0, 1)");
  for (auto d : delays)
    if (d.count() < 0) return bad("backoff delays must not be negative");
  return caf::none;
}

const char* to_string(restart_strategy x) {
  return x == restart_strategy::one_for_one ? "one_for_one" : "all_for_one";
}

const char* to_string(restart_mode x) {
  switch (x) {
    case restart_mode::permanent:
      return "permanent";
    case restart_mode::transient:
      return "transient";
    case restart_mode::temporary:
      return "temporary";
  }
  return "?";
}

int restart_window::recent(clock::time_point now) {
  while (!stamps_.empty() && now - stamps_.front() > limits_.window) stamps_.pop_front();
  return static_cast<int>(stamps_.size());
}

bool restart_window::allow(clock::time_point now) {
  if (recent(now) >= limits_.max_restarts) return false;
  stamps_.push_back(now);
  return true;
}

}  // namespace herald
