// The tracer: records spans of sampled events and writes them, in OTLP/JSON, to a file.
//
// Spans: `publish` (producer: accepted -> acknowledged), `append` (partition: batch received ->
// appended), `deliver` (appended -> taken by the member), `handle` (the handler call). Each
// carries topic, partition, offset, group and attempt where they apply, and the event's type,
// id, correlation id and causation id (docs/OBSERVABILITY.md).
//
// Sampling is decided once per flow, at its head: a flow's trace id is the W3C trace id of
// its traceparent (or its correlation id when it has none), and it is sampled when that id
// falls below the rate. Every hop reads the decision from the traceparent's flags, so a
// sampled trace is whole and an unsampled event costs each hop one length check.
//
// Lifecycle: created by the runtime when runtime_config::tracing.file is set, shared by every
// actor that records (producers, partitions, members), closed (flushed, thread joined) last.
// Concurrency: record() takes one mutex per call; callers pass a whole batch's spans at once.
// A writer thread formats and writes them every 50 ms, one JSON line per call of up to 512
// spans (the line format of the OpenTelemetry Collector's file exporter).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/expected.hpp>

namespace herald::obs {

enum class span_kind : uint8_t { publish, append, deliver, handle };

const char* to_string(span_kind k);

/// One finished span. Times are Unix nanoseconds.
struct span {
  uint64_t trace_hi = 0;
  uint64_t trace_lo = 0;
  uint64_t id = 0;
  uint64_t parent = 0;  ///< 0: a root span
  span_kind kind = span_kind::publish;
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  std::string group;    ///< deliver, handle
  int32_t attempt = 0;  ///< handle: 1 for the first call
  std::string event_type;
  std::string event_id;
  std::string correlation_id;
  std::string causation_id;
  std::string error;  ///< set when the handle failed
};

struct tracing_options {
  /// Where spans go (appended). Empty: tracing is off and costs nothing.
  std::string file;
  /// Fraction of flows traced, 0..1 (head sampling by trace id).
  double sample = 1.0;
};

class tracer {
 public:
  /// Opens `opts.file` for appending and starts the writer thread. Errors: invalid_config
  /// (rate out of range), storage_failure (the file cannot be opened, with the reason).
  static caf::expected<std::shared_ptr<tracer>> open(const tracing_options& opts);
  ~tracer();
  tracer(const tracer&) = delete;
  tracer& operator=(const tracer&) = delete;

  /// Whether the flow with this trace id is sampled. The id is hashed first: ids made within
  /// one millisecond differ only in their last bits (ULIDs count up), and a rate must not
  /// take or leave whole milliseconds of traffic.
  bool sampled(uint64_t trace_hi, uint64_t trace_lo) const {
    if (all_) return true;
    uint64_t z = trace_hi ^ (trace_lo * 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (z ^ (z >> 31)) < threshold_;
  }
  /// For obs::lineage (a plain function pointer keeps the producer free of this header).
  static bool sample_fn(const void* self, uint64_t trace_hi, uint64_t trace_lo) {
    return static_cast<const tracer*>(self)->sampled(trace_hi, trace_lo);
  }

  void record(std::vector<span>&& spans);
  void record(span&& s);
  /// Writes everything recorded so far and fflushes the file.
  void flush();

  int64_t recorded() const { return recorded_.load(std::memory_order_relaxed); }
  /// Spans dropped because the writer fell max_pending behind (the disk is slower than the
  /// traffic at this sampling rate).
  int64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  /// Spans waiting for the writer beyond which new ones are dropped (about 300 MB).
  static constexpr size_t max_pending = 1 << 20;
  const std::string& file() const { return path_; }

 private:
  tracer(std::FILE* f, std::string path, double rate);
  void run();
  void write(std::vector<span>& spans);

  std::FILE* file_;
  std::string path_;
  uint64_t threshold_;
  bool all_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<span> pending_;
  bool stop_ = false;
  uint64_t flush_requested_ = 0;
  uint64_t flush_done_ = 0;
  std::condition_variable flushed_;
  std::atomic<int64_t> recorded_{0};
  std::atomic<int64_t> dropped_{0};
  std::string line_;
  std::thread thread_;
};

/// Unix time in nanoseconds (the clock of span times).
int64_t unix_ns();

}  // namespace herald::obs
