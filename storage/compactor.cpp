#include "storage/compactor.hpp"

#include <string>
#include <string_view>
#include <unordered_map>

#include "base/logging.hpp"
#include "messages/crc32c.hpp"
#include "messages/errors.hpp"
#include "storage/segment_reader.hpp"

namespace herald::disk {

using namespace format;

namespace {

auto& logger() {
  static auto l = log::get("storage");
  return l;
}

/// One record of a verified batch, read in place.
struct record_ref {
  size_t pos;  // of the record in the batch
  uint32_t size;
  uint32_t delta;
  int64_t ts;
  std::string_view key;
  bool tombstone;
};

template <class F>
void for_each_record(const stored_batch& sb, F&& f) {
  size_t pos = batch_header_size;
  for (uint32_t i = 0; i < sb.record_count; ++i) {
    const char* r = sb.data + pos;
    auto len = load<uint32_t>(r + r_length);
    auto key_at = record_prefix_size + load<uint16_t>(r + r_type_len);
    f(record_ref{pos, 4 + len, load<uint32_t>(r + r_offset_delta), load<int64_t>(r + r_timestamp),
                 std::string_view{r + key_at, load<uint16_t>(r + r_key_len)},
                 (load<uint8_t>(r + r_flags) & record_tombstone) != 0});
    pos += 4 + len;
  }
}

/// A copy of the batch holding only `keep`, with its header (count, last delta, timestamps,
/// CRC) recomputed; base offset, producer and sequence stay.
caf::expected<record_batch_ptr> rebuild(const stored_batch& sb,
                                        const std::vector<record_ref>& keep) {
  std::string b(sb.data, batch_header_size);
  int64_t first_ts = keep.front().ts, max_ts = keep.front().ts;
  for (auto& r : keep) {
    b.append(sb.data + r.pos, r.size);
    max_ts = std::max(max_ts, r.ts);
  }
  char* p = b.data();
  std::memset(p, 0, 16);
  store<uint32_t>(p + b_length, static_cast<uint32_t>(b.size()));
  store<uint32_t>(p + b_record_count, static_cast<uint32_t>(keep.size()));
  store<uint32_t>(p + b_last_offset_delta, keep.back().delta);
  store<int64_t>(p + b_first_timestamp, first_ts);
  store<int64_t>(p + b_max_timestamp, max_ts);
  store<uint32_t>(p + b_crc, crc32c(p + b_crc_start, b.size() - b_crc_start));
  return record_batch::parse(b.data(), b.size());
}

}  // namespace

struct compactor::plan {
  std::unordered_map<std::string, int64_t> latest;  // key -> offset of its latest record
  std::string tmp_dir;
  std::unique_ptr<segment> out;
};

caf::error compactor::index_keys(const candidate& c, plan& p) {
  file_source src{*c.file};
  segment_reader rd{src, layout::header_size, c.size};
  stored_batch sb;
  for (;;) {
    auto st = rd.next(sb, segment_reader::depth::verified);
    if (st == scan_status::end) return caf::none;
    if (st != scan_status::batch) return rd.problem();
    for_each_record(sb, [&](const record_ref& r) {
      if (!r.key.empty()) p.latest[std::string{r.key}] = (sb.base + int64_t{r.delta}).value;
    });
  }
}

caf::expected<bool> compactor::rewrite(const candidate& c, plan& p, timestamp now,
                                       compaction_stats& st) {
  auto keeps = [&](const stored_batch& sb, const record_ref& r) {
    if (r.key.empty()) return true;
    auto it = p.latest.find(std::string{r.key});
    if (it == p.latest.end() || it->second != (sb.base + int64_t{r.delta}).value) return false;
    auto retention =
        std::chrono::duration_cast<std::chrono::nanoseconds>(log_.p_.options.tombstone_retention)
            .count();
    return !(r.tombstone && now.value - sb.append_time.value > retention);
  };
  file_source src{*c.file};
  // First pass: is there anything to remove at all? Untouched segments are not rewritten.
  {
    segment_reader rd{src, layout::header_size, c.size};
    stored_batch sb;
    bool removable = false;
    for (;;) {
      auto s = rd.next(sb, segment_reader::depth::verified);
      if (s == scan_status::end) break;
      if (s != scan_status::batch) return rd.problem();
      for_each_record(sb, [&](const record_ref& r) { removable = removable || !keeps(sb, r); });
      if (removable) break;
    }
    if (!removable) return false;
  }
  auto out = segment::create(p.tmp_dir, c.base, c.generation + 1, layout::flag_compacted);
  if (!out) return std::move(out.error());
  segment_reader rd{src, layout::header_size, c.size};
  stored_batch sb;
  std::vector<record_ref> keep;
  for (;;) {
    auto s = rd.next(sb, segment_reader::depth::verified);
    if (s == scan_status::end) break;
    if (s != scan_status::batch) return rd.problem();
    keep.clear();
    for_each_record(sb, [&](const record_ref& r) {
      if (keeps(sb, r)) {
        keep.push_back(r);
      } else {
        ++st.records_removed;
        if (r.tombstone) ++st.tombstones_removed;
      }
    });
    if (keep.empty()) continue;
    caf::expected<record_batch_ptr> batch{caf::error{}};
    if (keep.size() == sb.record_count) {
      std::memset(sb.data, 0, 16);
      batch = record_batch::parse(sb.data, sb.length);
    } else {
      batch = rebuild(sb, keep);
    }
    if (!batch) return std::move(batch.error());
    if (auto err =
            (*out)->append(**batch, sb.base, sb.append_time, log_.p_.options.index_interval_bytes))
      return err;
  }
  if (auto err = (*out)->seal(true)) return err;
  if (auto err = (*out)->log()->datasync()) return err;
  st.bytes_before += c.size;
  st.bytes_after += (*out)->size();
  p.out = std::move(*out);
  return true;
}

caf::expected<bool> compactor::install(const candidate& c) {
  auto& dir = log_.p_.dir;
  std::unique_lock<std::mutex> lk{log_.mtx_};
  auto it = log_.segments_.find(c.base);
  if (log_.closed_ || it == log_.segments_.end() || it->second->generation() != c.generation ||
      std::next(it) == log_.segments_.end()) {
    logger()->info("{} event=compaction_skipped segment_base={} reason=changed_meanwhile",
                   log_.where(), c.base.value);
    return false;
  }
  auto tmp = dir + "/compaction.tmp";
  // Indexes first, the log last: until the log's rename an index of the new generation does
  // not match the old log (recovery rebuilds it); after it, everything matches.
  if (auto err = rename_file(index_path(tmp, c.base), index_path(dir, c.base))) return err;
  if (auto err = rename_file(time_index_path(tmp, c.base), time_index_path(dir, c.base)))
    return err;
  if (auto err = rename_file(log_path(tmp, c.base), log_path(dir, c.base))) return err;
  recovery_note note;
  auto fresh = segment::open(dir, c.base, false, log_.p_.options.index_interval_bytes, note);
  if (!fresh) return std::move(fresh.error());
  auto& seg = *it->second;
  log_.events_ += int64_t{(*fresh)->records()} - seg.records();
  log_.bytes_ += (*fresh)->data_bytes() - seg.data_bytes();
  log_.batches_ += int64_t{(*fresh)->batches()} - seg.batches();
  seg.adopt(std::move(*fresh));
  lk.unlock();
  if (auto err = sync_dir(dir)) return err;
  return true;
}

caf::expected<compaction_stats> compactor::run(timestamp now) {
  compaction_stats st;
  if (!log_.p_.config.compaction)
    return make_error(errc::invalid_argument,
                      "topic '" + log_.p_.topic + "' is not compacted (topic_config::compaction)");
  std::vector<candidate> cands;
  {
    std::lock_guard<std::mutex> guard{log_.mtx_};
    if (log_.closed_) return st;
    auto durable = log_.p_.config.durability.mode == durability_policy::kind::always ? log_.synced_
                                                                                     : log_.end_;
    for (auto it = log_.segments_.begin(); std::next(it) != log_.segments_.end(); ++it) {
      auto& s = *it->second;
      // Only what is durable: a gap must never appear where a crash could still take the
      // newer record away.
      if (s.empty() || s.end() > durable) continue;
      cands.push_back({s.base(), s.generation(), s.log(), s.size()});
    }
  }
  if (cands.empty()) return st;
  plan p;
  p.tmp_dir = log_.p_.dir + "/compaction.tmp";
  if (auto err = remove_tree(p.tmp_dir)) return err;
  if (auto err = make_dirs(p.tmp_dir)) return err;
  for (auto& c : cands)
    if (auto err = index_keys(c, p)) return err;
  for (auto& c : cands) {
    compaction_stats one;
    auto changed = rewrite(c, p, now, one);
    if (!changed) {
      (void)remove_tree(p.tmp_dir);
      return std::move(changed.error());
    }
    if (!*changed) continue;
    p.out.reset();
    auto installed = install(c);
    if (!installed) {
      (void)remove_tree(p.tmp_dir);
      return std::move(installed.error());
    }
    if (*installed) {
      ++st.segments_rewritten;
      st.records_removed += one.records_removed;
      st.tombstones_removed += one.tombstones_removed;
      st.bytes_before += one.bytes_before;
      st.bytes_after += one.bytes_after;
    }
  }
  if (auto err = remove_tree(p.tmp_dir)) return err;
  if (st.segments_rewritten > 0)
    logger()->info(
        "{} event=compacted segments={} records_removed={} tombstones_removed={} "
        "bytes_before={} bytes_after={}",
        log_.where(), st.segments_rewritten, st.records_removed, st.tombstones_removed,
        st.bytes_before, st.bytes_after);
  return st;
}

}  // namespace herald::disk
