// Projections: a rebuild equals the incremental build, a crash between the model's commit and
// the group's does not apply twice, the projection resumes from the model's positions, lag
// against a known backlog, the order-status view and its bad input.
#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <stdexcept>

#include "runtime/herald.hpp"
#include "runtime/projection.hpp"
#include "runtime/read_models.hpp"
#include "tests/support/builders.hpp"
#include "tests/support/disk.hpp"
#include "tests/support/groups.hpp"
#include "tests/support/wait.hpp"

using namespace herald;
using namespace std::chrono_literals;

namespace {

/// Seeded deposits and withdrawals over `accounts` accounts, and the balances they give.
struct ledger {
  std::vector<event> events;
  std::map<std::string, account_balance> expected;
};

void add_events(ledger& l, uint32_t seed, int accounts, int n, int64_t time_ns = 0) {
  std::mt19937 rng{seed};
  for (int i = 0; i < n; ++i) {
    auto id = "ACC-" + std::to_string(rng() % static_cast<uint32_t>(accounts));
    bool dep = rng() % 3 != 0;
    int64_t amount = 1 + rng() % 10000;
    std::string type = dep ? "Deposited" : "Withdrawn";
    auto b = event::builder{accounts_topic, type};
    b.key(id).payload(R"({"event":")" + type + R"(","account_id":")" + id + R"(","amount":)" +
                      std::to_string(amount) + "}");
    if (time_ns) b.time(timestamp{time_ns});
    l.events.push_back(b.build());
    auto& row = l.expected[id];
    row.account_id = id;
    row.balance += dep ? amount : -amount;
    (dep ? row.deposits : row.withdrawals) += 1;
  }
}

void publish_range(producer& p, const ledger& l, size_t from, size_t to) {
  for (size_t i = from; i < to; ++i) REQUIRE_FALSE(p.publish_async(l.events[i]));
  REQUIRE_FALSE(p.flush());
}

std::map<std::string, account_balance> balances(sqlite_read_model& m) {
  auto all = all_balances(m);
  if (!all) throw std::runtime_error(describe(all.error()));
  std::map<std::string, account_balance> out;
  for (auto& b : *all) out[b.account_id] = b;
  return out;
}

bool caught_up(projection& p) {
  auto l = p.lag();
  return l && l->events == 0;
}

}  // namespace

TEST_CASE("a SQLite projection rebuilt from scratch equals the incremental build") {
  test::temp_dir dir{"herald-proj"};
  runtime rt{test::quiet_config()};
  REQUIRE(rt.create_topic(accounts_topic, {.partitions = 4}));
  auto model = sqlite_read_model::open(balances_sqlite_spec(dir / "bank.db"));
  REQUIRE(model);
  auto proj = projection::start(rt, {.name = "balances", .topic = accounts_topic, .model = *model});
  REQUIRE(proj);
  ledger l;
  add_events(l, 42, 50, 3000);
  auto p = rt.make_producer();
  // Incrementally: three rounds while the projection runs.
  for (size_t r = 0; r < 3; ++r) {
    publish_range(p, l, r * 1000, (r + 1) * 1000);
    REQUIRE(test::wait_until([&] { return caught_up(*proj); }));
  }
  auto incremental = balances(**model);
  CHECK(incremental == l.expected);
  auto before = proj->probe().applied.load();
  REQUIRE_FALSE(proj->rebuild());
  REQUIRE(test::wait_until([&] { return caught_up(*proj); }));
  CHECK(balances(**model) == incremental);
  CHECK(proj->probe().applied.load() - before == 3000);  // replayed every event once
  auto one = balance_of(**model, "ACC-7");
  REQUIRE(one);
  REQUIRE(*one);
  CHECK(**one == l.expected["ACC-7"]);
}

TEST_CASE("an in-memory projection rebuilt from scratch equals the incremental build") {
  runtime rt{test::quiet_config()};
  REQUIRE(rt.create_topic(accounts_topic, {.partitions = 3}));
  auto model = make_balances_memory();
  auto proj = projection::start(rt, {.name = "balances", .topic = accounts_topic, .model = model});
  REQUIRE(proj);
  ledger l;
  add_events(l, 5, 20, 1500);
  auto p = rt.make_producer();
  publish_range(p, l, 0, 700);
  REQUIRE(test::wait_until([&] { return caught_up(*proj); }));
  publish_range(p, l, 700, 1500);
  REQUIRE(test::wait_until([&] { return caught_up(*proj); }));
  auto incremental = model->all();
  REQUIRE_FALSE(proj->rebuild());
  REQUIRE(test::wait_until([&] { return caught_up(*proj); }));
  CHECK(model->all() == incremental);
  std::map<std::string, account_balance, std::less<>> expected{l.expected.begin(),
                                                               l.expected.end()};
  CHECK(incremental == expected);
}

TEST_CASE("a crash between the SQLite commit and the group commit does not count twice") {
  test::temp_dir dir{"herald-proj"};
  runtime rt{test::quiet_config()};
  REQUIRE(rt.create_topic(accounts_topic, {.partitions = 2}));
  auto model = sqlite_read_model::open(balances_sqlite_spec(dir / "bank.db"));
  REQUIRE(model);
  // Crash right after the model committed live deliveries, three times: each time the group
  // has not committed them, so the member delivers them again.
  auto crashes = std::make_shared<std::atomic<int>>(0);
  projection_spec spec{.name = "balances", .topic = accounts_topic, .model = *model};
  spec.after_commit = [crashes](partition_id, offset next) {
    if (next.value > 100 && crashes->fetch_add(1) < 3)
      throw std::runtime_error("injected crash after the model's commit");
  };
  auto proj = projection::start(rt, spec);
  REQUIRE(proj);
  ledger l;
  add_events(l, 11, 30, 2000);
  auto p = rt.make_producer();
  publish_range(p, l, 0, l.events.size());
  REQUIRE(test::wait_until([&] { return caught_up(*proj) && crashes->load() >= 3; }));
  REQUIRE(test::wait_until([&] { return test::group_drained(rt, "balances"); }));
  CHECK(proj->probe().starts.load() >= 4);
  CHECK(proj->probe().skipped.load() > 0);  // redelivered, already in the model
  CHECK(proj->probe().applied.load() == 2000);
  CHECK(balances(**model) == l.expected);
}

TEST_CASE("a projection resumes from the model's positions, not from the group's commits") {
  test::temp_dir dir{"herald-proj"};
  runtime rt{test::quiet_config()};
  REQUIRE(rt.create_topic(accounts_topic, {.partitions = 2}));
  ledger l;
  add_events(l, 3, 10, 900);
  auto p = rt.make_producer();
  auto db = dir / "bank.db";
  auto backup = dir / "bank-backup.db";
  {
    auto model = sqlite_read_model::open(balances_sqlite_spec(db));
    REQUIRE(model);
    auto proj =
        projection::start(rt, {.name = "balances", .topic = accounts_topic, .model = *model});
    REQUIRE(proj);
    publish_range(p, l, 0, 300);
    REQUIRE(test::wait_until([&] { return caught_up(*proj); }));
    REQUIRE_FALSE(proj->stop());
    // A consistent copy of the model as it is now (SQLite's VACUUM INTO).
    REQUIRE_FALSE(
        (*model)->query([&](sqlite_db& d) { return d.exec("VACUUM INTO '" + backup + "'"); }));
  }
  {
    auto model = sqlite_read_model::open(balances_sqlite_spec(db));
    REQUIRE(model);
    auto proj =
        projection::start(rt, {.name = "balances", .topic = accounts_topic, .model = *model});
    REQUIRE(proj);
    publish_range(p, l, 300, 900);
    REQUIRE(test::wait_until([&] { return caught_up(*proj); }));
    REQUIRE(test::wait_until([&] { return test::group_drained(rt, "balances"); }));
    REQUIRE_FALSE(proj->stop());
  }
  // The group committed all 900 events; the restored model has 300. Started on it, the
  // projection applies the other 600 from the log, although no new event arrives.
  auto model = sqlite_read_model::open(balances_sqlite_spec(backup));
  REQUIRE(model);
  auto proj = projection::start(rt, {.name = "balances", .topic = accounts_topic, .model = *model});
  REQUIRE(proj);
  REQUIRE(test::wait_until([&] { return caught_up(*proj); }));
  CHECK(proj->probe().caught_up.load() == 600);
  CHECK(balances(**model) == l.expected);
}

TEST_CASE("lag counts the backlog in events and its age in milliseconds") {
  runtime rt{test::quiet_config()};
  REQUIRE(rt.create_topic(accounts_topic, {.partitions = 3}));
  auto model = make_balances_memory();
  ledger l;
  add_events(l, 8, 10, 200);
  // A backlog written an hour ago (the producer's timestamps say so).
  auto hour_ago = timestamp::now().value - int64_t{3600} * 1'000'000'000;
  add_events(l, 9, 10, 250, hour_ago);
  auto p = rt.make_producer();
  auto proj = projection::start(rt, {.name = "balances", .topic = accounts_topic, .model = model});
  REQUIRE(proj);
  publish_range(p, l, 0, 200);
  REQUIRE(test::wait_until([&] { return caught_up(*proj); }));
  auto none = proj->lag();
  REQUIRE(none);
  CHECK(none->events == 0);
  CHECK(none->behind == 0ms);
  REQUIRE_FALSE(proj->stop());
  publish_range(p, l, 200, 450);
  auto lag = proj->lag();
  REQUIRE(lag);
  CHECK(lag->events == 250);
  CHECK(lag->behind >= 3600s);
  auto again = projection::start(rt, {.name = "balances", .topic = accounts_topic, .model = model});
  REQUIRE(again);
  REQUIRE(test::wait_until([&] { return caught_up(*again); }));
  CHECK(again->lag()->behind == 0ms);
}

TEST_CASE("the order-status view follows each order and dead-letters what it cannot read") {
  test::temp_dir dir{"herald-proj"};
  runtime rt{test::quiet_config()};
  REQUIRE(rt.create_topic(orders_topic, {.partitions = 4}));
  auto model = sqlite_read_model::open(order_status_sqlite_spec(dir / "orders.db"));
  REQUIRE(model);
  auto proj =
      projection::start(rt, {.name = "order-status", .topic = orders_topic, .model = *model});
  REQUIRE(proj);
  auto p = rt.make_producer();
  auto ev = [](const std::string& type, const std::string& id, const std::string& extra = "") {
    return make_event(orders_topic, type, id,
                      R"({"event":")" + type + R"(","order_id":")" + id + "\"" + extra + "}");
  };
  std::vector<event> evs{
      ev("OrderPlaced", "ORD-1", R"(,"user_id":"USR-1","total":49.99)"),
      ev("OrderPlaced", "ORD-2", R"(,"user_id":"USR-2","total":10)"),
      ev("OrderPaid", "ORD-1"),
      ev("OrderShipped", "ORD-1"),
      ev("OrderCancelled", "ORD-2"),
      ev("OrderLost", "ORD-1"),                                                   // unknown type
      make_event(orders_topic, "OrderPaid", "ORD-3", R"({"order_id":"ORD-4"})"),  // wrong key
  };
  for (auto& e : evs) REQUIRE_FALSE(p.publish_async(e));
  REQUIRE_FALSE(p.flush());
  REQUIRE(test::wait_until([&] { return caught_up(*proj); }));
  auto o1 = order_status_of(**model, "ORD-1");
  REQUIRE(o1);
  REQUIRE(*o1);
  CHECK(**o1 == order_status{"ORD-1", "shipped", "USR-1", 4999, 3});
  auto o2 = order_status_of(**model, "ORD-2");
  REQUIRE(o2);
  REQUIRE(*o2);
  CHECK((*o2)->status == "cancelled");
  CHECK((*o2)->total_cents == 1000);
  CHECK(*order_status_of(**model, "ORD-3") == std::nullopt);
  auto counts = orders_by_status(**model);
  REQUIRE(counts);
  CHECK(*counts == std::vector<std::pair<std::string, int64_t>>{{"cancelled", 1}, {"shipped", 1}});
  REQUIRE(test::wait_until([&] {
    auto d = rt.dead_letters(orders_topic);
    return d && d->size() == 2;
  }));
  auto dead = rt.dead_letters(orders_topic);
  std::string errors = dead->at(0).story.error + " | " + dead->at(1).story.error;
  CHECK_THAT(errors, Catch::Contains("unexpected event type 'OrderLost'"));
  CHECK_THAT(errors, Catch::Contains("but the event key is 'ORD-3'"));
  CHECK(proj->probe().refused.load() == 2);
}
