// Consumer groups end to end on a real actor system: order per key in every group, fan-out
// to every group, and competing consumers inside one group.
#include <catch2/catch.hpp>

#include <map>
#include <memory>
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

std::string key_name(int k) {
  return "ORD-" + std::to_string(k);
}

/// Publishes `per_key` events for every key in `keys` through `p`, interleaving the keys, and
/// waits for their acknowledgements. Appends the events to `out`; returns the first error.
/// No Catch assertions here: it runs on threads other than the test's, and Catch is not
/// thread-safe.
caf::error publish_interleaved(producer& p, const std::string& topic, const std::vector<int>& keys,
                               int per_key, std::vector<event>& out, int first_seq = 0) {
  for (int seq = first_seq; seq < first_seq + per_key; ++seq)
    for (int k : keys) {
      out.push_back(test::order(topic, key_name(k), seq));
      if (auto err = p.publish_async(out.back())) return err;
    }
  return p.flush();
}

}  // namespace

TEST_CASE("every group sees each key's events in publish order", "[runtime][order]") {
  constexpr int groups = 3;
  constexpr int members_per_group = 2;
  constexpr int keys = 60;
  constexpr int per_key = 40;
  std::vector<test::recorder> recs(groups);
  runtime rt{test::quiet_config()};
  REQUIRE(rt.create_topic("orders", {.partitions = 4}));
  std::vector<subscription> subs;
  for (int g = 0; g < groups; ++g) {
    auto group = "g" + std::to_string(g);
    for (int m = 0; m < members_per_group; ++m) {
      auto member = group + "-m" + std::to_string(m);
      auto s = rt.subscribe("orders", group,
                            [&rec = recs[g], member](const event_view& e) { rec.add(member, e); },
                            {.member = member});
      REQUIRE(s);
      subs.push_back(std::move(*s));
    }
  }
  for (int g = 0; g < groups; ++g)
    REQUIRE(test::wait_stable(rt, "orders", "g" + std::to_string(g), members_per_group));

  // Two publishing threads, each owning half the keys: a key's order is its thread's order.
  std::vector<int> even, odd;
  for (int k = 0; k < keys; ++k) (k % 2 ? odd : even).push_back(k);
  auto p = rt.make_producer();
  std::vector<event> published_a, published_b;
  caf::error err_b;
  std::thread other{[&] {
    err_b = publish_interleaved(p, "orders", odd, per_key, published_b);
  }};
  auto err_a = publish_interleaved(p, "orders", even, per_key, published_a);
  other.join();
  INFO(describe(err_a) << " / " << describe(err_b));
  REQUIRE_FALSE(err_a);
  REQUIRE_FALSE(err_b);
  const size_t total = published_a.size() + published_b.size();
  REQUIRE(total == keys * per_key);

  for (int g = 0; g < groups; ++g) {
    auto group = "g" + std::to_string(g);
    INFO(group);
    REQUIRE(test::wait_until([&] { return test::group_drained(rt, group); }));
    REQUIRE(recs[g].size() == total);
    auto by_key = recs[g].by_key();
    REQUIRE(by_key.size() == static_cast<size_t>(keys));
    std::vector<int64_t> expected;
    for (int s = 0; s < per_key; ++s) expected.push_back(s);
    for (auto& [key, seqs] : by_key) {
      INFO("key " << key);
      CHECK(seqs == expected);
    }
    // Both members of the group took part, and a key never changed partition.
    std::map<std::string, std::set<int32_t>> partitions_of_key;
    std::set<std::string> members;
    for (auto& it : recs[g].items()) {
      partitions_of_key[it.key].insert(it.partition.value);
      members.insert(it.member);
    }
    CHECK(members.size() == members_per_group);
    for (auto& [key, ps] : partitions_of_key) CHECK(ps.size() == 1);
  }
}

TEST_CASE("each key's order holds in a group while members join and leave",
          "[runtime][order][rebalance]") {
  constexpr int keys = 40;
  constexpr int per_key = 150;
  test::recorder rec;
  runtime rt{test::quiet_config()};
  REQUIRE(rt.create_topic("orders", {.partitions = 6}));
  auto member = [&](const std::string& name) {
    auto s = rt.subscribe("orders", "g", [&rec, name](const event_view& e) { rec.add(name, e); },
                          {.member = name});
    REQUIRE(s);
    return std::move(*s);
  };
  auto m0 = member("m0");
  REQUIRE(test::wait_stable(rt, "orders", "g", 1));

  auto p = rt.make_producer();
  std::vector<int> all_keys;
  for (int k = 0; k < keys; ++k) all_keys.push_back(k);
  std::vector<event> published;
  caf::error publish_error;
  // Paced by the group's progress (not by time), so that the stream spans every rebalance.
  std::thread publisher{[&] {
    for (int seq = 0; seq < per_key && !publish_error; ++seq) {
      publish_error = publish_interleaved(p, "orders", all_keys, 1, published, seq);
      test::wait_until([&] { return rec.size() + 2 * keys >= published.size(); });
    }
  }};
  // Rebalances while events flow: two joins (revokes from m0), then m0 leaves (its
  // partitions go to the others from its last commits).
  test::wait_until([&] { return rec.size() >= 500; });
  auto m1 = member("m1");
  test::wait_until([&] { return rec.size() >= 1500; });
  auto m2 = member("m2");
  test::wait_until([&] { return rec.size() >= 3000; });
  CHECK_FALSE(m0.stop());
  publisher.join();
  INFO(describe(publish_error));
  REQUIRE_FALSE(publish_error);
  REQUIRE(test::wait_until([&] { return test::group_drained(rt, "g"); }));

  std::set<std::string> members;
  for (auto& it : rec.items()) members.insert(it.member);
  CHECK(members.size() == 3);
  std::vector<int64_t> expected;
  for (int s = 0; s < per_key; ++s) expected.push_back(s);
  auto by_key = rec.by_key();
  CHECK(by_key.size() == static_cast<size_t>(keys));
  for (auto& [key, seqs] : by_key) {
    INFO("key " << key);
    CHECK(seqs == expected);
  }
}

TEST_CASE("five groups each receive every event exactly once", "[runtime][fanout]") {
  constexpr int groups = 5;
  std::vector<test::recorder> recs(groups);
  runtime rt{test::quiet_config()};
  REQUIRE(rt.create_topic("orders", {.partitions = 3}));
  std::vector<subscription> subs;
  for (int g = 0; g < groups; ++g) {
    auto group = "svc" + std::to_string(g);
    auto s = rt.subscribe("orders", group,
                          [&rec = recs[g], group](const event_view& e) { rec.add(group, e); });
    REQUIRE(s);
    subs.push_back(std::move(*s));
  }
  for (int g = 0; g < groups; ++g)
    REQUIRE(test::wait_stable(rt, "orders", "svc" + std::to_string(g), 1));

  auto p = rt.make_producer();
  std::vector<int> keys;
  for (int k = 0; k < 100; ++k) keys.push_back(k);
  std::vector<event> published;
  REQUIRE_FALSE(publish_interleaved(p, "orders", keys, 10, published));
  auto want = test::ids_of(published);
  REQUIRE(want.size() == 1000);

  for (int g = 0; g < groups; ++g) {
    auto group = "svc" + std::to_string(g);
    INFO(group);
    // Drained means committed: nothing is left to deliver, so the counts are final.
    REQUIRE(test::wait_until([&] { return test::group_drained(rt, group); }));
    auto counts = recs[g].id_counts();
    CHECK(counts.size() == want.size());
    for (auto& [id, n] : counts) {
      INFO("event " << id);
      CHECK(n == 1);
      CHECK(want.count(id) == 1);
    }
  }
}

TEST_CASE("competing consumers: each event goes to exactly one member and all get work",
          "[runtime][competing]") {
  constexpr int members = 3;
  test::recorder rec;
  runtime rt{test::quiet_config()};
  REQUIRE(rt.create_topic("orders", {.partitions = 6}));
  std::vector<subscription> subs;
  for (int m = 0; m < members; ++m) {
    auto name = "worker-" + std::to_string(m);
    auto s =
        rt.subscribe("orders", "workers", [&rec, name](const event_view& e) { rec.add(name, e); },
                     {.member = name});
    REQUIRE(s);
    subs.push_back(std::move(*s));
  }
  REQUIRE(test::wait_stable(rt, "orders", "workers", members));
  for (auto& s : subs) CHECK(s.assigned_partitions() == 2);

  auto p = rt.make_producer();
  std::vector<int> keys;
  for (int k = 0; k < 200; ++k) keys.push_back(k);
  std::vector<event> published;
  REQUIRE_FALSE(publish_interleaved(p, "orders", keys, 6, published));
  auto want = test::ids_of(published);
  REQUIRE(test::wait_until([&] { return test::group_drained(rt, "workers"); }));

  auto counts = rec.id_counts();
  CHECK(counts.size() == want.size());
  for (auto& [id, n] : counts) {
    INFO("event " << id);
    CHECK(n == 1);
  }
  std::map<std::string, int> per_member;
  std::map<int32_t, std::set<std::string>> members_of_partition;
  for (auto& it : rec.items()) {
    ++per_member[it.member];
    members_of_partition[it.partition.value].insert(it.member);
  }
  CHECK(per_member.size() == members);
  for (auto& [member, n] : per_member) {
    INFO(member);
    CHECK(n > 0);
  }
  // With stable membership a partition has one reader.
  CHECK(members_of_partition.size() == 6);
  for (auto& [partition, ms] : members_of_partition) CHECK(ms.size() == 1);
  int64_t handled = 0;
  for (auto& s : subs) handled += s.handled();
  CHECK(handled == static_cast<int64_t>(want.size()));
}
