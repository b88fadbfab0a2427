// The replay state machine alone: which records it applies, in which order, and when it stops.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "actors/entity_replay.hpp"

using namespace herald;

namespace {

struct rec {
  std::string key;
  int64_t version;  ///< 0: no version header
  int64_t time = 0;
};

/// One batch of `recs` at `base`, as a partition read would return it.
read_result read_of(const std::vector<rec>& recs, int64_t base, int64_t end) {
  batch_builder b;
  for (auto& r : recs) {
    event::builder eb{"t", "E"};
    eb.key(r.key).payload("{}").time(timestamp{r.time});
    if (r.version > 0) eb.header(std::string{entity_version_header}, std::to_string(r.version));
    REQUIRE_FALSE(b.add(eb.build()));
  }
  read_result out;
  auto batch = b.seal(producer_id{0}, 0);
  out.slices.push_back(batch_slice{batch, offset{base}, timestamp{0}, format::batch_header_size,
                                   static_cast<uint32_t>(recs.size())});
  out.next = offset{base + static_cast<int64_t>(recs.size())};
  out.end = offset{end};
  return out;
}

struct applied {
  std::vector<int64_t> versions;
  std::vector<int64_t> offsets;
  auto fn() {
    return [this](const event_view& e) {
      versions.push_back(entity_version_of(e).value_or(-1));
      offsets.push_back(e.offset().value);
    };
  }
};

}  // namespace

TEST_CASE("replay applies only the entity's versioned events, in order, across reads") {
  entity_replay r{"A", "t", {}, 0, offset{0}};
  applied a;
  REQUIRE_FALSE(
      r.feed(read_of({{"A", 1}, {"B", 1}, {"A", 2}, {"A", 0}}, 0, 7), partition_id{0}, a.fn()));
  CHECK_FALSE(r.done());
  CHECK(r.next() == offset{4});
  REQUIRE_FALSE(r.feed(read_of({{"B", 2}, {"A", 3}, {"AB", 4}}, 4, 7), partition_id{0}, a.fn()));
  CHECK(r.done());
  CHECK(a.versions == std::vector<int64_t>{1, 2, 3});
  CHECK(a.offsets == std::vector<int64_t>{0, 2, 5});
  CHECK(r.version() == 3);
  CHECK(r.last_offset() == offset{5});
  CHECK(r.foreign() == 1);
}

TEST_CASE("replay skips duplicates and refuses a version gap") {
  entity_replay r{"A", "t", {}, 0, offset{0}};
  applied a;
  REQUIRE_FALSE(r.feed(read_of({{"A", 1}, {"A", 1}, {"A", 2}}, 0, 10), partition_id{0}, a.fn()));
  CHECK(r.duplicates() == 1);
  auto err = r.feed(read_of({{"A", 4}}, 3, 10), partition_id{0}, a.fn());
  REQUIRE(err);
  CHECK(is(err, errc::storage_failure));
  CHECK_THAT(describe(err), Catch::Contains("from version 2 to 4") && Catch::Contains("offset 3"));
  CHECK(a.versions == std::vector<int64_t>{1, 2});
}

TEST_CASE("replay resumes after a snapshot and stops at a version or time limit") {
  SECTION("after a snapshot of version 2") {
    entity_replay r{"A", "t", {}, 2, offset{5}};
    applied a;
    REQUIRE_FALSE(r.feed(read_of({{"A", 2}, {"A", 3}}, 5, 7), partition_id{0}, a.fn()));
    CHECK(a.versions == std::vector<int64_t>{3});
    CHECK(r.duplicates() == 1);
    CHECK(r.done());
  }
  SECTION("version limit") {
    entity_replay r{"A", "t", {.max_version = 2}, 0, offset{0}};
    applied a;
    REQUIRE_FALSE(r.feed(read_of({{"A", 1}, {"A", 2}, {"A", 3}}, 0, 100), partition_id{0}, a.fn()));
    CHECK(r.done());
    CHECK(a.versions == std::vector<int64_t>{1, 2});
  }
  SECTION("time limit") {
    entity_replay r{"A", "t", {.max_time = timestamp{20}}, 0, offset{0}};
    applied a;
    REQUIRE_FALSE(r.feed(read_of({{"A", 1, 10}, {"A", 2, 20}, {"A", 3, 30}}, 0, 100),
                         partition_id{0}, a.fn()));
    CHECK(r.done());
    CHECK(a.versions == std::vector<int64_t>{1, 2});
    CHECK(r.last_time() == timestamp{20});
  }
  SECTION("an empty read ends the replay") {
    entity_replay r{"A", "t", {}, 0, offset{0}};
    read_result empty;
    empty.next = offset{0};
    empty.end = offset{3};
    REQUIRE_FALSE(r.feed(empty, partition_id{0}, [](const event_view&) {}));
    CHECK(r.done());
  }
}
