#include "storage/memory_log.hpp"

#include <algorithm>

#include "messages/errors.hpp"

namespace herald {

caf::expected<append_info> memory_log::append(const record_batch_ptr& batch,
                                              timestamp append_time) {
  if (!batch || batch->record_count() == 0)
    return make_error(errc::invalid_argument, "cannot append an empty batch");
  auto span = static_cast<int32_t>(batch->last_offset_delta()) + 1;
  auto max_t = batch->max_timestamp();
  if (!batches_.empty()) max_t = std::max(max_t, batches_.back().max_time_so_far);
  batches_.push_back(stored{end_, append_time, max_t, batch, span});
  append_info info{end_, static_cast<int32_t>(batch->record_count())};
  end_ = end_ + span;
  events_ += batch->record_count();
  bytes_ += batch->size();
  return info;
}

caf::expected<offset> memory_log::read(offset from, int32_t max_events, int64_t max_bytes,
                                       std::vector<batch_slice>& out) const {
  if (from < start_)
    return make_error(errc::offset_out_of_range,
                      "offset " + to_string(from) + " is below the log start " + to_string(start_) +
                          " (retention deleted it); read from " + to_string(start_) + " or later");
  if (from >= end_ || max_events <= 0) return from;
  // The batch holding `from`: the last one whose base is <= from.
  auto it = std::upper_bound(batches_.begin(), batches_.end(), from,
                             [](offset o, const stored& s) { return o < s.base; });
  --it;
  offset next = from;
  int64_t bytes = 0;
  for (; it != batches_.end() && max_events > 0; ++it) {
    if (bytes >= max_bytes && !out.empty()) break;
    auto count = static_cast<int32_t>(it->batch->record_count());
    if (it->base == next && count <= max_events) {
      // The common case: the whole batch, without walking its records.
      out.push_back(batch_slice{it->batch, it->base, it->append_time, format::batch_header_size,
                                static_cast<uint32_t>(count)});
      next = it->base + it->span;
      max_events -= count;
      bytes += it->batch->size();
      continue;
    }
    batch_cursor cur{*it->batch, it->base, {}, partition_id{}};
    resume_hint* hint = nullptr;
    for (auto& h : hints_)
      if (h.batch == it->batch.get() && h.base == it->base && h.next == next) hint = &h;
    if (hint) {
      cur = batch_cursor{
          batch_slice{it->batch, it->base, {}, hint->pos, hint->remaining}, {}, partition_id{}};
    } else {
      while (!cur.done() && cur.peek_offset() < next) cur.skip();
      if (cur.done()) continue;  // `from` fell in a gap a compaction left
    }
    batch_slice s{it->batch, it->base, it->append_time, cur.position(), 0};
    uint32_t begin = cur.position();
    while (!cur.done() && max_events > 0) {
      next = cur.peek_offset() + 1;
      cur.skip();
      ++s.count;
      --max_events;
    }
    bytes += cur.position() - begin;
    if (cur.done()) {
      next = it->base + it->span;
      if (hint) hint->batch = nullptr;
    } else {
      if (!hint) {
        hint = &hints_[next_hint_];
        next_hint_ = (next_hint_ + 1) % hint_slots;
      }
      *hint = resume_hint{it->batch.get(), it->base, next, cur.position(), cur.remaining()};
    }
    out.push_back(std::move(s));
  }
  return next;
}

offset memory_log::offset_for_time(timestamp t) const {
  // Batches before the first whose running maximum reaches `t` hold only older records. The
  // running maximum still counts batches retention deleted since, so the batch found may hold
  // only older records itself: scan on from it.
  auto it = std::lower_bound(batches_.begin(), batches_.end(), t,
                             [](const stored& s, timestamp x) { return s.max_time_so_far < x; });
  event_view v;
  for (; it != batches_.end(); ++it) {
    if (it->batch->max_timestamp() < t) continue;
    batch_cursor cur{*it->batch, it->base, {}, partition_id{}};
    while (!cur.done()) {
      cur.next(v);
      if (v.time() >= t) return v.offset();
    }
  }
  return end_;
}

void memory_log::pop_front() {
  auto& f = batches_.front();
  for (auto& h : hints_)
    if (h.batch == f.batch.get()) h.batch = nullptr;
  events_ -= f.batch->record_count();
  bytes_ -= f.batch->size();
  start_ = f.base + f.span;
  batches_.pop_front();
}

int64_t memory_log::enforce_retention(const retention_policy& policy, timestamp now) {
  auto before = events_;
  while (!batches_.empty()) {
    bool over =
        (policy.max_events >= 0 && events_ > policy.max_events) ||
        (policy.max_bytes >= 0 && bytes_ > policy.max_bytes) ||
        (policy.max_age_ms >= 0 &&
         now.value - batches_.front().batch->max_timestamp().value > policy.max_age_ms * 1'000'000);
    if (!over) break;
    pop_front();
  }
  if (batches_.empty()) start_ = end_;
  return before - events_;
}

storage_stats memory_log::stats() const {
  return {start_, end_, events_, bytes_, static_cast<int64_t>(batches_.size())};
}

// -- memory_storage_factory -------------------------------------------------------------------

class memory_storage_factory::handle final : public log_storage {
 public:
  explicit handle(std::shared_ptr<memory_log> log) : log_(std::move(log)) {}
  caf::expected<append_info> append(const record_batch_ptr& b, timestamp t) override {
    return log_->append(b, t);
  }
  caf::expected<offset> read(offset from, int32_t n, int64_t bytes,
                             std::vector<batch_slice>& out) const override {
    return log_->read(from, n, bytes, out);
  }
  offset start_offset() const override { return log_->start_offset(); }
  offset end_offset() const override { return log_->end_offset(); }
  offset offset_for_time(timestamp t) const override { return log_->offset_for_time(t); }
  int64_t enforce_retention(const retention_policy& p, timestamp now) override {
    return log_->enforce_retention(p, now);
  }
  storage_stats stats() const override { return log_->stats(); }

 private:
  std::shared_ptr<memory_log> log_;
};

caf::expected<log_storage_ptr> memory_storage_factory::open(const std::string& topic,
                                                            partition_id partition,
                                                            const topic_config& config) {
  if (config.storage == "disk")
    return make_error(errc::invalid_config,
                      "storage \"disk\" needs a data directory: set "
                      "runtime_config::data_dir, or use storage \"memory\"");
  std::lock_guard<std::mutex> guard{mtx_};
  auto& log = logs_[{topic, partition.value}];
  if (!log) log = std::make_shared<memory_log>();
  return log_storage_ptr{new handle(log)};
}

caf::error memory_storage_factory::remove(const std::string& topic, int32_t partitions) {
  std::lock_guard<std::mutex> guard{mtx_};
  for (int32_t p = 0; p < partitions; ++p) logs_.erase({topic, p});
  return caf::none;
}

}  // namespace herald
