#include "storage/segment_index.hpp"

#include <algorithm>
#include <cstdio>

#include "messages/errors.hpp"
#include "messages/record_batch.hpp"

namespace herald::disk {

using format::load;
using format::store;

namespace {

std::string name_of(offset base) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%020lld", static_cast<long long>(base.value));
  return buf;
}

offset_entry decode_offset(const char* p) {
  return {load<uint32_t>(p), load<uint32_t>(p + 4)};
}

time_entry decode_time(const char* p) {
  return {load<int64_t>(p), load<uint32_t>(p + 8), load<uint32_t>(p + 12)};
}

/// Binary search over `count` entries of `size` bytes in `f`: the last entry for which
/// `le(entry)` holds, given that it holds for a prefix of the entries. log2(count) preads.
template <class Entry, class Decode, class Pred>
caf::expected<std::optional<Entry>> search_file(const file& f, uint64_t count, uint32_t size,
                                                Decode decode, Pred le) {
  uint64_t lo = 0, hi = count;  // answer in [lo, hi): first index where le fails
  char buf[16];
  std::optional<Entry> best;
  while (lo < hi) {
    auto mid = lo + (hi - lo) / 2;
    auto n = f.read_at(buf, size, layout::header_size + static_cast<int64_t>(mid * size));
    if (!n) return std::move(n.error());
    if (*n != size) return make_error(errc::storage_failure, "index " + f.path() + " shrank");
    auto e = decode(buf);
    if (le(e)) {
      best = e;
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return best;
}

template <class Entry, class Encode>
caf::error write_index(const std::string& path, const file_header& h,
                       const std::vector<Entry>& entries, uint32_t size, bool sync, Encode encode) {
  std::vector<char> bytes(layout::header_size + entries.size() * size);
  h.encode(bytes.data());
  for (size_t i = 0; i < entries.size(); ++i)
    encode(bytes.data() + layout::header_size + i * size, entries[i]);
  auto tmp = path + ".tmp";
  auto f = file::open(tmp, file::mode::create);
  if (!f) return std::move(f.error());
  if (auto err = (*f)->truncate(0)) return err;
  if (auto err = (*f)->write_at(bytes.data(), bytes.size(), 0)) return err;
  if (sync)
    if (auto err = (*f)->datasync()) return err;
  return rename_file(tmp, path);
}

}  // namespace

std::string index_path(const std::string& dir, offset base) {
  return dir + "/" + name_of(base) + ".index";
}

std::string time_index_path(const std::string& dir, offset base) {
  return dir + "/" + name_of(base) + ".timeindex";
}

void segment_index::clear() {
  offsets_.clear();
  times_.clear();
  offset_file_ = nullptr;
  time_file_ = nullptr;
  offset_count_ = time_count_ = 0;
}

size_t segment_index::entry_count() const {
  return sealed() ? static_cast<size_t>(offset_count_) : offsets_.size();
}

caf::expected<std::optional<offset_entry>> segment_index::floor(uint32_t rel) const {
  auto le = [rel](const offset_entry& e) {
    return e.relative_offset <= rel;
  };
  if (sealed())
    return search_file<offset_entry>(*offset_file_, offset_count_, offset_entry_size, decode_offset,
                                     le);
  auto it = std::partition_point(offsets_.begin(), offsets_.end(), le);
  if (it == offsets_.begin()) return std::optional<offset_entry>{};
  return std::optional<offset_entry>{*std::prev(it)};
}

caf::expected<std::optional<time_entry>> segment_index::last_before(int64_t t) const {
  auto lt = [t](const time_entry& e) {
    return e.max_timestamp < t;
  };
  if (sealed())
    return search_file<time_entry>(*time_file_, time_count_, time_entry_size, decode_time, lt);
  auto it = std::partition_point(times_.begin(), times_.end(), lt);
  if (it == times_.begin()) return std::optional<time_entry>{};
  return std::optional<time_entry>{*std::prev(it)};
}

caf::error segment_index::seal(const std::string& dir, const file_header& summary, bool sync) {
  auto h = summary;
  h.kind = file_kind::offset_index;
  auto opath = index_path(dir, summary.base);
  if (auto err = write_index(opath, h, offsets_, offset_entry_size, sync,
                             [](char* p, const offset_entry& e) {
                               store<uint32_t>(p, e.relative_offset);
                               store<uint32_t>(p + 4, e.position);
                             }))
    return err;
  h.kind = file_kind::time_index;
  auto tpath = time_index_path(dir, summary.base);
  if (auto err =
          write_index(tpath, h, times_, time_entry_size, sync, [](char* p, const time_entry& e) {
            store<int64_t>(p, e.max_timestamp);
            store<uint32_t>(p + 8, e.relative_offset);
            store<uint32_t>(p + 12, e.position);
          }))
    return err;
  auto of = file::open(opath, file::mode::read_only);
  if (!of) return std::move(of.error());
  auto tf = file::open(tpath, file::mode::read_only);
  if (!tf) return std::move(tf.error());
  offset_count_ = offsets_.size();
  time_count_ = times_.size();
  offset_file_ = std::move(*of);
  time_file_ = std::move(*tf);
  offsets_ = {};
  times_ = {};
  return caf::none;
}

segment_index::opened segment_index::open(const std::string& dir, offset base, uint32_t generation,
                                          int64_t log_size) {
  opened out;
  segment_index idx;
  auto check = [&](const std::string& path, file_kind kind, uint32_t entry_size, file_ptr& f,
                   uint64_t& count) -> bool {
    auto opened_file = file::open(path, file::mode::read_only);
    if (!opened_file) {
      out.why_not = "cannot open " + path;
      return false;
    }
    char buf[layout::header_size];
    auto n = (*opened_file)->read_at(buf, sizeof(buf), 0);
    auto size = (*opened_file)->size();
    if (!n || !size) {
      out.why_not = "cannot read " + path;
      return false;
    }
    auto h = decode_header(buf, *n, kind);
    if (h.status != header_status::ok) {
      out.why_not = path + ": " + h.problem;
      return false;
    }
    if (h.header.base != base || h.header.generation != generation ||
        h.header.covered_bytes != log_size || h.header.covered_bytes <= 0) {
      out.why_not = path + " describes another version of the log (stale)";
      return false;
    }
    auto body = *size - layout::header_size;
    if (body < 0 || body % entry_size != 0) {
      out.why_not = path + " has a partial entry";
      return false;
    }
    count = static_cast<uint64_t>(body / entry_size);
    if (kind == file_kind::offset_index) out.summary = h.header;
    f = std::move(*opened_file);
    return true;
  };
  if (!check(index_path(dir, base), file_kind::offset_index, offset_entry_size, idx.offset_file_,
             idx.offset_count_))
    return out;
  if (!check(time_index_path(dir, base), file_kind::time_index, time_entry_size, idx.time_file_,
             idx.time_count_))
    return out;
  if (idx.offset_count_ != idx.time_count_ || out.summary.batches < idx.offset_count_ ||
      (out.summary.batches > 0 && idx.offset_count_ == 0)) {
    out.why_not = "the offset and time indexes disagree";
    return out;
  }
  out.index = std::move(idx);
  return out;
}

caf::error segment_index::remove(const std::string& dir, offset base) {
  if (auto err = remove_file(index_path(dir, base))) return err;
  return remove_file(time_index_path(dir, base));
}

}  // namespace herald::disk
