#include "actors/member_instruments.hpp"

#include <chrono>
#include <optional>

#include "messages/errors.hpp"
#include "observability/context.hpp"

namespace herald {

namespace {

using clock = std::chrono::steady_clock;

obs::span event_span(const event_view& v, const obs::trace_context& tc, obs::span_kind kind) {
  obs::span s;
  s.trace_hi = tc.trace_hi;
  s.trace_lo = tc.trace_lo;
  s.parent = tc.span;
  s.kind = kind;
  s.topic = v.topic();
  s.partition = v.partition().value;
  s.offset = v.offset().value;
  s.event_type = v.type();
  s.event_id = v.id_text();
  s.correlation_id = v.correlation_id();
  s.causation_id = v.causation_id();
  return s;
}

}  // namespace

member_instruments::member_instruments(const obs::instruments& inst, const std::string& group,
                                       const std::string& member)
    : metrics_(inst.metrics), tracer_(inst.tracer) {
  if (metrics_) {
    handler_ = metrics_->handler(group);
    mailbox_ = metrics_->mailbox("consumer", group + "/" + member);
  }
}

caf::error member_instruments::call(const handler_fn& fn, const event_view& v,
                                    handler_context& ctx) {
  obs::handling h{&v, 0};
  std::optional<obs::trace_context> tc;
  if (tracer_ && !v.traceparent().empty()) {
    tc = obs::trace_context::parse(v.traceparent());
    if (tc && tc->sampled())
      h.handle_span = obs::new_span_id();
    else
      tc.reset();
  }
  const int64_t span_start = tc ? obs::unix_ns() : 0;
  // A clock read costs 20-60 ns (more in VMs), a W1 event about 1 us of CPU: timing every
  // call would cost most of the metrics budget. One call in time_every is timed.
  const bool timed = metrics_ && call_no_++ % time_every == 0;
  const auto t0 = timed ? clock::now() : clock::time_point{};
  caf::error err;
  {
    obs::handling_scope scope{h};
    try {
      err = fn(v, ctx);
    } catch (const std::exception& e) {
      err = make_error(errc::handler_failed, std::string{"handler threw: "} + e.what());
    } catch (...) {
      err = make_error(errc::handler_failed, "handler threw a non-standard exception");
    }
  }
  if (timed) latency_.record(std::chrono::nanoseconds{clock::now() - t0}.count());
  if (tc) {
    auto s = event_span(v, *tc, obs::span_kind::handle);
    s.id = h.handle_span;
    s.start_ns = span_start;
    s.end_ns = obs::unix_ns();
    s.group = ctx.group();
    s.attempt = ctx.attempt();
    if (err) s.error = describe(err);
    spans_.push_back(std::move(s));
  }
  return err;
}

void member_instruments::deliver_span(const event_view& v, timestamp append_time,
                                      const std::string& group) {
  auto tc = obs::trace_context::parse(v.traceparent());
  if (!tc || !tc->sampled()) return;
  auto s = event_span(v, *tc, obs::span_kind::deliver);
  s.id = obs::new_span_id();
  s.start_ns = append_time.value;
  s.end_ns = obs::unix_ns();
  s.group = group;
  spans_.push_back(std::move(s));
}

void member_instruments::flush(size_t mailbox_depth) {
  if (handler_ && !latency_.empty()) {
    handler_->add(latency_);
    latency_.clear();
  }
  if (mailbox_)
    mailbox_->depth.store(static_cast<int64_t>(mailbox_depth), std::memory_order_relaxed);
  if (tracer_ && !spans_.empty()) {
    tracer_->record(std::move(spans_));
    spans_.clear();
  }
}

std::shared_ptr<obs::group_partition_cells> member_instruments::cells(const std::string& group,
                                                                      const std::string& topic,
                                                                      int32_t p) const {
  return metrics_ ? metrics_->group_partition(group, topic, p) : nullptr;
}

}  // namespace herald
