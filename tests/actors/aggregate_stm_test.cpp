// The aggregator's per-partition logic without actors: versions, duplicates, emit policies,
// and the version marks that keep a rebuild from emitting twice.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "actors/aggregate_stm.hpp"
#include "actors/cart_aggregator.hpp"
#include "tests/support/views.hpp"

using namespace herald;
using namespace std::chrono_literals;
using clock_type = aggregate_stm::clock;

namespace {

event added(const std::string& cart, const std::string& sku, int64_t qty, int64_t price) {
  return cart::make_event(cart::item_added{cart, sku, qty, price});
}

event removed(const std::string& cart, const std::string& sku, int64_t qty) {
  return cart::make_event(cart::item_removed{cart, sku, qty});
}

struct run {
  std::vector<emission> out;
  std::vector<aggregate_stm::outcome> outcomes;
};

run apply_all(aggregate_stm& stm, const test::encoded_events& enc, clock_type::time_point now) {
  run r;
  for (auto& v : enc.views) {
    caf::error why;
    r.outcomes.push_back(stm.apply(v, now, r.out, why));
  }
  return r;
}

std::vector<uint64_t> versions(const std::vector<emission>& out) {
  std::vector<uint64_t> vs;
  for (auto& e : out) vs.push_back(e.version);
  return vs;
}

}  // namespace

TEST_CASE("every change emits each version with the state at that version") {
  auto policy = emit_policy::on_change();
  aggregate_stm stm{policy, cart::make_table(), 1000, nullptr};
  auto enc =
      test::encode({added("C1", "A", 2, 100), added("C1", "B", 1, 500), removed("C1", "A", 1)});
  auto r = apply_all(stm, enc, clock_type::now());
  REQUIRE(versions(r.out) == std::vector<uint64_t>{1, 2, 3});
  auto last = cart::parse_cart_updated(r.out.back().payload);
  REQUIRE(last);
  CHECK(last->items == std::vector<cart::cart_line>{{"A", 1, 100}, {"B", 1, 500}});
  CHECK(last->item_count == 2);
  CHECK(last->total == 600);
  CHECK(last->version == 3);
  CHECK(r.out.back().source == offset{2});
  CHECK(stm.next() == offset{3});
}

TEST_CASE("a redelivered offset and a repeated event id are not folded again") {
  auto policy = emit_policy::on_change();
  aggregate_stm stm{policy, cart::make_table(), 1000, nullptr};
  auto e1 = added("C1", "A", 1, 100);
  auto enc = test::encode({e1, added("C1", "A", 1, 100)});
  auto first = apply_all(stm, enc, clock_type::now());
  CHECK(versions(first.out) == std::vector<uint64_t>{1, 2});
  // The same records again (a redelivery after a crash): skipped by offset.
  auto again = apply_all(stm, enc, clock_type::now());
  CHECK(again.out.empty());
  CHECK(again.outcomes == std::vector{aggregate_stm::outcome::seen, aggregate_stm::outcome::seen});
  // The first event published a second time (same id, a later offset): skipped by id.
  auto dup = test::encode({e1}, offset{2});
  auto r = apply_all(stm, dup, clock_type::now());
  CHECK(r.outcomes == std::vector{aggregate_stm::outcome::duplicate});
  CHECK(r.out.empty());
  CHECK(stm.next() == offset{3});
}

TEST_CASE("bad input is rejected, leaves the cart unchanged and takes no version") {
  auto policy = emit_policy::on_change();
  aggregate_stm stm{policy, cart::make_table(), 1000, nullptr};
  auto bad_json = event::builder{"cart.events", "ItemAdded"}.key("C1").payload("[1,2]").build();
  auto enc = test::encode({added("C1", "A", 2, 100), removed("C1", "A", 3), removed("C1", "Z", 1),
                           bad_json, added("C2", "A", 1, 100), added("C1", "A", 1, 100)});
  run r;
  std::vector<std::string> errors;
  for (auto& v : enc.views) {
    caf::error why;
    r.outcomes.push_back(stm.apply(v, clock_type::now(), r.out, why));
    if (why) errors.push_back(describe(why));
  }
  using o = aggregate_stm::outcome;
  CHECK(r.outcomes ==
        std::vector{o::applied, o::rejected, o::rejected, o::rejected, o::applied, o::applied});
  REQUIRE(errors.size() == 3);
  CHECK_THAT(errors[0], Catch::Contains("removing 3 of 'A'") && Catch::Contains("holds 2"));
  CHECK_THAT(errors[1], Catch::Contains("holds no 'Z'"));
  CHECK_THAT(errors[2], Catch::Contains("not an object"));
  REQUIRE(r.out.size() == 3);
  CHECK(r.out[2].key == "C1");
  CHECK(r.out[2].version == 2);
  auto c1 = cart::parse_cart_updated(r.out[2].payload);
  REQUIRE(c1);
  CHECK(c1->item_count == 3);
  CHECK(c1->total == 300);
}

TEST_CASE("the cart fold refuses each kind of bad input with a message naming it") {
  flat_json p;
  cart::cart_state c;
  auto fold = [&](std::string_view type, std::string_view key, std::string_view payload) {
    auto err = cart::fold(c, type, key, payload, p);
    return err ? describe(err) : std::string{};
  };
  CHECK(fold("ItemAdded", "C1", R"({"cart_id":"C1","sku":"A","qty":2,"price":150})").empty());
  CHECK_THAT(fold("ItemAdded", "C1", R"({"cart_id":"C1","sku":"A","qty":-1,"price":1})"),
             Catch::Contains("'qty' is -1"));
  CHECK_THAT(fold("ItemAdded", "C1", R"({"cart_id":"C1","sku":"A","qty":0,"price":1})"),
             Catch::Contains("'qty' is 0"));
  CHECK_THAT(fold("ItemAdded", "C1", R"({"cart_id":"C1","sku":"A","qty":1.5,"price":1})"),
             Catch::Contains("'qty' must be an integer"));
  CHECK_THAT(fold("ItemAdded", "C1", R"({"cart_id":"C1","sku":"A","qty":1})"),
             Catch::Contains("'price' is missing"));
  CHECK_THAT(fold("ItemAdded", "C1", R"({"cart_id":"C2","sku":"A","qty":1,"price":1})"),
             Catch::Contains("differs from the event key"));
  CHECK_THAT(fold("ItemAdded", "C1", R"({"cart_id":"C1","sku":"A","qty":1,"price":1)"),
             Catch::Contains("not valid JSON"));
  CHECK_THAT(fold("ItemRemoved", "C1", R"({"cart_id":"C1","sku":"A","qty":3})"),
             Catch::Contains("holds 2"));
  CHECK_THAT(fold("CartCheckedOut", "C1", R"({"cart_id":"C1"})"),
             Catch::Contains("unexpected event type 'CartCheckedOut'"));
  // None of the refusals changed the cart.
  REQUIRE(c.lines.size() == 1);
  REQUIRE(c.find("A"));
  CHECK(c.find("A")->qty == 2);
  CHECK(c.item_count == 2);
  CHECK(c.total == 300);
  // A later price applies to the whole line.
  CHECK(fold("ItemAdded", "C1", R"({"cart_id":"C1","sku":"A","qty":1,"price":200})").empty());
  CHECK(c.total == 600);
  CHECK(fold("ItemRemoved", "C1", R"({"cart_id":"C1","sku":"A","qty":3})").empty());
  CHECK(c.lines.empty());
  CHECK(c.total == 0);
}

TEST_CASE("every N emits the versions that are multiples of N") {
  auto policy = emit_policy::every(3);
  aggregate_stm stm{policy, cart::make_table(), 1000, nullptr};
  std::vector<event> evs;
  for (int i = 0; i < 7; ++i) evs.push_back(added("C1", "A", 1, 10));
  auto r = apply_all(stm, test::encode(evs), clock_type::now());
  CHECK(versions(r.out) == std::vector<uint64_t>{3, 6});
}

TEST_CASE("a quiet period emits a key once it had no change for that long") {
  auto policy = emit_policy::after_quiet(100ms);
  aggregate_stm stm{policy, cart::make_table(), 1000, nullptr};
  auto t0 = clock_type::now();
  auto enc = test::encode({added("C1", "A", 1, 10), added("C2", "A", 1, 10)});
  std::vector<emission> out;
  caf::error why;
  stm.apply(enc.views[0], t0, out, why);
  stm.apply(enc.views[1], t0 + 60ms, out, why);
  CHECK(out.empty());
  REQUIRE(stm.next_quiet() == t0 + 100ms);
  stm.quiet_due(t0 + 99ms, out);
  CHECK(out.empty());
  stm.quiet_due(t0 + 100ms, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].key == "C1");
  // C1 changes again before C2's period ends: only C2 is due at t0 + 160 ms.
  auto more = test::encode({added("C1", "B", 1, 10)}, offset{2});
  stm.apply(more.views[0], t0 + 150ms, out, why);
  stm.quiet_due(t0 + 160ms, out);
  REQUIRE(out.size() == 2);
  CHECK(out[1].key == "C2");
  stm.quiet_due(t0 + 250ms, out);
  REQUIRE(out.size() == 3);
  CHECK(out[2].key == "C1");
  CHECK(out[2].version == 2);
}

TEST_CASE("an interval tick emits every key that changed since the previous tick, once") {
  auto policy = emit_policy::periodic(50ms);
  aggregate_stm stm{policy, cart::make_table(), 1000, nullptr};
  auto enc =
      test::encode({added("C1", "A", 1, 10), added("C2", "A", 1, 10), added("C1", "A", 1, 10)});
  auto r = apply_all(stm, enc, clock_type::now());
  CHECK(r.out.empty());
  CHECK(stm.has_listed());
  std::vector<emission> out;
  stm.interval_tick(out);
  REQUIRE(out.size() == 2);
  CHECK(out[0].key == "C1");
  CHECK(out[0].version == 2);
  CHECK(out[1].key == "C2");
  out.clear();
  stm.interval_tick(out);
  CHECK(out.empty());
}

TEST_CASE("a closing event emits at once") {
  emit_policy policy;
  policy.closing = [](const event_view& e) {
    return e.type() == "ItemRemoved";
  };
  policy.interval = 1000ms;
  aggregate_stm stm{policy, cart::make_table(), 1000, nullptr};
  auto enc = test::encode({added("C1", "A", 2, 10), removed("C1", "A", 1)});
  auto r = apply_all(stm, enc, clock_type::now());
  REQUIRE(r.out.size() == 1);
  CHECK(r.out[0].version == 2);
  std::vector<emission> out;
  stm.interval_tick(out);  // C1 was emitted at version 2 already
  CHECK(out.empty());
}

TEST_CASE("a policy without a trigger is refused") {
  CHECK(emit_policy{}.validate());
  CHECK_FALSE(emit_policy::on_change().validate());
}

TEST_CASE("a rebuild emits only the versions above the marks read from the output topic") {
  // The first incarnation emitted C1 up to version 2 and C2 not at all before it died.
  emitted_index known{{"C1", 2}};
  auto policy = emit_policy::on_change();
  aggregate_stm stm{policy, cart::make_table(), 1000, &known};
  auto enc = test::encode({added("C1", "A", 1, 10), added("C2", "A", 1, 10),
                           added("C1", "A", 1, 10), added("C1", "A", 1, 10)});
  auto r = apply_all(stm, enc, clock_type::now());
  REQUIRE(r.out.size() == 2);
  CHECK(r.out[0].key == "C2");
  CHECK(r.out[0].version == 1);
  CHECK(r.out[1].key == "C1");
  CHECK(r.out[1].version == 3);
  // The same holds for a quiet policy: C1 at 3 is due, C1's replayed versions are not queued.
  aggregate_stm quiet{emit_policy::after_quiet(10ms), cart::make_table(), 1000, &known};
  auto t0 = clock_type::now();
  apply_all(quiet, enc, t0);
  std::vector<emission> out;
  quiet.quiet_due(t0 + 10ms, out);
  REQUIRE(out.size() == 2);
  CHECK(out[0].key == "C2");
  CHECK(out[1].key == "C1");
  CHECK(out[1].version == 3);
}

TEST_CASE("flat_json reads top-level members and skips nested ones") {
  flat_json p;
  REQUIRE_FALSE(p.parse(
      R"({"a":"x\"y","n":-3,"d":1.5,"b":true,"z":null,"o":{"a":1},"l":[1,{"q":2}],"s":"é"})"));
  REQUIRE(p.find("a"));
  CHECK(p.find("a")->text == "x\"y");
  CHECK(p.find("n")->integer == -3);
  CHECK(p.find("n")->type == json_field::kind::integer);
  CHECK(p.find("d")->type == json_field::kind::number);
  CHECK(p.find("b")->integer == 1);
  CHECK(p.find("z")->type == json_field::kind::null);
  CHECK(p.find("o")->type == json_field::kind::nested);
  CHECK(p.find("l")->type == json_field::kind::nested);
  CHECK(p.find("q") == nullptr);
  CHECK(p.find("s")->text == "é");
  CHECK(p.size() == 8);
  CHECK(p.parse("42"));
  CHECK(p.parse(R"({"a":1} x)"));
  CHECK(p.parse(""));
}
