// Dead letters are written from inside the member actor, on a scheduler thread: whatever the
// scheduler's size, writing one must not wait for another actor to run.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "runtime/herald.hpp"
#include "tests/support/builders.hpp"
#include "tests/support/printing.hpp"
#include "tests/support/wait.hpp"

using namespace herald;
using namespace std::chrono_literals;

namespace {

caf::error poison(const event_view&) {
  return make_error(errc::handler_failed, "poison");
}

subscribe_options dead_letter_at_once() {
  subscribe_options opts;
  opts.retry.max_attempts = 1;
  return opts;
}

}  // namespace

TEST_CASE("a dead letter is written with one scheduler thread", "[runtime][dead_letter]") {
  // The member publishes its dead letters with the runtime's dead-letter producer. Its first
  // publish to "<topic>.dlq" used to look the topic up with a blocking registry request on
  // the member's thread; with one thread the registry could never answer, and every attempt
  // held the runtime for request_timeout.
  auto cfg = test::quiet_config();
  cfg.worker_threads = 1;
  runtime rt{cfg};
  REQUIRE(rt.create_topic("orders", {.partitions = 1}));
  auto sub = rt.subscribe("orders", "billing", poison, dead_letter_at_once());
  REQUIRE(sub);
  auto p = rt.make_producer();
  REQUIRE(p.publish(test::order("orders", "K", 0)));
  CHECK(test::wait_until([&] { return sub->probe().dead_letters.load() == 1; }, 5s));
  auto dead = rt.dead_letters("orders");
  REQUIRE(dead);
  CHECK(dead->size() == 1);
}

// More dead letters at once than the dead-letter producer may have in flight for
// "<topic>.dlq": publish_async(ev, done) must not wait for acknowledgements on the member's
// thread (with one scheduler thread the producer actor that delivers them could not run); the
// member tries the refused ones again shortly.
TEST_CASE("a burst of dead letters with one scheduler thread writes every one of them",
          "[dead_letter]") {
  constexpr int n = 5000;
  auto cfg = test::quiet_config();
  cfg.worker_threads = 1;
  runtime rt{cfg};
  REQUIRE(rt.create_topic("orders", {.partitions = 1}));
  auto sub = rt.subscribe("orders", "billing", poison, dead_letter_at_once());
  REQUIRE(sub);
  auto p = rt.make_producer();
  for (int i = 0; i < n; ++i)
    REQUIRE_FALSE(p.publish_async(test::order("orders", "K" + std::to_string(i), i)));
  REQUIRE_FALSE(p.flush());
  CHECK(test::wait_until([&] { return sub->probe().dead_letters.load() == n; }, 20s));
}
