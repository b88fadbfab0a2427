// The JSON line of one workload (bench/README.md lists the fields).
#include <iterator>
#include <thread>

#include <fmt/format.h>

#include "bench/support.hpp"
#include "bench/workloads.hpp"

namespace herald::bench {

namespace {

/// A ratio, or null when its denominator was not measured.
std::string ratio(double num, double den) {
  return den > 0 ? fmt::format("{:.3f}", num / den) : "null";
}

}  // namespace

bool workload_result::ok() const {
  if (lost != 0) return false;
  if (retry && (retry->applied_twice != 0 || retry->wrong_dead != 0 || retry->bad_seq != 0))
    return false;
  if (aggregate && (aggregate->rejected != 0 || aggregate->wrong_carts != 0)) return false;
  return true;
}

std::string workload_result::to_json() const {
  fmt::memory_buffer out;
  auto it = std::back_inserter(out);
  fmt::format_to(
      it,
      R"({{"workload":"{}","n":{},"producer_eps":{:.0f},"e2e_eps":{:.0f},"p50_us":{:.1f},)"
      R"("p99_us":{:.1f},"p999_us":{:.1f},"max_us":{:.1f},"peak_rss_mb":{:.1f},)"
      R"("baseline_eps":{:.0f},"ratio_to_baseline":{:.3f},"partitions":{},"groups":{},)"
      R"("durability":"{}","lost":{})",
      workload, n, producer_eps, e2e_eps, p50_us, p99_us, p999_us, max_us, peak_rss_mb,
      baseline_eps, baseline_eps > 0 ? e2e_eps / baseline_eps : 0.0, partitions, groups, durability,
      lost);
  if (workload == "W1")
    fmt::format_to(it,
                   R"(,"metrics":"{}","tracing":"{}","trace_spans":{},"trace_file_mb":{:.1f},)"
                   R"("cpu_ns_per_event":{:.0f},"ratio_to_metrics_off":{})",
                   metrics, tracing, trace_spans, trace_file_mb, cpu_ns_per_event,
                   ratio(e2e_eps, metrics_off_eps));
  if (durable) {
    auto& d = *durable;
    fmt::format_to(
        it,
        R"(,"disk_write_mbps":{:.1f},"disk_fsync_per_s":{:.0f},"fsyncs":{},"run_fsync_per_s":{:.0f},)"
        R"("events_per_fsync":{:.0f},"events_per_fsync_max":{},"disk_bytes_per_event":{:.1f},)"
        R"("fsync_bound_eps":{:.0f},"write_bound_eps":{:.0f},"device_limit_eps":{:.0f},)"
        R"("ratio_to_device":{},"ratio_to_w1_memory":{})",
        d.device.write_mbps, d.device.fsync_per_s, d.fsyncs,
        n > 0 ? static_cast<double>(d.fsyncs) * e2e_eps / static_cast<double>(n) : 0.0,
        d.fsyncs > 0 ? static_cast<double>(n) / static_cast<double>(d.fsyncs) : 0.0,
        d.events_per_fsync_max, d.disk_bytes_per_event, d.fsync_bound_eps, d.write_bound_eps,
        d.device_limit_eps, ratio(e2e_eps, d.device_limit_eps), ratio(e2e_eps, w1_eps));
  }
  if (retry) {
    auto& r = *retry;
    fmt::format_to(it,
                   R"(,"retried":{},"retries":{},"dead_lettered":{},"expected_retried":{},)"
                   R"("expected_dead_lettered":{},"applied_twice":{},"duplicates_skipped":{},)"
                   R"("wrong_dead_letters":{},"ratio_to_w1":{})",
                   r.retried, r.retries, r.dead_lettered, r.expected_retried,
                   r.expected_dead_lettered, r.applied_twice, r.duplicates_skipped, r.wrong_dead,
                   ratio(e2e_eps, w1_eps));
  }
  if (aggregate) {
    auto& a = *aggregate;
    fmt::format_to(it,
                   R"(,"input_eps":{:.0f},"output_events":{},"carts":{},"policy":"{}",)"
                   R"("rejected":{},"wrong_carts":{})",
                   a.input_eps, a.output_events, a.carts, a.policy, a.rejected, a.wrong_carts);
  }
  fmt::format_to(it, R"(,"commit":"{}","cores":{}}})", git_commit(),
                 std::thread::hardware_concurrency());
  return fmt::to_string(out);
}

}  // namespace herald::bench
