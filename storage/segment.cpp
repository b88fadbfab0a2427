#include "storage/segment.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>

#include "messages/errors.hpp"
#include "storage/segment_reader.hpp"

namespace herald::disk {

using format::load;
using format::store;

namespace {

constexpr size_t walk_buffer = 64 * 1024;
constexpr size_t scan_buffer = 4 << 20;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

caf::error unreadable(const std::string& path, const caf::error& why, offset from) {
  return make_error(errc::storage_failure,
                    "segment " + path + " cannot be read: " + describe(why) +
                        "; records from offset " + std::to_string(from.value) +
                        " on in this segment cannot be served until it is repaired (see "
                        "docs/STORAGE.md, Recovery)");
}

}  // namespace

std::string log_path(const std::string& dir, offset base) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "/%020lld.log", static_cast<long long>(base.value));
  return dir + buf;
}

std::optional<offset> parse_segment_name(std::string_view name, std::string_view ext) {
  if (name.size() != 20 + ext.size() || name.substr(20) != ext) return std::nullopt;
  int64_t v = 0;
  auto digits = name.substr(0, 20);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + 20, v);
  if (ec != std::errc{} || p != digits.data() + 20) return std::nullopt;
  return offset{v};
}

file_header log_header(offset base, uint32_t generation, uint32_t flags) {
  file_header h;
  h.kind = file_kind::log;
  h.base = base;
  h.end = base;
  h.generation = generation;
  h.flags = flags;
  return h;
}

caf::expected<std::unique_ptr<segment>> segment::create(const std::string& dir, offset base,
                                                        uint32_t generation, uint32_t flags) {
  auto path = log_path(dir, base);
  auto f = file::open(path, file::mode::create_new);
  if (!f) return std::move(f.error());
  char h[layout::header_size];
  log_header(base, generation, flags).encode(h);
  if (auto err = (*f)->write_at(h, sizeof(h), 0)) {
    (void)remove_file(path);
    return err;
  }
  std::unique_ptr<segment> s{new segment(dir, base)};
  s->log_ = std::move(*f);
  s->generation_ = generation;
  s->flags_ = flags;
  return s;
}

caf::expected<std::unique_ptr<segment>> segment::open(const std::string& dir, offset base,
                                                      bool last, int32_t index_interval,
                                                      recovery_note& note) {
  auto path = log_path(dir, base);
  auto f = file::open(path, file::mode::read_write);
  if (!f) return std::move(f.error());
  std::unique_ptr<segment> s{new segment(dir, base)};
  s->log_ = std::move(*f);
  auto size = s->log_->size();
  if (!size) return std::move(size.error());
  char buf[layout::header_size];
  auto n = s->log_->read_at(buf, sizeof(buf), 0);
  if (!n) return std::move(n.error());
  auto h = decode_header(buf, *n, file_kind::log);
  switch (h.status) {
    case header_status::ok:
      if (h.header.base != base)
        return make_error(errc::storage_failure,
                          path + " says in its header that it starts at offset " +
                              std::to_string(h.header.base.value) +
                              ", not at the offset in its name: move the file out of " + dir +
                              " (or restore its name) and restart");
      s->generation_ = h.header.generation;
      s->flags_ = h.header.flags;
      break;
    case header_status::newer:
      return make_error(errc::storage_failure,
                        path + ": " + h.problem +
                            ": upgrade Herald to open this data directory; nothing was changed "
                            "on disk");
    case header_status::not_herald:
      return make_error(errc::storage_failure, path + " is not a Herald segment (" + h.problem +
                                                   "): move it out of " + dir + " and restart");
    case header_status::short_file:
    case header_status::corrupt: {
      // A header torn while the file was created, or a damaged one: the name still says where
      // the segment starts. Rewrite it, and check every batch (as a compacted segment, the
      // lenient rule, since the flags are gone with the header).
      if (h.status == header_status::short_file && *size > 0 && *n > 0 &&
          std::memcmp(buf, layout::magic, std::min<size_t>(*n, 4)) != 0 &&
          std::any_of(buf, buf + *n, [](char c) { return c != 0; }))
        return make_error(errc::storage_failure, path + " is not a Herald segment (" + h.problem +
                                                     "): move it out of " + dir + " and restart");
      s->flags_ = h.status == header_status::corrupt ? layout::flag_compacted : 0;
      char fresh[layout::header_size];
      log_header(base, 0, s->flags_).encode(fresh);
      if (*size < static_cast<int64_t>(layout::header_size))
        if (auto err = s->log_->truncate(0)) return err;
      if (auto err = s->log_->write_at(fresh, sizeof(fresh), 0)) return err;
      note.rewrote_header = true;
      note.index_problem = h.problem;
      break;
    }
  }
  if (!last && !note.rewrote_header) {
    auto idx = segment_index::open(dir, base, s->generation_, *size);
    if (idx.index) {
      auto& sm = idx.summary;
      s->index_ = std::move(*idx.index);
      s->size_ = *size;
      s->end_ = sm.end;
      s->records_ = sm.records;
      s->batches_ = sm.batches;
      s->max_ts_ = sm.batches > 0 ? sm.max_timestamp : INT64_MIN;
      return s;
    }
    note.index_problem = idx.why_not;
  }
  if (auto err = s->scan(last, index_interval, note)) return err;
  if (last) {
    // Index files of the last segment are stale by definition; the memory index is fresh.
    (void)segment_index::remove(dir, base);
  } else {
    note.rebuilt_index = true;
    if (auto err = s->seal()) return err;
  }
  return s;
}

void segment::account(const stored_batch& sb, int32_t index_interval) {
  max_ts_ = std::max(max_ts_, sb.max_timestamp);
  if (batches_ == 0 || since_index_ >= index_interval) {
    auto rel = static_cast<uint32_t>(sb.base - base_);
    auto pos = static_cast<uint32_t>(sb.position);
    index_.add({rel, pos}, {max_ts_, rel, pos});
    since_index_ = 0;
  }
  since_index_ += sb.length;
  if (batches_ == 0) first_append_ = sb.append_time.value;
  records_ += sb.record_count;
  ++batches_;
  end_ = sb.end();
  size_ = sb.position + sb.length;
}

caf::error segment::scan(bool last, int32_t index_interval, recovery_note& note) {
  (void)last;
  auto fsize = log_->size();
  if (!fsize) return std::move(fsize.error());
  index_.clear();
  end_ = base_;
  size_ = layout::header_size;
  records_ = batches_ = 0;
  max_ts_ = INT64_MIN;
  first_append_ = 0;
  since_index_ = 0;
  bool compacted = (flags_ & layout::flag_compacted) != 0;
  file_source src{*log_};
  segment_reader rd{src, layout::header_size, *fsize, scan_buffer};
  stored_batch sb;
  for (;;) {
    auto pos = rd.position();
    auto st = rd.next(sb, segment_reader::depth::verified);
    if (st == scan_status::end) break;
    if (st == scan_status::failed)
      return make_error(errc::storage_failure, "cannot read " + log_->path() + ": " +
                                                   describe(rd.problem()) +
                                                   "; nothing was changed on disk");
    if (st == scan_status::newer)
      return make_error(errc::storage_failure,
                        log_->path() + " holds a batch written by a newer Herald (" +
                            describe(rd.problem()) +
                            "): upgrade Herald to open this data directory; nothing was "
                            "changed on disk");
    std::string why;
    if (st == scan_status::invalid) {
      why = describe(rd.problem());
    } else if (compacted ? sb.base < end_ : sb.base != end_) {
      why = "batch at byte " + std::to_string(pos) + " has base offset " +
            std::to_string(sb.base.value) + " where " + std::to_string(end_.value) +
            (compacted ? " or more" : "") + " was expected";
    } else if (sb.end() - base_ > int64_t{UINT32_MAX}) {
      why = "batch at byte " + std::to_string(pos) + " ends beyond the segment's offset range";
    }
    if (!why.empty()) {
      if (auto err = cut_tail(pos, why, note)) return err;
      break;
    }
    account(sb, index_interval);
  }
  return caf::none;
}

caf::error segment::cut_tail(int64_t at, const std::string& reason, recovery_note& note) {
  auto fsize = log_->size();
  if (!fsize) return std::move(fsize.error());
  note.dropped_bytes = *fsize - at;
  note.dropped_from = end_;
  note.reason = reason;
  // Keep the bytes for an operator to look at: recovery decides they are not a valid batch,
  // but it never destroys what it cannot read.
  auto keep = log_->path() + ".dropped-" + std::to_string(now_ms());
  auto copy = [&]() -> caf::error {
    auto out = file::open(keep, file::mode::create);
    if (!out) return std::move(out.error());
    std::vector<char> buf(std::min<int64_t>(note.dropped_bytes, 1 << 20));
    for (int64_t pos = at; pos < *fsize;) {
      auto n = log_->read_at(buf.data(), buf.size(), pos);
      if (!n) return std::move(n.error());
      if (*n == 0) break;
      if (auto err = (*out)->write_at(buf.data(), *n, pos - at)) return err;
      pos += static_cast<int64_t>(*n);
    }
    return (*out)->datasync();
  };
  if (auto err = copy()) {
    (void)remove_file(keep);
    note.kept_in = "(not kept: " + describe(err) + ")";
  } else {
    note.kept_in = keep;
  }
  if (auto err = log_->truncate(at)) return err;
  // The cut must be on disk before anything is appended after it.
  return log_->datasync();
}

caf::error segment::append(const record_batch& b, offset base, timestamp append_time,
                           int32_t index_interval) {
  char head[16];
  store<int64_t>(head + format::b_base_offset, base.value);
  store<int64_t>(head + format::b_append_time, append_time.value);
  iovec iov[2] = {{head, sizeof(head)},
                  {const_cast<char*>(b.data()) + sizeof(head), b.size() - sizeof(head)}};
  auto pos = size_;
  if (auto err = log_->write_at(iov, 2, pos)) {
    // Part of the batch may be on disk: cut it, so that nothing half-written follows. If
    // even that fails, the next append overwrites it (writes are positional) and recovery
    // cuts whatever is left.
    (void)log_->truncate(pos);
    return err;
  }
  stored_batch sb;
  sb.position = pos;
  sb.base = base;
  sb.append_time = append_time;
  sb.length = b.size();
  sb.record_count = b.record_count();
  sb.last_offset_delta = b.last_offset_delta();
  sb.max_timestamp = b.max_timestamp().value;
  account(sb, index_interval);
  return caf::none;
}

file_header segment::summary() const {
  file_header h;
  h.kind = file_kind::offset_index;
  h.base = base_;
  h.generation = generation_;
  h.covered_bytes = size_;
  h.end = end_;
  h.records = records_;
  h.batches = batches_;
  h.max_timestamp = batches_ > 0 ? max_ts_ : 0;
  return h;
}

caf::error segment::seal(bool sync) {
  if (sealed()) return caf::none;
  return index_.seal(dir_, summary(), sync);
}

caf::expected<int64_t> segment::walk_to(int64_t from_pos, offset o) const {
  file_source src{*log_};
  segment_reader rd{src, from_pos, size_, walk_buffer};
  stored_batch sb;
  for (;;) {
    auto st = rd.next(sb, segment_reader::depth::header);
    if (st == scan_status::end) return size_;
    if (st != scan_status::batch) return unreadable(log_->path(), rd.problem(), o);
    if (sb.end() > o) return sb.position;
  }
}

caf::expected<int64_t> segment::position_of(offset o) const {
  if (o <= base_) return int64_t{layout::header_size};
  auto entry = index_.floor(static_cast<uint32_t>(std::min<int64_t>(o - base_, UINT32_MAX)));
  if (!entry) return std::move(entry.error());
  if (!*entry) return walk_to(layout::header_size, o);
  // Check that the entry points at the batch it names; an index that does not match its log
  // (damage the summary did not reveal) costs a linear walk, never a wrong answer.
  file_source src{*log_};
  segment_reader rd{src, (*entry)->position, size_, walk_buffer};
  stored_batch sb;
  if (rd.next(sb, segment_reader::depth::header) == scan_status::batch &&
      sb.base == base_ + int64_t{(*entry)->relative_offset})
    return walk_to((*entry)->position, o);
  return walk_to(layout::header_size, o);
}

caf::error segment::read(read_budget& b, std::vector<batch_slice>& out) const {
  if (b.next >= end_ || empty()) return caf::none;
  auto pos = position_of(b.next);
  if (!pos) return std::move(pos.error());
  auto want = static_cast<size_t>(std::clamp<int64_t>(b.max_bytes - b.bytes, 64 * 1024, 8 << 20));
  file_source src{*log_};
  segment_reader rd{src, *pos, size_, want};
  stored_batch sb;
  while (!b.exhausted(out)) {
    auto st = rd.next(sb, segment_reader::depth::framed);
    if (st == scan_status::end) break;
    if (st != scan_status::batch) return unreadable(log_->path(), rd.problem(), b.next);
    if (sb.base >= b.limit) break;
    // In memory the broker-assigned bytes stay zero (docs/FORMAT.md); the slice carries them.
    std::memset(sb.data, 0, 16);
    auto batch = record_batch::parse(sb.data, sb.length);
    if (!batch)
      return unreadable(
          log_->path(),
          make_error(errc::corrupt_batch, "batch at byte " + std::to_string(sb.position) + ": " +
                                              describe(batch.error())),
          b.next);
    if (!take(b, *batch, sb.base, sb.append_time, static_cast<int32_t>(sb.last_offset_delta) + 1,
              out))
      break;
  }
  return caf::none;
}

caf::expected<std::optional<offset>> segment::offset_for_time(int64_t t) const {
  if (empty() || max_ts_ < t) return std::optional<offset>{};
  auto entry = index_.last_before(t);
  if (!entry) return std::move(entry.error());
  file_source src{*log_};
  segment_reader rd{src, layout::header_size, size_, walk_buffer};
  stored_batch sb;
  if (*entry) {
    // Every batch up to the entry's holds only older records: start after it.
    rd.seek((*entry)->position);
    if (rd.next(sb, segment_reader::depth::header) != scan_status::batch ||
        sb.base != base_ + int64_t{(*entry)->relative_offset})
      rd.seek(layout::header_size);
  }
  for (;;) {
    auto st = rd.next(sb, segment_reader::depth::header);
    if (st == scan_status::end) return std::optional<offset>{};
    if (st != scan_status::batch) return unreadable(log_->path(), rd.problem(), base_);
    if (sb.max_timestamp < t) continue;
    rd.seek(sb.position);
    if (rd.next(sb, segment_reader::depth::verified) != scan_status::batch)
      return unreadable(log_->path(), rd.problem(), sb.base);
    size_t pos = format::batch_header_size;
    for (uint32_t i = 0; i < sb.record_count; ++i) {
      if (load<int64_t>(sb.data + pos + format::r_timestamp) >= t)
        return std::optional<offset>{sb.base +
                                     load<uint32_t>(sb.data + pos + format::r_offset_delta)};
      pos += 4 + load<uint32_t>(sb.data + pos + format::r_length);
    }
  }
}

caf::error segment::remove_files() const {
  if (auto err = remove_file(log_->path())) return err;
  return segment_index::remove(dir_, base_);
}

void segment::adopt(std::unique_ptr<segment> c) {
  log_ = std::move(c->log_);
  index_ = std::move(c->index_);
  generation_ = c->generation_;
  flags_ = c->flags_;
  size_ = c->size_;
  end_ = c->end_;
  records_ = c->records_;
  batches_ = c->batches_;
  max_ts_ = c->max_ts_;
}

}  // namespace herald::disk
