#include <catch2/catch.hpp>

#include <deque>
#include <random>
#include <set>

#include "actors/processed_ids.hpp"
#include "storage/offset_store.hpp"
#include "tests/support/disk.hpp"

using namespace herald;
using herald::test::temp_dir;

TEST_CASE("processed ids remember the last capacity ids and forget the oldest", "[idempotence]") {
  processed_ids ids{3};
  event_id_generator gen;
  auto a = gen.next(), b = gen.next(), c = gen.next(), d = gen.next();
  ids.insert(a);
  ids.insert(b);
  ids.insert(c);
  CHECK(ids.contains(a));
  ids.insert(b);  // present: no change
  CHECK(ids.size() == 3);
  ids.insert(d);  // evicts a
  CHECK_FALSE(ids.contains(a));
  CHECK(ids.contains(b));
  CHECK(ids.contains(c));
  CHECK(ids.contains(d));
  CHECK(ids.snapshot() == std::vector<event_id>{b, c, d});
}

TEST_CASE("processed ids agree with a model under random inserts", "[idempotence]") {
  // Small tables and colliding ids stress the backward-shift deletion.
  std::mt19937_64 rng{42};
  for (size_t capacity : {1u, 2u, 7u, 64u}) {
    processed_ids ids{capacity};
    std::deque<event_id> model;
    for (int i = 0; i < 20000; ++i) {
      event_id id{rng() % 8, rng() % 200 + 1};  // few distinct values: many hits and collisions
      bool present = std::find(model.begin(), model.end(), id) != model.end();
      REQUIRE(ids.contains(id) == present);
      ids.insert(id);
      if (!present) {
        model.push_back(id);
        if (model.size() > capacity) model.pop_front();
      }
      REQUIRE(ids.size() == model.size());
    }
    for (auto& id : model) REQUIRE(ids.contains(id));
  }
}

TEST_CASE("ids made in one millisecond (consecutive) are remembered and forgotten in order",
          "[idempotence]") {
  // One producer's burst: ids differing by one in their low bits, the case a weak hash turns
  // into one long probe run.
  event_id_generator gen;
  std::vector<event_id> burst;
  for (int i = 0; i < 20000; ++i) burst.push_back(gen.next(1'700'000'000'000));
  processed_ids ids{5000};
  for (size_t i = 0; i < burst.size(); ++i) {
    if (i % 7 == 0) ids.prefetch(burst[i]);  // a hint only: must not change anything
    ids.prefetch_evictions(3);
    REQUIRE_FALSE(ids.contains(burst[i]));
    ids.insert(burst[i]);
  }
  CHECK(ids.size() == 5000);
  for (size_t i = 0; i < burst.size(); ++i) REQUIRE(ids.contains(burst[i]) == (i >= 15000));
}

TEST_CASE("an idempotence window over 2^32 ids is refused with the limit", "[idempotence]") {
  CHECK_THROWS_WITH(processed_ids{(size_t{1} << 32) + 1}, Catch::Contains("2^32"));
}

TEST_CASE("a group's processed ids outlive the member that filled them", "[idempotence]") {
  group_ids g{100};
  auto id = next_event_id();
  g.of({"orders", partition_id{1}})->insert(id);
  CHECK(g.of({"orders", partition_id{1}})->contains(id));
  CHECK_FALSE(g.of({"orders", partition_id{2}})->contains(id));
}

TEST_CASE("unsaved ids are the ones inserted since the last save, at most the capacity",
          "[idempotence]") {
  processed_ids ids{4};
  event_id_generator gen;
  std::vector<event_id> all;
  for (int i = 0; i < 3; ++i) all.push_back(gen.next());
  for (auto& id : all) ids.insert(id);
  ids.insert(all[1]);  // present: not new
  CHECK(ids.unsaved() == 3);
  CHECK(ids.unsaved_ids() == all);
  ids.mark_saved();
  CHECK(ids.unsaved() == 0);
  CHECK(ids.unsaved_ids().empty());
  // More new ids than the capacity: only the ones still held are unsaved.
  std::vector<event_id> more;
  for (int i = 0; i < 6; ++i) more.push_back(gen.next());
  for (auto& id : more) ids.insert(id);
  CHECK(ids.unsaved() == 4);
  CHECK(ids.unsaved_ids() == std::vector<event_id>(more.begin() + 2, more.end()));
}

TEST_CASE("a group's processed ids are saved in one write per save and seed a new group_ids",
          "[idempotence]") {
  temp_dir dir;
  auto store = offset_store::open(dir.path());
  REQUIRE(store);
  topic_partition tp{"orders", partition_id{1}};
  event_id_generator gen;
  std::vector<event_id> applied;
  {
    group_ids g{100, "billing", *store};
    REQUIRE(g.durable());
    auto set = g.of(tp);
    for (int i = 0; i < 150; ++i) {
      applied.push_back(gen.next());
      set->insert(applied.back());
    }
    auto before = (*store)->file_bytes();
    REQUIRE_FALSE(g.save(tp, *set));
    // One record: 28 bytes, the names, 16 bytes per id still in the window.
    CHECK((*store)->file_bytes() - before == 28 + 7 + 6 + 100 * 16);
    before = (*store)->file_bytes();
    REQUIRE_FALSE(g.save(tp, *set));  // nothing new: nothing written
    CHECK((*store)->file_bytes() == before);
  }
  // A new group_ids on the same store (a restarted runtime) knows the last 100, not more.
  group_ids g{100, "billing", *store};
  auto set = g.of(tp);
  CHECK(set->size() == 100);
  CHECK(set->snapshot() == std::vector<event_id>(applied.begin() + 50, applied.end()));
  CHECK_FALSE(set->contains(applied[49]));
  CHECK(set->unsaved() == 0);
  // Another group or partition starts empty.
  CHECK(group_ids{100, "audit", *store}.of(tp)->size() == 0);
  CHECK(g.of({"orders", partition_id{0}})->size() == 0);
}
