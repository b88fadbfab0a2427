// Schema evolution: OrderPlaced v1 -> v2 with the schema registry.
//
// v2 adds a required "currency" with a default, which BACKWARD (the default mode) allows for
// a closed schema. A producer's invalid payload is refused with the field and the rule; a
// v2 that breaks compatibility is refused with the field, the rule and the mode; a billing
// service written for v2 sees old v1 orders upcast to v2.
#include <algorithm>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "runtime/herald.hpp"

namespace {

// [schemas]
const char* order_v1 = R"({
  "type": "object", "additionalProperties": false,
  "required": ["order_id", "total"],
  "properties": {
    "order_id": {"type": "string", "minLength": 1},
    "total": {"type": "number", "minimum": 0}
  }})";

const char* order_v2 = R"({
  "type": "object", "additionalProperties": false,
  "required": ["order_id", "total", "currency"],
  "properties": {
    "order_id": {"type": "string", "minLength": 1},
    "total": {"type": "number", "minimum": 0},
    "currency": {"enum": ["EUR", "USD"], "default": "EUR"}
  }})";
// [schemas]

// What a careless v2 would look like: currency required, no default.
const char* order_v2_breaking = R"({
  "type": "object", "additionalProperties": false,
  "required": ["order_id", "total", "currency"],
  "properties": {
    "order_id": {"type": "string"}, "total": {"type": "number"},
    "currency": {"enum": ["EUR", "USD"]}
  }})";

herald::event order(uint32_t version, const std::string& id, const std::string& json) {
  return herald::event::builder{"orders", "OrderPlaced"}
      .key(id)
      .schema_version(version)
      .payload(json)
      .build();
}

int fail(const char* what, const caf::error& err) {
  std::fprintf(stderr, "%s: %s\n", what, herald::describe(err).c_str());
  return 1;
}

}  // namespace

int main() {
  herald::runtime rt;
  if (auto t = rt.create_topic("orders", {.partitions = 2}); !t)
    return fail("create_topic", t.error());
  auto& schemas = rt.schemas();
  if (auto err = schemas.register_schema("OrderPlaced", 1, order_v1))
    return fail("register v1", err);

  auto producer = rt.make_producer();
  if (auto ack = producer.publish(order(1, "ORD-1", R"({"order_id":"ORD-1","total":20})")); !ack)
    return fail("publish v1", ack.error());
  // An invalid payload is refused before anything is appended.
  auto bad = producer.publish(order(1, "ORD-2", R"({"order_id":"ORD-2","total":"20"})"));
  if (bad) {
    std::fprintf(stderr, "an invalid payload was accepted\n");
    return 1;
  }
  auto text = herald::describe(bad.error());
  std::printf("invalid v1 payload refused: %s\n", text.substr(text.find("field")).c_str());

  // [evolve]
  if (auto err = schemas.register_schema("OrderPlaced", 2, order_v2_breaking))
    std::printf("breaking v2 refused:\n  %s\n", herald::describe(err).c_str());
  if (auto err = schemas.register_schema("OrderPlaced", 2, order_v2))
    return fail("register v2", err);
  std::printf("registered v2; versions of OrderPlaced:");
  for (auto v : schemas.versions("OrderPlaced")) std::printf(" v%u", v);
  std::printf("\n");
  // [evolve]

  if (auto ack =
          producer.publish(order(2, "ORD-3", R"({"order_id":"ORD-3","total":5,"currency":"USD"})"));
      !ack)
    return fail("publish v2", ack.error());

  // [upcast]
  herald::subscribe_options opts;
  opts.expected_versions = {{"OrderPlaced", 2}};
  opts.upcasters.add("OrderPlaced", 1, [](boost::json::object& o) -> caf::error {
    o["currency"] = "EUR";  // every v1 order was in euros
    return caf::none;
  });
  std::mutex mtx;
  std::vector<std::string> lines;
  auto sub = rt.subscribe(
      "orders", "billing",
      [&](const herald::event_view& e) {
        auto o = boost::json::parse(std::string{e.payload()}).as_object();
        std::lock_guard<std::mutex> guard{mtx};
        lines.push_back(std::string{e.key()} + " as v" + std::to_string(e.schema_version()) + ": " +
                        boost::json::serialize(o));
      },
      opts);
  // [upcast]
  if (!sub) return fail("subscribe", sub.error());
  if (auto err = rt.shutdown()) return fail("shutdown", err);
  std::sort(lines.begin(), lines.end());
  for (auto& l : lines) std::printf("billing got %s\n", l.c_str());
  return lines.size() == 2 ? 0 : 1;
}
