// Trace context and the "current event" of a thread: what makes an event published inside a
// handler inherit the flow of the event being handled, with no code in the handler.
//
// The consumer actor opens a handling_scope around every handler call; producer_core reads
// current_handling() when it encodes an event and, unless the user set them, takes the
// handled event's correlation id, its id as causation id, and a child of its `traceparent`
// (same trace id, new span id, same flags). Cost: one thread-local pointer store per handler
// call, one load per publish; nothing is rendered unless a publish asks for it.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "messages/event.hpp"

namespace herald::obs {

/// W3C trace context (https://www.w3.org/TR/trace-context/), version 00:
/// "00-<32 hex trace id>-<16 hex parent span id>-<2 hex flags>".
struct trace_context {
  static constexpr size_t text_size = 55;
  uint64_t trace_hi = 0;
  uint64_t trace_lo = 0;
  uint64_t span = 0;
  uint8_t flags = 0;

  bool valid() const { return (trace_hi | trace_lo) != 0 && span != 0; }
  bool sampled() const { return (flags & 0x01) != 0; }

  /// Parses the version-00 form; nullopt for anything else (wrong length, bad hex, all-zero
  /// ids), which the W3C rules say to treat as "no trace context".
  static std::optional<trace_context> parse(std::string_view text);
  /// Writes exactly text_size characters.
  void write(char* out) const;
  std::string to_string() const;
};

/// Writes `v` as 16 lowercase hex digits.
void write_hex64(char* out, uint64_t v);
/// A random, non-zero span id (per-thread generator, no lock).
uint64_t new_span_id();

/// The event a handler is running on, on this thread.
struct handling {
  const event_view* event = nullptr;
  /// The handle span's id when the event is traced and sampled, else 0: spans of what the
  /// handler publishes take it as parent.
  uint64_t handle_span = 0;
};

/// The innermost handling on this thread, or nullptr outside handlers.
const handling* current_handling();

/// Makes `h` the current handling for its lifetime; nests.
class handling_scope {
 public:
  explicit handling_scope(const handling& h);
  ~handling_scope();
  handling_scope(const handling_scope&) = delete;
  handling_scope& operator=(const handling_scope&) = delete;

 private:
  const handling* previous_;
};

/// The correlation id, causation id and traceparent an event is encoded with when published:
/// the event's own where it set them, else inherited from the event handled on this thread.
/// `sampler` decides whether a flow with no trace context yet is traced (null: never).
/// The views point into `ev`, the handled event or this object: use it while they live.
class lineage {
 public:
  using sampler_fn = bool (*)(const void* tracer, uint64_t trace_hi, uint64_t trace_lo);
  lineage(const event& ev, const void* tracer, sampler_fn sampler);
  lineage(const lineage&) = delete;  // the traceparent view may point into this object
  lineage& operator=(const lineage&) = delete;

  std::string_view correlation() const { return correlation_; }
  std::string_view causation() const { return causation_; }
  std::string_view traceparent() const { return traceparent_; }
  /// The trace context of the published event, when it has one.
  const std::optional<trace_context>& trace() const { return trace_; }
  /// The handle span of the causing event (0: none): parent of this event's publish span.
  uint64_t parent_span() const { return parent_span_; }
  /// True when the event is traced and sampled: the producer records a publish span.
  bool sampled() const { return trace_ && trace_->sampled(); }

 private:
  std::string_view correlation_;
  std::string_view causation_;
  std::string_view traceparent_;
  std::optional<trace_context> trace_;
  uint64_t parent_span_ = 0;
  std::array<char, trace_context::text_size> tp_buf_;
};

}  // namespace herald::obs
