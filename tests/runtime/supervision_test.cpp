// Supervision as a user sees it: retries with backoff that hold back only the failing key,
// dead letters with their story, redrive after a fix, idempotent handlers under redelivery,
// members restarted by their supervisor (and escalation when they fail too often), and the
// supervision tree as data.
#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include "runtime/herald.hpp"
#include "tests/support/builders.hpp"
#include "tests/support/groups.hpp"
#include "tests/support/printing.hpp"
#include "tests/support/wait.hpp"

using namespace herald;
using namespace std::chrono_literals;

namespace {

/// Retries after fixed, short delays: the tests observe the machinery, not the waiting.
retry_options quick_retries(int attempts, std::chrono::milliseconds delay = 5ms) {
  retry_options r;
  r.max_attempts = attempts;
  r.backoff.delays.assign(static_cast<size_t>(attempts), delay);
  return r;
}

/// Counts successful applications per event id, from any thread.
class ledger {
 public:
  void apply(const event_view& e) {
    std::lock_guard<std::mutex> g{mtx_};
    ++applied_[std::string{e.id_text()}];
    order_[std::string{e.key()}].push_back(test::seq_of(e));
    keys_.emplace_back(e.key());
  }
  /// The key of every applied event, in the order applied.
  std::vector<std::string> keys() const {
    std::lock_guard<std::mutex> g{mtx_};
    return keys_;
  }
  size_t distinct() const {
    std::lock_guard<std::mutex> g{mtx_};
    return applied_.size();
  }
  int max_count() const {
    std::lock_guard<std::mutex> g{mtx_};
    int m = 0;
    for (auto& [id, n] : applied_) m = std::max(m, n);
    return m;
  }
  int count(const std::string& id) const {
    std::lock_guard<std::mutex> g{mtx_};
    auto it = applied_.find(id);
    return it == applied_.end() ? 0 : it->second;
  }
  std::vector<int64_t> order(const std::string& key) const {
    std::lock_guard<std::mutex> g{mtx_};
    auto it = order_.find(key);
    return it == order_.end() ? std::vector<int64_t>{} : it->second;
  }

 private:
  mutable std::mutex mtx_;
  std::map<std::string, int> applied_;
  std::map<std::string, std::vector<int64_t>> order_;
  std::vector<std::string> keys_;
};

const supervision_node* find_node(const supervision_node& n, const std::string& prefix) {
  if (n.name.rfind(prefix, 0) == 0) return &n;
  for (auto& c : n.children)
    if (auto* hit = find_node(c, prefix)) return hit;
  return nullptr;
}

}  // namespace

TEST_CASE(
    "a handler that fails twice then succeeds applies the event once, in key order, "
    "while other keys flow",
    "[runtime][supervision]") {
  runtime rt{test::quiet_config()};
  REQUIRE(rt.create_topic("orders", {.partitions = 1}));  // both keys share the partition
  ledger led;
  std::atomic<int> a0_attempts{0};
  std::atomic<int> b_done_before_a0{-1};
  std::atomic<int> b_applied{0};
  constexpr int n_b = 200;
  // The retry waits 1 s: every B event must be applied inside that window, so B is not held
  // up by A's failure for longer than the retry itself.
  auto sub = rt.subscribe("orders", "billing",
                          [&](const event_view& e, handler_context& ctx) -> caf::error {
                            if (e.key() == "A" && test::seq_of(e) == 0) {
                              ++a0_attempts;
                              if (ctx.attempt() <= 2)
                                return make_error(errc::handler_failed, "gateway timeout");
                              b_done_before_a0 = b_applied.load();
                            }
                            if (e.key() == "B") ++b_applied;
                            led.apply(e);
                            return caf::none;
                          },
                          {.retry = quick_retries(3, 500ms)});
  REQUIRE(sub);
  auto p = rt.make_producer();
  REQUIRE(p.publish(test::order("orders", "A", 0)));
  for (int i = 1; i < 5; ++i) REQUIRE(p.publish(test::order("orders", "A", i)));
  for (int i = 0; i < n_b; ++i) REQUIRE(p.publish(test::order("orders", "B", i)));

  REQUIRE(test::wait_until([&] { return led.order("A").size() == 5; }));
  CHECK(a0_attempts == 3);
  CHECK(led.order("A") == std::vector<int64_t>{0, 1, 2, 3, 4});
  CHECK(b_done_before_a0 == n_b);
  CHECK(led.max_count() == 1);
  CHECK(sub->probe().retries == 2);
  CHECK(sub->probe().dead_letters == 0);
}

TEST_CASE("strict partition order holds every later event back behind a failing one",
          "[runtime][supervision]") {
  runtime rt{test::quiet_config()};
  REQUIRE(rt.create_topic("orders", {.partitions = 1}));
  ledger led;
  auto opts = subscribe_options{.retry = quick_retries(3, 20ms)};
  opts.retry.strict_order = true;
  auto sub = rt.subscribe(
      "orders", "billing",
      [&](const event_view& e, handler_context& ctx) -> caf::error {
        if (e.key() == "A" && ctx.attempt() <= 2)
          return make_error(errc::handler_failed, "gateway timeout");
        led.apply(e);
        return caf::none;
      },
      opts);
  REQUIRE(sub);
  auto p = rt.make_producer();
  REQUIRE(p.publish(test::order("orders", "A", 0)));
  for (int i = 0; i < 50; ++i) REQUIRE(p.publish(test::order("orders", "B", i)));
  REQUIRE(test::wait_until([&] { return led.distinct() == 51; }));
  // Strict order: the first applied event is A's, after its retries, then every B.
  auto items_a = led.order("A");
  REQUIRE(items_a == std::vector<int64_t>{0});
  auto keys = led.keys();
  REQUIRE(keys.size() == 51);
  CHECK(keys.front() == "A");
  CHECK(led.order("B").size() == 50);
  CHECK(led.max_count() == 1);
}

TEST_CASE(
    "an event that always fails lands in <topic>.dlq with its whole story, and its "
    "partition keeps flowing",
    "[runtime][supervision]") {
  runtime rt{test::quiet_config()};
  REQUIRE(rt.create_topic("orders", {.partitions = 2}));
  ledger led;
  auto sub = rt.subscribe("orders", "billing",
                          [&](const event_view& e) -> caf::error {
                            if (e.key() == "POISON")
                              return make_error(errc::handler_failed, "card declined: 51");
                            led.apply(e);
                            return caf::none;
                          },
                          {.retry = quick_retries(3)});
  REQUIRE(sub);
  auto p = rt.make_producer();
  auto poison = event::builder{"orders", "OrderPlaced"}
                    .key("POISON")
                    .payload(R"({"seq":7})")
                    .correlation_id("flow-42")
                    .header("tenant", "acme")
                    .build();
  auto ack = p.publish(poison);
  REQUIRE(ack);
  for (int i = 0; i < 300; ++i)
    REQUIRE(p.publish(test::order("orders", "K" + std::to_string(i), i)));

  REQUIRE(test::wait_until([&] { return led.distinct() == 300; }));
  REQUIRE(test::wait_until([&] {
    auto dl = rt.dead_letters("orders");
    return dl && dl->size() == 1;
  }));
  auto dl = rt.dead_letters("orders");
  REQUIRE(dl);
  auto& d = dl->front();
  CHECK(d.original.id() == poison.id());
  CHECK(d.original.correlation_id() == "flow-42");
  CHECK(d.original.header("tenant") == std::optional<std::string_view>{"acme"});
  CHECK_FALSE(d.original.header(dlq_header::topic));  // the story is not part of the original
  CHECK(d.story.topic == "orders");
  CHECK(d.story.partition == ack->partition);
  CHECK(d.story.offset == ack->offset);
  CHECK(d.story.group == "billing");
  CHECK(d.story.attempts == 3);
  CHECK(d.story.first_failure.value > 0);
  CHECK(d.story.first_failure.value <= d.story.last_failure.value);
  CHECK(d.story.error.find("card declined: 51") != std::string::npos);

  // The dead-letter topic is a normal topic: its raw record carries every header.
  auto raw = rt.read("orders.dlq", 0, offset{0}, 10);
  REQUIRE(raw);
  REQUIRE(raw->size() == 1);
  auto& r = raw->front();
  for (auto* h : {dlq_header::topic, dlq_header::partition, dlq_header::offset, dlq_header::group,
                  dlq_header::attempts, dlq_header::first_failure, dlq_header::last_failure,
                  dlq_header::error})
    CHECK(r.header(h));
  CHECK(r.header(dlq_header::attempts) == std::optional<std::string_view>{"3"});
  CHECK(r.id() == poison.id());
  CHECK(sub->probe().dead_letters == 1);
  // The group committed past the poison event: nothing is left to consume.
  REQUIRE(test::wait_until([&] {
    auto lag = rt.group_lag("billing");
    return lag && lag->total == 0;
  }));
}

TEST_CASE(
    "redrive after a fix handles the dead letters once; a second redrive applies nothing "
    "twice; a key filter redrives only that key",
    "[runtime][supervision]") {
  runtime rt{test::quiet_config()};
  REQUIRE(rt.create_topic("payments", {.partitions = 2}));
  ledger led;
  std::atomic<bool> gateway_down{true};
  auto sub = rt.subscribe("payments", "settle",
                          [&](const event_view& e) -> caf::error {
                            if (gateway_down && e.key() != "ok")
                              return make_error(errc::handler_failed, "gateway down");
                            led.apply(e);
                            return caf::none;
                          },
                          {.retry = quick_retries(2), .idempotent = true});
  REQUIRE(sub);
  auto p = rt.make_producer();
  std::vector<event> failing;
  for (int i = 0; i < 10; ++i) failing.push_back(test::order("payments", "X", i));
  for (int i = 0; i < 5; ++i) failing.push_back(test::order("payments", "Y", 100 + i));
  REQUIRE(p.publish(failing));
  REQUIRE(p.publish(test::order("payments", "ok", 1000)));
  REQUIRE(test::wait_until([&] {
    auto dl = rt.dead_letters("payments");
    return dl && dl->size() == 15;
  }));
  CHECK(led.distinct() == 1);

  gateway_down = false;
  auto only_x = rt.redrive("payments", {.key = "X"});
  REQUIRE(only_x);
  CHECK(*only_x == 10);
  REQUIRE(test::wait_until([&] { return led.distinct() == 11; }));
  CHECK(led.order("Y").empty());
  CHECK(led.order("X") == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});

  auto all = rt.redrive("payments");
  REQUIRE(all);
  CHECK(*all == 15);
  REQUIRE(test::wait_until([&] { return led.distinct() == 16; }));
  // Y's five are new; X's ten arrive a second time and the idempotent member skips them.
  REQUIRE(test::wait_until([&] { return sub->probe().duplicates >= 10; }));
  CHECK(led.max_count() == 1);
  for (auto& e : failing) CHECK(led.count(std::string{e.id_text()}) == 1);
}

TEST_CASE(
    "a member that throws 1,000 times is restarted each time; an idempotent handler "
    "applies every event exactly once",
    "[runtime][supervision][fault]") {
  auto cfg = test::quiet_config();
  cfg.broker.partition.max_delivery_events = 64;
  runtime rt{cfg};
  REQUIRE(rt.create_topic("orders", {.partitions = 4}));
  ledger led;
  std::atomic<int> throws{0};
  std::atomic<int64_t> calls{0};
  constexpr int n = 4000;
  constexpr int crashes = 1000;
  auto sub = rt.subscribe(
      "orders", "billing",
      [&](const event_view& e) {
        // Every third call throws until 1,000 crashes happened: mid-delivery, after some of
        // the delivery's events were applied and before the member committed them.
        if (calls.fetch_add(1) % 3 == 2 && throws.load() < crashes) {
          ++throws;
          throw std::runtime_error("segfault-like crash in the handler");
        }
        led.apply(e);
      },
      {.on_failure = failure_policy::restart_member,
       .idempotent = true,
       .restarts = {crashes + 10, std::chrono::seconds{600}},
       .restart_backoff = {.initial = 1ms, .multiplier = 1.0, .max = 1ms, .jitter = 0.0}});
  REQUIRE(sub);
  auto p = rt.make_producer();
  std::vector<event> evs;
  for (int i = 0; i < n; ++i) evs.push_back(test::order("orders", "K" + std::to_string(i % 97), i));
  REQUIRE(p.publish(evs));
  REQUIRE(test::wait_until([&] { return led.distinct() == n; }, std::chrono::seconds{120}));
  CHECK(throws == crashes);
  CHECK(sub->probe().starts == crashes + 1);
  CHECK(led.max_count() == 1);
  CHECK(sub->active());
  // Per key, every event was applied in publish order despite the crashes.
  for (int k = 0; k < 97; ++k) {
    auto o = led.order("K" + std::to_string(k));
    CHECK(std::is_sorted(o.begin(), o.end()));
  }
}

TEST_CASE(
    "a member that fails more often than its restart limit escalates; the rest of the "
    "runtime keeps running",
    "[runtime][supervision][fault]") {
  runtime rt{test::quiet_config()};
  REQUIRE(rt.create_topic("orders", {.partitions = 2}));
  std::atomic<int> calls{0};
  auto bad = rt.subscribe(
      "orders", "fragile",
      [&](const event_view&) {
        ++calls;
        throw std::runtime_error("config file missing");
      },
      {.on_failure = failure_policy::restart_member,
       .restarts = {3, std::chrono::seconds{60}},
       .restart_backoff = {.initial = 1ms, .multiplier = 2.0, .max = 5ms, .jitter = 0.0}});
  REQUIRE(bad);
  std::atomic<int> healthy{0};
  auto good = rt.subscribe("orders", "healthy", [&](const event_view&) { ++healthy; });
  REQUIRE(good);
  auto p = rt.make_producer();
  REQUIRE(p.publish(test::order("orders", "K", 1)));
  REQUIRE(test::wait_until([&] { return !bad->active(); }));
  CHECK(is(bad->failure(), errc::escalated));
  CHECK(calls == 4);  // the first run and three restarts
  CHECK(bad->probe().starts == 4);
  REQUIRE(p.publish(test::order("orders", "K", 2)));
  REQUIRE(test::wait_until([&] { return healthy == 2; }));
  CHECK(good->active());
}

TEST_CASE(
    "a killed member is restarted by its supervisor, rejoins its group and goes on "
    "consuming; the supervision tree shows it",
    "[runtime][supervision][fault]") {
  runtime rt{test::quiet_config()};
  REQUIRE(rt.create_topic("orders", {.partitions = 3}));
  ledger led;
  auto sub = rt.subscribe("orders", "billing", [&](const event_view& e) { led.apply(e); },
                          {.member = "m1"});
  REQUIRE(sub);
  REQUIRE(test::wait_stable(rt, "orders", "billing", 1));
  auto first = sub->actor();
  auto p = rt.make_producer();
  for (int i = 0; i < 30; ++i)
    REQUIRE(p.publish(test::order("orders", "K" + std::to_string(i), i)));
  REQUIRE(test::wait_until([&] { return led.distinct() == 30; }));

  caf::anon_send_exit(first, caf::exit_reason::kill);
  REQUIRE(test::wait_until([&] { return sub->probe().starts == 2 && sub->actor() != first; }));
  REQUIRE(test::wait_stable(rt, "orders", "billing", 1));
  CHECK(test::partitions_of(rt, "billing", "m1").size() == 3);
  for (int i = 30; i < 60; ++i)
    REQUIRE(p.publish(test::order("orders", "K" + std::to_string(i), i)));
  REQUIRE(test::wait_until([&] { return led.distinct() == 60; }));
  CHECK(sub->active());

  auto tree = rt.supervision_tree();
  REQUIRE(tree);
  CHECK(tree->name == "herald");
  CHECK(tree->kind == "supervisor");
  auto* subs = find_node(*tree, "subscriptions");
  REQUIRE(subs);
  auto* s = find_node(*subs, "subscription/billing/m1");
  REQUIRE(s);
  REQUIRE(s->children.size() == 1);
  auto& member = s->children.front();
  CHECK(member.kind == "worker");
  CHECK(member.state == "running");
  CHECK(member.restarts == 1);
  CHECK(member.actor_id == sub->actor().id());
  CHECK(member.last_failure.find("kill") != std::string::npos);
}

TEST_CASE("shutdown while an event is between retries still writes its dead letter and drains",
          "[runtime][supervision]") {
  auto cfg = test::quiet_config();
  cfg.drain_timeout = std::chrono::seconds{20};
  runtime rt{cfg};
  REQUIRE(rt.create_topic("orders", {.partitions = 1}));
  std::atomic<int> attempts{0};
  auto sub = rt.subscribe("orders", "billing",
                          [&](const event_view&) -> caf::error {
                            ++attempts;
                            return make_error(errc::handler_failed, "gateway down");
                          },
                          {.retry = quick_retries(2, 200ms)});
  REQUIRE(sub);
  auto p = rt.make_producer();
  REQUIRE(p.publish(test::order("orders", "K", 1)));
  REQUIRE(test::wait_until([&] { return attempts == 1; }));
  // The last attempt and the dead letter happen during the drain.
  auto err = rt.shutdown();
  INFO(to_string(err));
  CHECK_FALSE(err);
  CHECK(attempts == 2);
  CHECK(sub->probe().dead_letters == 1);
}
