// validate_json guards every payload a producer accepts: a false rejection loses a user's event,
// a false acceptance breaks every consumer that parses it later.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "messages/errors.hpp"
#include "messages/event.hpp"
#include "messages/json.hpp"

using namespace herald;

namespace {

std::string nested(size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

}  // namespace

TEST_CASE("validate_json accepts valid JSON texts", "[json]") {
  const std::vector<std::string> valid = {
      "{}",
      "[]",
      "0",
      "-12.5e+3",
      "true",
      "false",
      "null",
      R"("")",
      R"("text with \"escapes\" \\ \/ \b\f\n\r\t \u00e9 \ud83d\ude00")",
      "\"caf\xc3\xa9 \xe2\x82\xac\"",  // UTF-8: é, €
      R"({"order_id":"ORD-1","total":49.99,"items":[{"sku":"A","qty":2}],"paid":false,"note":null})",
      " \t\r\n{ \"a\" : [ 1 , 2 ] }\n ",  // whitespace around and inside
      "18446744073709551615",             // u64 max
      "-9223372036854775808",             // i64 min
      nested(30),
  };
  for (auto& text : valid) {
    INFO(text);
    auto err = validate_json(text);
    INFO(describe(err));
    CHECK_FALSE(err);
  }
}

TEST_CASE("validate_json rejects malformed JSON and says at which byte", "[json]") {
  struct bad {
    std::string text;
    std::string where;  // expected "at byte N"
  };
  const std::vector<bad> cases = {
      {"[1,2,}", "at byte 5"},                  // a stray token
      {R"({"a":1)", "at byte 6"},               // truncated object
      {R"({"a":"unterminated)", "at byte 18"},  // truncated string
      {"[1 2]", "at byte 3"},                   // missing comma
      {R"({"a" 1})", "at byte 5"},              // missing colon
      {"{} x", "at byte 3"},                    // trailing garbage
      {"{}{}", "at byte 2"},                    // two texts
      {"nul", "at byte 3"},                     // truncated literal
      {"01", "at byte 1"},                      // leading zero
      {"NaN", "at byte 0"},                     // not a JSON number
      {"// comment\n{}", "at byte 0"},          // comments are not JSON
      {"{'a':1}", "at byte 1"},                 // single quotes
      {"\"\xff\"", "at byte 1"},                // invalid UTF-8
      {"   ", "at byte 3"},                     // only whitespace
  };
  for (auto& c : cases) {
    INFO("payload: " << c.text);
    auto err = validate_json(c.text);
    REQUIRE(err);
    auto text = describe(err);
    INFO(text);
    CHECK(is(err, errc::invalid_json));
    CHECK(text.find(c.where) != std::string::npos);
  }
}

TEST_CASE("validate_json rejects an empty payload with a message saying so", "[json]") {
  auto err = validate_json("");
  REQUIRE(err);
  CHECK(is(err, errc::invalid_json));
  CHECK(describe(err).find("empty") != std::string::npos);
}

TEST_CASE("validate_json and event::json agree on deep nesting up to the documented limit",
          "[json]") {
  // A deeply nested document is valid JSON; only Herald's own limit may refuse it, and the
  // error must name that limit instead of calling the JSON invalid.
  auto deep = nested(max_json_depth);
  CHECK_FALSE(validate_json(deep));
  auto ev = make_event("t", "E", "k", deep);
  CHECK(ev.json());

  auto too_deep = nested(max_json_depth + 1);
  auto err = validate_json(too_deep);
  REQUIRE(err);
  CHECK(is(err, errc::invalid_json));
  CHECK(describe(err).find(std::to_string(max_json_depth)) != std::string::npos);
}
