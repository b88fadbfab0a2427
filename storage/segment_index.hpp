// The sparse offset index and time index of one segment. While the segment is active its
// entries live in memory (the files would be rebuilt by recovery anyway, since the last
// segment is always rescanned); when it is sealed they are written to <base>.index and
// <base>.timeindex once, with a summary of the log in the header, and looked up from then on
// by binary search over the files: a seek reads O(log n) entries, never the log.
//
// Entry formats (docs/STORAGE.md): offset index 8 bytes (u32 relative offset, u32 position),
// time index 16 bytes (i64 running maximum timestamp, u32 relative offset, u32 position).
// An entry is written for the first batch of a segment and then for the first batch after at
// least index_interval_bytes of log.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "storage/file.hpp"
#include "storage/file_header.hpp"

namespace herald::disk {

struct offset_entry {
  uint32_t relative_offset = 0;  ///< batch base - segment base
  uint32_t position = 0;         ///< byte position of the batch in the log file
};

struct time_entry {
  int64_t max_timestamp = 0;  ///< largest record timestamp of the segment up to this batch
  uint32_t relative_offset = 0;
  uint32_t position = 0;
};

constexpr uint32_t offset_entry_size = 8;
constexpr uint32_t time_entry_size = 16;

std::string index_path(const std::string& dir, offset base);
std::string time_index_path(const std::string& dir, offset base);

class segment_index {
 public:
  segment_index() = default;

  /// Adds the entries for a batch (active segment).
  void add(offset_entry o, time_entry t) {
    offsets_.push_back(o);
    times_.push_back(t);
  }
  void clear();
  bool sealed() const { return offset_file_ != nullptr; }
  size_t entry_count() const;

  /// The last entry whose relative offset is <= `rel`, if any.
  [[nodiscard]] caf::expected<std::optional<offset_entry>> floor(uint32_t rel) const;
  /// The last entry whose running maximum timestamp is < `t`, if any.
  [[nodiscard]] caf::expected<std::optional<time_entry>> last_before(int64_t t) const;

  /// Writes both files (temporary name, rename) with `summary` in their headers, then serves
  /// lookups from them and drops the memory entries. `sync`: fdatasync them before the
  /// rename. Without it a power loss may leave a damaged index, which readers detect (header
  /// CRC, the summary against the log, each entry against the batch it names) and rebuild.
  [[nodiscard]] caf::error seal(const std::string& dir, const file_header& summary, bool sync);

  /// Opens the sealed files of a segment whose log has `generation` and `log_size` bytes.
  /// The result has no index (and says why) when they are missing, stale or damaged:
  /// rebuild then.
  struct opened;
  [[nodiscard]] static opened open(const std::string& dir, offset base, uint32_t generation,
                                   int64_t log_size);

  /// Deletes both files (missing ones are fine).
  [[nodiscard]] static caf::error remove(const std::string& dir, offset base);

 private:
  std::vector<offset_entry> offsets_;
  std::vector<time_entry> times_;
  file_ptr offset_file_;
  file_ptr time_file_;
  uint64_t offset_count_ = 0;
  uint64_t time_count_ = 0;
};

struct segment_index::opened {
  std::optional<segment_index> index;
  file_header summary;  ///< of the log, from the offset index's header
  std::string why_not;
};

}  // namespace herald::disk
