// The cart aggregator in a runtime: exact CartUpdated sequences over a scripted session with
// duplicates, bad input and restarts; random carts against a reference fold; a cart's events
// in one partition, folded in offset order; timers.
#include <catch2/catch.hpp>

#include <caf/send.hpp>

#include "actors/cart_aggregator.hpp"
#include "messages/partitioner.hpp"
#include "runtime/aggregator.hpp"
#include "runtime/herald.hpp"
#include "tests/support/builders.hpp"
#include "tests/support/carts.hpp"
#include "tests/support/disk.hpp"
#include "tests/support/groups.hpp"
#include "tests/support/wait.hpp"

using namespace herald;
using namespace std::chrono_literals;
using cart::cart_line;
using cart::cart_updated;

namespace {

const std::string group = "cart-aggregator";

event added(const std::string& c, const std::string& sku, int64_t qty, int64_t price) {
  return cart::make_event(cart::item_added{c, sku, qty, price});
}

event removed(const std::string& c, const std::string& sku, int64_t qty) {
  return cart::make_event(cart::item_removed{c, sku, qty});
}

void publish_all(producer& p, const std::vector<event>& evs) {
  for (auto& e : evs) REQUIRE_FALSE(p.publish_async(e));
  REQUIRE_FALSE(p.flush());
}

/// Waits until the aggregator committed everything and its outputs are stored.
void settle(runtime& rt, const aggregator& agg) {
  REQUIRE(test::wait_until([&] { return test::group_drained(rt, group); }));
  REQUIRE(test::wait_until([&] {
    auto& pr = agg.probe();
    return pr.ready.load() == pr.starts.load() && pr.acknowledged.load() == pr.emitted.load();
  }));
}

/// Kills the member; its supervisor restarts it and the aggregator actor together.
void crash(const aggregator& agg) {
  auto starts = agg.probe().starts.load();
  caf::anon_send_exit(agg.subscription().actor(), caf::exit_reason::kill);
  REQUIRE(test::wait_until([&] { return agg.probe().starts.load() > starts; }));
  REQUIRE(test::wait_until([&] { return agg.probe().ready.load() == agg.probe().starts.load(); }));
}

/// The scripted session: step 1, a restart, step 2. Returns the events of both steps.
struct script {
  std::vector<event> step1, step2;
  std::map<std::string, std::vector<cart_updated>> expected;
};

script scripted() {
  script s;
  auto a1 = added("C1", "A", 2, 100);
  s.step1 = {a1,
             added("C1", "B", 1, 500),
             a1,  // a client retry: same event id, skipped
             removed("C1", "A", 1),
             removed("C1", "Z", 1),  // bad: not in the cart -> dead letter, no version
             added("C2", "A", 1, 100)};
  s.step2 = {added("C1", "C", 3, 200), removed("C1", "B", 1), removed("C2", "A", 1),
             a1,                      // the same retry after the restart: still skipped
             removed("C2", "A", 1)};  // bad: C2 is empty now
  s.expected["C1"] = {
      {"C1", {{"A", 2, 100}}, 2, 200, 1},
      {"C1", {{"A", 2, 100}, {"B", 1, 500}}, 3, 700, 2},
      {"C1", {{"A", 1, 100}, {"B", 1, 500}}, 2, 600, 3},
      {"C1", {{"A", 1, 100}, {"B", 1, 500}, {"C", 3, 200}}, 5, 1200, 4},
      {"C1", {{"A", 1, 100}, {"C", 3, 200}}, 4, 700, 5},
  };
  s.expected["C2"] = {
      {"C2", {{"A", 1, 100}}, 1, 100, 1},
      {"C2", {}, 0, 0, 2},
  };
  return s;
}

void check_dead_letters(runtime& rt, size_t n) {
  auto dead = rt.dead_letters(cart::input_topic);
  REQUIRE(dead);
  REQUIRE(dead->size() == n);
  CHECK_THAT(dead->front().story.error, Catch::Contains("holds no 'Z'"));
  CHECK(dead->front().story.group == group);
}

}  // namespace

TEST_CASE("a scripted session with duplicates, bad input and a crash gives the exact sequence") {
  runtime rt{test::quiet_config()};
  REQUIRE(rt.create_topic(cart::input_topic, {.partitions = 4}));
  auto agg = aggregator::start(rt, cart::make_spec(emit_policy::on_change()));
  REQUIRE(agg);
  auto p = rt.make_producer();
  auto s = scripted();
  publish_all(p, s.step1);
  settle(rt, *agg);
  crash(*agg);
  publish_all(p, s.step2);
  settle(rt, *agg);

  CHECK(test::read_cart_updates(rt, cart::output_topic) == s.expected);
  CHECK(agg->probe().duplicates.load() == 2);
  CHECK(agg->probe().rejected.load() == 2);
  CHECK(agg->probe().replayed.load() > 0);  // the restarted actor rebuilt from the log
  check_dead_letters(rt, 2);
  auto dead = rt.dead_letters(cart::input_topic);
  CHECK_THAT(dead->back().story.error, Catch::Contains("holds no 'A'"));
  REQUIRE_FALSE(agg->stop());
}

TEST_CASE("a restarted runtime rebuilds the carts from the durable log and goes on") {
  test::temp_dir dir{"herald-agg"};
  auto cfg = test::quiet_config();
  cfg.data_dir = dir.path();
  auto s = scripted();
  {
    runtime rt{cfg};
    REQUIRE(rt.create_topic(cart::input_topic, {.partitions = 4}));
    auto agg = aggregator::start(rt, cart::make_spec(emit_policy::on_change()));
    REQUIRE(agg);
    auto p = rt.make_producer();
    publish_all(p, s.step1);
    settle(rt, *agg);
    REQUIRE_FALSE(agg->stop());
    REQUIRE_FALSE(rt.shutdown());
  }
  runtime rt{cfg};
  // Topics are declared again at every start; their records are on disk.
  REQUIRE(rt.create_topic(cart::input_topic, {.partitions = 4}));
  auto agg = aggregator::start(rt, cart::make_spec(emit_policy::on_change()));
  INFO((agg ? std::string{} : describe(agg.error())));
  REQUIRE(agg);
  auto p = rt.make_producer();
  publish_all(p, s.step2);
  settle(rt, *agg);
  CHECK(test::read_cart_updates(rt, cart::output_topic) == s.expected);
  CHECK(agg->probe().replayed.load() > 0);
  check_dead_letters(rt, 2);
}

TEST_CASE("10,000 random carts match a reference fold, version by version, across a crash") {
  runtime rt{test::quiet_config()};
  REQUIRE(rt.create_topic(cart::input_topic, {.partitions = 4}));
  auto agg = aggregator::start(rt, cart::make_spec(emit_policy::on_change()));
  REQUIRE(agg);
  auto s = test::random_session(20261123, 10000, 30000);
  auto p = rt.make_producer();
  auto half = s.events.size() / 2;
  for (size_t i = 0; i < s.events.size(); ++i) {
    REQUIRE_FALSE(p.publish_async(s.events[i]));
    // Crash while the first half may still be in flight: redeliveries and rebuilds must not
    // add or repeat a version.
    if (i == half) caf::anon_send_exit(agg->subscription().actor(), caf::exit_reason::kill);
  }
  REQUIRE_FALSE(p.flush());
  settle(rt, *agg);
  auto got = test::read_cart_updates(rt, cart::output_topic);
  CHECK(got.size() == s.expected.size());
  size_t wrong = 0;
  for (auto& [id, versions] : s.expected) {
    auto it = got.find(id);
    if (it == got.end() || it->second != versions) ++wrong;
  }
  CHECK(wrong == 0);
  CHECK(agg->probe().rejected.load() == static_cast<int64_t>(s.rejected));
  CHECK(agg->probe().starts.load() >= 2);
}

TEST_CASE("a cart's events all land in one partition and are folded in offset order") {
  runtime rt{test::quiet_config()};
  REQUIRE(rt.create_topic(cart::input_topic, {.partitions = 4}));
  auto agg = aggregator::start(rt, cart::make_spec(emit_policy::on_change()));
  REQUIRE(agg);
  auto s = test::random_session(7, 200, 3000);
  auto p = rt.make_producer();
  publish_all(p, s.events);
  settle(rt, *agg);
  // In: every event of a cart is in the partition its key hashes to.
  auto in = test::read_topic(rt, cart::input_topic);
  size_t misplaced = 0, total = 0;
  for (size_t part = 0; part < in.size(); ++part)
    for (auto& e : in[part]) {
      ++total;
      misplaced += partition_for_key(e.key(), 4) != static_cast<int32_t>(part);
    }
  CHECK(total == s.events.size());
  CHECK(misplaced == 0);
  // Out: version v+1 of a cart was made by a later offset of that same partition.
  auto out = test::read_topic(rt, cart::output_topic);
  std::map<std::string, std::pair<std::string, int64_t>> last;  // cart -> (partition, offset)
  size_t out_of_order = 0;
  for (auto& part : out)
    for (auto& e : part) {
      auto src = e.header(agg_header::input);
      REQUIRE(src);
      auto slash = src->rfind('/');
      std::string where{src->substr(0, slash)};
      int64_t off = std::stoll(std::string{src->substr(slash + 1)});
      auto [it, fresh] = last.try_emplace(std::string{e.key()}, where, off);
      if (!fresh) {
        out_of_order += it->second.first != where || it->second.second >= off;
        it->second = {where, off};
      }
      CHECK(where ==
            std::string{cart::input_topic} + "/" + std::to_string(partition_for_key(e.key(), 4)));
    }
  CHECK(out_of_order == 0);
  CHECK(test::read_cart_updates(rt, cart::output_topic) == s.expected);
}

TEST_CASE("interval and quiet policies publish the final state of every cart") {
  auto policy = GENERATE(emit_policy::periodic(20ms), emit_policy::after_quiet(20ms));
  runtime rt{test::quiet_config()};
  REQUIRE(rt.create_topic(cart::input_topic, {.partitions = 2}));
  auto agg = aggregator::start(rt, cart::make_spec(policy));
  REQUIRE(agg);
  auto s = test::random_session(99, 50, 1000);
  auto p = rt.make_producer();
  publish_all(p, s.events);
  settle(rt, *agg);
  std::map<std::string, std::vector<cart_updated>> got;
  REQUIRE(test::wait_until([&] {
    got = test::read_cart_updates(rt, cart::output_topic);
    if (got.size() != s.expected.size()) return false;
    for (auto& [id, v] : s.expected)
      if (got[id].back() != v.back()) return false;
    return true;
  }));
  size_t outputs = 0;
  for (auto& [id, v] : got) {
    outputs += v.size();
    for (size_t i = 1; i < v.size(); ++i) CHECK(v[i].version > v[i - 1].version);
  }
  CHECK(outputs < s.events.size());  // coalesced
}

TEST_CASE("malformed JSON that got past the producer becomes a dead letter, the rest flows") {
  runtime rt{test::quiet_config()};
  REQUIRE(rt.create_topic(cart::input_topic, {.partitions = 1}));
  auto agg = aggregator::start(rt, cart::make_spec(emit_policy::on_change()));
  REQUIRE(agg);
  producer_options raw;
  raw.validate_json = false;
  auto p = rt.make_producer(raw);
  publish_all(p, {added("C1", "A", 1, 100),
                  event::builder{cart::input_topic, cart::item_added_type}
                      .key("C1")
                      .payload(R"({"cart_id":"C1","sku":)")
                      .build(),
                  added("C1", "A", -2, 100), added("C1", "A", 1, 100)});
  settle(rt, *agg);
  auto got = test::read_cart_updates(rt, cart::output_topic);
  REQUIRE(got["C1"].size() == 2);
  CHECK(got["C1"].back() == cart_updated{"C1", {{"A", 2, 100}}, 2, 200, 2});
  auto dead = rt.dead_letters(cart::input_topic);
  REQUIRE(dead);
  REQUIRE(dead->size() == 2);
  CHECK_THAT(dead->at(0).story.error, Catch::Contains("not valid JSON"));
  CHECK_THAT(dead->at(1).story.error, Catch::Contains("'qty' is -2"));
  CHECK(agg->subscription().active());
}
