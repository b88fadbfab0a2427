// A member that dies with events in flight: the group hands its partitions to the survivors
// from the last committed offsets, so nothing is lost (duplicates are allowed: at-least-once).
// A member's supervisor would restart it; these tests give the dying member no restarts
// (`no_restarts`), so that the handover to the survivor is what they observe.
// tests/runtime/supervision_test.cpp covers restarts.
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include "runtime/herald.hpp"
#include "tests/support/builders.hpp"
#include "tests/support/gate.hpp"
#include "tests/support/groups.hpp"
#include "tests/support/printing.hpp"
#include "tests/support/wait.hpp"

using namespace herald;

namespace {

std::vector<event> orders(int first, int n) {
  std::vector<event> out;
  for (int i = first; i < first + n; ++i)
    out.push_back(test::order("orders", "ORD-" + std::to_string(i), i));
  return out;
}

/// True when `group`'s cursor on each of `partitions` has reached the log end: the partition
/// has pushed every event into the owner's mailbox.
bool pushed_everything(runtime& rt, const std::string& group, const std::vector<int32_t>& ps) {
  for (auto p : ps) {
    auto st = rt.describe_partition("orders", p);
    if (!st) return false;
    bool done = false;
    for (auto& c : st->groups)
      if (c.group == group && c.next == st->end) done = true;
    if (!done) return false;
  }
  return true;
}

const restart_intensity no_restarts{0, std::chrono::seconds{10}};

}  // namespace

TEST_CASE("a member killed mid-batch loses nothing: the survivor gets its uncommitted events",
          "[runtime][fault]") {
  test::recorder rec;
  test::gate gate;
  auto cfg = test::quiet_config();
  cfg.worker_threads = 4;  // m1 holds one scheduler thread while it blocks
  // Small deliveries, so that several queue up in m1's mailbox behind the one it is in.
  cfg.broker.partition.max_delivery_events = 8;
  runtime rt{cfg};
  test::open_on_exit release{gate};
  REQUIRE(rt.create_topic("orders", {.partitions = 4}));
  auto m1 = rt.subscribe("orders", "billing",
                         [&](const event_view& e) {
                           gate.wait();
                           rec.add("m1", e);
                         },
                         {.member = "m1", .restarts = no_restarts});
  auto m2 = rt.subscribe("orders", "billing", [&](const event_view& e) { rec.add("m2", e); },
                         {.member = "m2"});
  REQUIRE(m1);
  REQUIRE(m2);
  REQUIRE(test::wait_stable(rt, "orders", "billing", 2));
  auto m1_partitions = test::partitions_of(rt, "billing", "m1");
  REQUIRE(m1_partitions.size() == 2);
  const std::set<int32_t> m1_set(m1_partitions.begin(), m1_partitions.end());

  auto p = rt.make_producer();
  auto before_kill = orders(0, 200);
  REQUIRE(p.publish(before_kill));
  // m1 is now inside its handler, in the middle of its first delivery.
  REQUIRE(test::wait_until([&] { return gate.arrived() >= 1; }));
  caf::anon_send_exit(m1->actor(), caf::exit_reason::kill);
  // Published after the kill: delivered to m1 (it still holds its partitions) but queued
  // behind the kill, so m1 never handles or commits them.
  auto after_kill = orders(200, 200);
  auto acks = p.publish(after_kill);
  REQUIRE(acks);
  REQUIRE(test::wait_until([&] { return pushed_everything(rt, "billing", m1_partitions); }));
  std::set<std::string> in_m1_mailbox;
  for (size_t i = 0; i < after_kill.size(); ++i)
    if (m1_set.count((*acks)[i].partition.value)) in_m1_mailbox.emplace(after_kill[i].id_text());
  REQUIRE_FALSE(in_m1_mailbox.empty());

  gate.open();
  REQUIRE(test::wait_until([&] { return !m1->active(); }));
  CHECK(is(m1->failure(), errc::escalated));
  CHECK(describe(m1->failure()).find("kill") != std::string::npos);
  REQUIRE(test::wait_until([&] { return test::group_drained(rt, "billing"); }));

  // No loss: every event was handled by someone.
  auto counts = rec.id_counts();
  for (auto* batch : {&before_kill, &after_kill})
    for (auto& e : *batch) {
      INFO("event " << e.id_text());
      CHECK(counts[std::string{e.id_text()}] >= 1);
    }
  // What sat uncommitted in m1's mailbox went to m2.
  std::set<std::string> by_m1, by_m2;
  for (auto& it : rec.items()) (it.member == "m1" ? by_m1 : by_m2).insert(it.id);
  for (auto& id : in_m1_mailbox) {
    INFO("event " << id);
    CHECK(by_m1.count(id) == 0);
    CHECK(by_m2.count(id) == 1);
  }
  // m1 did handle something before it died (the delivery it was in), and m2 now owns all.
  CHECK_FALSE(by_m1.empty());
  CHECK(test::partitions_of(rt, "billing", "m2").size() == 4);
}

TEST_CASE("killing a member while events stream loses none of them", "[runtime][fault]") {
  test::recorder rec;
  auto cfg = test::quiet_config();
  cfg.broker.partition.max_delivery_events = 16;
  runtime rt{cfg};
  REQUIRE(rt.create_topic("orders", {.partitions = 6}));
  std::vector<subscription> subs;
  for (int m = 0; m < 3; ++m) {
    auto name = "m" + std::to_string(m);
    auto s =
        rt.subscribe("orders", "billing", [&rec, name](const event_view& e) { rec.add(name, e); },
                     {.member = name, .restarts = no_restarts});
    REQUIRE(s);
    subs.push_back(std::move(*s));
  }
  REQUIRE(test::wait_stable(rt, "orders", "billing", 3));

  auto p = rt.make_producer();
  constexpr int total = 6000;
  std::vector<event> published;
  published.reserve(total);
  std::atomic<bool> done{false};
  caf::error publish_error;
  // Catch is not thread-safe: the publishing thread only records.
  std::thread publisher{[&] {
    for (int i = 0; i < total && !publish_error; ++i) {
      published.push_back(test::order("orders", "ORD-" + std::to_string(i % 97), i));
      publish_error = p.publish_async(published.back());
    }
    if (!publish_error) publish_error = p.flush();
    done = true;
  }};
  // Kill m0 once it is busy, and m1 a little later, while events keep arriving.
  auto handled_by = [&](const std::string& m) {
    size_t n = 0;
    for (auto& it : rec.items()) n += it.member == m ? 1 : 0;
    return n;
  };
  bool m0_busy = test::wait_until([&] { return handled_by("m0") >= 100 || done; });
  caf::anon_send_exit(subs[0].actor(), caf::exit_reason::kill);
  bool more_handled = test::wait_until([&] { return rec.size() >= 2000 || done; });
  caf::anon_send_exit(subs[1].actor(), caf::exit_reason::kill);
  publisher.join();
  INFO(describe(publish_error));
  REQUIRE_FALSE(publish_error);
  CHECK(m0_busy);
  CHECK(more_handled);
  REQUIRE(test::wait_until([&] { return !subs[0].active() && !subs[1].active(); }));
  REQUIRE(test::wait_until([&] { return test::group_drained(rt, "billing"); }));
  auto counts = rec.id_counts();
  for (auto& e : published) {
    INFO("event " << e.id_text());
    CHECK(counts[std::string{e.id_text()}] >= 1);
  }
  CHECK(test::partitions_of(rt, "billing", "m2").size() == 6);
}

TEST_CASE(
    "a handler that throws, with restart_member and no restarts left, hands the failed "
    "event and the rest to the survivor",
    "[runtime][fault]") {
  test::recorder rec;
  std::mutex mtx;
  std::string failed_id;
  runtime rt{test::quiet_config()};
  REQUIRE(rt.create_topic("orders", {.partitions = 4}));
  auto m1 = rt.subscribe(
      "orders", "billing",
      [&](const event_view& e) {
        if (test::seq_of(e) >= 50) {
          std::lock_guard<std::mutex> guard{mtx};
          if (failed_id.empty()) failed_id = std::string{e.id_text()};
          throw std::runtime_error("boom");
        }
        rec.add("m1", e);
      },
      {.member = "m1", .on_failure = failure_policy::restart_member, .restarts = no_restarts});
  auto m2 = rt.subscribe("orders", "billing", [&](const event_view& e) { rec.add("m2", e); },
                         {.member = "m2"});
  REQUIRE(m1);
  REQUIRE(m2);
  REQUIRE(test::wait_stable(rt, "orders", "billing", 2));
  auto p = rt.make_producer();
  auto evs = orders(0, 300);
  REQUIRE(p.publish(evs));
  REQUIRE(test::wait_until([&] { return !m1->active(); }));
  CHECK(is(m1->failure(), errc::escalated));
  CHECK(describe(m1->failure()).find("boom") != std::string::npos);
  REQUIRE(test::wait_until([&] { return test::group_drained(rt, "billing"); }));
  std::string failed;
  {
    std::lock_guard<std::mutex> guard{mtx};
    failed = failed_id;
  }
  REQUIRE_FALSE(failed.empty());
  auto counts = rec.id_counts();
  for (auto& e : evs) {
    INFO("event " << e.id_text());
    CHECK(counts[std::string{e.id_text()}] >= 1);
  }
  bool m2_got_it = false;
  for (auto& it : rec.items())
    if (it.id == failed && it.member == "m2") m2_got_it = true;
  CHECK(m2_got_it);
}

TEST_CASE("a member that dies while its partitions are being revoked hands them over at once",
          "[runtime][fault]") {
  test::recorder rec;
  test::gate gate;
  auto cfg = test::quiet_config();
  cfg.worker_threads = 4;
  // Far beyond the wait bound: the handover must come from the death, not from the timeout.
  cfg.broker.coordinator.revoke_timeout = std::chrono::hours{1};
  runtime rt{cfg};
  test::open_on_exit release{gate};
  REQUIRE(rt.create_topic("orders", {.partitions = 4}));
  auto m1 = rt.subscribe("orders", "billing",
                         [&](const event_view& e) {
                           gate.wait();
                           rec.add("m1", e);
                         },
                         {.member = "m1", .restarts = no_restarts});
  REQUIRE(m1);
  REQUIRE(test::wait_stable(rt, "orders", "billing", 1));
  auto p = rt.make_producer();
  auto evs = orders(0, 100);
  REQUIRE(p.publish(evs));
  REQUIRE(test::wait_until([&] { return gate.arrived() >= 1; }));
  // m2 joins: two partitions must move, and m1 (stuck) cannot answer the revoke.
  auto m2 = rt.subscribe("orders", "billing", [&](const event_view& e) { rec.add("m2", e); },
                         {.member = "m2"});
  REQUIRE(m2);
  auto revoking = [&] {
    auto d = rt.describe_group("billing");
    int n = 0;
    if (d)
      for (auto& pa : d->partitions) n += pa.revoking ? 1 : 0;
    return n;
  };
  REQUIRE(test::wait_until([&] { return revoking() == 2; }));
  caf::anon_send_exit(m1->actor(), caf::exit_reason::kill);
  gate.open();
  REQUIRE(test::wait_until([&] { return !m1->active(); }));
  REQUIRE(test::wait_until([&] { return test::group_settled(rt, "billing", 1); }));
  CHECK(test::partitions_of(rt, "billing", "m2").size() == 4);
  auto more = orders(100, 100);
  REQUIRE(p.publish(more));
  REQUIRE(test::wait_until([&] { return test::group_drained(rt, "billing"); }));
  auto counts = rec.id_counts();
  for (auto* batch : {&evs, &more})
    for (auto& e : *batch) {
      INFO("event " << e.id_text());
      CHECK(counts[std::string{e.id_text()}] >= 1);
    }
}
