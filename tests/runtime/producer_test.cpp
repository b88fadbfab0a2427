// The producer's own promises, beyond flow control: publishing never stalls on the
// producer's internal bookkeeping, whatever the scheduler's size.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "runtime/herald.hpp"
#include "tests/support/builders.hpp"
#include "tests/support/printing.hpp"

using namespace herald;

TEST_CASE("a first publish to a new topic does not stall while acknowledgements arrive",
          "[runtime][producer]") {
  // The first publish to a topic looks it up in the registry. If the producer asks while
  // holding the lock its actor needs for acknowledgements and linger ticks, that actor blocks
  // a scheduler thread; with one thread (the default on a one-core machine) the registry
  // cannot answer until request_timeout. Each round leaves a lingering batch on "base" and
  // then touches a fresh topic.
  constexpr int rounds = 150;
  auto cfg = test::quiet_config();
  cfg.worker_threads = 1;
  cfg.request_timeout = std::chrono::seconds{1};
  runtime rt{cfg};
  REQUIRE(rt.create_topic("base", {.partitions = 4}));
  for (int t = 0; t < rounds; ++t) REQUIRE(rt.create_topic("t" + std::to_string(t)));
  auto p = rt.make_producer();
  for (int t = 0; t < rounds; ++t) {
    for (int i = 0; i < 40; ++i)
      REQUIRE_FALSE(p.publish_async(test::order("base", "K" + std::to_string(i), i)));
    auto err = p.publish_async(test::order("t" + std::to_string(t), "K", 0));
    INFO("round " << t << ": " << describe(err));
    REQUIRE_FALSE(err);
  }
  REQUIRE_FALSE(p.flush());
  CHECK(p.stats().acknowledged == rounds * 41);
}
