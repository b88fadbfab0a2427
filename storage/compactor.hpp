// Compaction of one segment_log: in its closed, durable segments keep only the latest record
// of each key (a tombstone hides its key's older records, and goes itself once older than
// tombstone_retention); records without a key stay. Offsets never change: a rewritten batch
// keeps its base offset and its records' offset deltas, so batches may have gaps.
//
// Runs on the caller's thread (the factory's compaction thread): it reads the closed segments
// without the log's lock (they are immutable; the file handles keep them readable even if
// retention deletes them meanwhile), writes each rewritten segment into <dir>/compaction.tmp,
// fsyncs it, and takes the lock only to swap it in with renames. A swap is skipped if the
// segment changed meanwhile (retention, another compaction). A crash leaves either the old or
// the new files, and recovery deletes compaction.tmp.
#pragma once

#include <caf/expected.hpp>

#include "storage/segment_log.hpp"

namespace herald::disk {

class compactor {
 public:
  explicit compactor(segment_log& log) : log_(log) {}

  [[nodiscard]] caf::expected<compaction_stats> run(timestamp now);

 private:
  struct candidate {
    offset base;
    uint32_t generation;
    file_ptr file;
    int64_t size;
  };
  struct plan;

  caf::error index_keys(const candidate& c, plan& p);
  caf::expected<bool> rewrite(const candidate& c, plan& p, timestamp now, compaction_stats& st);
  /// True if swapped in, false if the segment changed meanwhile (the output is dropped).
  caf::expected<bool> install(const candidate& c);

  segment_log& log_;
};

}  // namespace herald::disk
