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

// Hidden (run it with: dead_letter_threads_test "[bug]"): fails today. When more dead letters
// come at once than the dead-letter producer may have in flight for "<topic>.dlq"
// (max_inflight_batches acknowledged batches plus a full open batch), producer_core::enqueue
// waits for acknowledgements on the member's thread (actors/consumer.cpp, write_dead_letter);
// with one scheduler thread the producer actor that would deliver them cannot run, so each
// wait lasts send_timeout (30 s): the whole runtime crawls (here the producer's flush times
// out), and shutdown hangs behind the stuck member, so run it under `timeout`.
TEST_CASE("a burst of dead letters with one scheduler thread", "[.][bug][dead_letter]") {
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
