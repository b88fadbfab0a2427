// The slicing rule of log_storage::read, shared by the tail cache and the segments so that a
// read spanning both returns exactly what memory_log returns for the same batches: whole
// batches when they fit, else a run of records; stop at max_events or once max_bytes is
// reached (after at least one record); never return a batch at or past `limit` (the durable
// offset: readers see only what survives a crash).
#pragma once

#include <cstdint>
#include <vector>

#include "messages/ids.hpp"
#include "messages/record_batch.hpp"

namespace herald::disk {

struct read_budget {
  offset next;     ///< the next offset wanted
  offset limit;    ///< exclusive upper bound (durable offset)
  int32_t events;  ///< records still allowed
  int64_t max_bytes;
  int64_t bytes = 0;

  bool exhausted(const std::vector<batch_slice>& out) const {
    return events <= 0 || next >= limit || (bytes >= max_bytes && !out.empty());
  }
};

/// Takes the records of one stored batch at or after `b.next` into `out`, within the budget.
/// `span` is last_offset_delta + 1. Returns false if the batch lies at or past the limit
/// (the caller stops).
bool take(read_budget& b, const record_batch_ptr& batch, offset base, timestamp append_time,
          int32_t span, std::vector<batch_slice>& out);

}  // namespace herald::disk
