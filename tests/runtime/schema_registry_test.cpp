// The schema registry in a runtime: producers validate against the version an event names
// (nothing appended when invalid), validation settings, incompatible versions refused,
// upcasting along a chain for a handler that expects a later version, and the registry
// rebuilt from `_schemas` after a restart on the on-disk log.
#include <catch2/catch.hpp>

#include <atomic>

#include <boost/json.hpp>

#include "runtime/herald.hpp"
#include "tests/support/builders.hpp"
#include "tests/support/disk.hpp"
#include "tests/support/wait.hpp"

using namespace herald;
using namespace herald::test;

namespace {

const char* v1 = R"({"type":"object","additionalProperties":false,
  "required":["order_id","total"],
  "properties":{"order_id":{"type":"string"},"seq":{"type":"integer"},
                "total":{"type":"number","minimum":0}}})";
// v2 adds a required currency with a default: BACKWARD-compatible with v1.
const char* v2 = R"({"type":"object","additionalProperties":false,
  "required":["order_id","total","currency"],
  "properties":{"order_id":{"type":"string"},"seq":{"type":"integer"},
                "total":{"type":"number","minimum":0},
                "currency":{"type":"string","enum":["EUR","USD"],"default":"EUR"}}})";
// v3 renames total to amount_cents (registered under NONE).
const char* v3 = R"({"type":"object","additionalProperties":false,
  "required":["order_id","amount_cents","currency"],
  "properties":{"order_id":{"type":"string"},"seq":{"type":"integer"},
                "amount_cents":{"type":"integer","minimum":0},
                "currency":{"type":"string","enum":["EUR","USD"]}}})";

event make(const std::string& topic, uint32_t version, const std::string& key,
           const std::string& payload) {
  return event::builder{topic, "OrderPlaced"}
      .key(key)
      .schema_version(version)
      .payload(payload)
      .build();
}

int64_t appended(runtime& rt, const std::string& topic) {
  auto md = rt.topic(topic);
  REQUIRE(md);
  int64_t n = 0;
  for (int32_t p = 0; p < static_cast<int32_t>(md->partitions.size()); ++p) {
    auto st = rt.describe_partition(topic, p);
    REQUIRE(st);
    n += st->end.value;
  }
  return n;
}

}  // namespace

TEST_CASE("a producer rejects a payload that breaks its schema version and appends nothing",
          "[schemas][runtime]") {
  runtime rt{quiet_config()};
  REQUIRE(rt.create_topic("orders", {.partitions = 2}));
  REQUIRE_FALSE(rt.schemas().register_schema("OrderPlaced", 1, v1));
  auto p = rt.make_producer();
  REQUIRE(p.publish(make("orders", 1, "k1", R"({"order_id":"k1","seq":1,"total":5})")));
  REQUIRE(appended(rt, "orders") == 1);

  auto bad = make("orders", 1, "k2", R"({"order_id":"k2","seq":2,"total":-3})");
  auto ack = p.publish(bad);
  REQUIRE_FALSE(ack);
  CHECK(is(ack.error(), errc::schema_violation));
  auto text = describe(ack.error());
  CHECK(text.find("(OrderPlaced v1 for topic 'orders'): field 'total': -3 is less than the "
                  "minimum 0 (rule 'minimum'). Nothing was published") != std::string::npos);
  auto async = p.publish_async(make("orders", 1, "k3", R"({"order_id":"k3"})"));
  REQUIRE(async);
  CHECK(describe(async).find("field 'total' is missing (rule 'required')") != std::string::npos);
  // One bad event in a batch call rejects the whole call before anything is sent.
  std::vector<event> batch{make("orders", 1, "a", R"({"order_id":"a","total":1})"),
                           make("orders", 1, "b", R"({"order_id":"b","total":1,"x":1})"),
                           make("orders", 1, "c", R"({"order_id":"c","total":1})")};
  auto acks = p.publish(batch);
  REQUIRE_FALSE(acks);
  CHECK(describe(acks.error()).find("event 1 of the batch") != std::string::npos);
  CHECK(describe(acks.error()).find("field 'x' is not allowed") != std::string::npos);
  // A version that is not registered is refused too.
  auto unknown = p.publish(make("orders", 7, "k4", R"({"order_id":"k4","total":1})"));
  REQUIRE_FALSE(unknown);
  CHECK(is(unknown.error(), errc::unknown_schema));
  CHECK(
      describe(unknown.error()).find("OrderPlaced v7, which is not registered (registered: v1)") !=
      std::string::npos);
  REQUIRE_FALSE(p.flush());
  CHECK(appended(rt, "orders") == 1);
  // Types without a schema are only checked for JSON syntax.
  REQUIRE(p.publish(event::builder{"orders", "OrderCancelled"}.key("k").payload("{}").build()));
  CHECK(appended(rt, "orders") == 2);
}

TEST_CASE("validation can be turned off per topic and per event type", "[schemas][runtime]") {
  runtime rt{quiet_config()};
  REQUIRE(rt.create_topic("orders", {.partitions = 1}));
  REQUIRE(rt.create_topic("imports", {.partitions = 1}));
  REQUIRE_FALSE(rt.schemas().register_schema("OrderPlaced", 1, v1));
  auto p = rt.make_producer();
  auto bad = [](const std::string& topic) {
    return make(topic, 1, "k", R"({"order_id":"k","total":"free"})");
  };
  REQUIRE_FALSE(p.publish(bad("imports")));
  REQUIRE_FALSE(rt.schemas().set_validation(validation_scope::topic, "imports", validation::off));
  CHECK(p.publish(bad("imports")));
  CHECK_FALSE(p.publish(bad("orders")));
  REQUIRE_FALSE(
      rt.schemas().set_validation(validation_scope::type, "OrderPlaced", validation::off));
  CHECK(p.publish(bad("orders")));
  REQUIRE_FALSE(rt.schemas().set_validation(validation_scope::type, "OrderPlaced", validation::on));
  CHECK_FALSE(p.publish(bad("orders")));
}

TEST_CASE("an incompatible or malformed schema is refused and the registry is unchanged",
          "[schemas][runtime]") {
  runtime rt{quiet_config()};
  auto& reg = rt.schemas();
  REQUIRE_FALSE(reg.register_schema("OrderPlaced", 1, v1));
  REQUIRE_FALSE(reg.register_schema("OrderPlaced", 2, v2));
  REQUIRE_FALSE(reg.register_schema("OrderPlaced", 2, v2));  // the same again: a no-op
  auto err = reg.register_schema("OrderPlaced", 3, v3);
  REQUIRE(err);
  CHECK(is(err, errc::incompatible_schema));
  CHECK(describe(err).find("BACKWARD forbids this (consumers on v3 cannot read v2 events)") !=
        std::string::npos);
  auto malformed = reg.register_schema("OrderPlaced", 3, R"({"type":"object",)");
  REQUIRE(malformed);
  CHECK(describe(malformed).starts_with(
      "invalid_schema: OrderPlaced v3: the schema is not valid JSON"));
  CHECK(reg.versions("OrderPlaced") == std::vector<uint32_t>{1, 2});
  CHECK(reg.schema("OrderPlaced", 3).error());
  // Two records in _schemas: v1 and v2, nothing for what was refused.
  CHECK(appended(rt, "_schemas") == 2);
}

TEST_CASE("upcasters bring v1 and v2 events to the v3 a handler expects", "[schemas][runtime]") {
  runtime rt{quiet_config()};
  REQUIRE(rt.create_topic("orders", {.partitions = 1}));
  auto& reg = rt.schemas();
  REQUIRE_FALSE(reg.register_schema("OrderPlaced", 1, v1));
  REQUIRE_FALSE(reg.register_schema("OrderPlaced", 2, v2));
  REQUIRE_FALSE(reg.set_compatibility("OrderPlaced", compatibility::none));
  REQUIRE_FALSE(reg.register_schema("OrderPlaced", 3, v3));

  subscribe_options opts;
  opts.expected_versions = {{"OrderPlaced", 3}};
  opts.upcasters
      .add("OrderPlaced", 1,
           [](boost::json::object& o) -> caf::error {
             o["currency"] = "EUR";
             return caf::none;
           })
      .add("OrderPlaced", 2, [](boost::json::object& o) -> caf::error {
        auto total = o["total"].to_number<double>();
        o.erase("total");
        o["amount_cents"] = static_cast<int64_t>(total * 100 + 0.5);
        return caf::none;
      });
  std::mutex mtx;
  std::vector<std::pair<uint32_t, std::string>> seen;
  auto sub = rt.subscribe(
      "orders", "billing",
      [&](const event_view& e) {
        auto doc = boost::json::parse(std::string{e.payload()});
        auto& o = doc.as_object();
        std::lock_guard<std::mutex> guard{mtx};
        seen.emplace_back(e.schema_version(), std::string{o.at("currency").as_string()} + " " +
                                                  std::to_string(o.at("amount_cents").as_int64()));
      },
      opts);
  REQUIRE(sub);
  auto p = rt.make_producer();
  REQUIRE(p.publish(make("orders", 1, "a", R"({"order_id":"a","total":12.5})")));
  REQUIRE(p.publish(make("orders", 2, "b", R"({"order_id":"b","total":3,"currency":"USD"})")));
  REQUIRE(
      p.publish(make("orders", 3, "c", R"({"order_id":"c","amount_cents":7,"currency":"USD"})")));
  REQUIRE(wait_until([&] {
    std::lock_guard<std::mutex> guard{mtx};
    return seen.size() >= 3;
  }));
  std::lock_guard<std::mutex> guard{mtx};
  REQUIRE(seen.size() == 3);
  CHECK(seen[0] == std::pair<uint32_t, std::string>{3, "EUR 1250"});
  CHECK(seen[1] == std::pair<uint32_t, std::string>{3, "USD 300"});
  CHECK(seen[2] == std::pair<uint32_t, std::string>{3, "USD 7"});
}

TEST_CASE("an event newer than the expected version fails like a handler error",
          "[schemas][runtime]") {
  runtime rt{quiet_config()};
  REQUIRE(rt.create_topic("orders", {.partitions = 1}));
  subscribe_options opts;
  opts.expected_versions = {{"OrderPlaced", 2}};
  opts.retry.max_attempts = 1;  // straight to the dead letters
  std::atomic<int> handled{0};
  auto sub = rt.subscribe(
      "orders", "billing", [&](const event_view&) { ++handled; }, opts);
  REQUIRE(sub);
  auto p = rt.make_producer();
  REQUIRE(p.publish(make("orders", 3, "a", R"({"order_id":"a"})")));
  REQUIRE(p.publish(make("orders", 2, "b", R"({"order_id":"b"})")));
  REQUIRE(wait_until([&] { return handled.load() == 1 && sub->probe().dead_letters.load() == 1; }));
  std::vector<dead_letter_info> dead;
  REQUIRE(wait_until([&] {
    auto dl = rt.dead_letters("orders");
    if (dl) dead = *dl;
    return dead.size() == 1;
  }));
  CHECK(dead[0].original.key() == "a");
  CHECK(dead[0].story.error.find("OrderPlaced v3 is newer than the v2 this subscription "
                                 "expects") != std::string::npos);
}

TEST_CASE("a subscription whose upcasters miss a step of the chain is refused",
          "[schemas][runtime]") {
  runtime rt{quiet_config()};
  REQUIRE(rt.create_topic("orders", {.partitions = 1}));
  subscribe_options opts;
  opts.expected_versions = {{"OrderPlaced", 3}};
  opts.upcasters.add("OrderPlaced", 1, [](boost::json::object&) { return caf::error{}; });
  auto sub = rt.subscribe(
      "orders", "billing", [](const event_view&) {}, opts);
  REQUIRE_FALSE(sub);
  CHECK(describe(sub.error()) ==
        "invalid_argument: the upcasters of OrderPlaced lack the step OrderPlaced v2 -> v3, so "
        "events older than v3 cannot reach the expected v3; add it with upcaster_set::add");
}

TEST_CASE("the registry is rebuilt from _schemas after a restart on the on-disk log",
          "[schemas][runtime][durable]") {
  temp_dir dir;
  auto cfg = quiet_config();
  cfg.data_dir = dir.path();
  {
    runtime rt{cfg};
    auto& reg = rt.schemas();
    REQUIRE_FALSE(reg.register_schema("OrderPlaced", 1, v1));
    REQUIRE_FALSE(reg.register_schema("OrderPlaced", 2, v2));
    REQUIRE_FALSE(reg.set_compatibility("OrderPlaced", compatibility::full));
    REQUIRE_FALSE(reg.set_validation(validation_scope::topic, "imports", validation::off));
    // A record Herald did not write is skipped when the registry is rebuilt.
    auto p = rt.make_producer();
    REQUIRE(p.publish(event::builder{"_schemas", "Graffiti"}.key("x").payload("{}").build()));
    REQUIRE_FALSE(rt.shutdown());
  }
  runtime rt{cfg};
  auto& reg = rt.schemas();
  CHECK(reg.versions("OrderPlaced") == std::vector<uint32_t>{1, 2});
  CHECK(reg.compatibility_of("OrderPlaced") == compatibility::full);
  auto text = reg.schema("OrderPlaced", 2);
  REQUIRE(text);
  CHECK(boost::json::parse(*text) == boost::json::parse(v2));
  // The rebuilt registry behaves as the first: checks, validation, settings.
  CHECK(is(reg.register_schema("OrderPlaced", 3, v3), errc::incompatible_schema));
  REQUIRE(rt.create_topic("orders", {.partitions = 1}));
  REQUIRE(rt.create_topic("imports", {.partitions = 1}));
  auto p = rt.make_producer();
  auto bad = R"({"order_id":"k","total":1,"currency":"GBP"})";
  auto refused = p.publish(make("orders", 2, "k", bad));
  REQUIRE_FALSE(refused);
  CHECK(describe(refused.error()).find("field 'currency': \"GBP\" is not one of") !=
        std::string::npos);
  CHECK(p.publish(make("imports", 2, "k", bad)));
  // New changes append after the replayed ones.
  REQUIRE_FALSE(reg.set_compatibility("OrderPlaced", compatibility::none));
  REQUIRE_FALSE(reg.register_schema("OrderPlaced", 3, v3));
  CHECK(appended(rt, "_schemas") == 7);
}
