#include "bench/entities.hpp"

#include <algorithm>
#include <cstdio>
#include <future>
#include <memory>
#include <vector>

#include <fmt/format.h>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "bench/device.hpp"
#include "bench/support.hpp"
#include "examples/bank/account.hpp"
#include "runtime/herald.hpp"

namespace herald::bench {

namespace {

using accounts_t = entities<bank::account_entity>;

constexpr int n_accounts = 1000;
constexpr int64_t amount = 100;
/// Commands in flight, as a busy front end would have them. More only queue longer: 4096
/// measured about 40% slower than 256 (bigger mailboxes and response tables, no more batching).
constexpr uint64_t window = 256;

std::string account_id(uint64_t i) {
  return fmt::format("ACC-{:04d}", i % n_accounts);
}

/// What a driver measured; written before it reports that it finished.
struct driver_result {
  uint64_t failed = 0;
  latency_histogram latency;
};

struct driver_state {
  uint64_t sent = 0;
  uint64_t done = 0;
  driver_result res;
  std::vector<std::string> ids;
};

/// Keeps `window` deposits in flight against the entity supervisor until n are answered:
/// to account i % 1000, or all to `only` when it is set.
caf::behavior driver(caf::stateful_actor<driver_state>* self, caf::actor entities, uint64_t n,
                     std::string only, driver_result* out, std::promise<void>* finished) {
  for (uint64_t i = 0; i < n_accounts; ++i)
    self->state.ids.push_back(only.empty() ? account_id(i) : only);
  auto send_one = std::make_shared<std::function<void()>>();
  *send_one = [self, entities, n, out, finished, send_one] {
    auto& st = self->state;
    auto i = st.sent++;
    auto t0 = steady_ns();
    auto next = [self, n, out, finished, send_one, t0](bool ok) {
      auto& st = self->state;
      st.res.latency.record(steady_ns() - t0);
      if (!ok) ++st.res.failed;
      if (++st.done == n) {
        *out = st.res;
        finished->set_value();
        *send_one = nullptr;  // the closure refers to itself
        return;
      }
      if (st.sent < n) (*send_one)();
    };
    self->request(entities, caf::infinite,
                  entity_command{st.ids[i % n_accounts], expected_version::any(),
                                 std::any{bank::account_entity::command{bank::deposit{amount}}}})
        .then([next](command_result&) { next(true); }, [next](caf::error&) { next(false); });
  };
  return {[self, n, send_one](caf::get_atom) {
    for (uint64_t i = 0; i < std::min(window, n); ++i) (*send_one)();
  }};
}

/// Runs a driver to the end.
driver_result drive(runtime& rt, const accounts_t& accounts, uint64_t n, std::string only = {}) {
  std::promise<void> finished;
  auto fut = finished.get_future();
  driver_result out;
  auto d =
      rt.system().spawn(driver, accounts.handle().actor(), n, std::move(only), &out, &finished);
  caf::anon_send(d, caf::get_atom::value);
  fut.wait();
  caf::anon_send_exit(d, caf::exit_reason::user_shutdown);
  return out;
}

std::string common_fields() {
  return fmt::format(R"("peak_rss_mb":{:.1f},"commit":"{}","cores":{})", peak_rss_mb(),
                     git_commit(), std::thread::hardware_concurrency());
}

}  // namespace

entity_run run_entity_commands(const std::string& variant, uint64_t n, size_t threads) {
  runtime_config cfg;
  cfg.worker_threads = threads;
  cfg.log_level = "warn";
  runtime rt{cfg};
  entity_options o;
  o.topic = bank::events_topic;
  o.partitions = 4;
  o.snapshot_every = variant == "on" ? 100 : 0;
  o.idle_timeout = std::chrono::milliseconds{0};
  auto accounts = accounts_t::open(rt, o);
  if (!accounts) throw std::runtime_error("open accounts: " + describe(accounts.error()));
  auto t0 = steady_ns();
  auto res = drive(rt, *accounts, n);
  auto t1 = steady_ns();
  auto secs = static_cast<double>(t1 - t0) / 1e9;
  // Every deposit is in a balance, once.
  int64_t total = 0;
  for (uint64_t i = 0; i < n_accounts; ++i)
    if (auto s = accounts->state(account_id(i))) total += s->state.balance;
  auto& p = accounts->handle().probe();
  auto failed = res.failed;
  auto& hist = res.latency;
  entity_run r;
  r.rate = static_cast<double>(n) / secs;
  r.ok = failed == 0 && total == static_cast<int64_t>(n) * amount;
  auto appends = p.appends.load();
  r.json = fmt::format(
      R"({{"workload":"ENT","variant":"snapshots_{}","n":{},"accounts":{},"in_flight":{},)"
      R"("commands_per_s":{:.0f},"p50_us":{:.1f},"p99_us":{:.1f},"p999_us":{:.1f},"max_us":{:.1f},)"
      R"("appends":{},"events_per_append":{:.2f},"snapshots_taken":{},"snapshots_written":{},)"
      R"("failed":{},"balance_ok":{},"partitions":4,"durability":"memory",{})",
      variant, n, n_accounts, window, r.rate, hist.quantile(0.5) / 1e3, hist.quantile(0.99) / 1e3,
      hist.quantile(0.999) / 1e3, hist.max() / 1e3, appends,
      appends > 0 ? static_cast<double>(p.events_appended.load()) / appends : 0.0,
      p.snapshots_taken.load(), p.snapshots_written.load(), failed,
      total == static_cast<int64_t>(n) * amount, common_fields());
  if (auto err = rt.shutdown()) std::fprintf(stderr, "ENT: shutdown: %s\n", describe(err).c_str());
  return r;
}

namespace {

template <class F>
double best_ms(int runs, F&& f) {
  double best = 1e18;
  for (int i = 0; i < runs; ++i) {
    auto t0 = steady_ns();
    f();
    best = std::min(best, static_cast<double>(steady_ns() - t0) / 1e6);
  }
  return best;
}

}  // namespace

entity_run run_entity_recovery(const std::string& variant, uint64_t n, size_t threads) {
  auto events = std::min<uint64_t>(n, 100000);
  runtime_config cfg;
  cfg.worker_threads = threads;
  cfg.log_level = "warn";
  std::string dir;
  if (variant == "disk") {
    dir = make_scratch_dir("ent-recovery");
    cfg.data_dir = dir;
  }
  entity_run r;
  {
    runtime rt{cfg};
    entity_options o;
    o.topic = bank::events_topic;
    o.partitions = 4;
    o.snapshot_every = 1000;
    o.idle_timeout = std::chrono::milliseconds{0};
    auto accounts = accounts_t::open(rt, o);
    if (!accounts) throw std::runtime_error("open accounts: " + describe(accounts.error()));
    const std::string id = "ACC-0001";
    auto t0 = steady_ns();
    auto filled = drive(rt, *accounts, events, id);
    if (filled.failed > 0) throw std::runtime_error("deposits failed while filling");
    auto fill_s = static_cast<double>(steady_ns() - t0) / 1e9;
    auto& p = accounts->handle().probe();
    while (!p.snapshots_settled()) std::this_thread::sleep_for(std::chrono::milliseconds{1});
    auto live = accounts->state(id);
    if (!live) throw std::runtime_error("state: " + describe(live.error()));
    // Both rebuilds run the code an activation runs (a reader is an entity actor that
    // answers and stops); the live entity is not disturbed.
    caf::expected<versioned<bank::account>> full{caf::error{}}, snap{caf::error{}};
    auto replay_ms = best_ms(3, [&] { full = accounts->replay(id); });
    auto snapshot_ms = best_ms(3, [&] { snap = accounts->state_at(id, live->version); });
    if (!full || !snap) throw std::runtime_error("rebuild failed");
    auto speedup = snapshot_ms > 0 ? replay_ms / snapshot_ms : 0.0;
    r.rate = static_cast<double>(events) / (replay_ms / 1e3);
    r.ok = full->state == live->state && snap->state == live->state &&
           live->version == static_cast<int64_t>(events) &&
           full->events_replayed == static_cast<int64_t>(events);
    r.json = fmt::format(
        R"({{"workload":"ENT_RECOVERY","variant":"{}","n":{},"events":{},"snapshot_every":1000,)"
        R"("replay_ms":{:.2f},"snapshot_ms":{:.2f},"speedup":{:.1f},"target_speedup":10,)"
        R"("target_met":{},"snapshot_version":{},"events_after_snapshot":{},)"
        R"("replay_events_per_s":{:.0f},"fill_commands_per_s":{:.0f},"states_equal":{},)"
        R"("partitions":4,"durability":"{}",{})",
        variant, n, events, replay_ms, snapshot_ms, speedup, speedup >= 10.0,
        snap->snapshot_version, snap->events_replayed, r.rate, static_cast<double>(events) / fill_s,
        r.ok, variant == "disk" ? "always" : "memory", common_fields());
    if (auto err = rt.shutdown())
      std::fprintf(stderr, "ENT_RECOVERY: shutdown: %s\n", describe(err).c_str());
  }
  if (!dir.empty()) remove_scratch_dir(dir);
  return r;
}

}  // namespace herald::bench
