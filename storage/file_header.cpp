#include "storage/file_header.hpp"

#include <cstring>

#include "messages/crc32c.hpp"
#include "messages/record_batch.hpp"

namespace herald::disk {

using format::load;
using format::store;
using namespace layout;

const char* to_string(file_kind k) {
  switch (k) {
    case file_kind::log:
      return "segment log";
    case file_kind::offset_index:
      return "offset index";
    case file_kind::time_index:
      return "time index";
    case file_kind::offset_store:
      return "offset store";
  }
  return "unknown file kind";
}

void file_header::encode(char* out) const {
  std::memset(out, 0, header_size);
  std::memcpy(out + h_magic, magic, sizeof(magic));
  store<uint8_t>(out + h_kind, static_cast<uint8_t>(kind));
  store<uint8_t>(out + h_version, version);
  store<uint16_t>(out + h_header_length, static_cast<uint16_t>(header_size));
  store<int64_t>(out + h_base_offset, base.value);
  store<uint32_t>(out + h_generation, generation);
  store<uint32_t>(out + h_flags, flags);
  store<int64_t>(out + h_covered_bytes, covered_bytes);
  store<int64_t>(out + h_end_offset, end.value);
  store<uint32_t>(out + h_records, records);
  store<uint32_t>(out + h_batches, batches);
  store<int64_t>(out + h_max_timestamp, max_timestamp);
  store<uint32_t>(out + h_crc, crc32c(out, h_crc));
}

header_result decode_header(const char* p, size_t n, file_kind expected) {
  header_result r;
  if (n < header_size) {
    r.status = header_status::short_file;
    r.problem = "the file is " + std::to_string(n) + " bytes, shorter than its " +
                std::to_string(header_size) + "-byte header";
    return r;
  }
  if (std::memcmp(p + h_magic, magic, sizeof(magic)) != 0) {
    r.status = header_status::not_herald;
    r.problem = "the file does not start with Herald's magic bytes \"HRLD\"";
    return r;
  }
  // Every version keeps the magic, the version at byte 5, the header length at byte 6 and
  // a CRC32C of the header's other bytes in its last 4 bytes. A newer header checks out
  // under that rule; a flipped version byte does not, and is damage.
  auto version = load<uint8_t>(p + h_version);
  if (version > layout::version) {
    auto hl = load<uint16_t>(p + h_header_length);
    if (hl >= header_size && hl <= n && load<uint32_t>(p + hl - 4) == crc32c(p, hl - 4u)) {
      r.status = header_status::newer;
      r.problem = "the file has format version " + std::to_string(version) +
                  ", newer than this Herald reads (" + std::to_string(layout::version) + ")";
    } else {
      r.status = header_status::corrupt;
      r.problem = "version byte " + std::to_string(version) + " without a matching header CRC";
    }
    return r;
  }
  r.status = header_status::corrupt;
  if (version == 0) {
    r.problem = "format version 0";
    return r;
  }
  if (load<uint16_t>(p + h_header_length) != header_size) {
    r.problem = "header length " + std::to_string(load<uint16_t>(p + h_header_length)) +
                " is not " + std::to_string(header_size);
    return r;
  }
  if (load<uint32_t>(p + h_crc) != crc32c(p, h_crc)) {
    r.problem = "header CRC32C mismatch";
    return r;
  }
  auto kind = load<uint8_t>(p + h_kind);
  if (kind != static_cast<uint8_t>(expected)) {
    r.problem =
        "the file is of kind " + std::to_string(kind) + ", expected a " + to_string(expected);
    return r;
  }
  auto& h = r.header;
  h.kind = expected;
  h.version = version;
  h.base = offset{load<int64_t>(p + h_base_offset)};
  h.generation = load<uint32_t>(p + h_generation);
  h.flags = load<uint32_t>(p + h_flags);
  h.covered_bytes = load<int64_t>(p + h_covered_bytes);
  h.end = offset{load<int64_t>(p + h_end_offset)};
  h.records = load<uint32_t>(p + h_records);
  h.batches = load<uint32_t>(p + h_batches);
  h.max_timestamp = load<int64_t>(p + h_max_timestamp);
  if (h.base.value < 0 || h.covered_bytes < 0 || (h.covered_bytes > 0 && h.end < h.base)) {
    r.problem = "header fields out of range";
    return r;
  }
  r.status = header_status::ok;
  return r;
}

}  // namespace herald::disk
