// Shared pieces of the benchmarks: the W* event, a latency histogram, peak RSS, JSON output.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace herald::bench {

inline int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// The OrderPlaced payload of ../shared/WORKLOADS.md (~190 bytes), built per event.
std::string order_payload(uint64_t i, int64_t ts_ns);
/// The key of event i: one of 10,000 order ids.
std::string order_key(uint64_t i);
/// Reads "ts_ns":<digits> from a payload; 0 if absent.
int64_t read_ts_ns(std::string_view payload);

/// Log-linear histogram of latencies in nanoseconds (64 buckets per power of two, < 1%
/// error). Not thread-safe: one per handler, merged at the end.
class latency_histogram {
 public:
  void record(int64_t ns);
  void merge(const latency_histogram& other);
  /// Value at quantile q in [0, 1], in nanoseconds.
  int64_t quantile(double q) const;
  int64_t max() const { return max_; }
  uint64_t count() const { return count_; }

 private:
  static constexpr int buckets = 4096;
  static size_t index(uint64_t v);
  static uint64_t value_at(size_t idx);
  std::array<uint64_t, buckets> counts_{};
  uint64_t count_ = 0;
  int64_t max_ = 0;
};

/// Peak resident set size of this process, in MiB.
double peak_rss_mb();

/// Short git commit of the build, or "unknown".
std::string git_commit();

}  // namespace herald::bench
