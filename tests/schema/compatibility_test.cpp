// Compatibility modes with passing and failing schema pairs, checked the way the registry
// checks a new version (schema_catalog::prepare), including the transitive variants.
#include <catch2/catch.hpp>

#include "messages/errors.hpp"
#include "schema/catalog.hpp"

using namespace herald;

namespace {

// A catalog where `type` has the given versions (registered under mode none, so any history
// is possible) and then the compatibility mode `mode`.
std::shared_ptr<const schema_catalog> history(compatibility mode,
                                              const std::vector<std::string>& versions) {
  auto cat = std::make_shared<const schema_catalog>();
  schema_record set;
  set.what = schema_record::kind::compatibility;
  set.subject = "OrderPlaced";
  set.mode = compatibility::none;
  cat = *cat->with(set);
  uint32_t v = 0;
  for (auto& text : versions) {
    auto rec = cat->prepare("OrderPlaced", ++v, text);
    REQUIRE(rec);
    REQUIRE(*rec);
    auto next = cat->with(**rec);
    REQUIRE(next);
    cat = *next;
  }
  set.mode = mode;
  return *cat->with(set);
}

// Registers `next` as the following version; returns the error text, empty when accepted.
std::string try_register(compatibility mode, const std::vector<std::string>& versions,
                         const std::string& next) {
  auto cat = history(mode, versions);
  auto rec = cat->prepare("OrderPlaced", static_cast<uint32_t>(versions.size() + 1), next);
  if (rec) return {};
  CHECK(is(rec.error(), errc::incompatible_schema));
  return describe(rec.error());
}

// Closed content model ("additionalProperties": false).
const std::string closed_v1 = R"({"type":"object","additionalProperties":false,
  "required":["order_id","total"],
  "properties":{"order_id":{"type":"string"},"total":{"type":"number"}}})";
const std::string closed_add_optional = R"({"type":"object","additionalProperties":false,
  "required":["order_id","total"],
  "properties":{"order_id":{"type":"string"},"total":{"type":"number"},"note":{"type":"string"}}})";
const std::string closed_add_required = R"({"type":"object","additionalProperties":false,
  "required":["order_id","total","currency"],
  "properties":{"order_id":{"type":"string"},"total":{"type":"number"},"currency":{"type":"string"}}})";
const std::string closed_add_required_default = R"({"type":"object","additionalProperties":false,
  "required":["order_id","total","currency"],
  "properties":{"order_id":{"type":"string"},"total":{"type":"number"},
                "currency":{"type":"string","default":"EUR"}}})";

// Open content model (additionalProperties absent).
const std::string open_v1 = R"({"type":"object","required":["order_id","total"],
  "properties":{"order_id":{"type":"string"},"total":{"type":"number"}}})";
const std::string open_add_optional = R"({"type":"object","required":["order_id","total"],
  "properties":{"order_id":{"type":"string"},"total":{"type":"number"},"note":{"type":"string"}}})";
const std::string open_add_required =
    R"({"type":"object","required":["order_id","total","currency"],
  "properties":{"order_id":{"type":"string"},"total":{"type":"number"},"currency":{"type":"string"}}})";
const std::string open_drop_total = R"({"type":"object","required":["order_id"],
  "properties":{"order_id":{"type":"string"}}})";

// Partially open: extra properties must be strings.
const std::string partial_v1 = R"({"type":"object","additionalProperties":{"type":"string"},
  "properties":{"order_id":{"type":"string"}}})";
const std::string partial_add_string = R"({"type":"object","additionalProperties":{"type":"string"},
  "properties":{"order_id":{"type":"string"},"note":{"type":"string"}}})";

}  // namespace

TEST_CASE("BACKWARD accepts what new consumers can read and names the field that breaks it",
          "[schema][compatibility]") {
  auto mode = compatibility::backward;
  CHECK(try_register(mode, {closed_v1}, closed_add_optional).empty());
  CHECK(try_register(mode, {closed_v1}, closed_add_required_default).empty());
  CHECK(try_register(mode, {closed_v1, closed_add_optional}, closed_add_required) ==
        "incompatible_schema: OrderPlaced v3: field 'currency' was added as required without a "
        "default: BACKWARD forbids this (consumers on v3 cannot read v2 events); make the change "
        "compatible, register it under another event type, or set this type's compatibility to "
        "NONE");
  // Confluent's open content model rule: old events may already carry 'note' with any value.
  CHECK(try_register(mode, {open_v1}, open_add_optional)
            .starts_with("incompatible_schema: OrderPlaced v2: field 'note' was added to an open "
                         "content model"));
  // Widening a type is fine for new readers, narrowing is not.
  auto num = R"({"properties":{"total":{"type":"number"}}})";
  auto integer = R"({"properties":{"total":{"type":"integer"}}})";
  CHECK(try_register(mode, {integer}, num).empty());
  CHECK(try_register(mode, {num}, integer)
            .starts_with("incompatible_schema: OrderPlaced v2: field 'total' changed type from "
                         "number to integer: BACKWARD forbids this (consumers on v2 cannot read "
                         "v1 events)"));
}

TEST_CASE("FORWARD accepts what old consumers can read and names the field that breaks it",
          "[schema][compatibility]") {
  auto mode = compatibility::forward;
  CHECK(try_register(mode, {open_v1}, open_add_optional).empty());
  CHECK(try_register(mode, {open_v1}, open_add_required).empty());
  CHECK(try_register(mode, {open_v1}, open_drop_total) ==
        "incompatible_schema: OrderPlaced v2: field 'total' was removed, but the older version "
        "requires it without a default: FORWARD forbids this (consumers on v1 cannot read v2 "
        "events); make the change compatible, register it under another event type, or set this "
        "type's compatibility to NONE");
  CHECK(try_register(mode, {closed_v1}, closed_add_optional)
            .starts_with("incompatible_schema: OrderPlaced v2: field 'note' was added, but the "
                         "older version has a closed content model"));
  // Tightening a bound is fine for old readers, relaxing it is not.
  auto max10 = R"({"properties":{"qty":{"type":"integer","maximum":10}}})";
  auto max99 = R"({"properties":{"qty":{"type":"integer","maximum":99}}})";
  CHECK(try_register(mode, {max99}, max10).empty());
  CHECK(try_register(mode, {max10}, max99)
            .starts_with("incompatible_schema: OrderPlaced v2: field 'qty' maximum changed from "
                         "10 to 99: FORWARD forbids this (consumers on v1 cannot read v2 events)"));
}

TEST_CASE("FULL needs both directions", "[schema][compatibility]") {
  auto mode = compatibility::full;
  CHECK(try_register(mode, {partial_v1}, partial_add_string).empty());
  // Backward alone would accept it; old readers of the closed v1 would reject 'note'.
  CHECK(try_register(mode, {closed_v1}, closed_add_optional)
            .starts_with("incompatible_schema: OrderPlaced v2: field 'note' was added, but the "
                         "older version has a closed content model (\"additionalProperties\": "
                         "false): FULL forbids this (consumers on v1 cannot read v2 events)"));
  // Forward alone would accept it; new readers cannot read v1's open extras.
  CHECK(try_register(mode, {open_v1}, open_add_optional)
            .find("FULL forbids this (consumers on v2 cannot read v1 events)") !=
        std::string::npos);
  auto enum2 = R"({"properties":{"status":{"enum":["new","paid"]}}})";
  auto enum3 = R"({"properties":{"status":{"enum":["new","paid","lost"]}}})";
  CHECK(try_register(mode, {enum2}, enum3)
            .starts_with("incompatible_schema: OrderPlaced v2: field 'status' enum value "
                         "\"lost\" was added: FULL forbids this"));
}

TEST_CASE("NONE accepts any change", "[schema][compatibility]") {
  auto mode = compatibility::none;
  CHECK(try_register(mode, {closed_v1}, R"({"type":"array"})").empty());
  CHECK(try_register(mode, {open_v1}, closed_add_required).empty());
}

TEST_CASE("transitive modes check every earlier version, the plain ones only the latest",
          "[schema][compatibility]") {
  // v1 had a required 'b'; v2 dropped it (registered under NONE); v3 is v2 again.
  auto v1 = R"({"type":"object","additionalProperties":false,"required":["a","b"],
    "properties":{"a":{"type":"string"},"b":{"type":"integer"}}})";
  auto v2 = R"({"type":"object","additionalProperties":false,"required":["a"],
    "properties":{"a":{"type":"string"}}})";
  auto v3 = R"({"title":"v3","type":"object","additionalProperties":false,"required":["a"],
    "properties":{"a":{"type":"string"}}})";
  for (auto mode : {compatibility::backward, compatibility::forward, compatibility::full})
    CHECK(try_register(mode, {v1, v2}, v3).empty());
  CHECK(try_register(compatibility::backward_transitive, {v1, v2}, v3) ==
        "incompatible_schema: OrderPlaced v3: field 'b' was removed from a closed content model "
        "(\"additionalProperties\": false now rejects it): BACKWARD_TRANSITIVE forbids this "
        "(consumers on v3 cannot read v1 events); make the change compatible, register it under "
        "another event type, or set this type's compatibility to NONE");
  CHECK(try_register(compatibility::forward_transitive, {v1, v2}, v3)
            .starts_with("incompatible_schema: OrderPlaced v3: field 'b' was removed, but the "
                         "older version requires it without a default: FORWARD_TRANSITIVE "
                         "forbids this (consumers on v1 cannot read v3 events)"));
  CHECK(try_register(compatibility::full_transitive, {v1, v2}, v3)
            .find("FULL_TRANSITIVE forbids this (consumers on v3 cannot read v1 events)") !=
        std::string::npos);
  // And a history that is compatible all along passes the transitive check.
  auto v3_with_default = R"({"type":"object","additionalProperties":false,
    "required":["order_id","total","currency"],
    "properties":{"order_id":{"type":"string"},"total":{"type":"number"},"note":{"type":"string"},
                  "currency":{"type":"string","default":"EUR"}}})";
  CHECK(try_register(compatibility::backward_transitive, {closed_v1, closed_add_optional},
                     v3_with_default)
            .empty());
}

TEST_CASE("versions are immutable and increasing, and the same schema again is a no-op",
          "[schema][compatibility]") {
  auto cat = history(compatibility::backward, {closed_v1, closed_add_optional});
  auto same = cat->prepare("OrderPlaced", 2, closed_add_optional);
  REQUIRE(same);
  CHECK_FALSE(*same);
  auto changed = cat->prepare("OrderPlaced", 2, closed_v1);
  REQUIRE_FALSE(changed);
  CHECK(describe(changed.error()) ==
        "invalid_argument: OrderPlaced v2 is already registered with another schema; a version "
        "never changes: register the change as v3");
  auto older = cat->prepare("OrderPlaced", 1, closed_add_required);
  REQUIRE_FALSE(older);
  CHECK(is(older.error(), errc::invalid_argument));
  auto zero = cat->prepare("OrderPlaced", 0, closed_v1);
  REQUIRE_FALSE(zero);
  auto malformed = cat->prepare("OrderPlaced", 3, R"({"type": )");
  REQUIRE_FALSE(malformed);
  CHECK(describe(malformed.error())
            .starts_with("invalid_schema: OrderPlaced v3: the schema is not valid JSON"));
}

TEST_CASE("compatibility modes parse and print as stored", "[schema][compatibility]") {
  for (auto m : {compatibility::none, compatibility::backward, compatibility::forward,
                 compatibility::full, compatibility::backward_transitive,
                 compatibility::forward_transitive, compatibility::full_transitive}) {
    CHECK(parse_compatibility(to_string(m)) == m);
    CHECK(parse_compatibility(upper(m)) == m);
  }
  CHECK_FALSE(parse_compatibility("sideways"));
}
