#include "observability/context.hpp"

#include <chrono>

namespace herald::obs {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // W3C: lowercase only
}

bool parse_hex(std::string_view s, uint64_t& out) {
  uint64_t v = 0;
  for (char c : s) {
    auto d = hex_value(c);
    if (d < 0) return false;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  out = v;
  return true;
}

thread_local const handling* current = nullptr;

uint64_t splitmix(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

void write_hex64(char* out, uint64_t v) {
  for (int i = 15; i >= 0; --i) {
    out[i] = hex_digits[v & 0xF];
    v >>= 4;
  }
}

std::optional<trace_context> trace_context::parse(std::string_view t) {
  if (t.size() != text_size || t[2] != '-' || t[35] != '-' || t[52] != '-') return std::nullopt;
  if (t.substr(0, 2) != "00") return std::nullopt;
  trace_context c;
  uint64_t flags = 0;
  if (!parse_hex(t.substr(3, 16), c.trace_hi) || !parse_hex(t.substr(19, 16), c.trace_lo) ||
      !parse_hex(t.substr(36, 16), c.span) || !parse_hex(t.substr(53, 2), flags))
    return std::nullopt;
  c.flags = static_cast<uint8_t>(flags);
  if (!c.valid()) return std::nullopt;
  return c;
}

void trace_context::write(char* out) const {
  out[0] = '0';
  out[1] = '0';
  out[2] = '-';
  write_hex64(out + 3, trace_hi);
  write_hex64(out + 19, trace_lo);
  out[35] = '-';
  write_hex64(out + 36, span);
  out[52] = '-';
  out[53] = hex_digits[(flags >> 4) & 0xF];
  out[54] = hex_digits[flags & 0xF];
}

std::string trace_context::to_string() const {
  std::string s(text_size, '0');
  write(s.data());
  return s;
}

uint64_t new_span_id() {
  thread_local uint64_t state =
      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
      reinterpret_cast<uintptr_t>(&state);
  uint64_t v;
  do v = splitmix(state);
  while (v == 0);
  return v;
}

const handling* current_handling() {
  return current;
}

handling_scope::handling_scope(const handling& h) : previous_(current) {
  current = &h;
}

handling_scope::~handling_scope() {
  current = previous_;
}

lineage::lineage(const event& ev, const void* tracer, sampler_fn sampler) {
  correlation_ = ev.starts_flow() ? std::string_view{} : ev.correlation_id();
  causation_ = ev.causation_id();
  traceparent_ = ev.traceparent();
  const auto* h = current_handling();
  const event_view* cause = h ? h->event : nullptr;
  if (cause && ev.starts_flow() && ev.causation_id().empty()) {
    correlation_ = cause->correlation_id();
    causation_ = cause->id_text();
  }
  // The context this event's publish span continues: the user's, else the handled event's.
  std::optional<trace_context> parent;
  if (!traceparent_.empty()) {
    parent = trace_context::parse(traceparent_);
    if (!parent) return;  // not ours to understand: carried unchanged, not traced
  } else if (cause && !cause->traceparent().empty()) {
    parent = trace_context::parse(cause->traceparent());
    if (parent && h->handle_span != 0) parent->span = h->handle_span;
  }
  if (parent) {
    trace_ = trace_context{parent->trace_hi, parent->trace_lo, new_span_id(), parent->flags};
    parent_span_ = parent->span;
  } else if (tracer && sampler) {
    // A flow without trace context: its trace id is its correlation id (a ULID is 128 bits),
    // so every hop of a flow decides the same way (head sampling by trace id).
    event_id flow = ev.id();
    if (!correlation_.empty()) {
      auto parsed = event_id::parse(correlation_);
      if (!parsed) return;
      flow = *parsed;
    }
    if (!sampler(tracer, flow.hi, flow.lo)) return;
    trace_ = trace_context{flow.hi, flow.lo, new_span_id(), 0x01};
    parent_span_ = h ? h->handle_span : 0;
  } else {
    return;
  }
  trace_->write(tp_buf_.data());
  traceparent_ = {tp_buf_.data(), tp_buf_.size()};
}

}  // namespace herald::obs
