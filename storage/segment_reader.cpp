#include "storage/segment_reader.hpp"

#include <algorithm>
#include <cstring>

#include "messages/crc32c.hpp"
#include "messages/errors.hpp"
#include "messages/record_batch.hpp"

namespace herald::disk {

using namespace format;

caf::expected<size_t> memory_source::read_at(void* buf, size_t n, int64_t pos) const {
  if (pos < 0 || static_cast<size_t>(pos) >= n_) return size_t{0};
  auto k = std::min(n, n_ - static_cast<size_t>(pos));
  std::memcpy(buf, p_ + pos, k);
  return k;
}

segment_reader::segment_reader(const byte_source& src, int64_t begin, int64_t end,
                               size_t buffer_bytes)
    : src_(src), pos_(begin), end_(end), chunk_(std::max<size_t>(buffer_bytes, 4096)) {}

bool segment_reader::fill(int64_t pos, size_t n) {
  if (pos >= buf_pos_ && pos + static_cast<int64_t>(n) <= buf_pos_ + static_cast<int64_t>(buf_len_))
    return true;
  // Callers have checked pos + n <= end_, so the buffer never grows past the bytes that exist.
  auto want = static_cast<size_t>(std::min<int64_t>(std::max(n, chunk_), end_ - pos));
  if (buf_.size() < want) buf_.resize(want);
  auto got = src_.read_at(buf_.data(), want, pos);
  if (!got) {
    buf_len_ = 0;
    problem_ = std::move(got.error());
    return false;
  }
  buf_pos_ = pos;
  buf_len_ = *got;
  if (buf_len_ < n) {
    // The source is shorter than the caller was told (a file truncated under us).
    problem_ = make_error(errc::storage_failure, "read " + std::to_string(buf_len_) + " bytes at " +
                                                     std::to_string(pos) + ", expected " +
                                                     std::to_string(n));
    return false;
  }
  return true;
}

scan_status segment_reader::fail(scan_status s, std::string what) {
  problem_ = make_error(s == scan_status::newer ? errc::storage_failure : errc::corrupt_batch,
                        std::move(what) + " (at byte " + std::to_string(pos_) + ")");
  return s;
}

scan_status segment_reader::next(stored_batch& out, depth how) {
  if (pos_ >= end_) return scan_status::end;
  auto left = end_ - pos_;
  if (left < batch_header_size)
    return fail(scan_status::invalid,
                "torn batch header: only " + std::to_string(left) + " bytes left");
  if (!fill(pos_, batch_header_size)) return scan_status::failed;
  char* p = buf_.data() + (pos_ - buf_pos_);
  auto version = load<uint8_t>(p + b_version);
  auto length = load<uint32_t>(p + b_length);
  bool framed = length >= batch_header_size && length <= max_batch_bytes;
  if (version > batch_version) {
    // Every version keeps `length` and `crc` at bytes 16..23 and the CRC over [24, length)
    // (docs/STORAGE.md). So a newer batch checks out; a flipped version byte or random bytes
    // do not, and are damage to cut, not data to protect.
    if (framed && length <= left) {
      if (!fill(pos_, length)) return scan_status::failed;
      p = buf_.data() + (pos_ - buf_pos_);
      if (load<uint32_t>(p + b_crc) == crc32c(p + b_crc_start, length - b_crc_start))
        return fail(scan_status::newer, "record batch format version " + std::to_string(version) +
                                            " is newer than this Herald reads (" +
                                            std::to_string(batch_version) + ")");
    }
    return fail(scan_status::invalid, "batch version byte " + std::to_string(version) +
                                          " without a matching CRC (damage)");
  }
  if (version == 0) return fail(scan_status::invalid, "batch format version 0");
  if (!framed)
    return fail(scan_status::invalid, "batch length " + std::to_string(length) + " out of range");
  if (length > left)
    return fail(scan_status::invalid, "torn write: a batch of " + std::to_string(length) +
                                          " bytes with only " + std::to_string(left) + " left");
  if (load<uint16_t>(p + b_header_length) != batch_header_size)
    return fail(scan_status::invalid, "batch header length is not 72");
  out.position = pos_;
  out.base = offset{load<int64_t>(p + b_base_offset)};
  out.append_time = timestamp{load<int64_t>(p + b_append_time)};
  out.length = length;
  out.record_count = load<uint32_t>(p + b_record_count);
  out.last_offset_delta = load<uint32_t>(p + b_last_offset_delta);
  out.max_timestamp = load<int64_t>(p + b_max_timestamp);
  out.data = nullptr;
  // Offsets stay far from overflow so that base + delta arithmetic is always defined.
  if (out.base.value < 0 || out.base.value > (int64_t{1} << 62))
    return fail(scan_status::invalid,
                "base offset " + std::to_string(out.base.value) + " out of range");
  if (out.record_count == 0) return fail(scan_status::invalid, "a stored batch without records");
  if (how != depth::header) {
    if (!fill(pos_, length)) return scan_status::failed;
    out.data = buf_.data() + (pos_ - buf_pos_);
    if (how == depth::verified) {
      auto ok = record_batch::check(out.data, length);
      if (!ok) {
        auto what = describe(ok.error());
        return fail(
            is(ok.error(), errc::invalid_argument) ? scan_status::newer : scan_status::invalid,
            what);
      }
    }
  }
  pos_ += length;
  return scan_status::batch;
}

}  // namespace herald::disk
