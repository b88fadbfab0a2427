#include "storage/disk_options.hpp"

#include <string>

#include "messages/errors.hpp"
#include "messages/record_batch.hpp"

namespace herald {

caf::error validate(const disk_options& o) {
  auto bad = [](std::string what) {
    return make_error(errc::invalid_config, std::move(what));
  };
  // Positions in a segment are 32-bit, and a batch up to max_batch_bytes must fit after it.
  if (o.segment_bytes < 4096 || o.segment_bytes > (int64_t{1} << 30))
    return bad("disk.segment_bytes must be between 4096 and 1 GiB, got " +
               std::to_string(o.segment_bytes));
  if (o.segment_age.count() < 1) return bad("disk.segment_age must be positive");
  if (o.index_interval_bytes < 0) return bad("disk.index_interval_bytes must be 0 or more");
  if (o.tail_cache_bytes < 0) return bad("disk.tail_cache_bytes must be 0 or more");
  if (o.sync_threads < 1 || o.sync_threads > 64) return bad("disk.sync_threads must be 1 to 64");
  if (o.compaction_interval.count() < 0) return bad("disk.compaction_interval must be 0 or more");
  if (o.tombstone_retention.count() < 0) return bad("disk.tombstone_retention must be 0 or more");
  if (o.offsets_sync_interval.count() < 1)
    return bad("disk.offsets_sync_interval must be positive");
  return caf::none;
}

}  // namespace herald
