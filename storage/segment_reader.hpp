// Walks the record batches of a segment's log bytes with a read-ahead buffer: recovery scans
// with it, reads and index lookups step through it, compaction copies through it, and the
// fuzzer feeds it arbitrary bytes. It never trusts a length it has not checked against the
// bytes that exist, so no input makes it read out of bounds or allocate more than the input.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "messages/ids.hpp"
#include "storage/file.hpp"

namespace herald::disk {

/// Where segment bytes come from.
class byte_source {
 public:
  virtual ~byte_source() = default;
  /// Reads up to `n` bytes at `pos`; fewer only at the end.
  [[nodiscard]] virtual caf::expected<size_t> read_at(void* buf, size_t n, int64_t pos) const = 0;
};

class file_source final : public byte_source {
 public:
  explicit file_source(const file& f) : f_(f) {}
  caf::expected<size_t> read_at(void* buf, size_t n, int64_t pos) const override {
    return f_.read_at(buf, n, pos);
  }

 private:
  const file& f_;
};

class memory_source final : public byte_source {
 public:
  memory_source(const char* p, size_t n) : p_(p), n_(n) {}
  caf::expected<size_t> read_at(void* buf, size_t n, int64_t pos) const override;

 private:
  const char* p_;
  size_t n_;
};

/// One batch as stored: the broker-assigned fields from bytes [0, 16) and the header fields
/// a walk needs. `data` is null when only the header was read.
struct stored_batch {
  int64_t position = 0;  ///< of the batch's first byte in the file
  offset base;
  timestamp append_time;
  uint32_t length = 0;
  uint32_t record_count = 0;
  uint32_t last_offset_delta = 0;
  int64_t max_timestamp = 0;
  char* data = nullptr;  ///< `length` bytes in the reader's buffer, valid until the next call

  offset end() const { return base + int64_t{last_offset_delta} + 1; }
};

enum class scan_status : uint8_t {
  batch,    ///< `out` holds the next batch
  end,      ///< no bytes left
  invalid,  ///< the bytes at the position are not a valid batch (torn write, corruption)
  newer,    ///< a plausible batch of a newer format version: do not touch, upgrade
  failed,   ///< the source could not be read (I/O error): nothing can be concluded
};

class segment_reader {
 public:
  enum class depth : uint8_t {
    header,    ///< read the 72-byte header only (walking to a position)
    framed,    ///< read the whole batch, check the header framing (the caller parses it)
    verified,  ///< read the whole batch and run record_batch::check (CRC, every record)
  };

  /// Reads [begin, end) of `src`, `buffer_bytes` at a time (more when a batch is larger).
  segment_reader(const byte_source& src, int64_t begin, int64_t end, size_t buffer_bytes = 1 << 20);

  /// Reads the batch at the current position and advances past it.
  scan_status next(stored_batch& out, depth how);
  int64_t position() const { return pos_; }
  void seek(int64_t pos) { pos_ = pos; }
  /// Why the last next() returned invalid, newer or failed.
  const caf::error& problem() const { return problem_; }

 private:
  bool fill(int64_t pos, size_t n);
  scan_status fail(scan_status s, std::string what);

  const byte_source& src_;
  int64_t pos_;
  int64_t end_;
  size_t chunk_;
  std::vector<char> buf_;
  int64_t buf_pos_ = 0;
  size_t buf_len_ = 0;
  caf::error problem_;
};

}  // namespace herald::disk
