#include "observability/tracer.hpp"

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>

#include "messages/errors.hpp"
#include "observability/context.hpp"
#include "observability/text.hpp"

namespace herald::obs {

namespace {

constexpr size_t spans_per_line = 512;

/// OTLP SpanKind numbers.
int otlp_kind(span_kind k) {
  switch (k) {
    case span_kind::publish:
      return 4;  // PRODUCER
    case span_kind::deliver:
      return 1;  // INTERNAL
    case span_kind::append:
      return 1;
    case span_kind::handle:
      return 5;  // CONSUMER
  }
  return 1;
}

void put_hex(std::string& out, uint64_t v) {
  char buf[16];
  write_hex64(buf, v);
  out.append(buf, 16);
}

void put_int(std::string& out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}

// Spans are formatted by hand, not through Boost.JSON's DOM: at 100% sampling the writer
// formats every span of a million-events-per-second flow.

/// Opens an OTLP attribute: `{"key":"<key>","value":{` (after a comma unless first).
void attr_open(std::string& out, bool& first, const char* key) {
  out += first ? "{\"key\":\"" : ",{\"key\":\"";
  first = false;
  out += key;
  out += "\",\"value\":{";
}

void attr_str(std::string& out, bool& first, const char* key, std::string_view v) {
  if (v.empty()) return;
  attr_open(out, first, key);
  out += "\"stringValue\":";
  json_quote(out, v);
  out += "}}";
}

void attr_int(std::string& out, bool& first, const char* key, int64_t v) {
  attr_open(out, first, key);
  // OTLP/JSON writes 64-bit integers as strings.
  out += "\"intValue\":\"";
  put_int(out, v);
  out += "\"}}";
}

void write_span(std::string& out, const span& s) {
  out += "{\"traceId\":\"";
  put_hex(out, s.trace_hi);
  put_hex(out, s.trace_lo);
  out += "\",\"spanId\":\"";
  put_hex(out, s.id);
  out += "\"";
  if (s.parent != 0) {
    out += ",\"parentSpanId\":\"";
    put_hex(out, s.parent);
    out += "\"";
  }
  out += ",\"name\":\"";
  out += to_string(s.kind);
  out += "\",\"kind\":";
  put_int(out, otlp_kind(s.kind));
  out += ",\"startTimeUnixNano\":\"";
  put_int(out, s.start_ns);
  out += "\",\"endTimeUnixNano\":\"";
  put_int(out, s.end_ns);
  out += "\",\"attributes\":[";
  bool first = true;
  attr_str(out, first, "messaging.destination.name", s.topic);
  if (s.partition >= 0) attr_int(out, first, "messaging.destination.partition.id", s.partition);
  if (s.offset >= 0) attr_int(out, first, "messaging.message.offset", s.offset);
  attr_str(out, first, "messaging.consumer.group.name", s.group);
  if (s.attempt > 0) attr_int(out, first, "herald.attempt", s.attempt);
  attr_str(out, first, "herald.event.type", s.event_type);
  attr_str(out, first, "messaging.message.id", s.event_id);
  attr_str(out, first, "herald.correlation_id", s.correlation_id);
  attr_str(out, first, "herald.causation_id", s.causation_id);
  attr_str(out, first, "error.message", s.error);
  out += "]";
  if (!s.error.empty()) out += ",\"status\":{\"code\":2}";
  out += "}";
}

}  // namespace

const char* to_string(span_kind k) {
  switch (k) {
    case span_kind::publish:
      return "publish";
    case span_kind::append:
      return "append";
    case span_kind::deliver:
      return "deliver";
    case span_kind::handle:
      return "handle";
  }
  return "?";
}

int64_t unix_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

caf::expected<std::shared_ptr<tracer>> tracer::open(const tracing_options& opts) {
  if (!(opts.sample >= 0.0 && opts.sample <= 1.0))
    return make_error(errc::invalid_config,
                      "tracing.sample must be between 0 and 1 (the fraction of flows traced)");
  auto* f = std::fopen(opts.file.c_str(), "ae");
  if (!f)
    return make_error(errc::storage_failure, "cannot open the trace file '" + opts.file +
                                                 "': " + std::strerror(errno) +
                                                 "; set tracing.file to a writable path");
  return std::shared_ptr<tracer>{new tracer(f, opts.file, opts.sample)};
}

tracer::tracer(std::FILE* f, std::string path, double rate)
    : file_(f),
      path_(std::move(path)),
      threshold_(rate >= 1.0 ? ~uint64_t{0} : static_cast<uint64_t>(rate * 18446744073709551616.0)),
      all_(rate >= 1.0) {
  thread_ = std::thread{[this] {
    run();
  }};
}

tracer::~tracer() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  std::fclose(file_);
}

void tracer::record(std::vector<span>&& spans) {
  if (spans.empty()) return;
  std::lock_guard<std::mutex> guard{mtx_};
  if (pending_.size() >= max_pending) {
    dropped_.fetch_add(static_cast<int64_t>(spans.size()), std::memory_order_relaxed);
    return;
  }
  recorded_.fetch_add(static_cast<int64_t>(spans.size()), std::memory_order_relaxed);
  if (pending_.empty())
    pending_ = std::move(spans);
  else
    pending_.insert(pending_.end(), std::make_move_iterator(spans.begin()),
                    std::make_move_iterator(spans.end()));
}

void tracer::record(span&& s) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (pending_.size() >= max_pending) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  recorded_.fetch_add(1, std::memory_order_relaxed);
  pending_.push_back(std::move(s));
}

void tracer::flush() {
  std::unique_lock<std::mutex> lk{mtx_};
  auto ticket = ++flush_requested_;
  cv_.notify_all();
  flushed_.wait(lk, [&] { return flush_done_ >= ticket || stop_; });
}

void tracer::run() {
  std::vector<span> batch;
  std::unique_lock<std::mutex> lk{mtx_};
  for (;;) {
    cv_.wait_for(lk, std::chrono::milliseconds{50},
                 [&] { return stop_ || flush_requested_ > flush_done_; });
    batch.swap(pending_);
    auto ticket = flush_requested_;
    bool stopping = stop_;
    lk.unlock();
    write(batch);
    batch.clear();
    lk.lock();
    // Spans recorded while writing are written before a flush() waiting for them returns.
    if (!pending_.empty() && (stopping || ticket > flush_done_)) continue;
    flush_done_ = ticket;
    flushed_.notify_all();
    if (stopping) return;
  }
}

void tracer::write(std::vector<span>& spans) {
  if (spans.empty()) {
    std::fflush(file_);
    return;
  }
  for (size_t i = 0; i < spans.size(); i += spans_per_line) {
    line_.clear();
    line_ +=
        "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
        "\"value\":{\"stringValue\":\"herald\"}}]},\"scopeSpans\":[{\"scope\":{\"name\":"
        "\"herald\"},\"spans\":[";
    auto end = std::min(spans.size(), i + spans_per_line);
    for (size_t j = i; j < end; ++j) {
      if (j > i) line_ += ',';
      write_span(line_, spans[j]);
    }
    line_ += "]}]}]}\n";
    std::fwrite(line_.data(), 1, line_.size(), file_);
  }
  std::fflush(file_);
}

}  // namespace herald::obs
