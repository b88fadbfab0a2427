#include "storage/read_budget.hpp"

namespace herald::disk {

bool take(read_budget& b, const record_batch_ptr& batch, offset base, timestamp append_time,
          int32_t span, std::vector<batch_slice>& out) {
  if (base >= b.limit) return false;
  auto count = static_cast<int32_t>(batch->record_count());
  if (base == b.next && count <= b.events) {
    // The common case: the whole batch, without walking its records.
    out.push_back(batch_slice{batch, base, append_time, format::batch_header_size,
                              static_cast<uint32_t>(count)});
    b.next = base + span;
    b.events -= count;
    b.bytes += batch->size();
    return true;
  }
  batch_cursor cur{*batch, base, {}, partition_id{}};
  while (!cur.done() && cur.peek_offset() < b.next) cur.skip();
  if (cur.done()) return true;  // `next` fell in a gap a compaction left
  batch_slice s{batch, base, append_time, cur.position(), 0};
  uint32_t begin = cur.position();
  while (!cur.done() && b.events > 0) {
    b.next = cur.peek_offset() + 1;
    cur.skip();
    ++s.count;
    --b.events;
  }
  b.bytes += cur.position() - begin;
  if (cur.done()) b.next = base + span;
  out.push_back(std::move(s));
  return true;
}

}  // namespace herald::disk
