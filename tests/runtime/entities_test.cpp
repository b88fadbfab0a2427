// Event-sourced entities through the public API: optimistic concurrency, rejected commands,
// snapshots against full replays, the past, passivation, crashes and restarts on disk.
#include <catch2/catch.hpp>

#include <random>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "examples/bank/account.hpp"
#include "runtime/herald.hpp"
#include "tests/support/builders.hpp"
#include "tests/support/disk.hpp"
#include "tests/support/wait.hpp"

using namespace herald;
using bank::account_entity;
using bank::deposit;
using bank::withdraw;

namespace {

/// A test entity that remembers every version it applied, in order: an event applied twice
/// or skipped shows in `applied`.
struct tally_entity {
  struct state {
    int64_t sum = 0;
    std::vector<int64_t> applied;
    friend bool operator==(const state&, const state&) = default;
  };
  using command = int64_t;  // add this much
  static constexpr uint32_t state_version = 1;

  static constexpr int64_t throws = -1;    // a command handler that throws
  static constexpr int64_t not_json = -2;  // decides an event whose payload is not JSON
  static caf::expected<std::vector<entity_event>> decide(const state&, const std::string&,
                                                         const command& n) {
    if (n == throws) throw std::runtime_error("tally cannot add -1");
    if (n == not_json) return std::vector<entity_event>{{"Added", "{n: oops"}};
    return std::vector<entity_event>{{"Added", "{\"n\":" + std::to_string(n) + "}"}};
  }
  static void apply(state& s, const event_view& e) {
    auto v = entity_version_of(e);
    s.applied.push_back(v.value_or(-1));
    auto p = e.payload();
    s.sum += std::stoll(std::string{p.substr(5, p.size() - 6)});
  }
  static std::string encode(const state& s) {
    std::string out = std::to_string(s.sum);
    for (auto v : s.applied) out += "," + std::to_string(v);
    return out;
  }
  static caf::expected<state> decode(std::string_view bytes) {
    state s;
    std::string text{bytes};
    size_t pos = 0;
    bool first = true;
    while (pos <= text.size()) {
      auto comma = text.find(',', pos);
      auto item = std::stoll(text.substr(pos, comma - pos));
      if (first)
        s.sum = item;
      else
        s.applied.push_back(item);
      first = false;
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    return s;
  }
};

std::vector<int64_t> one_to(int64_t n) {
  std::vector<int64_t> out;
  for (int64_t i = 1; i <= n; ++i) out.push_back(i);
  return out;
}

entity_options accounts_options() {
  entity_options o;
  o.topic = bank::events_topic;
  o.partitions = 2;
  return o;
}

int64_t partition_end(runtime& rt, const std::string& topic) {
  int64_t total = 0;
  auto md = rt.topic(topic);
  REQUIRE(md);
  for (int32_t p = 0; p < static_cast<int32_t>(md->partitions.size()); ++p) {
    auto st = rt.describe_partition(topic, p);
    REQUIRE(st);
    total += st->end.value;
  }
  return total;
}

}  // namespace

TEST_CASE("an overdraft is rejected with a clear error and appends nothing") {
  runtime rt{test::quiet_config()};
  auto accounts = entities<account_entity>::open(rt, accounts_options());
  REQUIRE(accounts);
  REQUIRE(accounts->execute("ACC-1", deposit{500}));
  auto before = partition_end(rt, bank::events_topic);
  auto r = accounts->execute("ACC-1", withdraw{1000});
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::command_rejected));
  CHECK_THAT(describe(r.error()),
             Catch::Contains("overdraft") && Catch::Contains("5.00") && Catch::Contains("10.00"));
  CHECK(partition_end(rt, bank::events_topic) == before);
  auto s = accounts->state("ACC-1");
  REQUIRE(s);
  CHECK(s->state.balance == 500);
  CHECK(s->version == 1);
}

TEST_CASE("account events are stored with the exact payloads, key and type") {
  runtime rt{test::quiet_config()};
  auto accounts = entities<account_entity>::open(rt, accounts_options());
  REQUIRE(accounts);
  auto d = accounts->execute("ACC-1", deposit{1000});
  REQUIRE(d);
  auto w = accounts->execute("ACC-1", withdraw{250});
  REQUIRE(w);
  CHECK(w->version == 2);
  CHECK(w->first == d->first + 1);
  auto evs = rt.read(bank::events_topic, d->partition.value, d->first, 10);
  REQUIRE(evs);
  REQUIRE(evs->size() == 2);
  CHECK((*evs)[0].type() == "Deposited");
  CHECK((*evs)[0].key() == "ACC-1");
  CHECK((*evs)[0].payload() == R"({"event":"Deposited","account_id":"ACC-1","amount":1000})");
  CHECK((*evs)[1].type() == "Withdrawn");
  CHECK((*evs)[1].payload() == R"({"event":"Withdrawn","account_id":"ACC-1","amount":250})");
  CHECK((*evs)[1].header(entity_version_header) == "2");
}

TEST_CASE("two writers with the same expected version: one wins, the other gets a conflict") {
  runtime rt{test::quiet_config()};
  auto accounts = entities<account_entity>::open(rt, accounts_options());
  REQUIRE(accounts);
  REQUIRE(accounts->execute("ACC-7", deposit{100}));
  caf::expected<command_result> a{caf::error{}}, b{caf::error{}};
  std::thread ta{[&] {
    a = accounts->execute("ACC-7", deposit{10}, expected_version::exactly(1));
  }};
  std::thread tb{[&] {
    b = accounts->execute("ACC-7", withdraw{20}, expected_version::exactly(1));
  }};
  ta.join();
  tb.join();
  REQUIRE(static_cast<bool>(a) != static_cast<bool>(b));
  auto& lost = a ? b : a;
  CHECK(is(lost.error(), errc::version_conflict));
  CHECK_THAT(describe(lost.error()),
             Catch::Contains("at version 2") && Catch::Contains("expected version 1"));
  auto s = accounts->state("ACC-7");
  REQUIRE(s);
  CHECK(s->version == 2);
  CHECK(s->state.balance == (a ? 110 : 80));
  CHECK(partition_end(rt, bank::events_topic) == 2);
  // A command for a new entity can insist that it is new.
  CHECK(accounts->execute("ACC-8", deposit{1}, expected_version::none()));
  auto again = accounts->execute("ACC-8", deposit{1}, expected_version::none());
  REQUIRE_FALSE(again);
  CHECK(is(again.error(), errc::version_conflict));
}

TEST_CASE("a rebuild from a snapshot plus later events equals a full replay") {
  runtime rt{test::quiet_config()};
  auto o = accounts_options();
  o.snapshot_every = 10;
  o.snapshots_kept = 3;
  auto accounts = entities<account_entity>::open(rt, o);
  REQUIRE(accounts);
  std::mt19937 rng{42};
  std::vector<std::string> ids{"ACC-1", "ACC-2", "ACC-3"};
  std::vector<entity_command> cmds;
  for (int i = 0; i < 150; ++i) {
    auto& id = ids[rng() % ids.size()];
    auto amount = static_cast<int64_t>(rng() % 500 + 1);
    account_entity::command c = rng() % 3 == 0 ? account_entity::command{withdraw{amount}}
                                               : account_entity::command{deposit{amount}};
    cmds.push_back({id, expected_version::any(), std::any{c}});
  }
  auto results = accounts->handle().execute_all(std::move(cmds));
  REQUIRE(results.size() == 150);
  REQUIRE(test::wait_until([&] { return accounts->handle().probe().snapshots_settled(); }));
  for (auto& id : ids) {
    auto live = accounts->state(id);
    REQUIRE(live);
    auto from_snapshot = accounts->state_at(id, live->version);
    auto full = accounts->replay(id);
    REQUIRE(from_snapshot);
    REQUIRE(full);
    CHECK(full->snapshot_version == 0);
    CHECK(full->events_replayed == live->version);
    if (live->version >= 10) {
      CHECK(from_snapshot->snapshot_version >= 10);
      CHECK(from_snapshot->events_replayed < live->version);
    }
    CHECK(from_snapshot->state == full->state);
    CHECK(from_snapshot->version == full->version);
    CHECK(full->state == live->state);
    CHECK(full->state.balance >= 0);
  }
}

TEST_CASE("the state as of a past version and a past time") {
  runtime rt{test::quiet_config()};
  auto o = accounts_options();
  o.snapshot_every = 2;
  o.snapshots_kept = 5;
  auto accounts = entities<account_entity>::open(rt, o);
  REQUIRE(accounts);
  std::vector<timestamp> after;  // a time after each version
  for (int64_t amount : {100, 200, 300, 400, 500}) {
    REQUIRE(accounts->execute("ACC-9", deposit{amount}));
    after.push_back(timestamp::now());
  }
  REQUIRE(test::wait_until(
      [&] { return accounts->handle().snapshots().versions("ACC-9").size() >= 2; }));
  int64_t expected = 0;
  for (int64_t v = 1; v <= 5; ++v) {
    expected += v * 100;
    auto by_version = accounts->state_at("ACC-9", v);
    REQUIRE(by_version);
    CHECK(by_version->version == v);
    CHECK(by_version->state.balance == expected);
    auto by_time = accounts->state_at("ACC-9", after[static_cast<size_t>(v - 1)]);
    REQUIRE(by_time);
    CHECK(by_time->version == v);
    CHECK(by_time->state.balance == expected);
  }
  auto before_all = accounts->state_at("ACC-9", timestamp{1});
  REQUIRE(before_all);
  CHECK(before_all->version == 0);
  CHECK(before_all->state.balance == 0);
  auto future = accounts->state_at("ACC-9", int64_t{6});
  REQUIRE_FALSE(future);
  CHECK_THAT(describe(future.error()), Catch::Contains("no version 6"));
  // The live entity did not move.
  auto now = accounts->state("ACC-9");
  REQUIRE(now);
  CHECK(now->version == 5);
}

TEST_CASE("a passivated entity is rebuilt with its state on its next use") {
  runtime rt{test::quiet_config()};
  auto o = accounts_options();
  o.idle_timeout = std::chrono::milliseconds{30};
  o.snapshot_every = 3;
  auto accounts = entities<account_entity>::open(rt, o);
  REQUIRE(accounts);
  auto& probe = accounts->handle().probe();
  for (int i = 0; i < 7; ++i) REQUIRE(accounts->execute("ACC-5", deposit{10}));
  REQUIRE(accounts->execute("ACC-5", withdraw{5}));
  REQUIRE(test::wait_until([&] { return probe.snapshots_settled(); }));
  REQUIRE(test::wait_until([&] { return probe.passivations.load() >= 1 && probe.active == 0; }));
  auto actor = accounts->handle().entity_actor("ACC-5");
  REQUIRE(actor);
  CHECK_FALSE(*actor);
  auto s = accounts->state("ACC-5");
  REQUIRE(s);
  CHECK(s->state.balance == 65);
  CHECK(s->version == 8);
  CHECK(s->snapshot_version == 6);  // rebuilt from the snapshot after event 6
  CHECK(s->events_replayed == 2);
  CHECK(probe.activations.load() == 2);
  // It goes on from there.
  auto r = accounts->execute("ACC-5", withdraw{65}, expected_version::exactly(8));
  REQUIRE(r);
  CHECK(r->version == 9);
}

TEST_CASE("a crashed entity is restarted by its supervisor and rebuilt, no event applied twice") {
  runtime rt{test::quiet_config()};
  entity_options o;
  o.topic = "tally.events";
  o.partitions = 1;
  auto tallies = entities<tally_entity>::open(rt, o);
  REQUIRE(tallies);
  auto& probe = tallies->handle().probe();
  for (int i = 1; i <= 20; ++i) REQUIRE(tallies->execute("T-1", int64_t{i}));
  auto first = tallies->handle().entity_actor("T-1");
  REQUIRE(first);
  REQUIRE(*first);
  caf::anon_send_exit(*first, caf::exit_reason::kill);
  caf::actor second;
  REQUIRE(test::wait_until([&] {
    auto a = tallies->handle().entity_actor("T-1");
    if (a && *a && *a != *first) second = *a;
    return static_cast<bool>(second);
  }));
  CHECK(probe.restarts.load() == 1);
  auto s = tallies->state("T-1");
  REQUIRE(s);
  CHECK(s->version == 20);
  CHECK(s->state.applied == one_to(20));
  CHECK(s->state.sum == 210);
  for (int i = 21; i <= 25; ++i) REQUIRE(tallies->execute("T-1", int64_t{i}));
  s = tallies->state("T-1");
  REQUIRE(s);
  CHECK(s->state.applied == one_to(25));
  auto full = tallies->replay("T-1");
  REQUIRE(full);
  CHECK(full->state == s->state);
  CHECK(partition_end(rt, "tally.events") == 25);
}

TEST_CASE("entities keep their state across a restart of the runtime on the on-disk log") {
  test::temp_dir dir{"herald-entities"};
  auto cfg = test::quiet_config();
  cfg.data_dir = dir.path();
  auto o = accounts_options();
  o.snapshot_every = 5;
  int64_t version = 0;
  bank::account before;
  {
    runtime rt{cfg};
    auto accounts = entities<account_entity>::open(rt, o);
    REQUIRE(accounts);
    for (int i = 0; i < 12; ++i) REQUIRE(accounts->execute("ACC-1", deposit{100 + i}));
    REQUIRE(accounts->execute("ACC-1", withdraw{50}));
    auto s = accounts->state("ACC-1");
    REQUIRE(s);
    version = s->version;
    before = s->state;
    REQUIRE(test::wait_until([&] {
      return accounts->handle().snapshots().versions("ACC-1") == std::vector<int64_t>{5, 10};
    }));
    REQUIRE_FALSE(rt.shutdown());
  }
  runtime rt{cfg};
  auto accounts = entities<account_entity>::open(rt, o);
  REQUIRE(accounts);
  auto s = accounts->state("ACC-1");
  REQUIRE(s);
  CHECK(s->version == version);
  CHECK(s->state == before);
  CHECK(s->snapshot_version == 10);
  CHECK(s->events_replayed == 3);
  auto full = accounts->replay("ACC-1");
  REQUIRE(full);
  CHECK(full->state == before);
  auto r = accounts->execute("ACC-1", withdraw{1}, expected_version::exactly(version));
  REQUIRE(r);
  CHECK(r->version == version + 1);
}

TEST_CASE("a snapshot that the log does not hold is discarded, not trusted") {
  test::temp_dir snapshots{"herald-entity-snapshots"};
  auto o = accounts_options();
  o.snapshot_every = 5;
  o.snapshot_dir = snapshots.path();
  {
    runtime rt{test::quiet_config()};
    auto accounts = entities<account_entity>::open(rt, o);
    REQUIRE(accounts);
    for (int i = 0; i < 5; ++i) REQUIRE(accounts->execute("ACC-1", deposit{100}));
    REQUIRE(test::wait_until([&] {
      return accounts->handle().snapshots().versions("ACC-1") == std::vector<int64_t>{5};
    }));
  }
  // A new runtime in memory: its log is empty, but the snapshot files are still there (as
  // after losing a log, or deleting and creating the topic again).
  runtime rt{test::quiet_config()};
  auto accounts = entities<account_entity>::open(rt, o);
  REQUIRE(accounts);
  auto s = accounts->state("ACC-1");
  REQUIRE(s);
  CHECK(s->version == 0);
  CHECK(s->state.balance == 0);
  CHECK(accounts->handle().probe().snapshots_discarded.load() == 1);
  auto r = accounts->execute("ACC-1", deposit{1}, expected_version::none());
  REQUIRE(r);
  CHECK(r->version == 1);
}

TEST_CASE("a command handler that throws or decides bad JSON is answered, nothing is appended") {
  runtime rt{test::quiet_config()};
  entity_options o;
  o.topic = "tally.events";
  o.partitions = 1;
  auto tallies = entities<tally_entity>::open(rt, o);
  REQUIRE(tallies);
  REQUIRE(tallies->execute("T-1", int64_t{5}));
  auto threw = tallies->execute("T-1", tally_entity::throws);
  REQUIRE_FALSE(threw);
  CHECK(is(threw.error(), errc::handler_failed));
  CHECK_THAT(describe(threw.error()), Catch::Contains("tally cannot add -1"));
  auto bad = tallies->execute("T-1", tally_entity::not_json);
  REQUIRE_FALSE(bad);
  CHECK(is(bad.error(), errc::invalid_json));
  CHECK(partition_end(rt, "tally.events") == 1);
  // The entity goes on, at the version it had.
  auto r = tallies->execute("T-1", int64_t{6}, expected_version::exactly(1));
  REQUIRE(r);
  CHECK(r->version == 2);
  CHECK(tallies->handle().probe().restarts.load() == 0);
}

TEST_CASE("an activation reads only its entity's span, and a new entity reads nothing") {
  runtime rt{test::quiet_config()};
  entity_options o;
  o.topic = "tally.events";
  o.partitions = 1;  // every entity shares the partition
  o.idle_timeout = std::chrono::milliseconds{20};
  auto tallies = entities<tally_entity>::open(rt, o);
  REQUIRE(tallies);
  auto& probe = tallies->handle().probe();
  for (int i = 0; i < 20; ++i) REQUIRE(tallies->execute("before", int64_t{1}));
  for (int i = 0; i < 10; ++i) {
    REQUIRE(tallies->execute("A", int64_t{1}));
    REQUIRE(tallies->execute("B", int64_t{1}));
  }
  for (int i = 0; i < 20; ++i) REQUIRE(tallies->execute("after", int64_t{1}));
  CHECK(probe.records_read.load() == 0);  // four new entities, nothing to read
  REQUIRE(test::wait_until([&] { return probe.active.load() == 0; }));
  auto a = tallies->state("A");
  REQUIRE(a);
  CHECK(a->version == 10);
  // A's events are at offsets 20, 22, ..., 38: its rebuild reads those 19 records, not the 60
  // of the partition.
  CHECK(probe.records_read.load() == 19);
}
