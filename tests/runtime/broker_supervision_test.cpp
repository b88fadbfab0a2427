// The broker side of supervision: idempotent producers (a resent batch is dropped and
// acknowledged with its original offsets) and partition actors that crash and are restarted
// by the topic registry on their log, while producers resend what was unacknowledged and
// consumer groups move to the new actor.
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "runtime/herald.hpp"
#include "tests/support/builders.hpp"
#include "tests/support/printing.hpp"
#include "tests/support/wait.hpp"

using namespace herald;
using namespace std::chrono_literals;

namespace {

const supervision_node* find_node(const supervision_node& n, const std::string& name) {
  if (n.name == name) return &n;
  for (auto& c : n.children)
    if (auto* hit = find_node(c, name)) return hit;
  return nullptr;
}

int64_t restarts_of(runtime& rt, const std::string& name) {
  auto tree = rt.supervision_tree();
  if (!tree) return -1;
  auto* n = find_node(*tree, name);
  return n ? n->restarts : -1;
}

/// Every event id stored in `topic`, read back from the logs.
std::vector<std::string> stored_ids(runtime& rt, const std::string& topic, int32_t partitions) {
  std::vector<std::string> ids;
  for (int32_t p = 0; p < partitions; ++p) {
    offset from{0};
    for (;;) {
      auto evs = rt.read(topic, p, from, 4096);
      REQUIRE(evs);
      if (evs->empty()) break;
      for (auto& e : *evs) ids.emplace_back(e.id_text());
      from = offset{evs->back().offset().value + 1};
    }
  }
  return ids;
}

}  // namespace

TEST_CASE("a batch resent by its producer is dropped and acknowledged with its original offsets",
          "[runtime][supervision][idempotence]") {
  runtime rt{test::quiet_config()};
  auto md = rt.create_topic("orders", {.partitions = 1});
  REQUIRE(md);
  auto part = md->partitions.at(0);
  batch_builder b;
  for (int i = 0; i < 10; ++i) REQUIRE_FALSE(b.add(test::order("orders", "K", i)));
  auto batch = b.seal(producer_id{77}, 5);
  // Another producer's batch in between, so the duplicate is not merely "the last one".
  batch_builder other;
  REQUIRE_FALSE(other.add(test::order("orders", "L", 1)));
  auto other_batch = other.seal(producer_id{78}, 0);

  caf::scoped_actor self{rt.system()};
  std::vector<append_ack> acks;
  for (auto* bp : {&batch, &other_batch, &batch}) {
    self->send(part, append_batch{partition_id{0}, *bp});
    self->receive([&](append_ack& a) { acks.push_back(std::move(a)); },
                  caf::after(std::chrono::seconds{20}) >> [] { FAIL("no acknowledgement"); });
  }
  REQUIRE(acks.size() == 3);
  CHECK_FALSE(acks[0].error);
  CHECK_FALSE(acks[0].duplicate);
  CHECK(acks[0].base == offset{0});
  CHECK(acks[0].count == 10);
  CHECK(acks[1].base == offset{10});
  CHECK_FALSE(acks[2].error);
  CHECK(acks[2].duplicate);
  CHECK(acks[2].base == offset{0});
  CHECK(acks[2].count == 10);
  CHECK(acks[2].seq == 5);
  auto st = rt.describe_partition("orders", 0);
  REQUIRE(st);
  CHECK(st->end == offset{11});
  CHECK(stored_ids(rt, "orders", 1).size() == 11);
}

TEST_CASE(
    "a partition that crashes is restarted on its log; producers resend what was not "
    "acknowledged, nothing is lost or stored twice, and the group goes on",
    "[runtime][supervision][fault]") {
  auto cfg = test::quiet_config();
  cfg.producer.max_inflight_batches = 8;
  cfg.producer.batch_max_events = 64;
  runtime rt{cfg};
  REQUIRE(rt.create_topic("orders", {.partitions = 2}));
  std::mutex mtx;
  std::set<std::string> seen;
  auto sub = rt.subscribe("orders", "billing", [&](const event_view& e) {
    std::lock_guard<std::mutex> g{mtx};
    seen.emplace(e.id_text());
  });
  REQUIRE(sub);
  auto seen_count = [&] {
    std::lock_guard<std::mutex> g{mtx};
    return seen.size();
  };

  constexpr int n = 30000;
  auto p = rt.make_producer();
  std::atomic<int> published{0};
  caf::error publish_error;
  std::thread writer{[&] {
    for (int i = 0; i < n; ++i) {
      if (auto err = p.publish_async(test::order("orders", "K" + std::to_string(i % 50), i))) {
        publish_error = err;
        return;
      }
      published.store(i + 1);
    }
    publish_error = p.flush();
  }};

  // Crash partition 0 while the producer streams into it, twice.
  for (int round = 1; round <= 2; ++round) {
    REQUIRE(test::wait_until([&] { return published.load() >= round * n / 4; }));
    auto md = rt.topic("orders");
    REQUIRE(md);
    caf::anon_send_exit(md->partitions.at(0), caf::exit_reason::kill);
    REQUIRE(test::wait_until([&] { return restarts_of(rt, "partition/orders/0") == round; }));
  }
  writer.join();
  INFO("publish error: " << to_string(publish_error));
  REQUIRE_FALSE(publish_error);
  CHECK(p.stats().acknowledged == n);
  CHECK(p.stats().failed == 0);

  auto ids = stored_ids(rt, "orders", 2);
  CHECK(ids.size() == static_cast<size_t>(n));
  CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == static_cast<size_t>(n));
  REQUIRE(test::wait_until([&] { return seen_count() == static_cast<size_t>(n); }));

  auto tree = rt.supervision_tree();
  REQUIRE(tree);
  auto* node = find_node(*tree, "partition/orders/0");
  REQUIRE(node);
  CHECK(node->state == "running");
  CHECK(node->last_failure.find("kill") != std::string::npos);
  CHECK(find_node(*tree, "partition/orders/1")->restarts == 0);
}

TEST_CASE(
    "a partition that crashes more often than allowed stays down and publishing to it "
    "fails with a clear error",
    "[runtime][supervision][fault]") {
  auto cfg = test::quiet_config();
  cfg.broker.partition_restarts = {1, std::chrono::seconds{60}};
  runtime rt{cfg};
  REQUIRE(rt.create_topic("orders", {.partitions = 1}));
  auto p = rt.make_producer();
  REQUIRE(p.publish(test::order("orders", "K", 0)));
  auto md = rt.topic("orders");
  REQUIRE(md);
  caf::anon_send_exit(md->partitions.at(0), caf::exit_reason::kill);
  REQUIRE(test::wait_until([&] { return restarts_of(rt, "partition/orders/0") == 1; }));
  REQUIRE(p.publish(test::order("orders", "K", 1)));  // the restarted one works
  md = rt.topic("orders");
  REQUIRE(md);
  caf::anon_send_exit(md->partitions.at(0), caf::exit_reason::kill);
  REQUIRE(test::wait_until([&] {
    auto tree = rt.supervision_tree();
    auto* n = tree ? find_node(*tree, "partition/orders/0") : nullptr;
    return n && n->state == "stopped";
  }));
  auto r = p.publish(test::order("orders", "K", 2));
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::unknown_partition));
}

TEST_CASE(
    "a group coordinator that crashes is restarted with the group's commits; its members "
    "rejoin and nothing is replayed or lost",
    "[runtime][supervision][fault]") {
  runtime rt{test::quiet_config()};
  REQUIRE(rt.create_topic("orders", {.partitions = 4}));
  std::mutex mtx;
  std::multiset<int64_t> handled;
  auto handler = [&](const event_view& e) {
    std::lock_guard<std::mutex> g{mtx};
    handled.insert(test::seq_of(e));
  };
  auto count = [&] {
    std::lock_guard<std::mutex> g{mtx};
    return handled.size();
  };
  auto m1 = rt.subscribe("orders", "billing", handler, {.member = "m1"});
  auto m2 = rt.subscribe("orders", "billing", handler, {.member = "m2"});
  REQUIRE(m1);
  REQUIRE(m2);
  auto p = rt.make_producer();
  std::vector<event> first, second;
  for (int i = 0; i < 1000; ++i) first.push_back(test::order("orders", "K" + std::to_string(i), i));
  for (int i = 1000; i < 2000; ++i)
    second.push_back(test::order("orders", "K" + std::to_string(i), i));
  REQUIRE(p.publish(first));
  REQUIRE(test::wait_until([&] {
    auto lag = rt.group_lag("billing");
    return count() == 1000 && lag && lag->total == 0;
  }));

  caf::scoped_actor self{rt.system()};
  caf::actor coordinator;
  self->request(rt.registry(), std::chrono::seconds{10}, get_group{"billing"})
      .receive([&](caf::actor& g) { coordinator = g; },
               [&](caf::error& err) { FAIL("no coordinator: " << to_string(err)); });
  caf::anon_send_exit(coordinator, caf::exit_reason::kill);
  REQUIRE(test::wait_until([&] { return restarts_of(rt, "group/billing") == 1; }));
  REQUIRE(test::wait_until([&] {
    auto d = rt.describe_group("billing");
    if (!d || d->members.size() != 2) return false;
    for (auto& pa : d->partitions)
      if (pa.member.empty() || pa.revoking) return false;
    return m1->assigned_partitions() + m2->assigned_partitions() == 4;
  }));

  REQUIRE(p.publish(second));
  REQUIRE(test::wait_until([&] { return count() >= 2000; }));
  REQUIRE(test::wait_until([&] {
    auto lag = rt.group_lag("billing");
    return lag && lag->total == 0;
  }));
  std::lock_guard<std::mutex> g{mtx};
  CHECK(handled.size() == 2000);  // the commits survived: nothing was replayed
  for (int i = 0; i < 2000; ++i) CHECK(handled.count(i) == 1);
  CHECK(m1->active());
  CHECK(m2->active());
}
