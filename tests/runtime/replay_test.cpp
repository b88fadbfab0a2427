// A group created after events were published starts where its start_position says: the
// earliest retained event, an offset, a timestamp, or the end of the log.
#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "runtime/herald.hpp"
#include "tests/support/builders.hpp"
#include "tests/support/groups.hpp"
#include "tests/support/printing.hpp"
#include "tests/support/wait.hpp"

using namespace herald;

namespace {

constexpr int events = 150;
constexpr int partitions = 3;

struct history {
  std::vector<event> evs;
  std::vector<publish_ack> acks;  // same order as evs
  int64_t base_ns = 0;            // event i has time base_ns + i ms
};

/// Publishes `events` events with timestamps one millisecond apart, an hour in the past.
history publish_history(producer& p) {
  history h;
  h.base_ns = timestamp::now().value - int64_t{3600} * 1'000'000'000;
  for (int i = 0; i < events; ++i)
    h.evs.push_back(event::builder{"orders", "OrderPlaced"}
                        .key("ORD-" + std::to_string(i % 17))
                        .payload(R"({"seq":)" + std::to_string(i) + "}")
                        .time(timestamp{h.base_ns + int64_t{i} * 1'000'000})
                        .build());
  auto acks = p.publish(h.evs);
  INFO((acks ? std::string{} : describe(acks.error())));
  REQUIRE(acks);
  h.acks = std::move(*acks);
  return h;
}

/// Subscribes a new group with `start`, waits until it has consumed everything and returns
/// the ids it saw (each must be seen once).
std::multiset<std::string> replay(runtime& rt, test::recorder& rec, const std::string& group,
                                  start_position start) {
  auto sub = rt.subscribe(
      "orders", group, [&rec, group](const event_view& e) { rec.add(group, e); }, {.start = start});
  REQUIRE(sub);
  REQUIRE(test::wait_stable(rt, "orders", group, 1));
  REQUIRE(test::wait_until([&] { return test::group_drained(rt, group); }));
  std::multiset<std::string> seen;
  for (auto& it : rec.items()) seen.insert(it.id);
  return seen;
}

std::multiset<std::string> ids_where(const history& h, auto pred) {
  std::multiset<std::string> out;
  for (size_t i = 0; i < h.evs.size(); ++i)
    if (pred(i)) out.emplace(h.evs[i].id_text());
  return out;
}

}  // namespace

TEST_CASE("a new group replays from the earliest event", "[runtime][replay]") {
  test::recorder rec;
  runtime rt{test::quiet_config()};
  REQUIRE(rt.create_topic("orders", {.partitions = partitions}));
  auto p = rt.make_producer();
  auto h = publish_history(p);
  auto seen = replay(rt, rec, "from-earliest", start_position::earliest());
  CHECK(seen == ids_where(h, [](size_t) { return true; }));
}

TEST_CASE("a new group replays from an offset on every partition", "[runtime][replay]") {
  test::recorder rec;
  runtime rt{test::quiet_config()};
  REQUIRE(rt.create_topic("orders", {.partitions = partitions}));
  auto p = rt.make_producer();
  auto h = publish_history(p);
  constexpr int64_t from = 20;
  auto want = ids_where(h, [&](size_t i) { return h.acks[i].offset.value >= from; });
  REQUIRE(want.size() < h.evs.size());  // the offset really skips something on each partition
  auto seen = replay(rt, rec, "from-offset", start_position::at(offset{from}));
  CHECK(seen == want);
  for (auto& it : rec.items()) CHECK(it.off.value >= from);
}

TEST_CASE("a new group replays from a timestamp", "[runtime][replay]") {
  std::vector<test::recorder> recs(2);
  runtime rt{test::quiet_config()};
  REQUIRE(rt.create_topic("orders", {.partitions = partitions}));
  auto p = rt.make_producer();
  auto h = publish_history(p);
  // Between event 99 and event 100, and exactly at event 100: both start at event 100.
  for (int run = 0; run < 2; ++run) {
    const int64_t extra = run == 0 ? 0 : -500'000;
    auto group = "from-time-" + std::to_string(run);
    auto at = timestamp{h.base_ns + 100 * 1'000'000 + extra};
    auto seen = replay(rt, recs[run], group, start_position::at(at));
    INFO(group);
    CHECK(seen == ids_where(h, [](size_t i) { return i >= 100; }));
  }
}

TEST_CASE("a new group starting at latest sees only events published after it joined",
          "[runtime][replay]") {
  test::recorder rec;
  runtime rt{test::quiet_config()};
  REQUIRE(rt.create_topic("orders", {.partitions = partitions}));
  auto p = rt.make_producer();
  publish_history(p);
  auto sub = rt.subscribe("orders", "from-latest", [&rec](const event_view& e) { rec.add("m", e); },
                          {.start = start_position::latest()});
  REQUIRE(sub);
  // The partitions resolve "latest" when the member's subscription reaches them.
  REQUIRE(test::wait_stable(rt, "orders", "from-latest", 1));
  std::vector<event> later;
  for (int i = 0; i < 30; ++i)
    later.push_back(test::order("orders", "ORD-" + std::to_string(i), i));
  REQUIRE(p.publish(later));
  REQUIRE(test::wait_until([&] { return test::group_drained(rt, "from-latest"); }));
  auto counts = rec.id_counts();
  CHECK(counts.size() == later.size());
  for (auto& e : later) CHECK(counts[std::string{e.id_text()}] == 1);
}
