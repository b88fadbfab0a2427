#include "bench/workloads.hpp"

#include <atomic>
#include <cstdio>
#include <future>
#include <memory>
#include <stdexcept>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <fmt/format.h>

#include "bench/support.hpp"
#include "runtime/herald.hpp"

namespace herald::bench {

std::string workload_result::to_json() const {
  return fmt::format(
      R"({{"workload":"{}","n":{},"producer_eps":{:.0f},"e2e_eps":{:.0f},"p50_us":{:.1f},)"
      R"("p99_us":{:.1f},"p999_us":{:.1f},"max_us":{:.1f},"peak_rss_mb":{:.1f},)"
      R"("baseline_eps":{:.0f},"ratio_to_baseline":{:.3f},"partitions":{},"groups":{},)"
      R"("durability":"{}","lost":{},"commit":"{}","cores":{}}})",
      workload, n, producer_eps, e2e_eps, p50_us, p99_us, p999_us, max_us, peak_rss_mb,
      baseline_eps, baseline_eps > 0 ? e2e_eps / baseline_eps : 0.0, partitions, groups,
      durability, lost, git_commit(), std::thread::hardware_concurrency());
}

const std::vector<std::string>& known_workloads() {
  static const std::vector<std::string> names = {"W1", "W2", "W5"};
  return names;
}

// -- baseline ---------------------------------------------------------------------------------

namespace {

struct counter_state {
  uint64_t count = 0;
};

}  // namespace

double run_baseline(uint64_t n, size_t threads) {
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", threads);
  caf::actor_system sys{cfg};
  std::promise<void> done;
  auto fut = done.get_future();
  auto receiver = sys.spawn([n, &done](caf::stateful_actor<counter_state>* self) -> caf::behavior {
    return {[self, n, &done](const std::string& payload) {
      if (payload.empty()) return;
      if (++self->state.count == n) done.set_value();
    }};
  });
  auto sender = sys.spawn([receiver, n](caf::event_based_actor* self) -> caf::behavior {
    return {[self, receiver, n](int) {
      for (uint64_t i = 0; i < n; ++i) self->send(receiver, order_payload(i, steady_ns()));
    }};
  });
  auto t0 = steady_ns();
  caf::anon_send(sender, 1);
  fut.wait();
  auto t1 = steady_ns();
  caf::anon_send_exit(sender, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(receiver, caf::exit_reason::user_shutdown);
  return static_cast<double>(n) * 1e9 / static_cast<double>(t1 - t0);
}

// -- Herald workloads -------------------------------------------------------------------------

namespace {

struct shape {
  int partitions;
  std::vector<std::string> groups;
  int members_per_group;
  int64_t spin_ns;
};

shape shape_of(const std::string& name) {
  if (name == "W1") return {4, {"orders-consumer"}, 1, 0};
  if (name == "W2") return {4, {"payment", "inventory", "notification", "analytics"}, 1, 0};
  if (name == "W5") return {8, {"workers"}, 4, 2000};
  throw std::invalid_argument("unknown workload " + name + " (known: W1, W2, W5)");
}

void spin_for(int64_t ns) {
  auto until = steady_ns() + ns;
  while (steady_ns() < until) {
  }
}

/// One member's handler state: a histogram nobody else touches while the run is on.
struct member_probe {
  latency_histogram hist;
};

}  // namespace

workload_result run_workload(const std::string& name, uint64_t n, size_t threads) {
  auto sh = shape_of(name);
  runtime_config cfg;
  cfg.worker_threads = threads;
  cfg.log_level = "warn";
  runtime rt{cfg};
  if (auto t = rt.create_topic("orders", {.partitions = sh.partitions}); !t)
    throw std::runtime_error(describe(t.error()));
  std::vector<std::unique_ptr<member_probe>> probes;
  std::vector<subscription> subs;
  for (auto& g : sh.groups) {
    for (int m = 0; m < sh.members_per_group; ++m) {
      probes.push_back(std::make_unique<member_probe>());
      auto* probe = probes.back().get();
      auto spin = sh.spin_ns;
      auto sub = rt.subscribe("orders", g, [probe, spin](const event_view& e) {
        auto ts = read_ts_ns(e.payload());
        if (spin > 0) spin_for(spin);
        probe->hist.record(steady_ns() - ts);
      });
      if (!sub) throw std::runtime_error(describe(sub.error()));
      subs.push_back(std::move(*sub));
    }
  }
  // Wait until every member owns its partitions, so the run measures steady state.
  auto wanted = sh.partitions / sh.members_per_group;
  for (auto& s : subs)
    while (s.assigned_partitions() < wanted) std::this_thread::yield();

  auto prod = rt.make_producer();
  auto t0 = steady_ns();
  for (uint64_t i = 0; i < n; ++i) {
    auto ev = event::builder{"orders", "OrderPlaced"}
                  .key(order_key(i))
                  .payload(order_payload(i, steady_ns()))
                  .build();
    if (auto err = prod.publish_async(ev)) throw std::runtime_error(describe(err));
  }
  if (auto err = prod.flush()) throw std::runtime_error(describe(err));
  auto t_acked = steady_ns();
  // The run ends when every group has handled and committed the last event.
  std::vector<int64_t> group_handled(sh.groups.size());
  for (;;) {
    bool all = true;
    for (size_t g = 0; g < sh.groups.size(); ++g) {
      int64_t h = 0;
      for (int m = 0; m < sh.members_per_group; ++m)
        h += subs[g * sh.members_per_group + m].handled();
      group_handled[g] = h;
      all = all && h >= static_cast<int64_t>(n);
    }
    if (all) break;
    std::this_thread::sleep_for(std::chrono::microseconds{200});
  }
  auto t_done = steady_ns();
  auto ps = prod.stats();
  std::fprintf(stderr, "herald-bench: %s producer batches=%lld (%.1f events/batch)\n",
               name.c_str(), static_cast<long long>(ps.batches),
               static_cast<double>(ps.published) / static_cast<double>(std::max<int64_t>(1, ps.batches)));

  workload_result r;
  r.workload = name;
  r.n = n;
  r.partitions = sh.partitions;
  r.groups = static_cast<int>(sh.groups.size());
  r.producer_eps = static_cast<double>(n) * 1e9 / static_cast<double>(t_acked - t0);
  r.e2e_eps = static_cast<double>(n) * 1e9 / static_cast<double>(t_done - t0);
  latency_histogram all;
  for (auto& p : probes) all.merge(p->hist);
  r.p50_us = static_cast<double>(all.quantile(0.50)) / 1e3;
  r.p99_us = static_cast<double>(all.quantile(0.99)) / 1e3;
  r.p999_us = static_cast<double>(all.quantile(0.999)) / 1e3;
  r.max_us = static_cast<double>(all.max()) / 1e3;
  r.peak_rss_mb = peak_rss_mb();
  for (auto h : group_handled) r.lost += h < static_cast<int64_t>(n) ? n - h : 0;
  subs.clear();
  prod.close();
  (void)rt.shutdown();
  return r;
}

}  // namespace herald::bench
