#include "messages/record_batch.hpp"

#include <algorithm>
#include <cstdlib>
#include <new>

#include "messages/crc32c.hpp"

namespace herald {

using namespace format;

// -- record_batch -----------------------------------------------------------------------------

record_batch::~record_batch() {
  std::free(data_);
}

namespace {

caf::error corrupt(std::string what, size_t at) {
  return make_error(errc::corrupt_batch, std::move(what) + " (at byte " + std::to_string(at) + ")");
}

}  // namespace

caf::expected<uint32_t> record_batch::check(const char* p, size_t n) {
  if (n < batch_header_size)
    return corrupt("batch shorter than its " + std::to_string(batch_header_size) +
                       "-byte header: " + std::to_string(n) + " bytes",
                   0);
  auto version = load<uint8_t>(p + b_version);
  if (version > batch_version)
    return make_error(errc::invalid_argument,
                      "record batch format version " + std::to_string(version) +
                          " is newer than this Herald reads (" + std::to_string(batch_version) +
                          "): upgrade Herald to read this data");
  if (version == 0) return corrupt("format version 0", b_version);
  auto len = load<uint32_t>(p + b_length);
  if (len < batch_header_size || len > max_batch_bytes)
    return corrupt("batch length " + std::to_string(len) + " out of range", b_length);
  if (len > n)
    return corrupt("batch length " + std::to_string(len) + " exceeds the " + std::to_string(n) +
                       " bytes available (torn write?)",
                   b_length);
  auto hdr_len = load<uint16_t>(p + b_header_length);
  if (hdr_len != batch_header_size)
    return corrupt(
        "header length " + std::to_string(hdr_len) + " is not " + std::to_string(batch_header_size),
        b_header_length);
  auto stored_crc = load<uint32_t>(p + b_crc);
  auto actual_crc = crc32c(p + b_crc_start, len - b_crc_start);
  if (stored_crc != actual_crc) return corrupt("CRC32C mismatch", b_crc);
  // The CRC matched, so a framing error now means a writer bug, not bit rot; check anyway so
  // that no reader ever walks out of bounds.
  auto count = load<uint32_t>(p + b_record_count);
  auto last_delta = load<uint32_t>(p + b_last_offset_delta);
  size_t pos = batch_header_size;
  int64_t prev_delta = -1;
  for (uint32_t i = 0; i < count; ++i) {
    if (pos + record_prefix_size > len)
      return corrupt("record " + std::to_string(i) + " truncated", pos);
    auto rlen = load<uint32_t>(p + pos + r_length);
    if (rlen + 4ull < record_prefix_size || pos + 4ull + rlen > len)
      return corrupt("record " + std::to_string(i) + " length out of range", pos);
    auto delta = load<uint32_t>(p + pos + r_offset_delta);
    if (static_cast<int64_t>(delta) <= prev_delta || delta > last_delta)
      return corrupt("record offsets not increasing", pos + r_offset_delta);
    prev_delta = delta;
    // Layout: prefix, five strings, headers, payload (docs/FORMAT.md).
    size_t strings =
        size_t{load<uint16_t>(p + pos + r_type_len)} + load<uint16_t>(p + pos + r_key_len) +
        load<uint16_t>(p + pos + r_correlation_len) + load<uint16_t>(p + pos + r_causation_len) +
        load<uint16_t>(p + pos + r_traceparent_len);
    size_t end = pos + 4 + rlen;
    size_t cur = pos + record_prefix_size + strings;
    auto hcount = load<uint16_t>(p + pos + r_header_count);
    for (uint32_t h = 0; h < hcount; ++h) {
      if (cur + 4 > end) return corrupt("header framing", cur);
      cur += 4 + size_t{load<uint16_t>(p + cur)} + load<uint16_t>(p + cur + 2);
    }
    cur += load<uint32_t>(p + pos + r_payload_len);
    if (cur != end) return corrupt("record " + std::to_string(i) + " field lengths", pos);
    pos = end;
  }
  if (pos != len) return corrupt("bytes after the last record", pos);
  if (count > 0 && prev_delta != last_delta)
    return corrupt("last offset delta does not match the last record", b_last_offset_delta);
  return len;
}

caf::expected<record_batch_ptr> record_batch::parse(const char* p, size_t n) {
  auto len = check(p, n);
  if (!len) return std::move(len.error());
  auto* buf = static_cast<char*>(std::malloc(*len));
  if (!buf) throw std::bad_alloc{};
  std::memcpy(buf, p, *len);
  return record_batch_ptr{new record_batch(buf, *len), false};
}

// -- batch_builder ----------------------------------------------------------------------------

batch_builder::batch_builder(size_t reserve_bytes)
    : reserve_bytes_(std::max<size_t>(reserve_bytes, batch_header_size + 256)) {
  reset();
}

batch_builder::~batch_builder() {
  std::free(buf_);
}

batch_builder::batch_builder(batch_builder&& other) noexcept
    : buf_(other.buf_),
      size_(other.size_),
      capacity_(other.capacity_),
      reserve_bytes_(other.reserve_bytes_),
      count_(other.count_),
      first_ts_(other.first_ts_),
      max_ts_(other.max_ts_) {
  other.buf_ = nullptr;
  other.size_ = other.capacity_ = 0;
  other.count_ = 0;
}

batch_builder& batch_builder::operator=(batch_builder&& other) noexcept {
  if (this != &other) {
    std::free(buf_);
    buf_ = other.buf_;
    size_ = other.size_;
    capacity_ = other.capacity_;
    reserve_bytes_ = other.reserve_bytes_;
    count_ = other.count_;
    first_ts_ = other.first_ts_;
    max_ts_ = other.max_ts_;
    other.buf_ = nullptr;
    other.size_ = other.capacity_ = 0;
    other.count_ = 0;
  }
  return *this;
}

void batch_builder::reset() {
  if (!buf_) {
    capacity_ = reserve_bytes_;
    buf_ = static_cast<char*>(std::malloc(capacity_));
    if (!buf_) throw std::bad_alloc{};
  }
  size_ = batch_header_size;
  count_ = 0;
  first_ts_ = 0;
  max_ts_ = 0;
}

char* batch_builder::reserve(size_t n) {
  if (size_ + n > capacity_) {
    auto cap = std::max(capacity_ * 2, size_ + n);
    auto* nb = static_cast<char*>(std::realloc(buf_, cap));
    if (!nb) throw std::bad_alloc{};
    buf_ = nb;
    capacity_ = cap;
  }
  auto* p = buf_ + size_;
  size_ += n;
  return p;
}

size_t batch_builder::encoded_size(const event& ev) {
  size_t n = record_prefix_size + ev.type_.size() + ev.key_.size() + ev.correlation_id_.size() +
             ev.causation_id_.size() + ev.traceparent_.size() + ev.payload_.size();
  for (auto& h : ev.headers_) n += 4 + h.key.size() + h.value.size();
  return n;
}

namespace {

inline char* put(char* p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

}  // namespace

void batch_builder::add_fields(uint32_t len, int64_t ts, event_id id, uint8_t flags,
                               std::string_view type, std::string_view key, std::string_view corr,
                               std::string_view caus, std::string_view tp, uint32_t header_count,
                               size_t header_bytes, uint32_t schema_version,
                               std::string_view payload, char*& hdr_out) {
  char* r = reserve(len);
  store<uint32_t>(r + r_length, len - 4);
  store<uint32_t>(r + r_offset_delta, count_);
  store<int64_t>(r + r_timestamp, ts);
  store<uint64_t>(r + r_id_hi, id.hi);
  store<uint64_t>(r + r_id_lo, id.lo);
  store<uint8_t>(r + r_flags, flags);
  store<uint8_t>(r + r_flags + 1, 0);
  store<uint16_t>(r + r_type_len, static_cast<uint16_t>(type.size()));
  store<uint16_t>(r + r_key_len, static_cast<uint16_t>(key.size()));
  store<uint16_t>(r + r_correlation_len, static_cast<uint16_t>(corr.size()));
  store<uint16_t>(r + r_causation_len, static_cast<uint16_t>(caus.size()));
  store<uint16_t>(r + r_traceparent_len, static_cast<uint16_t>(tp.size()));
  store<uint16_t>(r + r_header_count, static_cast<uint16_t>(header_count));
  store<uint16_t>(r + r_header_count + 2, 0);
  store<uint32_t>(r + r_schema_version, schema_version);
  store<uint32_t>(r + r_payload_len, static_cast<uint32_t>(payload.size()));
  char* p = r + record_prefix_size;
  p = put(p, type);
  p = put(p, key);
  p = put(p, corr);
  p = put(p, caus);
  p = put(p, tp);
  hdr_out = p;
  put(p + header_bytes, payload);
  if (count_ == 0) {
    first_ts_ = ts;
    max_ts_ = ts;
  } else {
    max_ts_ = std::max(max_ts_, ts);
  }
  ++count_;
}

namespace {

caf::error field_too_long(const char* what, size_t n) {
  return make_error(errc::invalid_event, std::string{what} + " is " + std::to_string(n) +
                                             " bytes; the limit is " +
                                             std::to_string(limits::max_string));
}

}  // namespace

caf::error batch_builder::add(const event& ev) {
  return add(ev, {ev.correlation_id_, ev.causation_id_, ev.traceparent_});
}

caf::error batch_builder::add(const event& ev, const lineage& lin) {
  if (ev.type_.size() > limits::max_string) return field_too_long("event type", ev.type_.size());
  if (ev.key_.size() > limits::max_string) return field_too_long("key", ev.key_.size());
  if (lin.correlation.size() > limits::max_string)
    return field_too_long("correlation id", lin.correlation.size());
  if (lin.causation.size() > limits::max_string)
    return field_too_long("causation id", lin.causation.size());
  if (lin.traceparent.size() > limits::max_string)
    return field_too_long("traceparent", lin.traceparent.size());
  if (ev.headers_.size() > limits::max_headers)
    return make_error(errc::invalid_event,
                      "too many headers: " + std::to_string(ev.headers_.size()));
  size_t header_bytes = 0;
  for (auto& h : ev.headers_) {
    if (h.key.size() > limits::max_string) return field_too_long("header key", h.key.size());
    if (h.value.size() > limits::max_string) return field_too_long("header value", h.value.size());
    header_bytes += 4 + h.key.size() + h.value.size();
  }
  size_t len = record_prefix_size + ev.type_.size() + ev.key_.size() + lin.correlation.size() +
               lin.causation.size() + lin.traceparent.size() + header_bytes + ev.payload_.size();
  if (len > max_batch_bytes - batch_header_size)
    return make_error(errc::event_too_large,
                      "event of " + std::to_string(len) + " bytes exceeds the format's limit");
  uint8_t flags = (ev.tombstone_ ? record_tombstone : 0) |
                  (lin.correlation.empty() ? record_correlation_self : 0);
  char* hp = nullptr;
  add_fields(static_cast<uint32_t>(len), ev.time_.value, ev.id_, flags, ev.type_, ev.key_,
             lin.correlation, lin.causation, lin.traceparent,
             static_cast<uint32_t>(ev.headers_.size()), header_bytes, ev.schema_version_,
             ev.payload_, hp);
  for (auto& h : ev.headers_) {
    store<uint16_t>(hp, static_cast<uint16_t>(h.key.size()));
    store<uint16_t>(hp + 2, static_cast<uint16_t>(h.value.size()));
    hp = put(put(hp + 4, h.key), h.value);
  }
  return caf::none;
}

caf::error batch_builder::add(const event_view& ev) {
  size_t header_bytes = 0;
  ev.for_each_header(
      [&](const header_view& h) { header_bytes += 4 + h.key.size() + h.value.size(); });
  std::string_view corr = ev.correlation_self_ ? std::string_view{} : ev.correlation_;
  size_t len = record_prefix_size + ev.type_.size() + ev.key_.size() + corr.size() +
               ev.causation_.size() + ev.traceparent_.size() + header_bytes + ev.payload_.size();
  uint8_t flags =
      (ev.tombstone_ ? record_tombstone : 0) | (ev.correlation_self_ ? record_correlation_self : 0);
  char* hp = nullptr;
  add_fields(static_cast<uint32_t>(len), ev.time_.value, ev.id_, flags, ev.type_, ev.key_, corr,
             ev.causation_, ev.traceparent_, ev.header_count_, header_bytes, ev.schema_version_,
             ev.payload_, hp);
  // Headers are already encoded in the source record: copy them in one go.
  std::memcpy(hp, ev.headers_, header_bytes);
  return caf::none;
}

record_batch_ptr batch_builder::seal(producer_id pid, uint64_t producer_seq) {
  char* b = buf_;
  store<int64_t>(b + b_base_offset, 0);
  store<int64_t>(b + b_append_time, 0);
  store<uint32_t>(b + b_length, static_cast<uint32_t>(size_));
  store<uint8_t>(b + b_version, batch_version);
  store<uint8_t>(b + b_flags, 0);
  store<uint16_t>(b + b_header_length, static_cast<uint16_t>(batch_header_size));
  store<uint32_t>(b + b_record_count, count_);
  store<uint32_t>(b + b_last_offset_delta, count_ == 0 ? 0 : count_ - 1);
  store<uint32_t>(b + b_last_offset_delta + 4, 0);
  store<int64_t>(b + b_first_timestamp, first_ts_);
  store<int64_t>(b + b_max_timestamp, max_ts_);
  store<uint64_t>(b + b_producer_id, pid.value);
  store<uint64_t>(b + b_producer_seq, producer_seq);
  store<uint32_t>(b + b_crc, crc32c(b + b_crc_start, size_ - b_crc_start));
  // Retained batches should not pin the builder's spare capacity.
  if (capacity_ > size_ + size_ / 4) {
    if (auto* shrunk = static_cast<char*>(std::realloc(b, size_))) b = shrunk;
  }
  record_batch_ptr result{new record_batch(b, static_cast<uint32_t>(size_)), false};
  buf_ = nullptr;
  reset();
  return result;
}

// -- batch_slice / batch_cursor ---------------------------------------------------------------

offset batch_slice::first_offset() const {
  return base + load<uint32_t>(batch->data() + begin_pos + r_offset_delta);
}

batch_cursor::batch_cursor(const batch_slice& s, std::string_view topic, partition_id p)
    : data_(s.batch->data()),
      pos_(s.batch->data() + s.begin_pos),
      remaining_(s.count),
      base_(s.base),
      topic_(topic),
      partition_(p) {}

batch_cursor::batch_cursor(const record_batch& b, offset base, std::string_view topic,
                           partition_id p)
    : data_(b.data()),
      pos_(b.data() + batch_header_size),
      remaining_(b.record_count()),
      base_(base),
      topic_(topic),
      partition_(p) {}

offset batch_cursor::peek_offset() const {
  return base_ + load<uint32_t>(pos_ + r_offset_delta);
}

event_id batch_cursor::peek_id() const {
  return event_id{load<uint64_t>(pos_ + r_id_hi), load<uint64_t>(pos_ + r_id_lo)};
}

void batch_cursor::skip() {
  pos_ += 4 + load<uint32_t>(pos_ + r_length);
  --remaining_;
}

void batch_cursor::next(event_view& v) {
  const char* r = pos_;
  auto type_len = load<uint16_t>(r + r_type_len);
  auto key_len = load<uint16_t>(r + r_key_len);
  auto corr_len = load<uint16_t>(r + r_correlation_len);
  auto caus_len = load<uint16_t>(r + r_causation_len);
  auto tp_len = load<uint16_t>(r + r_traceparent_len);
  auto flags = load<uint8_t>(r + r_flags);
  v.id_ = event_id{load<uint64_t>(r + r_id_hi), load<uint64_t>(r + r_id_lo)};
  v.time_ = timestamp{load<int64_t>(r + r_timestamp)};
  v.offset_ = base_ + load<uint32_t>(r + r_offset_delta);
  v.partition_ = partition_;
  v.topic_ = topic_;
  v.tombstone_ = (flags & record_tombstone) != 0;
  v.correlation_self_ = (flags & record_correlation_self) != 0;
  v.id_rendered_ = false;
  v.schema_version_ = load<uint32_t>(r + r_schema_version);
  v.header_count_ = load<uint16_t>(r + r_header_count);
  const char* p = r + record_prefix_size;
  v.type_ = {p, type_len};
  p += type_len;
  v.key_ = {p, key_len};
  p += key_len;
  v.correlation_ = {p, corr_len};
  p += corr_len;
  v.causation_ = {p, caus_len};
  p += caus_len;
  v.traceparent_ = {p, tp_len};
  p += tp_len;
  v.headers_ = p;
  const char* end = r + 4 + load<uint32_t>(r + r_length);
  auto payload_len = load<uint32_t>(r + r_payload_len);
  v.payload_ = {end - payload_len, payload_len};
  pos_ = end;
  --remaining_;
}

}  // namespace herald
