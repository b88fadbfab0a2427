#include "bench/workloads.hpp"

#include <sys/resource.h>
#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <future>
#include <limits>
#include <map>
#include <memory>
#include <stdexcept>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/cart_aggregator.hpp"
#include "base/logging.hpp"
#include "bench/faults.hpp"
#include "bench/support.hpp"
#include "runtime/aggregator.hpp"
#include "runtime/herald.hpp"
#include "storage/disk_storage_factory.hpp"

namespace herald::bench {

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

// -- Herald workloads ---------------------------------------------------------------------

const std::vector<std::string>& known_workloads() {
  static const std::vector<std::string> names = {"W1", "W2",  "W3",  "W5",
                                                 "W6", "AGG", "ENT", "ENT_RECOVERY"};
  return names;
}

const std::vector<std::string>& w1_variants() {
  static const std::vector<std::string> names = {"metrics-off", "trace-1%", "trace-on"};
  return names;
}

bool apply_w1_variant(const std::string& variant, run_options& opts) {
  if (variant.empty()) return true;
  if (variant == "metrics-off")
    opts.metrics = false;
  else if (variant == "trace-1%")
    opts.trace_sample = 0.01;
  else if (variant == "trace-on")
    opts.trace_sample = 1.0;
  else
    return false;
  return true;
}

const std::vector<std::string>& durability_policies() {
  static const std::vector<std::string> names = {"always", "interval", "never"};
  return names;
}

namespace {

/// CPU time of the whole process (all threads), user + system, in nanoseconds.
int64_t process_cpu_ns() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto ns = [](const timeval& tv) {
    return int64_t{tv.tv_sec} * 1'000'000'000 + tv.tv_usec * 1000;
  };
  return ns(ru.ru_utime) + ns(ru.ru_stime);
}

std::string fmt_percent(double rate) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%g%%", rate * 100);
  return buf;
}

/// Spans in an OTLP/JSON lines file: occurrences of "spanId".
int64_t count_spans(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return 0;
  int64_t n = 0;
  std::string buf(1 << 16, '\0');
  std::string carry;
  size_t got;
  while ((got = std::fread(buf.data(), 1, buf.size(), f)) > 0) {
    std::string chunk = carry + buf.substr(0, got);
    for (size_t p = chunk.find("\"spanId\""); p != std::string::npos;
         p = chunk.find("\"spanId\"", p + 1))
      ++n;
    carry = chunk.size() > 7 ? chunk.substr(chunk.size() - 7) : chunk;
  }
  std::fclose(f);
  return n;
}

/// What the producer publishes and who consumes it.
struct shape {
  int partitions;
  std::vector<std::string> groups;
  int members_per_group;
  int64_t spin_ns;
};

shape shape_of(const std::string& name) {
  if (name == "W1" || name == "W3" || name == "W6") return {4, {"orders-consumer"}, 1, 0};
  if (name == "W2") return {4, {"payment", "inventory", "notification", "analytics"}, 1, 0};
  if (name == "W5") return {8, {"workers"}, 4, 2000};
  throw std::invalid_argument("unknown workload " + name + " (known: W1, W2, W3, W5, W6)");
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

/// One streaming run on a runtime the caller set up: the topic, the subscriptions, the
/// handler of each member.
struct stream_spec {
  shape sh;
  topic_config topic;
  subscribe_options sub;
  /// Adds the header "bench.seq" = i to event i (W6 finds its events by it).
  bool tag_seq = false;
  /// Makes member m's handler; null: the W1 handler (latency, optional spin).
  std::function<handler_fn(member_probe&)> handler;
};

/// What a streaming run leaves for the workload to inspect before the runtime stops.
struct stream_outcome {
  workload_result result;  ///< throughput, latency of the member probes, lost by counters
  std::vector<subscription> subs;
};

handler_fn default_handler(member_probe& probe, int64_t spin) {
  return make_handler([&probe, spin](const event_view& e) {
    auto ts = read_ts_ns(e.payload());
    if (spin > 0) spin_for(spin);
    probe.hist.record(steady_ns() - ts);
  });
}

void fill_latency(workload_result& r, const latency_histogram& h) {
  r.p50_us = static_cast<double>(h.quantile(0.50)) / 1e3;
  r.p99_us = static_cast<double>(h.quantile(0.99)) / 1e3;
  r.p999_us = static_cast<double>(h.quantile(0.999)) / 1e3;
  r.max_us = static_cast<double>(h.max()) / 1e3;
}

/// Events of group g finished by its members: handled, or written to the dead-letter topic.
int64_t finished(const std::vector<subscription>& subs, size_t g, int members) {
  int64_t sum = 0;
  for (int m = 0; m < members; ++m) {
    auto& p = subs[g * static_cast<size_t>(members) + static_cast<size_t>(m)].probe();
    sum +=
        p.handled.load(std::memory_order_relaxed) + p.dead_letters.load(std::memory_order_relaxed);
  }
  return sum;
}

/// A run that makes no progress for this long is over: what is missing counts as lost.
constexpr int64_t stall_limit_ns = 60'000'000'000;

stream_outcome run_stream(runtime& rt, const std::string& name, uint64_t n, stream_spec spec,
                          std::vector<std::unique_ptr<member_probe>>& probes) {
  auto& sh = spec.sh;
  spec.topic.partitions = sh.partitions;
  if (auto t = rt.create_topic("orders", spec.topic); !t)
    throw std::runtime_error(describe(t.error()));
  stream_outcome out;
  auto& subs = out.subs;
  for (auto& g : sh.groups) {
    for (int m = 0; m < sh.members_per_group; ++m) {
      probes.push_back(std::make_unique<member_probe>());
      auto& probe = *probes.back();
      auto fn = spec.handler ? spec.handler(probe) : default_handler(probe, sh.spin_ns);
      auto sub = rt.subscribe_fn({"orders"}, g, std::move(fn), spec.sub);
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
    event::builder b{"orders", "OrderPlaced"};
    b.key(order_key(i)).payload(order_payload(i, steady_ns()));
    if (spec.tag_seq) b.header(std::string{seq_header}, std::to_string(i));
    if (auto err = prod.publish_async(b.build())) throw std::runtime_error(describe(err));
  }
  if (auto err = prod.flush()) throw std::runtime_error(describe(err));
  auto t_acked = steady_ns();
  // The run ends when every group has finished (and committed) the last event.
  std::vector<int64_t> group_done(sh.groups.size());
  int64_t last_total = -1;
  auto last_progress = steady_ns();
  for (;;) {
    bool all = true;
    int64_t total = 0;
    for (size_t g = 0; g < sh.groups.size(); ++g) {
      group_done[g] = finished(subs, g, sh.members_per_group);
      total += group_done[g];
      all = all && group_done[g] >= static_cast<int64_t>(n);
    }
    if (all) break;
    auto now = steady_ns();
    if (total != last_total) {
      last_total = total;
      last_progress = now;
    } else if (now - last_progress > stall_limit_ns) {
      std::fprintf(stderr, "herald-bench: %s made no progress for 60 s; giving up\n", name.c_str());
      break;
    }
    std::this_thread::sleep_for(std::chrono::microseconds{200});
  }
  auto t_done = steady_ns();
  auto ps = prod.stats();
  std::fprintf(
      stderr, "herald-bench: %s producer batches=%lld (%.1f events/batch)\n", name.c_str(),
      static_cast<long long>(ps.batches),
      static_cast<double>(ps.published) / static_cast<double>(std::max<int64_t>(1, ps.batches)));
  prod.close();

  auto& r = out.result;
  r.workload = name;
  r.n = n;
  r.partitions = sh.partitions;
  r.groups = static_cast<int>(sh.groups.size());
  r.producer_eps = static_cast<double>(n) * 1e9 / static_cast<double>(t_acked - t0);
  r.e2e_eps = static_cast<double>(n) * 1e9 / static_cast<double>(t_done - t0);
  latency_histogram all;
  for (auto& p : probes) all.merge(p->hist);
  fill_latency(r, all);
  for (auto d : group_done) r.lost += d < static_cast<int64_t>(n) ? n - d : 0;
  return out;
}

runtime_config base_config(const run_options& opts) {
  runtime_config cfg;
  cfg.worker_threads = opts.threads;
  cfg.log_level = "warn";
  cfg.observability.metrics = opts.metrics;
  return cfg;
}

workload_result finish(runtime& rt, stream_outcome& out) {
  for (auto& s : out.subs) (void)s.stop();
  out.subs.clear();
  (void)rt.shutdown();
  out.result.peak_rss_mb = peak_rss_mb();
  return std::move(out.result);
}

// -- W1, W2, W5: in memory ----------------------------------------------------------------------

workload_result run_memory(const std::string& name, uint64_t n, const run_options& opts) {
  auto cfg = base_config(opts);
  std::string trace_dir;
  if (opts.trace_sample >= 0) {
    trace_dir = make_scratch_dir("trace");
    cfg.observability.tracing = {trace_dir + "/spans.jsonl", opts.trace_sample};
  }
  workload_result r;
  auto cpu0 = process_cpu_ns();
  try {
    runtime rt{cfg};
    std::vector<std::unique_ptr<member_probe>> probes;
    auto out = run_stream(rt, name, n, {.sh = shape_of(name)}, probes);
    r = finish(rt, out);
  } catch (...) {
    if (!trace_dir.empty()) remove_scratch_dir(trace_dir);
    throw;
  }
  r.cpu_ns_per_event = static_cast<double>(process_cpu_ns() - cpu0) / static_cast<double>(n);
  r.metrics = opts.metrics ? "on" : "off";
  r.metrics_off_eps = opts.metrics_off_eps;
  if (!trace_dir.empty()) {
    // The runtime is gone: every span is in the file.
    r.tracing = opts.trace_sample >= 1.0 ? "on" : fmt_percent(opts.trace_sample);
    std::error_code ec;
    auto bytes = std::filesystem::file_size(cfg.observability.tracing.file, ec);
    r.trace_file_mb = ec ? 0.0 : static_cast<double>(bytes) / double(1 << 20);
    r.trace_spans = count_spans(cfg.observability.tracing.file);
    remove_scratch_dir(trace_dir);
  }
  return r;
}

// -- W3: the on-disk log --------------------------------------------------------------------

durability_policy policy_of(const std::string& name) {
  if (name == "always") return durability_policy::always();
  if (name == "interval") return durability_policy::interval(1000);
  if (name == "never") return durability_policy::never();
  throw std::invalid_argument("unknown durability policy '" + name +
                              "' (known: always, interval, never)");
}

/// The device limits of bench/README.md ("W3 and the device").
durable_figures device_limits(const device_rates& dev, const runtime_config& cfg,
                              double bytes_per_event, durability_policy::kind policy) {
  durable_figures d;
  d.device = dev;
  d.disk_bytes_per_event = bytes_per_event;
  d.events_per_fsync_max =
      int64_t{cfg.producer.max_inflight_batches} * int64_t{cfg.producer.batch_max_events};
  d.fsync_bound_eps = dev.fsync_per_s * static_cast<double>(d.events_per_fsync_max);
  d.write_bound_eps =
      bytes_per_event > 0 ? dev.write_mbps * double(1 << 20) / bytes_per_event : 0.0;
  d.device_limit_eps = policy == durability_policy::kind::always
                           ? std::min(d.fsync_bound_eps, d.write_bound_eps)
                           : d.write_bound_eps;
  return d;
}

workload_result run_durable(uint64_t n, const run_options& opts) {
  auto policy = policy_of(opts.durability);
  auto dir = make_scratch_dir("w3-" + opts.durability);
  workload_result r;
  try {
    auto dev = opts.device ? *opts.device : measure_device(dir);
    auto cfg = base_config(opts);
    log::set_level(cfg.log_level);  // the factory logs as it opens the directory
    auto factory = std::make_shared<disk_storage_factory>(dir, cfg.disk);
    if (auto store = factory->offsets()) cfg.broker.coordinator.offsets = *store;
    cfg.data_dir = dir;
    cfg.storage = factory;
    {
      runtime rt{cfg};
      std::vector<std::unique_ptr<member_probe>> probes;
      stream_spec spec{.sh = shape_of("W3")};
      spec.topic.storage = "disk";
      spec.topic.durability = policy;
      auto syncs_before = factory->syncs();
      auto out = run_stream(rt, "W3", n, std::move(spec), probes);
      auto fsyncs = factory->syncs() - syncs_before;
      int64_t bytes = 0, events = 0;
      for (int p = 0; p < out.result.partitions; ++p) {
        if (auto log = factory->find("orders", partition_id{p})) {
          auto st = log->stats();
          bytes += st.bytes;
          events += st.events;
        }
      }
      r = finish(rt, out);
      auto per_event = events > 0 ? static_cast<double>(bytes) / static_cast<double>(events) : 0.0;
      r.durable = device_limits(dev, cfg, per_event, policy.mode);
      r.durable->fsyncs = fsyncs;
    }
    cfg.storage.reset();
    factory.reset();  // syncs and closes the logs, joins the sync threads
  } catch (...) {
    remove_scratch_dir(dir);
    throw;
  }
  remove_scratch_dir(dir);
  r.durability = opts.durability;
  r.w1_eps = opts.w1_eps;
  return r;
}

// -- W6: retries and dead letters -----------------------------------------------------------

workload_result run_retry(uint64_t n, const run_options& opts) {
  auto cfg = base_config(opts);
  // Every failure is logged at warn (23 k lines for n = 1 M): keep them out of the run.
  cfg.log_level = "error";
  runtime rt{cfg};
  fault_ledger ledger{n};
  stream_spec spec{.sh = shape_of("W6")};
  spec.tag_seq = true;
  spec.sub.idempotent = true;
  spec.sub.on_failure = failure_policy::retry_then_dead_letter;
  spec.sub.retry.max_attempts = 3;
  spec.sub.retry.backoff.delays = {std::chrono::milliseconds{1}};
  spec.handler = [&ledger](member_probe&) {
    return make_handler(
        [&ledger](const event_view& e, handler_context& ctx) { return ledger.handle(e, ctx); });
  };
  std::vector<std::unique_ptr<member_probe>> probes;
  auto out = run_stream(rt, "W6", n, std::move(spec), probes);
  retry_figures f;
  for (auto& s : out.subs) {
    f.retries += static_cast<uint64_t>(s.probe().retries.load());
    f.duplicates_skipped += static_cast<uint64_t>(s.probe().duplicates.load());
  }
  // Stop the member first: from then on the ledger is ours to read.
  for (auto& s : out.subs) (void)s.stop();
  auto dead = rt.dead_letters("orders", std::numeric_limits<size_t>::max());
  if (!dead) throw std::runtime_error("dead_letters: " + describe(dead.error()));
  for (auto& dl : *dead) ledger.dead_lettered(dl.original);
  auto r = finish(rt, out);
  auto v = ledger.check();
  auto plan = plan_for(n);
  f.retried = v.retried;
  f.dead_lettered = v.dead_lettered;
  f.expected_retried = plan.fails_twice + plan.always_fails;
  f.expected_dead_lettered = plan.always_fails;
  f.applied_twice = v.applied_twice;
  f.wrong_dead = v.wrong_dead;
  f.bad_seq = v.bad_seq;
  r.lost = v.lost;
  r.retry = f;
  r.w1_eps = opts.w1_eps;
  fill_latency(r, ledger.latencies());
  return r;
}

// -- AGG: the cart aggregator ------------------------------------------------------------------

/// The AGG input: event i goes to cart i % carts; every third event of a cart removes one unit
/// of a line it holds, the others add 1-3 units of one of 8 skus. Valid by construction; the
/// reference (qty and total per cart) is kept alongside.
class cart_stream {
 public:
  explicit cart_stream(int carts) : carts_(static_cast<size_t>(carts)) {}

  event next(uint64_t i) {
    auto c = static_cast<size_t>(i % carts_.size());
    auto& cart = carts_[c];
    std::string id = "CART-" + std::to_string(c);
    ++cart.events;
    if (cart.events % 3 == 0) {
      for (size_t k = 0; k < skus; ++k) {
        auto s = (cart.events + k) % skus;
        if (cart.qty[s] > 0) {
          --cart.qty[s];
          cart.total -= price(s);
          return cart::make_event(cart::item_removed{id, sku(s), 1}, topic);
        }
      }
    }
    auto s = static_cast<size_t>((i / carts_.size() + c) % skus);
    int64_t q = 1 + static_cast<int64_t>(i % 3);
    cart.qty[s] += q;
    cart.total += q * price(s);
    return cart::make_event(cart::item_added{id, sku(s), q, price(s)}, topic);
  }

  /// Carts whose last CartUpdated (by version) differs from the reference.
  uint64_t wrong(const std::map<std::string, std::pair<uint64_t, std::string>>& last) const {
    uint64_t bad = 0;
    for (size_t c = 0; c < carts_.size(); ++c) {
      if (carts_[c].events == 0) continue;
      auto it = last.find("CART-" + std::to_string(c));
      if (it == last.end()) {
        ++bad;
        continue;
      }
      auto u = cart::parse_cart_updated(it->second.second);
      int64_t units = 0;
      for (auto q : carts_[c].qty) units += q;
      bad += !u || u->total != carts_[c].total || u->item_count != units;
    }
    return bad;
  }

  static constexpr const char* topic = "cart.events";

 private:
  static constexpr size_t skus = 8;
  static std::string sku(size_t s) { return "SKU-0" + std::to_string(s); }
  static int64_t price(size_t s) { return 199 + 250 * static_cast<int64_t>(s); }
  struct cart_ref {
    std::array<int64_t, skus> qty{};
    int64_t total = 0;
    uint64_t events = 0;
  };
  std::vector<cart_ref> carts_;
};

workload_result run_aggregate(uint64_t n, const run_options& opts) {
  constexpr int carts = 10000;
  constexpr int partitions = 4;
  const auto policy = emit_policy::periodic(std::chrono::milliseconds{100});
  runtime rt{base_config(opts)};
  if (auto t = rt.create_topic(cart_stream::topic, {.partitions = partitions}); !t)
    throw std::runtime_error(describe(t.error()));
  auto agg = aggregator::start(
      rt, cart::make_spec(policy, "cart-aggregator", cart_stream::topic, "cart.updated"));
  if (!agg) throw std::runtime_error(describe(agg.error()));
  while (agg->subscription().assigned_partitions() < partitions || agg->probe().ready.load() < 1)
    std::this_thread::yield();

  cart_stream input{carts};
  auto prod = rt.make_producer();
  auto t0 = steady_ns();
  for (uint64_t i = 0; i < n; ++i)
    if (auto err = prod.publish_async(input.next(i))) throw std::runtime_error(describe(err));
  if (auto err = prod.flush()) throw std::runtime_error(describe(err));
  auto t_acked = steady_ns();
  auto& probe = agg->probe();
  auto last_progress = steady_ns();
  int64_t last = -1;
  while (probe.applied.load(std::memory_order_relaxed) + probe.rejected.load() <
         static_cast<int64_t>(n)) {
    auto now = steady_ns();
    auto done = probe.applied.load(std::memory_order_relaxed);
    if (done != last) {
      last = done;
      last_progress = now;
    } else if (now - last_progress > stall_limit_ns) {
      std::fprintf(stderr, "herald-bench: AGG made no progress for 60 s; giving up\n");
      break;
    }
    std::this_thread::sleep_for(std::chrono::microseconds{200});
  }
  auto t_done = steady_ns();
  // Not timed: the last interval tick publishes the final carts; then every cart is checked.
  auto settle_until = steady_ns() + 30'000'000'000;
  while ((probe.pending.load() > 0 || probe.acknowledged.load() < probe.emitted.load()) &&
         steady_ns() < settle_until)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  (void)prod.flush();
  prod.close();

  std::map<std::string, std::pair<uint64_t, std::string>> latest;
  for (int p = 0; p < partitions; ++p) {
    auto st = rt.describe_partition("cart.updated", p);
    if (!st) throw std::runtime_error(describe(st.error()));
    for (auto from = st->start; from < st->end;) {
      auto evs = rt.read("cart.updated", p, from, 8192);
      if (!evs || evs->empty()) break;
      for (auto& e : *evs) {
        from = e.offset() + 1;
        auto v = e.header(agg_header::version);
        uint64_t version = v ? std::stoull(std::string{*v}) : 0;
        auto& slot = latest[std::string{e.key()}];
        if (version >= slot.first) slot = {version, std::string{e.payload()}};
      }
    }
  }

  workload_result r;
  r.workload = "AGG";
  r.n = n;
  r.partitions = partitions;
  r.groups = 1;
  r.producer_eps = static_cast<double>(n) * 1e9 / static_cast<double>(t_acked - t0);
  r.e2e_eps = static_cast<double>(n) * 1e9 / static_cast<double>(t_done - t0);
  aggregate_figures a;
  a.carts = carts;
  a.input_eps = r.e2e_eps;
  a.output_events = static_cast<uint64_t>(probe.acknowledged.load());
  a.rejected = static_cast<uint64_t>(probe.rejected.load());
  a.wrong_carts = input.wrong(latest);
  a.policy = "interval 100 ms";
  r.lost = n - std::min<uint64_t>(n, static_cast<uint64_t>(probe.applied.load()));
  r.aggregate = a;
  (void)agg->stop();
  (void)rt.shutdown();
  r.peak_rss_mb = peak_rss_mb();
  return r;
}

}  // namespace

workload_result run_workload(const std::string& name, uint64_t n, const run_options& opts) {
  if (name == "W3") return run_durable(n, opts);
  if (name == "W6") return run_retry(n, opts);
  if (name == "AGG") return run_aggregate(n, opts);
  return run_memory(name, n, opts);
}

}  // namespace herald::bench
