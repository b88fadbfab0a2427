// What a consumer member measures and traces around its handler: the handler call itself
// (current-event context for correlation, latency, the handle span) and the deliver spans.
// Kept out of consumer.cpp so the member's logic reads without it.
//
// Owned by one member actor; not thread-safe. Per event: one thread-local store and restore,
// with metrics on two clock reads for one call in `time_every` (the latency histogram is a
// sample of the calls), with tracing on one length check of the traceparent. Per batch
// (flush()): one atomic add per histogram bucket used, one tracer call.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <caf/error.hpp>

#include "actors/handler.hpp"
#include "observability/instruments.hpp"

namespace herald {

class member_instruments {
 public:
  member_instruments() = default;
  member_instruments(const obs::instruments& inst, const std::string& group,
                     const std::string& member);

  /// Runs `fn` on `v` as the current event of this thread; catches what it throws.
  caf::error call(const handler_fn& fn, const event_view& v, handler_context& ctx);

  /// Notes that `v` (appended at `append_time`) was taken from a delivery now: a deliver span
  /// when it is sampled.
  void delivered(const event_view& v, timestamp append_time, const std::string& group) {
    if (tracer_ && !v.traceparent().empty()) deliver_span(v, append_time, group);
  }

  /// Publishes what the batch measured (histogram, spans); writes the actor's mailbox depth.
  void flush(size_t mailbox_depth);

  /// The cells of one partition the member owns (null without metrics).
  std::shared_ptr<obs::group_partition_cells> cells(const std::string& group,
                                                    const std::string& topic, int32_t p) const;

  bool metrics_on() const { return metrics_ != nullptr; }
  /// One handler call in this many is timed for the latency histogram (the first one too).
  static constexpr uint32_t time_every = 8;
  void failed() {
    if (handler_) handler_->failures.fetch_add(1, std::memory_order_relaxed);
  }

 private:
  void deliver_span(const event_view& v, timestamp append_time, const std::string& group);

  std::shared_ptr<obs::metrics> metrics_;
  std::shared_ptr<obs::tracer> tracer_;
  std::shared_ptr<obs::handler_cells> handler_;
  std::shared_ptr<obs::mailbox_cell> mailbox_;
  obs::local_histogram latency_;
  uint32_t call_no_ = 0;
  std::vector<obs::span> spans_;
};

}  // namespace herald
