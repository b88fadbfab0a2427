#include <catch2/catch.hpp>

#include <set>

#include "messages/errors.hpp"
#include "messages/event.hpp"
#include "messages/record_batch.hpp"

using namespace herald;

TEST_CASE("event ids are unique and sort by creation order", "[event]") {
  event_id_generator gen;
  std::vector<event_id> ids;
  for (int i = 0; i < 10000; ++i) ids.push_back(gen.next());
  for (size_t i = 1; i < ids.size(); ++i) REQUIRE(ids[i - 1] < ids[i]);
  std::set<std::string> texts;
  for (auto& id : ids) texts.insert(id.to_string());
  REQUIRE(texts.size() == ids.size());
  // Text order equals numeric order.
  REQUIRE(std::is_sorted(texts.begin(), texts.end()));
  REQUIRE(*texts.begin() == ids.front().to_string());
}

TEST_CASE("event id text round-trips and rejects malformed text", "[event]") {
  auto id = next_event_id();
  auto text = id.to_string();
  REQUIRE(text.size() == event_id::text_size);
  REQUIRE(event_id::parse(text) == id);
  REQUIRE_FALSE(event_id::parse("too-short"));
  REQUIRE_FALSE(event_id::parse(std::string(26, 'U')));  // U is not in the alphabet
  REQUIRE_FALSE(event_id::parse("8" + std::string(25, '0')));  // overflows 128 bits
}

TEST_CASE("an event survives encoding into a batch and decoding from it", "[event][batch]") {
  auto ev = event::builder{"orders", "OrderPlaced"}
                .key("ORD-1")
                .payload(R"({"total":49.99})")
                .causation_id("01ARZ3NDEKTSV4RRFFQ69G5FAV")
                .traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
                .schema_version(3)
                .header("source", "web")
                .header("tenant", "acme")
                .build();
  batch_builder b;
  REQUIRE_FALSE(b.add(ev));
  auto batch = b.seal(producer_id{7}, 42);
  REQUIRE(batch->record_count() == 1);
  REQUIRE(batch->producer() == producer_id{7});
  REQUIRE(batch->producer_seq() == 42);
  REQUIRE(record_batch::check(batch->data(), batch->size()));
  batch_cursor cur{*batch, offset{100}, "orders", partition_id{2}};
  event_view v;
  cur.next(v);
  REQUIRE(cur.done());
  CHECK(v.id() == ev.id());
  CHECK(v.type() == "OrderPlaced");
  CHECK(v.key() == "ORD-1");
  CHECK(v.payload() == R"({"total":49.99})");
  CHECK(v.offset() == offset{100});
  CHECK(v.partition() == partition_id{2});
  CHECK(v.topic() == "orders");
  CHECK(v.correlation_id() == ev.id_text());  // a root event correlates to itself
  CHECK(v.causation_id() == "01ARZ3NDEKTSV4RRFFQ69G5FAV");
  CHECK(v.schema_version() == 3);
  CHECK(v.header("tenant") == std::optional<std::string_view>{"acme"});
  CHECK_FALSE(v.header("missing"));
  auto copy = v.to_event();
  CHECK(copy.id() == ev.id());
  CHECK(copy.headers() == ev.headers());
  CHECK(copy.correlation_id() == ev.correlation_id());
  CHECK(copy.time() == ev.time());
}

TEST_CASE("a flipped bit anywhere in a batch is detected", "[batch]") {
  batch_builder b;
  for (int i = 0; i < 3; ++i)
    REQUIRE_FALSE(b.add(make_event("t", "E", "k" + std::to_string(i), "{}")));
  auto batch = b.seal(producer_id{1}, 0);
  std::string bytes(batch->data(), batch->size());
  // Bytes [0, 16) are the broker-assigned fields outside the CRC; every other byte counts.
  for (size_t i = format::b_length; i < bytes.size(); ++i) {
    auto copy = bytes;
    copy[i] ^= 0x10;
    auto r = record_batch::check(copy.data(), copy.size());
    INFO("byte " << i);
    REQUIRE_FALSE(r);
  }
}
