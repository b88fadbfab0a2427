// The JSON Schema subset: what compiles, what each keyword rejects and how the error names the
// field and the rule, and that validating allocates nothing.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <new>

#include "messages/errors.hpp"
#include "schema/json_schema.hpp"

using namespace herald;

namespace {

// Counts this thread's heap allocations while armed (the zero-allocation test).
thread_local bool counting = false;
thread_local long allocations = 0;

}  // namespace

// The replacements pair malloc with free; GCC cannot see that they match.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t n) {
  if (counting) ++allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc{};
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace {

const char* order_schema = R"({
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "OrderPlaced",
  "type": "object",
  "required": ["order_id", "items", "total"],
  "additionalProperties": false,
  "properties": {
    "event": {"type": "string"},
    "order_id": {"type": "string", "minLength": 3, "maxLength": 12},
    "user_id": {"type": "string"},
    "status": {"enum": ["new", "paid"]},
    "items": {"type": "array", "items": {
      "type": "object", "required": ["sku", "qty"],
      "properties": {"sku": {"type": "string"}, "qty": {"type": "integer", "minimum": 1, "maximum": 99}}}},
    "total": {"type": "number", "minimum": 0},
    "ts_ns": {"type": "integer"},
    "note": {"type": ["string", "null"], "default": null}
  }
})";

json_schema compiled() {
  auto s = json_schema::compile(order_schema);
  REQUIRE(s);
  return *s;
}

std::string failure(const json_schema& s, const std::string& payload) {
  auto err = s.validate(payload);
  REQUIRE(err);
  return describe(err);
}

}  // namespace

TEST_CASE("a payload that matches the schema passes", "[schema][validate]") {
  auto s = compiled();
  CHECK_FALSE(s.validate(
      R"({"event":"OrderPlaced","order_id":"ORD-000123","user_id":"USR-441",)"
      R"("items":[{"sku":"WIDGET-01","qty":2}],"total":49.99,"ts_ns":1732268400000000000})"));
  CHECK_FALSE(s.validate(R"({"order_id":"ORD","items":[],"total":0,"note":null,"status":"paid"})"));
  CHECK_FALSE(
      s.validate(R"({"order_id":"ORD","items":[],"total":5.0,"ts_ns":7.0})"));  // 7.0 is an integer
}

TEST_CASE("each rule's violation names the field and the rule", "[schema][validate]") {
  auto s = compiled();
  CHECK(failure(s, R"({"order_id":"ORD-1","items":[]})") ==
        "schema_violation: field 'total' is missing (rule 'required')");
  CHECK(failure(s, R"({"order_id":"ORD-1","items":[],"total":"49.99"})") ==
        "schema_violation: field 'total': expected number, got string \"49.99\" (rule 'type')");
  CHECK(failure(s, R"({"order_id":"ORD-1","items":[],"total":-1})") ==
        "schema_violation: field 'total': -1 is less than the minimum 0 (rule 'minimum')");
  CHECK(failure(s, R"({"order_id":"ORD-1","items":[{"sku":"A","qty":0}],"total":1})") ==
        "schema_violation: field 'items[0].qty': 0 is less than the minimum 1 (rule 'minimum')");
  CHECK(failure(s, R"({"order_id":"ORD-1","items":[{"sku":"A","qty":100}],"total":1})") ==
        "schema_violation: field 'items[0].qty': 100 is more than the maximum 99 (rule 'maximum')");
  CHECK(failure(s, R"({"order_id":"ORD-1","items":[{"sku":"A","qty":1.5}],"total":1})") ==
        "schema_violation: field 'items[0].qty': expected integer, got number 1.5 (rule 'type')");
  CHECK(failure(s, R"({"order_id":"ORD-1","items":[{"qty":1}],"total":1})") ==
        "schema_violation: field 'items[0].sku' is missing (rule 'required')");
  CHECK(failure(s, R"({"order_id":"O1","items":[],"total":1})") ==
        "schema_violation: field 'order_id': length 2 is less than minLength 3 (rule 'minLength')");
  CHECK(failure(s, R"({"order_id":"ORD-1234567890","items":[],"total":1})") ==
        "schema_violation: field 'order_id': length 14 is more than maxLength 12 (rule "
        "'maxLength')");
  CHECK(failure(s, R"({"order_id":"ORD-1","items":[],"total":1,"status":"lost"})") ==
        "schema_violation: field 'status': \"lost\" is not one of [\"new\",\"paid\"] (rule "
        "'enum')");
  CHECK(failure(s, R"({"order_id":"ORD-1","items":[],"total":1,"coupon":"X"})") ==
        "schema_violation: field 'coupon' is not allowed: the schema lists its properties and "
        "has \"additionalProperties\": false (rule 'additionalProperties')");
  CHECK(failure(s, R"([1,2])") ==
        "schema_violation: the payload: expected object, got array (rule 'type')");
}

TEST_CASE("string lengths count code points, not bytes", "[schema][validate]") {
  auto s = json_schema::compile(R"({"type":"string","maxLength":3})");
  REQUIRE(s);
  CHECK_FALSE(s->validate("\"\xC3\xA9\xC3\xA9\xC3\xA9\""));  // three é, six bytes
  CHECK(s->validate("\"abcd\""));
}

TEST_CASE("a payload that is not JSON is invalid_json, not a schema violation",
          "[schema][validate]") {
  auto err = compiled().validate(R"({"order_id": )");
  REQUIRE(err);
  CHECK(is(err, errc::invalid_json));
}

TEST_CASE("malformed schema JSON and keywords outside the subset are clear errors",
          "[schema][compile]") {
  auto fails = [](const char* text) {
    auto s = json_schema::compile(text);
    REQUIRE_FALSE(s);
    CHECK(is(s.error(), errc::invalid_schema));
    return describe(s.error());
  };
  CHECK(fails(R"({"type": "object",)").find("the schema is not valid JSON") != std::string::npos);
  CHECK(fails(R"({"properties": {"sku": {"type": "string", "pattern": "^[A-Z]+$"}}})") ==
        "invalid_schema: at '/properties/sku/pattern': keyword 'pattern' is not supported by "
        "Herald's JSON Schema subset (type, properties, required, additionalProperties, enum, "
        "items, minimum, maximum, minLength, maxLength, default: docs/SCHEMAS.md); remove it or "
        "express it with those");
  CHECK(fails(R"({"type": "decimal"})") ==
        "invalid_schema: at '/type': unknown type \"decimal\"; expected null, boolean, integer, "
        "number, string, array or object");
  CHECK(fails(R"({"required": "order_id"})") ==
        "invalid_schema: at '/required': must be an array of property names");
  CHECK(fails(R"({"properties": {"qty": {"minimum": "1"}}})") ==
        "invalid_schema: at '/properties/qty/minimum': must be a number");
  CHECK(fails(R"({"maxLength": -1})") ==
        "invalid_schema: at '/maxLength': must be a non-negative integer");
  CHECK(fails(R"({"enum": []})") ==
        "invalid_schema: at '/enum': must be a non-empty array of values");
  CHECK(fails(R"({"minimum": 5, "maximum": 1})") ==
        "invalid_schema: at '/': minimum is greater than maximum: no number matches");
  CHECK(fails(R"({"items": [{"type": "string"}]})").find("tuple form") != std::string::npos);
  CHECK(fails("42") == "invalid_schema: at '/': a schema must be a JSON object or true/false");
}

TEST_CASE("validating a payload allocates nothing", "[schema][validate]") {
  auto s = compiled();
  const std::string payload =
      R"({"event":"OrderPlaced","order_id":"ORD-000123","user_id":"USR-441",)"
      R"("items":[{"sku":"WIDGET-01","qty":2}],"total":49.99,"ts_ns":1732268400000000000})";
  REQUIRE_FALSE(s.validate(payload));  // the first call on a thread makes its scratch buffer
  allocations = 0;
  counting = true;
  bool ok = true;
  for (int i = 0; i < 100; ++i) ok = ok && !s.validate(payload);
  counting = false;
  CHECK(ok);
  CHECK(allocations == 0);
}
