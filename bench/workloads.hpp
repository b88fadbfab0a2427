// The workloads of ../shared/WORKLOADS.md, each run in the calling process.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace herald::bench {

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

  std::string to_json() const;
};

/// The raw CAF baseline: one actor sends n messages carrying the W* payload to another that
/// counts them. Returns events per second.
double run_baseline(uint64_t n, size_t threads);

/// Runs workload `name` (W1, W2, W5) with n events. Fills everything but baseline_eps.
workload_result run_workload(const std::string& name, uint64_t n, size_t threads);

const std::vector<std::string>& known_workloads();

}  // namespace herald::bench
