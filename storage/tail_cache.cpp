#include "storage/tail_cache.hpp"

#include <algorithm>

namespace herald::disk {

void tail_cache::push(record_batch_ptr batch, offset base, timestamp append_time) {
  if (max_bytes_ <= 0) return;
  auto span = static_cast<int32_t>(batch->last_offset_delta()) + 1;
  bytes_ += batch->size();
  entries_.push_back({base, append_time, std::move(batch), span});
  // Keep at least the newest batch, even if it alone exceeds the bound: it is the one the
  // tailing consumers want next.
  while (bytes_ > max_bytes_ && entries_.size() > 1) {
    bytes_ -= entries_.front().batch->size();
    entries_.pop_front();
  }
}

void tail_cache::read(read_budget& b, std::vector<batch_slice>& out) const {
  auto it = std::upper_bound(entries_.begin(), entries_.end(), b.next,
                             [](offset o, const entry& e) { return o < e.base; });
  if (it != entries_.begin()) --it;
  for (; it != entries_.end() && !b.exhausted(out); ++it)
    if (!take(b, it->batch, it->base, it->append_time, it->span, out)) break;
}

void tail_cache::drop_below(offset o) {
  while (!entries_.empty() && entries_.front().base < o) {
    bytes_ -= entries_.front().batch->size();
    entries_.pop_front();
  }
}

void tail_cache::clear() {
  entries_.clear();
  bytes_ = 0;
}

}  // namespace herald::disk
