// Record batches: the unit that producers send, partitions append and retain, consumers
// receive, and (later) segments store and nodes replicate. One contiguous, immutable,
// reference-counted byte buffer in the format of docs/FORMAT.md, so moving a batch between
// actors in one process copies no event, and writing it to disk or a socket is one write.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

#include <caf/deserializer.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/intrusive_ptr.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/ref_counted.hpp>
#include <caf/serializer.hpp>

#include "messages/errors.hpp"
#include "messages/event.hpp"
#include "messages/ids.hpp"

namespace herald {

/// Byte layout constants; docs/FORMAT.md documents every field.
namespace format {
constexpr uint8_t batch_version = 1;
constexpr uint32_t batch_header_size = 72;
constexpr uint32_t record_prefix_size = 56;
/// Largest batch accepted from untrusted bytes (disk, network).
constexpr uint32_t max_batch_bytes = 64u << 20;

// Batch header field positions.
constexpr size_t b_base_offset = 0;
constexpr size_t b_append_time = 8;
constexpr size_t b_length = 16;
constexpr size_t b_crc = 20;
constexpr size_t b_version = 24;
constexpr size_t b_flags = 25;
constexpr size_t b_header_length = 26;
constexpr size_t b_record_count = 28;
constexpr size_t b_last_offset_delta = 32;
constexpr size_t b_first_timestamp = 40;
constexpr size_t b_max_timestamp = 48;
constexpr size_t b_producer_id = 56;
constexpr size_t b_producer_seq = 64;
constexpr size_t b_crc_start = 24;

// Record prefix field positions (from the record's first byte).
constexpr size_t r_length = 0;  ///< u32: bytes after this field
constexpr size_t r_offset_delta = 4;
constexpr size_t r_timestamp = 8;
constexpr size_t r_id_hi = 16;
constexpr size_t r_id_lo = 24;
constexpr size_t r_flags = 32;
constexpr size_t r_type_len = 34;
constexpr size_t r_key_len = 36;
constexpr size_t r_correlation_len = 38;
constexpr size_t r_causation_len = 40;
constexpr size_t r_traceparent_len = 42;
constexpr size_t r_header_count = 44;
constexpr size_t r_schema_version = 48;
constexpr size_t r_payload_len = 52;

constexpr uint8_t record_tombstone = 0x01;
constexpr uint8_t record_correlation_self = 0x02;

template <class T>
inline T load(const char* p) {
  static_assert(std::is_integral_v<T>);
  T v;
  std::memcpy(&v, p, sizeof(T));
  if constexpr (std::endian::native == std::endian::big && sizeof(T) > 1) {
    using U = std::make_unsigned_t<T>;
    if constexpr (sizeof(T) == 2) v = static_cast<T>(__builtin_bswap16(static_cast<U>(v)));
    if constexpr (sizeof(T) == 4) v = static_cast<T>(__builtin_bswap32(static_cast<U>(v)));
    if constexpr (sizeof(T) == 8) v = static_cast<T>(__builtin_bswap64(static_cast<U>(v)));
  }
  return v;
}

template <class T>
inline void store(char* p, T v) {
  static_assert(std::is_integral_v<T>);
  if constexpr (std::endian::native == std::endian::big && sizeof(T) > 1) {
    using U = std::make_unsigned_t<T>;
    if constexpr (sizeof(T) == 2) v = static_cast<T>(__builtin_bswap16(static_cast<U>(v)));
    if constexpr (sizeof(T) == 4) v = static_cast<T>(__builtin_bswap32(static_cast<U>(v)));
    if constexpr (sizeof(T) == 8) v = static_cast<T>(__builtin_bswap64(static_cast<U>(v)));
  }
  std::memcpy(p, &v, sizeof(T));
}
}  // namespace format

/// An immutable, sealed batch of records. Created by batch_builder::seal() or by
/// record_batch::parse() from untrusted bytes. Shared between actors by record_batch_ptr; the
/// bytes never change after sealing, so sharing needs no lock. Bytes [0, 16) (base offset and
/// append time) are written only where a batch is at rest on disk: in memory the owner of a
/// batch keeps them beside it (see batch_slice).
class record_batch final : public caf::ref_counted {
 public:
  ~record_batch() override;
  record_batch(const record_batch&) = delete;
  record_batch& operator=(const record_batch&) = delete;

  const char* data() const { return data_; }
  uint32_t size() const { return size_; }
  uint32_t record_count() const { return format::load<uint32_t>(data_ + format::b_record_count); }
  uint32_t last_offset_delta() const {
    return format::load<uint32_t>(data_ + format::b_last_offset_delta);
  }
  timestamp first_timestamp() const {
    return timestamp{format::load<int64_t>(data_ + format::b_first_timestamp)};
  }
  timestamp max_timestamp() const {
    return timestamp{format::load<int64_t>(data_ + format::b_max_timestamp)};
  }
  producer_id producer() const {
    return producer_id{format::load<uint64_t>(data_ + format::b_producer_id)};
  }
  uint64_t producer_seq() const { return format::load<uint64_t>(data_ + format::b_producer_seq); }
  uint32_t crc() const { return format::load<uint32_t>(data_ + format::b_crc); }

  /// Checks untrusted bytes (lengths, version, CRC, every record's framing) and copies them
  /// into a new batch. Errors: corrupt_batch (what is wrong, at which byte), or
  /// invalid_argument for a newer format version (upgrade Herald to read it).
  static caf::expected<caf::intrusive_ptr<const record_batch>> parse(const char* p, size_t n);

  /// The same checks without copying; returns the batch length on success.
  static caf::expected<uint32_t> check(const char* p, size_t n);

 private:
  friend class batch_builder;
  record_batch(char* data, uint32_t size) : data_(data), size_(size) {}
  char* data_;  // malloc'ed; freed by the destructor
  uint32_t size_;
};

using record_batch_ptr = caf::intrusive_ptr<const record_batch>;

/// Encodes events into a batch buffer. One builder per (producer, partition); not
/// thread-safe. add() costs one memcpy per field and no allocation once the buffer has grown
/// to the batch size; seal() hands the buffer to a record_batch without copying it.
class batch_builder {
 public:
  explicit batch_builder(size_t reserve_bytes = 16 * 1024);
  ~batch_builder();
  batch_builder(batch_builder&&) noexcept;
  batch_builder& operator=(batch_builder&&) noexcept;
  batch_builder(const batch_builder&) = delete;
  batch_builder& operator=(const batch_builder&) = delete;

  /// The encoded size of `ev` as a record (prefix + fields), for size limits.
  static size_t encoded_size(const event& ev);

  /// The correlation id, causation id and traceparent a record is encoded with. An empty
  /// correlation id means "the event starts a flow" (its own id).
  struct lineage {
    std::string_view correlation;
    std::string_view causation;
    std::string_view traceparent;
  };

  /// Appends `ev`. Fails (and appends nothing) with invalid_event when a field exceeds the
  /// encoding limits.
  caf::error add(const event& ev);
  /// Appends `ev` with another lineage: what a producer encodes for an event published inside
  /// a handler, which inherits the handled event's flow without the event being copied.
  caf::error add(const event& ev, const lineage& lin);
  /// Appends a borrowed event unchanged (mirroring, redrive, compaction copy it this way).
  caf::error add(const event_view& ev);

  uint32_t count() const { return count_; }
  size_t size_bytes() const { return size_; }
  bool empty() const { return count_ == 0; }

  /// Writes the header and CRC and returns the batch; the builder starts a new one.
  record_batch_ptr seal(producer_id pid, uint64_t producer_seq);

 private:
  char* reserve(size_t n);
  void reset();
  void add_fields(uint32_t len, int64_t ts, event_id id, uint8_t flags, std::string_view type,
                  std::string_view key, std::string_view corr, std::string_view caus,
                  std::string_view tp, uint32_t header_count, size_t header_bytes,
                  uint32_t schema_version, std::string_view payload, char*& hdr_out);

  char* buf_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
  size_t reserve_bytes_;
  uint32_t count_ = 0;
  int64_t first_ts_ = 0;
  int64_t max_ts_ = 0;
};

/// A run of consecutive records of one stored batch, as delivered to consumers. Carries the
/// broker-assigned base offset and append time beside the immutable bytes.
struct batch_slice {
  record_batch_ptr batch;
  offset base;  ///< offset of the batch's first record
  timestamp append_time;
  uint32_t begin_pos = format::batch_header_size;  ///< byte position of the first record
  uint32_t count = 0;                              ///< records in this slice

  /// The offset of the slice's first record.
  offset first_offset() const;
};

/// Iterates the records of a slice as event_views. The views point into the batch, which the
/// slice keeps alive.
class batch_cursor {
 public:
  batch_cursor(const batch_slice& s, std::string_view topic, partition_id p);
  /// Iterates a whole batch (base offset given).
  batch_cursor(const record_batch& b, offset base, std::string_view topic, partition_id p);

  bool done() const { return remaining_ == 0; }
  /// Records left to iterate.
  uint32_t remaining() const { return remaining_; }
  /// Decodes the next record into `out` (reusing its storage) and advances.
  void next(event_view& out);
  /// Byte position of the next record.
  uint32_t position() const { return static_cast<uint32_t>(pos_ - data_); }
  /// Offset of the next record without decoding it.
  offset peek_offset() const;
  /// Id of the next record without decoding it.
  event_id peek_id() const;
  /// Advances past the next record without decoding it.
  void skip();

 private:
  const char* data_;
  const char* pos_;
  uint32_t remaining_;
  offset base_;
  std::string_view topic_;
  partition_id partition_;
};

/// CAF inspection: in process a batch_slice travels as a pointer; serialized (to another
/// node) it carries the batch bytes, checked again on arrival.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, batch_slice& x) {
  if constexpr (std::is_same_v<Inspector, caf::serializer>) {
    uint32_t n = x.batch ? x.batch->size() : 0;
    if (auto err = f(x.base, x.append_time, x.begin_pos, x.count, n)) return err;
    if (n == 0) return caf::none;
    return f.apply_raw(n, const_cast<char*>(x.batch->data()));
  } else if constexpr (std::is_same_v<Inspector, caf::deserializer>) {
    uint32_t n = 0;
    if (auto err = f(x.base, x.append_time, x.begin_pos, x.count, n)) return err;
    if (n == 0) {
      x.batch = nullptr;
      return caf::none;
    }
    if (n > format::max_batch_bytes)
      return make_error(errc::corrupt_batch,
                        "batch of " + std::to_string(n) + " bytes exceeds the format's limit");
    std::string tmp(n, '\0');
    if (auto err = f.apply_raw(n, tmp.data())) return err;
    auto parsed = record_batch::parse(tmp.data(), tmp.size());
    if (!parsed) return std::move(parsed.error());
    x.batch = std::move(*parsed);
    return caf::none;
  } else {
    // Printing (deep_to_string): the numbers only.
    return f(caf::meta::type_name("batch_slice"), x.base, x.begin_pos, x.count);
  }
}

}  // namespace herald
