// One segment of a partition's log: <base>.log (a 64-byte header, then record batches with
// their base offset and append time filled in) and its sparse indexes. The active segment
// appends; a sealed (closed) one is immutable until compaction replaces it whole.
//
// Owned by a segment_log and used under its lock; never shared between logs. Costs: append =
// one pwritev; a read or a seek = an index binary search plus the batches read; recovery of
// the last segment = one sequential read with a CRC check of every batch.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "messages/record_batch.hpp"
#include "storage/file.hpp"
#include "storage/file_header.hpp"
#include "storage/read_budget.hpp"
#include "storage/segment_index.hpp"
#include "storage/segment_reader.hpp"

namespace herald::disk {

std::string log_path(const std::string& dir, offset base);

/// The base offset in a name "<20 digits><ext>", e.g. "00000000000000001234.log".
std::optional<offset> parse_segment_name(std::string_view name, std::string_view ext);

/// What opening a segment found and did, for the recovery log line.
struct recovery_note {
  int64_t dropped_bytes = 0;  ///< invalid bytes cut from the end of the log
  offset dropped_from{-1};    ///< the offset the dropped bytes would have started at
  std::string reason;         ///< why they are invalid
  std::string kept_in;        ///< the file the dropped bytes were copied to
  bool rebuilt_index = false;
  std::string index_problem;  ///< why the index was rebuilt
  bool rewrote_header = false;
};

class segment {
 public:
  /// Creates an empty segment (the new active one, or a compaction's output). The caller
  /// syncs the directory.
  [[nodiscard]] static caf::expected<std::unique_ptr<segment>> create(const std::string& dir,
                                                                      offset base,
                                                                      uint32_t generation = 0,
                                                                      uint32_t flags = 0);

  /// Opens a segment found on disk. The last segment is always scanned (every batch checked)
  /// and stays active; an older one is trusted when its sealed index matches the log exactly,
  /// else scanned and re-sealed. A scan cuts an invalid tail (after copying it aside), and
  /// fails without touching anything on a file from a newer Herald or on an I/O error.
  [[nodiscard]] static caf::expected<std::unique_ptr<segment>> open(const std::string& dir,
                                                                    offset base, bool last,
                                                                    int32_t index_interval,
                                                                    recovery_note& note);

  offset base() const { return base_; }
  /// One past the last offset a batch of this segment covers (base() when empty).
  offset end() const { return end_; }
  bool empty() const { return batches_ == 0; }
  int64_t size() const { return size_; }
  int64_t data_bytes() const { return size_ - layout::header_size; }
  uint32_t records() const { return records_; }
  uint32_t batches() const { return batches_; }
  /// Largest record timestamp, INT64_MIN when empty.
  int64_t max_timestamp() const { return max_ts_; }
  /// Append time of the first batch (segment age), 0 when empty.
  int64_t first_append_time() const { return first_append_; }
  uint32_t generation() const { return generation_; }
  bool sealed() const { return index_.sealed(); }
  const file_ptr& log() const { return log_; }
  const std::string& dir() const { return dir_; }

  /// Writes the batch with one pwritev at the end. On failure the file is cut back, so the
  /// segment is as before.
  [[nodiscard]] caf::error append(const record_batch& b, offset base, timestamp append_time,
                                  int32_t index_interval);

  /// Writes the index files with the log's summary; the segment is closed from now on.
  /// `sync`: fdatasync the index files too (see segment_index::seal).
  [[nodiscard]] caf::error seal(bool sync = false);

  /// Reads batches from `b.next` on, like log_storage::read.
  [[nodiscard]] caf::error read(read_budget& b, std::vector<batch_slice>& out) const;

  /// The first offset whose record has a timestamp >= t, if this segment holds one.
  [[nodiscard]] caf::expected<std::optional<offset>> offset_for_time(int64_t t) const;

  /// Removes the log and index files.
  [[nodiscard]] caf::error remove_files() const;

  /// Replaces this segment's files by a compacted copy (already renamed into place).
  void adopt(std::unique_ptr<segment> compacted);

 private:
  segment(std::string dir, offset base) : dir_(std::move(dir)), base_(base), end_(base) {}
  caf::error scan(bool last, int32_t index_interval, recovery_note& note);
  caf::error cut_tail(int64_t at, const std::string& reason, recovery_note& note);
  /// Byte position of the first batch whose end is past `o`, or size() if none.
  caf::expected<int64_t> position_of(offset o) const;
  caf::expected<int64_t> walk_to(int64_t from_pos, offset o) const;
  file_header summary() const;
  void account(const stored_batch& sb, int32_t index_interval);

  std::string dir_;
  offset base_;
  offset end_;
  file_ptr log_;
  segment_index index_;
  uint32_t generation_ = 0;
  uint32_t flags_ = 0;
  int64_t size_ = layout::header_size;
  uint32_t records_ = 0;
  uint32_t batches_ = 0;
  int64_t max_ts_ = INT64_MIN;
  int64_t first_append_ = 0;
  int64_t since_index_ = 0;  // log bytes since the last index entry
};

/// The header bytes of a new log file.
file_header log_header(offset base, uint32_t generation, uint32_t flags);

}  // namespace herald::disk
