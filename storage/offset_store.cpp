#include "storage/offset_store.hpp"

#include <algorithm>
#include <cstring>

#include "base/logging.hpp"
#include "messages/crc32c.hpp"
#include "messages/errors.hpp"
#include "messages/record_batch.hpp"
#include "storage/file_header.hpp"

namespace herald {

using format::store;
using namespace disk;

namespace {

auto& logger() {
  static auto l = log::get("storage");
  return l;
}

// Record layout (docs/STORAGE.md, "Offset store").
constexpr size_t o_length = 0;  // u32: bytes after this field
constexpr size_t o_crc = 4;     // u32: CRC32C of bytes [8, 4 + length)
constexpr size_t o_type = 8;    // u8
constexpr size_t o_group_len = 10;
constexpr size_t o_topic_len = 12;
constexpr size_t o_partition = 16;
constexpr size_t o_offset = 20;
constexpr size_t o_fixed = 28;
// Type processed_ids: bytes 20..27 hold the window and the id count instead of the offset,
// and count ids of 16 bytes (u64 hi, u64 lo) follow the group and topic names.
constexpr size_t o_window = 20;
constexpr size_t o_count = 24;
constexpr size_t id_size = 16;
constexpr uint8_t type_commit = 1;
constexpr uint8_t type_forget_topic = 2;
constexpr uint8_t type_processed_ids = 3;

std::string encode(uint8_t type, const std::string& group, const std::string& topic,
                   int32_t partition, int64_t next) {
  std::string r(o_fixed + group.size() + topic.size(), '\0');
  char* p = r.data();
  store<uint32_t>(p + o_length, static_cast<uint32_t>(r.size() - 4));
  store<uint8_t>(p + o_type, type);
  store<uint16_t>(p + o_group_len, static_cast<uint16_t>(group.size()));
  store<uint16_t>(p + o_topic_len, static_cast<uint16_t>(topic.size()));
  store<int32_t>(p + o_partition, partition);
  store<int64_t>(p + o_offset, next);
  std::memcpy(p + o_fixed, group.data(), group.size());
  std::memcpy(p + o_fixed + group.size(), topic.data(), topic.size());
  store<uint32_t>(p + o_crc, crc32c(p + o_type, r.size() - o_type));
  return r;
}

size_t record_size(const std::string& group, const std::string& topic) {
  return o_fixed + group.size() + topic.size();
}

/// A processed_ids record with ids [first, end) of `ids`.
template <class Ids>
std::string encode_ids(const std::string& group, const std::string& topic, int32_t partition,
                       uint32_t window, const Ids& ids, size_t first) {
  auto count = ids.size() - first;
  std::string r(o_fixed + group.size() + topic.size() + count * id_size, '\0');
  char* p = r.data();
  store<uint32_t>(p + o_length, static_cast<uint32_t>(r.size() - 4));
  store<uint8_t>(p + o_type, type_processed_ids);
  store<uint16_t>(p + o_group_len, static_cast<uint16_t>(group.size()));
  store<uint16_t>(p + o_topic_len, static_cast<uint16_t>(topic.size()));
  store<int32_t>(p + o_partition, partition);
  store<uint32_t>(p + o_window, window);
  store<uint32_t>(p + o_count, static_cast<uint32_t>(count));
  std::memcpy(p + o_fixed, group.data(), group.size());
  std::memcpy(p + o_fixed + group.size(), topic.data(), topic.size());
  char* at = p + o_fixed + group.size() + topic.size();
  for (size_t i = first; i < ids.size(); ++i, at += id_size) {
    store<uint64_t>(at, ids[i].hi);
    store<uint64_t>(at + 8, ids[i].lo);
  }
  store<uint32_t>(p + o_crc, crc32c(p + o_type, r.size() - o_type));
  return r;
}

}  // namespace

offset_store::offset_store(std::string dir, std::weak_ptr<sync_scheduler> s,
                           std::chrono::milliseconds interval)
    : dir_(std::move(dir)),
      path_(dir_ + "/offsets.log"),
      scheduler_(std::move(s)),
      interval_(interval) {}

caf::expected<std::shared_ptr<offset_store>> offset_store::open(
    const std::string& dir, std::weak_ptr<sync_scheduler> scheduler,
    std::chrono::milliseconds sync_interval) {
  std::shared_ptr<offset_store> st{new offset_store(dir, std::move(scheduler), sync_interval)};
  if (auto err = make_dirs(dir)) return err;
  (void)remove_file(st->path_ + ".tmp");  // a compaction that did not finish
  if (auto err = st->load())
    return make_error(errc::storage_failure,
                      "cannot open the group offset store " + st->path_ + ": " + describe(err));
  return st;
}

caf::error offset_store::load() {
  auto f = file::open(path_, file::mode::create);
  if (!f) return std::move(f.error());
  file_ = std::move(*f);
  auto size = file_->size();
  if (!size) return std::move(size.error());
  std::string bytes(static_cast<size_t>(*size), '\0');
  auto n = file_->read_at(bytes.data(), bytes.size(), 0);
  if (!n) return std::move(n.error());
  bytes.resize(*n);
  auto h = decode_header(bytes.data(), bytes.size(), file_kind::offset_store);
  if (h.status == header_status::newer || h.status == header_status::not_herald ||
      (h.status == header_status::corrupt && bytes.size() >= layout::header_size))
    return make_error(errc::storage_failure,
                      h.problem + (h.status == header_status::newer
                                       ? ": upgrade Herald to read it; nothing was changed"
                                       : ": move the file away to start without committed "
                                         "offsets (groups then use their start position)"));
  if (h.status == header_status::short_file) {
    // New, or torn while being created: no record can be in it.
    char hdr[layout::header_size];
    file_header fh;
    fh.kind = file_kind::offset_store;
    fh.encode(hdr);
    if (auto err = file_->truncate(0)) return err;
    if (auto err = file_->write_at(hdr, sizeof(hdr), 0)) return err;
    if (auto err = file_->datasync()) return err;
    if (auto err = sync_dir(dir_)) return err;
    size_ = layout::header_size;
    return caf::none;
  }
  size_t pos = layout::header_size;
  const char* p = bytes.data();
  std::string why;
  while (pos < bytes.size()) {
    if (bytes.size() - pos < o_fixed) {
      why = "torn record";
      break;
    }
    auto len = format::load<uint32_t>(p + pos + o_length);
    if (len + 4ull < o_fixed || pos + 4 + len > bytes.size()) {
      why = "record length out of range";
      break;
    }
    if (format::load<uint32_t>(p + pos + o_crc) != crc32c(p + pos + o_type, len - 4)) {
      why = "CRC32C mismatch";
      break;
    }
    auto glen = format::load<uint16_t>(p + pos + o_group_len);
    auto tlen = format::load<uint16_t>(p + pos + o_topic_len);
    auto type = format::load<uint8_t>(p + pos + o_type);
    uint64_t ids = type == type_processed_ids ? format::load<uint32_t>(p + pos + o_count) : 0;
    if (o_fixed + glen + tlen + ids * id_size != 4ull + len) {
      why = "field lengths";
      break;
    }
    std::string group{p + pos + o_fixed, glen};
    std::string topic{p + pos + o_fixed + glen, tlen};
    if (type > type_processed_ids) {
      // A record whose CRC checks out but whose type this build does not know: written by a
      // newer Herald (which would also have raised the header version). Never cut it.
      return make_error(errc::storage_failure,
                        "record type " + std::to_string(type) + " at byte " + std::to_string(pos) +
                            " is unknown to this Herald: upgrade Herald to read it; nothing "
                            "was changed");
    }
    if (type == type_processed_ids) {
      auto& w = processed_[{group, topic, format::load<int32_t>(p + pos + o_partition)}];
      w.window = std::max<uint32_t>(1, format::load<uint32_t>(p + pos + o_window));
      const char* at = p + pos + o_fixed + glen + tlen;
      for (uint64_t i = 0; i < ids; ++i, at += id_size)
        w.ids.push_back({format::load<uint64_t>(at), format::load<uint64_t>(at + 8)});
      while (w.ids.size() > w.window) w.ids.pop_front();
    } else if (type == type_commit) {
      offsets_[{group, topic, format::load<int32_t>(p + pos + o_partition)}] =
          format::load<int64_t>(p + pos + o_offset);
    } else if (type == type_forget_topic) {
      std::erase_if(offsets_, [&](auto& kv) { return std::get<1>(kv.first) == topic; });
      std::erase_if(processed_, [&](auto& kv) { return std::get<1>(kv.first) == topic; });
    } else {
      why = "record type 0";
      break;
    }
    pos += 4 + len;
  }
  if (pos < bytes.size()) {
    logger()->warn(
        "event=offset_store_truncated file={} dropped_bytes={} at={} reason=\"{}\" "
        "effect=\"the last commits before the crash may be redelivered\"",
        path_, bytes.size() - pos, pos, why);
    if (auto err = file_->truncate(static_cast<int64_t>(pos))) return err;
    if (auto err = file_->datasync()) return err;
  }
  size_ = static_cast<int64_t>(pos);
  for (auto& [k, v] : offsets_) live_bytes_ += record_size(std::get<0>(k), std::get<1>(k));
  for (auto& [k, w] : processed_)
    live_bytes_ += record_size(std::get<0>(k), std::get<1>(k)) + w.ids.size() * id_size;
  return caf::none;
}

offset_store::~offset_store() {
  if (auto err = close())
    logger()->error("event=offset_store_close_failed file={} error=\"{}\"", path_, describe(err));
}

caf::error offset_store::append_locked(const std::string& record) {
  if (closed_) return make_error(errc::storage_failure, "the offset store is closed");
  if (auto err = file_->write_at(record.data(), record.size(), size_)) {
    (void)file_->truncate(size_);
    return err;
  }
  size_ += static_cast<int64_t>(record.size());
  dirty_ = true;
  arm_locked();
  // Mostly stale entries: rewrite. Bounded by the live set, so this is rare and small.
  if (size_ > (int64_t{1} << 20) && size_ > 4 * (live_bytes_ + layout::header_size))
    if (auto err = compact_locked())
      logger()->warn("event=offset_store_compaction_failed file={} error=\"{}\"", path_,
                     describe(err));
  return caf::none;
}

void offset_store::arm_locked() {
  if (armed_) return;
  if (auto s = scheduler_.lock()) {
    armed_ = true;
    s->schedule(weak_from_this(), sync_scheduler::clock::now() + interval_);
  }
}

caf::error offset_store::commit(const std::string& group, const std::string& topic,
                                partition_id partition, offset next) {
  if (group.size() > 65535 || topic.size() > 65535)
    return make_error(errc::invalid_argument, "group or topic name too long to store");
  std::lock_guard<std::mutex> guard{mtx_};
  auto k = key{group, topic, partition.value};
  auto it = offsets_.find(k);
  if (it != offsets_.end() && it->second == next.value) return caf::none;
  if (auto err = append_locked(encode(type_commit, group, topic, partition.value, next.value)))
    return err;
  if (it == offsets_.end()) {
    offsets_.emplace(k, next.value);
    live_bytes_ += static_cast<int64_t>(record_size(group, topic));
  } else {
    it->second = next.value;
  }
  return caf::none;
}

void offset_store::remember_locked(id_window& w, const std::vector<event_id>& ids, size_t first) {
  live_bytes_ -= static_cast<int64_t>(w.ids.size() * id_size);
  w.ids.insert(w.ids.end(), ids.begin() + static_cast<std::ptrdiff_t>(first), ids.end());
  while (w.ids.size() > w.window) w.ids.pop_front();
  live_bytes_ += static_cast<int64_t>(w.ids.size() * id_size);
}

caf::error offset_store::save_processed(const std::string& group, const std::string& topic,
                                        partition_id partition, const std::vector<event_id>& ids,
                                        uint32_t window) {
  if (group.size() > 65535 || topic.size() > 65535)
    return make_error(errc::invalid_argument, "group or topic name too long to store");
  if (ids.empty()) return caf::none;
  window = std::max<uint32_t>(1, window);
  // Ids older than the window would be forgotten at once: do not write them.
  size_t first = ids.size() > window ? ids.size() - window : 0;
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto err = append_locked(encode_ids(group, topic, partition.value, window, ids, first)))
    return err;
  auto k = key{group, topic, partition.value};
  auto it = processed_.find(k);
  if (it == processed_.end()) {
    it = processed_.emplace(k, id_window{}).first;
    live_bytes_ += static_cast<int64_t>(record_size(group, topic));
  }
  it->second.window = window;
  remember_locked(it->second, ids, first);
  return caf::none;
}

std::vector<event_id> offset_store::processed(const std::string& group, const std::string& topic,
                                              partition_id partition) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto it = processed_.find(key{group, topic, partition.value});
  if (it == processed_.end()) return {};
  return {it->second.ids.begin(), it->second.ids.end()};
}

std::vector<committed_offset> offset_store::committed(const std::string& group) const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<committed_offset> out;
  for (auto it = offsets_.lower_bound({group, "", INT32_MIN});
       it != offsets_.end() && std::get<0>(it->first) == group; ++it)
    out.push_back(
        {std::get<1>(it->first), partition_id{std::get<2>(it->first)}, offset{it->second}});
  return out;
}

caf::error offset_store::forget_topic(const std::string& topic) {
  std::lock_guard<std::mutex> guard{mtx_};
  bool any = false;
  for (auto& [k, v] : offsets_) any = any || std::get<1>(k) == topic;
  for (auto& [k, w] : processed_) any = any || std::get<1>(k) == topic;
  if (!any) return caf::none;
  if (auto err = append_locked(encode(type_forget_topic, "", topic, -1, -1))) return err;
  std::erase_if(offsets_, [&](auto& kv) {
    if (std::get<1>(kv.first) != topic) return false;
    live_bytes_ -= static_cast<int64_t>(record_size(std::get<0>(kv.first), topic));
    return true;
  });
  std::erase_if(processed_, [&](auto& kv) {
    if (std::get<1>(kv.first) != topic) return false;
    live_bytes_ -= static_cast<int64_t>(record_size(std::get<0>(kv.first), topic) +
                                        kv.second.ids.size() * id_size);
    return true;
  });
  return caf::none;
}

caf::error offset_store::sync() {
  file_ptr f;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!dirty_ || !file_) return caf::none;
    f = file_;
    dirty_ = false;
  }
  // Outside the lock: a coordinator committing meanwhile never waits for the flush.
  if (auto err = f->datasync()) {
    std::lock_guard<std::mutex> guard{mtx_};
    dirty_ = true;
    return err;
  }
  return caf::none;
}

void offset_store::run_sync(sync_scheduler& on) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    armed_ = false;
  }
  if (auto err = sync())
    logger()->error("event=offset_store_sync_failed file={} error=\"{}\"", path_, describe(err));
  else
    on.count_sync();
}

caf::error offset_store::compact() {
  std::lock_guard<std::mutex> guard{mtx_};
  return compact_locked();
}

caf::error offset_store::compact_locked() {
  if (closed_) return make_error(errc::storage_failure, "the offset store is closed");
  std::string bytes(layout::header_size, '\0');
  file_header fh;
  fh.kind = file_kind::offset_store;
  fh.encode(bytes.data());
  for (auto& [k, v] : offsets_)
    bytes += encode(type_commit, std::get<0>(k), std::get<1>(k), std::get<2>(k), v);
  for (auto& [k, w] : processed_)
    if (!w.ids.empty())
      bytes += encode_ids(std::get<0>(k), std::get<1>(k), std::get<2>(k), w.window, w.ids, 0);
  auto tmp = path_ + ".tmp";
  auto f = file::open(tmp, file::mode::create);
  if (!f) return std::move(f.error());
  if (auto err = (*f)->truncate(0)) return err;
  if (auto err = (*f)->write_at(bytes.data(), bytes.size(), 0)) return err;
  if (auto err = (*f)->datasync()) return err;
  if (auto err = rename_file(tmp, path_)) return err;
  if (auto err = sync_dir(dir_)) return err;
  file_ = std::move(*f);
  size_ = static_cast<int64_t>(bytes.size());
  dirty_ = false;
  return caf::none;
}

caf::error offset_store::close() {
  std::lock_guard<std::mutex> guard{mtx_};
  if (closed_) return caf::none;
  closed_ = true;
  if (dirty_ && file_)
    if (auto err = file_->datasync()) return err;
  dirty_ = false;
  return caf::none;
}

size_t offset_store::entries() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return offsets_.size();
}

int64_t offset_store::file_bytes() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return size_;
}

}  // namespace herald
