// shutdown() with events in flight: it returns within a bound, every acknowledged event was
// handled by the group first, and later calls get clear errors instead of hanging.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "runtime/herald.hpp"
#include "tests/support/builders.hpp"
#include "tests/support/groups.hpp"
#include "tests/support/printing.hpp"
#include "tests/support/wait.hpp"

using namespace herald;
using namespace std::chrono_literals;

namespace {

/// Generous next to a healthy shutdown (milliseconds), well below the test's timeout; only a
/// hang exceeds it.
constexpr auto shutdown_bound = 30s;

/// Runs rt.shutdown() on another thread and waits for it at most shutdown_bound.
std::pair<bool, caf::error> shutdown_within_bound(runtime& rt) {
  auto done = std::async(std::launch::async, [&rt] { return rt.shutdown(); });
  if (done.wait_for(shutdown_bound) != std::future_status::ready) return {false, caf::none};
  return {true, done.get()};
}

}  // namespace

TEST_CASE("shutdown right after asynchronous publishes drains them into the group",
          "[runtime][shutdown]") {
  constexpr int n = 5000;
  test::recorder rec;
  runtime rt{test::quiet_config()};
  REQUIRE(rt.create_topic("orders", {.partitions = 4}));
  std::vector<subscription> subs;
  for (int m = 0; m < 2; ++m) {
    auto name = "m" + std::to_string(m);
    auto s =
        rt.subscribe("orders", "billing", [&rec, name](const event_view& e) { rec.add(name, e); },
                     {.member = name});
    REQUIRE(s);
    subs.push_back(std::move(*s));
  }
  REQUIRE(test::wait_stable(rt, "orders", "billing", 2));
  auto p = rt.make_producer();
  std::vector<event> published;
  for (int i = 0; i < n; ++i) {
    published.push_back(test::order("orders", "ORD-" + std::to_string(i % 50), i));
    REQUIRE_FALSE(p.publish_async(published.back()));
  }
  // No flush: most events are still in the producer's batches or in flight.
  auto [returned, err] = shutdown_within_bound(rt);
  REQUIRE(returned);
  INFO(describe(err));
  CHECK_FALSE(err);
  CHECK(rt.shutting_down());
  auto st = p.stats();
  CHECK(st.acknowledged == n);
  CHECK(st.failed == 0);
  CHECK(st.outstanding == 0);
  auto counts = rec.id_counts();
  for (auto& e : published) {
    INFO("event " << e.id_text());
    CHECK(counts[std::string{e.id_text()}] >= 1);
  }
  for (auto& s : subs) CHECK_FALSE(s.active());

  // Afterwards: clear errors, no hang.
  CHECK(is(p.publish_async(published.front()), errc::producer_closed));
  auto late = rt.subscribe("orders", "late", [](const event_view&) {});
  REQUIRE_FALSE(late);
  CHECK(is(late.error(), errc::shutting_down));
  CHECK(is(rt.create_topic("more").error(), errc::shutting_down));
  auto again = shutdown_within_bound(rt);
  CHECK(again.first);
  CHECK_FALSE(again.second);
}

TEST_CASE("shutdown racing publishing threads: every acknowledged event was handled",
          "[runtime][shutdown]") {
  test::recorder rec;
  runtime rt{test::quiet_config()};
  REQUIRE(rt.create_topic("orders", {.partitions = 3}));
  auto sub = rt.subscribe("orders", "billing", [&rec](const event_view& e) { rec.add("m", e); });
  REQUIRE(sub);
  REQUIRE(test::wait_stable(rt, "orders", "billing", 1));
  auto p = rt.make_producer();

  // Each thread publishes and waits for acknowledgements until the runtime refuses; it keeps
  // the ids that were acknowledged. Catch is not thread-safe: threads only record.
  constexpr int threads = 3;
  std::vector<std::vector<std::string>> acked(threads);
  std::vector<caf::error> last_error(threads);
  std::atomic<int> acked_total{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      for (int i = 0;; ++i) {
        auto ev = test::order("orders", "T" + std::to_string(t) + "-" + std::to_string(i % 13), i);
        auto ack = p.publish(ev);
        if (!ack) {
          last_error[t] = std::move(ack.error());
          return;
        }
        acked[t].emplace_back(ev.id_text());
        ++acked_total;
      }
    });
  // Shut down while all three are mid-stream.
  REQUIRE(test::wait_until([&] { return acked_total >= 300; }));
  auto [returned, err] = shutdown_within_bound(rt);
  for (auto& w : workers) w.join();
  REQUIRE(returned);
  INFO(describe(err));
  CHECK_FALSE(err);
  auto counts = rec.id_counts();
  size_t total = 0;
  for (int t = 0; t < threads; ++t) {
    INFO("thread " << t << ": " << describe(last_error[t]));
    // Stopped by the shutdown, with an error that says so.
    CHECK((is(last_error[t], errc::producer_closed) || is(last_error[t], errc::shutting_down)));
    for (auto& id : acked[t]) {
      INFO("event " << id);
      CHECK(counts[id] >= 1);
    }
    total += acked[t].size();
  }
  CHECK(total >= 300);
}

TEST_CASE("producer and subscription handles may outlive their runtime", "[runtime][shutdown]") {
  test::recorder rec;
  producer p;
  subscription sub;
  {
    runtime rt{test::quiet_config()};
    REQUIRE(rt.create_topic("orders", {.partitions = 2}));
    auto s = rt.subscribe("orders", "billing", [&rec](const event_view& e) { rec.add("m", e); });
    REQUIRE(s);
    sub = std::move(*s);
    REQUIRE(test::wait_stable(rt, "orders", "billing", 1));
    p = rt.make_producer();
    for (int i = 0; i < 100; ++i) REQUIRE_FALSE(p.publish_async(test::order("orders", "K", i)));
  }  // the runtime goes first: it drains, stops the member and closes the producer
  CHECK(rec.size() == 100);
  CHECK_FALSE(sub.active());
  CHECK_FALSE(sub.stop());
  CHECK(is(p.publish_async(test::order("orders", "K", 100)), errc::producer_closed));
  CHECK(p.stats().acknowledged == 100);
}  // and the handles after it
