// Every bad input gets an error that names the problem, and costs nothing that was accepted:
// valid events published before and after each rejection all reach the group, once.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "actors/processed_ids.hpp"
#include "messages/record_batch.hpp"
#include "runtime/herald.hpp"
#include "tests/support/builders.hpp"
#include "tests/support/groups.hpp"
#include "tests/support/printing.hpp"
#include "tests/support/wait.hpp"

using namespace herald;

namespace {

constexpr uint32_t max_event_bytes = 1024;

bool mentions(const caf::error& err, const std::string& text) {
  return describe(err).find(text) != std::string::npos;
}

/// A topic with one consumer group, and the valid events published so far.
struct fixture {
  test::recorder rec;  // outlives the runtime, whose handlers write to it
  runtime rt{test::quiet_config()};
  subscription sub;
  producer p;
  std::vector<event> accepted;
  int next_seq = 0;

  fixture() {
    REQUIRE(rt.create_topic("orders", {.partitions = 3, .max_event_bytes = max_event_bytes}));
    auto s = rt.subscribe("orders", "audit", [this](const event_view& e) { rec.add("auditor", e); },
                          {.member = "auditor"});
    REQUIRE(s);
    sub = std::move(*s);
    REQUIRE(test::wait_stable(rt, "orders", "audit", 1));
    p = rt.make_producer();
    publish_valid();
  }

  event valid() {
    ++next_seq;
    return test::order("orders", "ORD-" + std::to_string(next_seq % 7), next_seq);
  }

  /// Publishes valid events both ways (waiting and fire-and-forget).
  void publish_valid() {
    for (int i = 0; i < 3; ++i) {
      accepted.push_back(valid());
      auto ack = p.publish(accepted.back());
      INFO((ack ? std::string{} : describe(ack.error())));
      REQUIRE(ack);
    }
    for (int i = 0; i < 3; ++i) {
      accepted.push_back(valid());
      REQUIRE_FALSE(p.publish_async(accepted.back()));
    }
    REQUIRE_FALSE(p.flush());
  }

  /// Publishes more valid events, then checks that the group got every accepted event once
  /// and nothing else.
  void check_nothing_lost() {
    publish_valid();
    REQUIRE(test::wait_until([&] { return test::group_drained(rt, "audit"); }));
    auto counts = rec.id_counts();
    CHECK(counts.size() == accepted.size());
    for (auto& e : accepted) {
      INFO("event " << e.id_text());
      CHECK(counts[std::string{e.id_text()}] == 1);
    }
  }
};

}  // namespace

TEST_CASE_METHOD(fixture, "an unknown topic is refused by name and loses nothing accepted",
                 "[runtime][bad_input]") {
  auto ev = make_event("shipments", "Shipped", "S-1", "{}");
  auto ack = p.publish(ev);
  REQUIRE_FALSE(ack);
  CHECK(is(ack.error(), errc::unknown_topic));
  CHECK(mentions(ack.error(), "'shipments'"));
  CHECK(is(p.publish_async(ev), errc::unknown_topic));
  auto s = rt.subscribe("shipments", "audit", [](const event_view&) {});
  REQUIRE_FALSE(s);
  CHECK(is(s.error(), errc::unknown_topic));
  // In a batch, the events before the bad one are accepted (and must arrive); the rest not.
  auto before = valid();
  std::vector<event> batch{before, ev, valid()};
  auto acks = p.publish(batch);
  REQUIRE_FALSE(acks);
  CHECK(is(acks.error(), errc::unknown_topic));
  CHECK(mentions(acks.error(), "event 1 of the batch"));
  accepted.push_back(before);
  REQUIRE_FALSE(p.flush());
  check_nothing_lost();
}

TEST_CASE_METHOD(fixture, "an empty event type is refused and loses nothing accepted",
                 "[runtime][bad_input]") {
  auto ev = event::builder{"orders", ""}.key("ORD-1").payload("{}").build();
  auto ack = p.publish(ev);
  REQUIRE_FALSE(ack);
  CHECK(is(ack.error(), errc::invalid_event));
  CHECK(mentions(ack.error(), "empty type"));
  CHECK(is(p.publish_async(ev), errc::invalid_event));
  // A batch with one bad event is refused whole: the check runs before anything is sent.
  auto acks = p.publish(std::vector<event>{valid(), ev});
  REQUIRE_FALSE(acks);
  CHECK(is(acks.error(), errc::invalid_event));
  CHECK(mentions(acks.error(), "nothing of the batch was published"));
  check_nothing_lost();
}

TEST_CASE_METHOD(fixture, "an event over the topic's max_event_bytes is refused",
                 "[runtime][bad_input]") {
  auto sized = [&](size_t bytes) {
    auto probe = event::builder{"orders", "Blob"}.key("B").payload(R"({"p":""})").build();
    auto base = batch_builder::encoded_size(probe);
    REQUIRE(bytes >= base);
    auto ev = event::builder{"orders", "Blob"}
                  .key("B")
                  .payload(R"({"p":")" + std::string(bytes - base, 'x') + R"("})")
                  .build();
    REQUIRE(batch_builder::encoded_size(ev) == bytes);
    return ev;
  };
  auto too_big = sized(max_event_bytes + 1);
  auto ack = p.publish(too_big);
  REQUIRE_FALSE(ack);
  CHECK(is(ack.error(), errc::event_too_large));
  CHECK(mentions(ack.error(), "max_event_bytes"));
  CHECK(mentions(ack.error(), std::to_string(max_event_bytes + 1)));
  CHECK(is(p.publish_async(sized(64 * 1024)), errc::event_too_large));
  // Exactly at the limit is fine.
  auto at_limit = sized(max_event_bytes);
  REQUIRE(p.publish(at_limit));
  accepted.push_back(at_limit);
  check_nothing_lost();
}

TEST_CASE_METHOD(fixture, "a payload that is not valid JSON is refused with where it breaks",
                 "[runtime][bad_input]") {
  for (std::string payload : {R"({"total": 49.99)", "not json", R"({"a":1} trailing)", ""}) {
    INFO("payload: " << payload);
    auto ev = make_event("orders", "OrderPlaced", "ORD-1", payload);
    auto ack = p.publish(ev);
    REQUIRE_FALSE(ack);
    CHECK(is(ack.error(), errc::invalid_json));
    CHECK((mentions(ack.error(), "at byte") || mentions(ack.error(), "empty")));
    CHECK(is(p.publish_async(ev), errc::invalid_json));
  }
  check_nothing_lost();
}

TEST_CASE_METHOD(fixture, "a topic with zero partitions is refused and not created",
                 "[runtime][bad_input]") {
  auto md = rt.create_topic("payments", {.partitions = 0});
  REQUIRE_FALSE(md);
  CHECK(is(md.error(), errc::invalid_partition_count));
  CHECK(mentions(md.error(), "got 0"));
  CHECK(is(rt.create_topic("payments", {.partitions = -3}).error(), errc::invalid_partition_count));
  auto t = rt.topic("payments");
  REQUIRE_FALSE(t);
  CHECK(is(t.error(), errc::unknown_topic));
  // The name is still free for a valid topic.
  CHECK(rt.create_topic("payments", {.partitions = 2}));
  check_nothing_lost();
}

TEST_CASE_METHOD(fixture, "an invalid topic name is refused and not created",
                 "[runtime][bad_input]") {
  const std::map<std::string, std::string> bad = {
      {"", "empty"},         {"with space", "' '"},          {"slash/name", "'/'"},
      {"..", "'.' or '..'"}, {std::string(250, 'a'), "250"},
  };
  for (auto& [name, why] : bad) {
    INFO("name '" << name << "'");
    auto md = rt.create_topic(name, {.partitions = 1});
    REQUIRE_FALSE(md);
    CHECK(is(md.error(), errc::invalid_topic_name));
    CHECK(mentions(md.error(), why));
  }
  auto listed = rt.topics();
  REQUIRE(listed);
  std::vector<std::string> names;
  for (auto& md : *listed) names.push_back(md.name);
  // Only "orders" and the dead-letter topic its subscription created.
  CHECK(names == std::vector<std::string>{"orders", "orders.dlq"});
  check_nothing_lost();
}

TEST_CASE_METHOD(fixture, "subscribing twice with one member name is refused",
                 "[runtime][bad_input]") {
  test::recorder other;
  auto again =
      rt.subscribe("orders", "audit", [&other](const event_view& e) { other.add("dup", e); },
                   {.member = "auditor"});
  REQUIRE_FALSE(again);
  INFO(describe(again.error()));
  CHECK(is(again.error(), errc::member_exists));
  CHECK(mentions(again.error(), "'auditor'"));
  CHECK(mentions(again.error(), "'audit'"));
  // The first member keeps its partitions and gets everything.
  CHECK(sub.active());
  REQUIRE(test::group_settled(rt, "audit", 1));
  CHECK(sub.assigned_partitions() == 3);
  check_nothing_lost();
  CHECK(other.size() == 0);
  // The same name in another group is fine.
  auto elsewhere =
      rt.subscribe("orders", "billing", [&other](const event_view& e) { other.add("b", e); },
                   {.member = "auditor"});
  CHECK(elsewhere);
}

TEST_CASE_METHOD(fixture, "an idempotence window over the limit is refused before joining",
                 "[runtime][bad_input]") {
  subscribe_options so;
  so.idempotent = true;
  so.idempotence_window = processed_ids::max_capacity + 1;
  auto s = rt.subscribe(
      "orders", "dedupe", [](const event_view&) {}, so);
  REQUIRE_FALSE(s);
  INFO(describe(s.error()));
  CHECK(is(s.error(), errc::invalid_config));
  CHECK(mentions(s.error(), "idempotence_window"));
  CHECK(mentions(s.error(), "2^32"));
  auto groups = rt.groups();
  REQUIRE(groups);
  CHECK(std::find(groups->begin(), groups->end(), "dedupe") == groups->end());
  check_nothing_lost();
}
