// The 64-byte header every file of the disk log starts with (segment logs, offset indexes,
// time indexes, the group offset store): magic, kind, format version, and the fields that
// let a reader tell whether an index still describes its log. docs/STORAGE.md documents
// every byte. A file whose version is newer than this build reads is refused, never guessed.
#pragma once

#include <cstdint>
#include <string>

#include "messages/ids.hpp"

namespace herald::disk {

enum class file_kind : uint8_t {
  log = 1,           ///< <base>.log: record batches
  offset_index = 2,  ///< <base>.index: (relative offset, position) entries
  time_index = 3,    ///< <base>.timeindex: (max timestamp so far, relative offset, position)
  offset_store = 4,  ///< @groups/offsets.log: committed group offsets
};

const char* to_string(file_kind k);

namespace layout {
constexpr uint8_t version = 1;
constexpr uint32_t header_size = 64;
constexpr char magic[4] = {'H', 'R', 'L', 'D'};

constexpr size_t h_magic = 0;
constexpr size_t h_kind = 4;
constexpr size_t h_version = 5;
constexpr size_t h_header_length = 6;
constexpr size_t h_base_offset = 8;
constexpr size_t h_generation = 16;
constexpr size_t h_flags = 20;
constexpr size_t h_covered_bytes = 24;
constexpr size_t h_end_offset = 32;
constexpr size_t h_records = 40;
constexpr size_t h_batches = 44;
constexpr size_t h_max_timestamp = 48;
constexpr size_t h_crc = 60;

/// Log flag: the segment was rewritten by compaction (its batches may have offset gaps).
constexpr uint32_t flag_compacted = 0x1;
}  // namespace layout

struct file_header {
  file_kind kind = file_kind::log;
  uint8_t version = layout::version;
  offset base;              ///< first offset the segment may hold (its file name)
  uint32_t generation = 0;  ///< log: bumped by each compaction; index: the log's it describes
  uint32_t flags = 0;
  /// Index files only, written when the segment is sealed: the length of the log file the
  /// index describes completely, and a summary of that log. 0: not sealed (rebuild on doubt).
  int64_t covered_bytes = 0;
  offset end;  ///< one past the last offset the segment covers
  uint32_t records = 0;
  uint32_t batches = 0;
  int64_t max_timestamp = 0;

  void encode(char* out) const;  ///< writes layout::header_size bytes
};

enum class header_status : uint8_t {
  ok,
  short_file,  ///< fewer than 64 bytes (a torn creation)
  not_herald,  ///< the magic does not match: not one of our files
  newer,       ///< written by a newer Herald
  corrupt,     ///< kind, length or CRC wrong
};

struct header_result {
  header_status status = header_status::corrupt;
  file_header header;
  std::string problem;  ///< what is wrong, for logs and errors
};

/// Decodes and checks `n` bytes from the start of a file that should be of kind `expected`.
header_result decode_header(const char* p, size_t n, file_kind expected);

}  // namespace herald::disk
