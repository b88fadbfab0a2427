#include "storage/segment_log.hpp"

#include <algorithm>
#include <chrono>

#include "base/logging.hpp"
#include "messages/errors.hpp"
#include "storage/compactor.hpp"

namespace herald {

using namespace disk;

namespace {

auto& logger() {
  static auto l = log::get("storage");
  return l;
}

constexpr const char* compaction_dir = "compaction.tmp";

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

segment_log::segment_log(params p) : p_(std::move(p)), cache_(p_.options.tail_cache_bytes) {}

std::string segment_log::where() const {
  return "topic=" + p_.topic + " partition=" + std::to_string(p_.partition.value);
}

caf::expected<std::shared_ptr<segment_log>> segment_log::open(params p) {
  std::shared_ptr<segment_log> log{new segment_log(std::move(p))};
  if (auto err = log->recover())
    return make_error(errc::storage_failure, "cannot open the log of " + log->p_.topic + "/" +
                                                 std::to_string(log->p_.partition.value) + " in " +
                                                 log->p_.dir + ": " + describe(err));
  if (log->p_.config.durability.mode == durability_policy::kind::interval) {
    std::lock_guard<std::mutex> guard{log->mtx_};
    log->next_interval_sync_ = std::chrono::steady_clock::now() +
                               std::chrono::milliseconds{log->p_.config.durability.interval_ms};
    if (auto s = log->p_.scheduler.lock())
      s->schedule(log->weak_from_this(), log->next_interval_sync_);
  }
  return log;
}

caf::error segment_log::recover() {
  auto& dir = p_.dir;
  if (auto err = make_dirs(dir)) return err;
  auto names = list_dir(dir);
  if (!names) return std::move(names.error());
  std::vector<offset> logs;
  std::vector<offset> indexes;
  for (auto& name : *names) {
    if (name == compaction_dir) {
      // A compaction that did not finish: its output was never swapped in.
      logger()->info("{} event=recovery_removed_unfinished_compaction dir={}/{}", where(), dir,
                     name);
      if (auto err = remove_tree(dir + "/" + name)) return err;
    } else if (ends_with(name, ".tmp")) {
      if (auto err = remove_file(dir + "/" + name)) return err;
    } else if (auto b = parse_segment_name(name, ".log")) {
      logs.push_back(*b);
    } else if (auto i = parse_segment_name(name, ".index")) {
      indexes.push_back(*i);
    } else if (auto t = parse_segment_name(name, ".timeindex")) {
      indexes.push_back(*t);
    } else if (name.find(".dropped-") == std::string::npos) {
      logger()->warn("{} event=recovery_unknown_file file={}/{} action=ignored", where(), dir,
                     name);
    }
  }
  std::sort(logs.begin(), logs.end());
  for (auto b : indexes) {
    // Indexes whose log retention deleted (the process died between the two unlinks).
    if (!std::binary_search(logs.begin(), logs.end(), b))
      if (auto err = segment_index::remove(dir, b)) return err;
  }
  if (logs.empty()) {
    auto s = segment::create(dir, offset{0});
    if (!s) return std::move(s.error());
    segments_.emplace(offset{0}, std::move(*s));
    if (auto err = sync_dir(dir)) return err;
    return caf::none;
  }
  for (size_t i = 0; i < logs.size(); ++i) {
    bool last = i + 1 == logs.size();
    recovery_note note;
    auto s = segment::open(dir, logs[i], last, p_.options.index_interval_bytes, note);
    if (!s) return std::move(s.error());
    auto& seg = **s;
    if (note.dropped_bytes > 0)
      logger()->warn(
          "{} event=recovery_truncated segment={} dropped_bytes={} "
          "dropped_from_offset={} kept_end_offset={} reason=\"{}\" kept_in={}",
          where(), seg.log()->path(), note.dropped_bytes, note.dropped_from.value, seg.end().value,
          note.reason, note.kept_in);
    if (note.rewrote_header)
      logger()->warn("{} event=recovery_rewrote_header segment={} reason=\"{}\"", where(),
                     seg.log()->path(), note.index_problem);
    else if (note.rebuilt_index)
      logger()->info("{} event=recovery_rebuilt_index segment={} reason=\"{}\"", where(),
                     seg.log()->path(), note.index_problem);
    if (!segments_.empty()) {
      auto& prev = *segments_.rbegin()->second;
      if (seg.base() < prev.end())
        return make_error(errc::storage_failure,
                          "segments overlap: " + prev.log()->path() + " ends at offset " +
                              std::to_string(prev.end().value) + " but " + seg.log()->path() +
                              " starts at " + std::to_string(seg.base().value) +
                              "; move the newer one out of the directory and restart");
    }
    segments_.emplace(seg.base(), std::move(*s));
  }
  // What recovery found may so far be only in the page cache (the process died, the machine
  // did not): make it durable before anyone is told it is. That includes closed segments: a
  // roll requests their sync, but the process may have died before it ran. (fdatasync of a
  // file without dirty pages costs next to nothing.)
  for (auto& [base, seg] : segments_)
    if (auto err = seg->log()->datasync()) return err;
  if (auto err = sync_dir(dir)) return err;
  for (auto& [base, seg] : segments_) {
    events_ += seg->records();
    bytes_ += seg->data_bytes();
    batches_ += seg->batches();
  }
  end_ = active().end();
  synced_ = end_;
  logger()->info(
      "{} event=log_opened dir={} segments={} start={} end={} records={} "
      "durability={}",
      where(), dir, segments_.size(), segments_.begin()->first.value, end_.value, events_,
      to_string(p_.config.durability.mode));
  return caf::none;
}

segment_log::~segment_log() {
  if (auto err = close())
    logger()->error("{} event=close_failed error=\"{}\"", where(), describe(err));
}

// -- writing ----------------------------------------------------------------------------------

caf::error segment_log::roll_locked() {
  // New file first: if it cannot be created, the active segment stays active and unsealed.
  auto next = segment::create(p_.dir, end_);
  if (!next) return std::move(next.error());
  auto& old = active();
  if (auto err = old.seal()) {
    (void)(*next)->remove_files();
    return err;
  }
  logger()->debug("{} event=segment_rolled closed={} bytes={} next_base={}", where(),
                  old.log()->path(), old.size(), end_.value);
  dirty_files_.push_back((*next)->log());
  dir_dirty_ = true;
  segments_.emplace(end_, std::move(*next));
  // Whatever the policy, a closed segment goes to disk soon (a crash then costs at most the
  // active segment's unsynced tail).
  request_sync_locked();
  return caf::none;
}

caf::expected<append_info> segment_log::append(const record_batch_ptr& batch,
                                               timestamp append_time) {
  if (!batch || batch->record_count() == 0)
    return make_error(errc::invalid_argument, "cannot append an empty batch");
  std::lock_guard<std::mutex> guard{mtx_};
  if (closed_)
    return make_error(errc::storage_failure, "the log of " + p_.topic + "/" +
                                                 std::to_string(p_.partition.value) +
                                                 " is closed (the topic was deleted or the "
                                                 "runtime is stopping)");
  if (failure_)
    return make_error(errc::storage_failure,
                      "an fdatasync of this partition failed earlier (" + describe(failure_) +
                          "); written data may not be on disk, so it accepts no more writes: "
                          "check the disk, then restart to recover from what is on disk");
  auto& a = active();
  auto age = std::chrono::nanoseconds{append_time.value - a.first_append_time()};
  if (!a.empty() &&
      (a.size() + batch->size() > p_.options.segment_bytes || age >= p_.options.segment_age)) {
    if (auto err = roll_locked()) return err;
  }
  auto& seg = active();
  auto base = end_;
  if (auto err = seg.append(*batch, base, append_time, p_.options.index_interval_bytes)) {
    logger()->error("{} event=append_failed offset={} bytes={} error=\"{}\"", where(), base.value,
                    batch->size(), describe(err));
    return err;
  }
  end_ = base + (static_cast<int64_t>(batch->last_offset_delta()) + 1);
  events_ += batch->record_count();
  bytes_ += batch->size();
  ++batches_;
  cache_.push(batch, base, append_time);
  if (dirty_files_.empty() || dirty_files_.back() != seg.log()) dirty_files_.push_back(seg.log());
  if (p_.config.durability.mode == durability_policy::kind::always) request_sync_locked();
  return append_info{base, static_cast<int32_t>(batch->record_count())};
}

// -- syncing ----------------------------------------------------------------------------------

void segment_log::request_sync_locked() {
  if (sync_queued_ || closed_) return;
  if (auto s = p_.scheduler.lock()) {
    sync_queued_ = true;
    s->request(weak_from_this());
  }
}

caf::error segment_log::sync_now(sync_scheduler* on) {
  std::lock_guard<std::mutex> sync_guard{sync_mtx_};
  std::vector<file_ptr> files;
  bool dir = false;
  offset target;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    sync_queued_ = false;
    files.swap(dirty_files_);
    dir = dir_dirty_;
    dir_dirty_ = false;
    target = end_;
  }
  caf::error err;
  for (auto& f : files) {
    if ((err = f->datasync())) break;
    if (on) on->count_sync();
  }
  if (!err && dir) err = sync_dir(p_.dir);
  durability_listener notify;
  offset durable;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (err) {
      if (!failure_) {
        failure_ = err;
        logger()->error("{} event=fdatasync_failed error=\"{}\" action=refusing_writes", where(),
                        describe(err));
      }
    } else if (target > synced_) {
      synced_ = target;
      if (p_.config.durability.mode == durability_policy::kind::always) {
        notify = listener_;
        durable = synced_;
      }
    }
    // Appends that arrived while this sync ran have queued the next one themselves
    // (sync_queued_ was cleared before the snapshot): they share it.
  }
  if (notify) notify(durable);
  return err;
}

void segment_log::run_sync(sync_scheduler& on) {
  (void)sync_now(&on);
  if (p_.config.durability.mode != durability_policy::kind::interval) return;
  std::lock_guard<std::mutex> guard{mtx_};
  auto now = std::chrono::steady_clock::now();
  // Only the run the timer started re-arms it, so there is one timer chain per log.
  if (closed_ || now < next_interval_sync_) return;
  next_interval_sync_ = now + std::chrono::milliseconds{p_.config.durability.interval_ms};
  on.schedule(weak_from_this(), next_interval_sync_);
}

caf::error segment_log::flush() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (failure_) return failure_;
  }
  return sync_now(nullptr);
}

caf::error segment_log::close() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (closed_) return caf::none;
    closed_ = true;
  }
  return sync_now(nullptr);
}

void segment_log::abandon() {
  std::lock_guard<std::mutex> guard{mtx_};
  closed_ = true;
  dirty_files_.clear();
  cache_.clear();
}

// -- reading ----------------------------------------------------------------------------------

offset segment_log::start_offset() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return segments_.begin()->first;
}

offset segment_log::end_offset() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return end_;
}

offset segment_log::durable_offset() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return p_.config.durability.mode == durability_policy::kind::always ? synced_ : end_;
}

offset segment_log::synced_offset() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return synced_;
}

void segment_log::set_durability_listener(durability_listener f) {
  std::lock_guard<std::mutex> guard{mtx_};
  listener_ = std::move(f);
}

caf::expected<offset> segment_log::read(offset from, int32_t max_events, int64_t max_bytes,
                                        std::vector<batch_slice>& out) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto start = segments_.begin()->first;
  if (from < start)
    return make_error(errc::offset_out_of_range,
                      "offset " + to_string(from) + " is below the log start " + to_string(start) +
                          " (retention deleted it); read from " + to_string(start) + " or later");
  if (closed_) return make_error(errc::storage_failure, "the log is closed");
  auto limit = p_.config.durability.mode == durability_policy::kind::always ? synced_ : end_;
  read_budget b{from, limit, max_events, max_bytes};
  if (b.exhausted(out)) return from;
  if (cache_.covers(from)) {
    cache_.read(b, out);
    return b.next;
  }
  auto it = segments_.upper_bound(from);
  --it;
  for (; it != segments_.end() && !b.exhausted(out); ++it) {
    if (cache_.covers(b.next)) {
      cache_.read(b, out);
      break;
    }
    if (auto err = it->second->read(b, out)) {
      logger()->error("{} event=read_failed offset={} error=\"{}\"", where(), b.next.value,
                      describe(err));
      if (!out.empty()) break;  // serve what was read; the next read reports it again
      return err;
    }
  }
  return b.next;
}

offset segment_log::offset_for_time(timestamp t) const {
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& [base, seg] : segments_) {
    if (seg->empty() || seg->max_timestamp() < t.value) continue;
    auto found = seg->offset_for_time(t.value);
    if (!found) {
      logger()->error("{} event=time_lookup_failed segment={} error=\"{}\"", where(),
                      seg->log()->path(), describe(found.error()));
      continue;
    }
    if (*found) return **found;
  }
  return end_;
}

storage_stats segment_log::stats() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return {segments_.begin()->first, end_, events_, bytes_, batches_};
}

std::vector<offset> segment_log::segment_bases() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<offset> out;
  for (auto& [base, seg] : segments_) out.push_back(base);
  return out;
}

// -- retention and compaction -----------------------------------------------------------------

void segment_log::delete_first_locked() {
  auto it = segments_.begin();
  auto& seg = *it->second;
  if (auto err = seg.remove_files()) {
    logger()->error("{} event=retention_delete_failed segment={} error=\"{}\"", where(),
                    seg.log()->path(), describe(err));
    return;
  }
  events_ -= seg.records();
  bytes_ -= seg.data_bytes();
  batches_ -= seg.batches();
  logger()->debug("{} event=segment_deleted segment={} records={}", where(), seg.log()->path(),
                  seg.records());
  segments_.erase(it);
  cache_.drop_below(segments_.begin()->first);
}

int64_t segment_log::enforce_retention(const retention_policy& policy, timestamp now) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (closed_) return 0;
  auto expired = [&](const segment& s) {
    return policy.max_age_ms >= 0 && !s.empty() &&
           now.value - s.max_timestamp() > policy.max_age_ms * 1'000'000;
  };
  int64_t deleted = 0;
  for (;;) {
    if (segments_.size() == 1) {
      // Roll an active segment that is wholly past its age, so that it can go too.
      if (!expired(active())) break;
      if (auto err = roll_locked()) {
        logger()->warn("{} event=retention_roll_failed error=\"{}\"", where(), describe(err));
        break;
      }
    }
    auto& first = *segments_.begin()->second;
    bool over = (policy.max_events >= 0 && events_ > policy.max_events) ||
                (policy.max_bytes >= 0 && bytes_ > policy.max_bytes) || expired(first);
    if (!over) break;
    auto before = segments_.size();
    auto records = first.records();
    delete_first_locked();
    if (segments_.size() == before) break;  // could not delete: logged
    deleted += records;
  }
  return deleted;
}

caf::expected<compaction_stats> segment_log::compact(timestamp now) {
  std::lock_guard<std::mutex> guard{compact_mtx_};
  return compactor{*this}.run(now);
}

}  // namespace herald
