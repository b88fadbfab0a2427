#include <catch2/catch.hpp>

#include <deque>
#include <random>
#include <set>

#include "actors/processed_ids.hpp"

using namespace herald;

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

TEST_CASE("a group's processed ids outlive the member that filled them", "[idempotence]") {
  group_ids g{100};
  auto id = next_event_id();
  g.of({"orders", partition_id{1}})->insert(id);
  CHECK(g.of({"orders", partition_id{1}})->contains(id));
  CHECK_FALSE(g.of({"orders", partition_id{2}})->contains(id));
}
