// Metrics: counters and gauges that actors update once per batch with relaxed atomics, and a
// registry that hands them out and takes snapshots (rendered as Prometheus text or JSON).
//
// Ownership: the runtime creates one `metrics` (unless runtime_config::observability.metrics
// is false) and shares it with the topic registry, the partitions, the coordinators and the
// members. Each actor asks for its cells once (at start or when assigned a partition: a map
// lookup under the registry's mutex) and keeps the shared_ptr; on the hot path it only does
// relaxed atomic stores and adds, one per batch. Cells outlive the actors that write them, so
// a restarted actor continues the same counters. A snapshot reads every cell without
// stopping anyone: figures of one cell are each exact, figures across cells may be a batch
// apart.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

namespace herald::obs {

/// One partition, written by its partition actor after each append.
struct partition_cells {
  std::atomic<int64_t> events_in{0};
  std::atomic<int64_t> bytes_in{0};
  std::atomic<int64_t> batches_in{0};
  std::atomic<int64_t> log_start{0};
  std::atomic<int64_t> log_end{0};
  std::atomic<int64_t> retained_events{0};
  std::atomic<int64_t> retained_bytes{0};
  std::atomic<int64_t> mailbox_depth{0};  ///< the partition actor's, when it last appended
};

/// One (group, topic, partition): the coordinator writes `committed`, the owning member the
/// rest, per delivery.
struct group_partition_cells {
  std::atomic<int64_t> committed{-1};       ///< -1: nothing committed yet
  std::atomic<int64_t> delivered_next{-1};  ///< after the highest offset ever delivered
  std::atomic<int64_t> handled{0};
  std::atomic<int64_t> redeliveries{0};  ///< events handed to the handler again
  std::atomic<int64_t> dead_letters{0};
};

/// Handler latency buckets in nanoseconds (upper bounds, Prometheus `le`), then +Inf.
inline constexpr std::array<int64_t, 18> latency_bounds_ns = {
    1'000,      2'500,      5'000,      10'000,      25'000,        50'000,
    100'000,    250'000,    500'000,    1'000'000,   2'500'000,     5'000'000,
    10'000'000, 25'000'000, 50'000'000, 100'000'000, 1'000'000'000, 10'000'000'000};

/// A histogram a member fills for one delivery without atomics, then adds to the shared one.
struct local_histogram {
  std::array<uint64_t, latency_bounds_ns.size() + 1> counts{};
  uint64_t count = 0;
  int64_t sum_ns = 0;
  void record(int64_t ns) {
    size_t i = 0;
    while (i < latency_bounds_ns.size() && ns > latency_bounds_ns[i]) ++i;
    ++counts[i];
    ++count;
    sum_ns += ns;
  }
  bool empty() const { return count == 0; }
  void clear() { *this = local_histogram{}; }
};

/// One handler (a group's handler, summed over its members).
struct handler_cells {
  std::array<std::atomic<uint64_t>, latency_bounds_ns.size() + 1> counts{};
  std::atomic<uint64_t> count{0};
  std::atomic<int64_t> sum_ns{0};
  std::atomic<int64_t> failures{0};
  void add(const local_histogram& h) {
    for (size_t i = 0; i < h.counts.size(); ++i)
      if (h.counts[i]) counts[i].fetch_add(h.counts[i], std::memory_order_relaxed);
    count.fetch_add(h.count, std::memory_order_relaxed);
    sum_ns.fetch_add(h.sum_ns, std::memory_order_relaxed);
  }
};

/// One actor's mailbox depth, written by the actor itself (CAF 0.17 lets only the owner read
/// it) once per batch it handles.
struct mailbox_cell {
  std::atomic<int64_t> depth{0};
};

/// A copy of every figure at one moment, plain values.
struct metrics_snapshot {
  struct partition_row {
    std::string topic;
    int32_t partition;
    int64_t events_in, bytes_in, batches_in, log_start, log_end, retained_events, retained_bytes;
  };
  struct group_row {
    std::string group;
    std::string topic;
    int32_t partition;
    int64_t committed;  ///< -1: none
    int64_t lag_events;
    double lag_seconds;  ///< age of the oldest event not committed; 0 without lag
    int64_t handled, redeliveries, dead_letters;
  };
  struct handler_row {
    std::string group;
    std::vector<uint64_t> buckets;  ///< cumulative, one per bound then +Inf
    uint64_t count;
    double sum_seconds;
    int64_t failures;
  };
  struct mailbox_row {
    std::string kind;  ///< partition, consumer
    std::string actor;
    int64_t depth;
  };
  std::vector<partition_row> partitions;
  std::vector<group_row> groups;
  std::vector<handler_row> handlers;
  std::vector<mailbox_row> mailboxes;
};

class metrics {
 public:
  std::shared_ptr<partition_cells> partition(const std::string& topic, int32_t p);
  std::shared_ptr<group_partition_cells> group_partition(const std::string& group,
                                                         const std::string& topic, int32_t p);
  std::shared_ptr<handler_cells> handler(const std::string& group);
  std::shared_ptr<mailbox_cell> mailbox(const std::string& kind, const std::string& actor);
  /// Drops a deleted topic's cells (actors that still hold them keep writing into nothing).
  void forget_topic(const std::string& topic);

  /// Everything but lag_seconds (which needs the partitions' append times: the runtime fills
  /// it in). lag_events = log end - committed (or - log start when nothing is committed).
  metrics_snapshot snapshot() const;

 private:
  using tp_key = std::pair<std::string, int32_t>;
  using gtp_key = std::tuple<std::string, std::string, int32_t>;
  mutable std::mutex mtx_;
  std::map<tp_key, std::shared_ptr<partition_cells>> partitions_;
  std::map<gtp_key, std::shared_ptr<group_partition_cells>> groups_;
  std::map<std::string, std::shared_ptr<handler_cells>> handlers_;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<mailbox_cell>> mailboxes_;
};

/// The snapshot in the Prometheus text exposition format (version 0.0.4).
std::string to_prometheus(const metrics_snapshot& s);
/// The snapshot as one JSON object (docs/OBSERVABILITY.md).
std::string to_json(const metrics_snapshot& s);

}  // namespace herald::obs
