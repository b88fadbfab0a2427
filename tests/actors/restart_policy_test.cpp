#include <catch2/catch.hpp>

#include "actors/restart_policy.hpp"

using namespace herald;
using namespace std::chrono_literals;

TEST_CASE("backoff grows exponentially up to its cap", "[restart]") {
  backoff_policy p{.initial = 10ms, .multiplier = 2.0, .max = 100ms, .jitter = 0.0};
  std::mt19937_64 rng{1};
  CHECK(p.delay(1, rng) == 10ms);
  CHECK(p.delay(2, rng) == 20ms);
  CHECK(p.delay(3, rng) == 40ms);
  CHECK(p.delay(4, rng) == 80ms);
  CHECK(p.delay(5, rng) == 100ms);
  CHECK(p.delay(50, rng) == 100ms);
}

TEST_CASE("backoff jitter stays within its band", "[restart]") {
  backoff_policy p{.initial = 100ms, .multiplier = 1.0, .max = 100ms, .jitter = 0.2};
  std::mt19937_64 rng{7};
  bool varied = false;
  for (int i = 0; i < 1000; ++i) {
    auto d = p.delay(1, rng);
    REQUIRE(d >= 80ms);
    REQUIRE(d <= 120ms);
    varied = varied || d != 100ms;
  }
  CHECK(varied);
}

TEST_CASE("an explicit list of delays is used in order, its last repeated", "[restart]") {
  backoff_policy p;
  p.delays = {1ms, 5ms, 30ms};
  std::mt19937_64 rng{1};
  CHECK(p.delay(1, rng) == 1ms);
  CHECK(p.delay(2, rng) == 5ms);
  CHECK(p.delay(3, rng) == 30ms);
  CHECK(p.delay(9, rng) == 30ms);
}

TEST_CASE("invalid backoff settings are rejected with a reason", "[restart]") {
  CHECK(backoff_policy{.multiplier = 0.5}.validate());
  CHECK(backoff_policy{.jitter = 1.5}.validate());
  CHECK_FALSE(backoff_policy{}.validate());
}

TEST_CASE("the restart window allows max_restarts within the window, then refuses", "[restart]") {
  restart_window w{{.max_restarts = 3, .window = 1000ms}};
  auto t0 = std::chrono::steady_clock::time_point{} + 1h;
  CHECK(w.allow(t0));
  CHECK(w.allow(t0 + 10ms));
  CHECK(w.allow(t0 + 20ms));
  CHECK_FALSE(w.allow(t0 + 30ms));
  // Once the first restarts leave the window, restarts are allowed again.
  CHECK(w.allow(t0 + 1015ms));
  CHECK(w.recent(t0 + 1015ms) == 2);  // t0 and t0+10 left the window
}
