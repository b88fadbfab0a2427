// The workloads of ../shared/WORKLOADS.md, each run in the calling process.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/device.hpp"

namespace herald::bench {

/// W3 (durable): the device and what the log asked of it.
struct durable_figures {
  device_rates device;
  uint64_t fsyncs = 0;               ///< fdatasyncs of the data directory during the run
  int64_t events_per_fsync_max = 0;  ///< the producer's in-flight window per partition
  double disk_bytes_per_event = 0;   ///< bytes of batches on disk per event
  double fsync_bound_eps = 0;        ///< fsync_per_s x events_per_fsync_max
  double write_bound_eps = 0;        ///< write rate / bytes per event
  double device_limit_eps = 0;       ///< always: min of both; interval, never: write bound
};

/// W6 (retry): what happened to the failing events, checked against the plan.
struct retry_figures {
  uint64_t retried = 0;        ///< events the handler saw more than once
  uint64_t retries = 0;        ///< retries the member scheduled
  uint64_t dead_lettered = 0;  ///< dead letters found in <topic>.dlq
  uint64_t expected_retried = 0;
  uint64_t expected_dead_lettered = 0;
  uint64_t applied_twice = 0;       ///< must be 0
  uint64_t duplicates_skipped = 0;  ///< events the idempotent member did not hand over again
  uint64_t wrong_dead = 0;          ///< dead letters of events that should have succeeded
  uint64_t bad_seq = 0;             ///< events without a valid sequence header
};

/// AGG (aggregator): cart events folded into CartUpdated.
struct aggregate_figures {
  int carts = 0;
  double input_eps = 0;        ///< input events folded per second (= e2e_eps)
  uint64_t output_events = 0;  ///< CartUpdated published by the end of the run
  uint64_t rejected = 0;       ///< must be 0: the generated input is valid
  uint64_t wrong_carts = 0;    ///< carts whose last CartUpdated differs from the reference
  std::string policy;
};

struct workload_result {
  std::string workload;
  uint64_t n = 0;
  double producer_eps = 0;
  double e2e_eps = 0;
  double p50_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
  double peak_rss_mb = 0;
  double baseline_eps = 0;
  int partitions = 0;
  int groups = 0;
  std::string durability = "memory";
  uint64_t lost = 0;  ///< events some group never handled (must be 0)
  /// e2e_eps of W1 (in memory) measured in the same invocation; 0 when W1 did not run.
  double w1_eps = 0;
  /// W1 observability variants: metrics "on"/"off", tracing "off", "1%" or "on".
  std::string metrics = "on";
  std::string tracing = "off";
  int64_t trace_spans = 0;  ///< spans the tracer recorded
  /// CPU time (user + system, every thread) per event over the run: less disturbed than
  /// throughput by other processes on a busy machine. 0: not measured.
  double cpu_ns_per_event = 0;
  double trace_file_mb = 0;    ///< size of the trace file at the end
  double metrics_off_eps = 0;  ///< e2e_eps of W1 with metrics off in this invocation; 0: unknown
  std::optional<durable_figures> durable;
  std::optional<retry_figures> retry;
  std::optional<aggregate_figures> aggregate;

  /// Nothing lost, nothing applied twice, every dead letter where it belongs.
  bool ok() const;
  std::string to_json() const;
};

struct run_options {
  size_t threads = 1;
  /// W3: always, interval or never.
  std::string durability;
  /// W3: the device's rates, when the caller measured them already; else measured here.
  std::optional<device_rates> device;
  /// e2e_eps of W1 in this invocation (for the ratios of W3 and W6); 0: unknown.
  double w1_eps = 0;
  /// W1 variants: count metrics (the runtime's default), and trace this fraction of flows to
  /// a scratch file (negative: tracing off).
  bool metrics = true;
  double trace_sample = -1;
  /// e2e_eps of "W1:metrics-off" in this invocation; 0: unknown.
  double metrics_off_eps = 0;
};

/// The W1 variants herald-bench knows ("W1:metrics-off", ...), and what each sets.
const std::vector<std::string>& w1_variants();
/// Sets opts for a W1 variant; false for an unknown one.
bool apply_w1_variant(const std::string& variant, run_options& opts);

/// The raw CAF baseline: one actor sends n messages carrying the W* payload to another that
/// counts them. Returns events per second.
double run_baseline(uint64_t n, size_t threads);

/// Runs workload `name` (W1, W2, W3, W5, W6, AGG) with n events. Fills everything but baseline_eps.
workload_result run_workload(const std::string& name, uint64_t n, const run_options& opts);

const std::vector<std::string>& known_workloads();
/// The durability policies W3 runs, in order.
const std::vector<std::string>& durability_policies();

}  // namespace herald::bench
