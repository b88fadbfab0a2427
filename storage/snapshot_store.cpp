#include "storage/snapshot_store.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "messages/crc32c.hpp"
#include "messages/errors.hpp"
#include "messages/record_batch.hpp"
#include "storage/file.hpp"

namespace herald {

// -- the byte format (docs/EVENT_SOURCING.md) -------------------------------------------------

std::string encode_snapshot(const entity_snapshot& s) {
  using format::store;
  std::string out(snapshot_format::fixed_size + s.id.size() + 4 + s.state.size() + 4, '\0');
  char* p = out.data();
  std::memcpy(p, snapshot_format::magic, 4);
  store<uint16_t>(p + 4, snapshot_format::version);
  store<uint16_t>(p + 6, 0);  // flags
  store<uint32_t>(p + 8, s.state_version);
  store<int64_t>(p + 12, s.version);
  store<int64_t>(p + 20, s.next.value);
  store<int64_t>(p + 28, s.last_offset.value);
  store<int64_t>(p + 36, s.last_time.value);
  store<int64_t>(p + 44, s.taken.value);
  store<int64_t>(p + 52, 0);  // reserved
  store<int32_t>(p + 60, s.partition.value);
  store<uint16_t>(p + 64, static_cast<uint16_t>(s.id.size()));
  p += snapshot_format::fixed_size;
  std::memcpy(p, s.id.data(), s.id.size());
  p += s.id.size();
  store<uint32_t>(p, static_cast<uint32_t>(s.state.size()));
  std::memcpy(p + 4, s.state.data(), s.state.size());
  p += 4 + s.state.size();
  store<uint32_t>(p, crc32c(out.data(), static_cast<size_t>(p - out.data())));
  return out;
}

caf::expected<entity_snapshot> decode_snapshot(const char* data, size_t size) {
  using format::load;
  auto corrupt = [](std::string what) {
    return make_error(errc::corrupt_batch, "snapshot " + what);
  };
  if (size < snapshot_format::fixed_size + 8)
    return corrupt("too short (" + std::to_string(size) + " bytes)");
  if (std::memcmp(data, snapshot_format::magic, 4) != 0) return corrupt("without HSNP magic");
  auto v = load<uint16_t>(data + 4);
  if (v > snapshot_format::version)
    return make_error(errc::invalid_argument, "snapshot format version " + std::to_string(v) +
                                                  " is newer than this Herald reads (" +
                                                  std::to_string(snapshot_format::version) +
                                                  "); upgrade Herald");
  auto id_len = load<uint16_t>(data + 64);
  size_t pos = snapshot_format::fixed_size + id_len;
  if (pos + 4 > size) return corrupt("id runs past the end");
  auto state_len = load<uint32_t>(data + pos);
  if (pos + 4 + state_len + 4 != size)
    return corrupt("length " + std::to_string(size) + " does not match its fields (state of " +
                   std::to_string(state_len) + " bytes)");
  auto crc_pos = pos + 4 + state_len;
  if (crc32c(data, crc_pos) != load<uint32_t>(data + crc_pos)) return corrupt("fails its CRC");
  entity_snapshot s;
  s.state_version = load<uint32_t>(data + 8);
  s.version = load<int64_t>(data + 12);
  s.next = offset{load<int64_t>(data + 20)};
  s.last_offset = offset{load<int64_t>(data + 28)};
  s.last_time = timestamp{load<int64_t>(data + 36)};
  s.taken = timestamp{load<int64_t>(data + 44)};
  s.partition = partition_id{load<int32_t>(data + 60)};
  s.id.assign(data + snapshot_format::fixed_size, id_len);
  s.state.assign(data + pos + 4, state_len);
  return s;
}

// -- memory -----------------------------------------------------------------------------------

caf::error memory_snapshot_store::save(const entity_snapshot& s, int32_t keep) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& kept = by_id_[s.id];
  kept[s.version] = s;
  while (kept.size() > static_cast<size_t>(std::max(1, keep))) kept.erase(kept.begin());
  return caf::none;
}

caf::expected<std::optional<entity_snapshot>> memory_snapshot_store::load(
    const std::string& id, const snapshot_query& q) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::optional<entity_snapshot>{};
  for (auto s = it->second.rbegin(); s != it->second.rend(); ++s)
    if (q.matches(s->second)) return std::optional<entity_snapshot>{s->second};
  return std::optional<entity_snapshot>{};
}

std::vector<int64_t> memory_snapshot_store::versions(const std::string& id) const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<int64_t> out;
  if (auto it = by_id_.find(id); it != by_id_.end())
    for (auto& [v, s] : it->second) out.push_back(v);
  return out;
}

// -- files ------------------------------------------------------------------------------------

namespace {

constexpr std::string_view suffix = ".snap";

/// Bytes outside [A-Za-z0-9_-] become %XX; a name that would be too long for a file system
/// keeps a prefix and a hash (the id inside the file tells collisions apart).
std::string escape_id(const std::string& id) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : id) {
    if (std::isalnum(c) || c == '_' || c == '-') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (out.empty()) out = "%";
  if (out.size() > 160) {
    char h[9];
    auto crc = crc32c(id.data(), id.size());
    for (int i = 0; i < 8; ++i) h[i] = hex[(crc >> (28 - 4 * i)) & 15];
    h[8] = '\0';
    out = out.substr(0, 150) + "~" + h;
  }
  return out;
}

std::string version_name(int64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%020lld", static_cast<long long>(v));
  return buf + std::string{suffix};
}

/// Snapshot versions present in `dir`, newest first (temporary files are ignored).
std::vector<int64_t> list_versions(const std::string& dir) {
  std::vector<int64_t> out;
  auto names = disk::list_dir(dir);
  if (!names) return out;
  for (auto& n : *names) {
    if (n.size() != 20 + suffix.size() || !n.ends_with(suffix)) continue;
    int64_t v = 0;
    auto [end, ec] = std::from_chars(n.data(), n.data() + 20, v);
    if (ec == std::errc{} && end == n.data() + 20) out.push_back(v);
  }
  std::sort(out.rbegin(), out.rend());
  return out;
}

}  // namespace

file_snapshot_store::file_snapshot_store(std::string dir) : dir_(std::move(dir)) {
  if (auto err = disk::make_dirs(dir_))
    throw std::runtime_error("cannot create the snapshot directory: " + describe(err));
}

std::string file_snapshot_store::entity_dir(const std::string& id) const {
  return dir_ + "/" + escape_id(id);
}

caf::error file_snapshot_store::save(const entity_snapshot& s, int32_t keep) {
  auto dir = entity_dir(s.id);
  if (auto err = disk::make_dirs(dir)) return err;
  auto path = dir + "/" + version_name(s.version);
  auto tmp = path + ".tmp";
  auto bytes = encode_snapshot(s);
  {
    auto f = disk::file::open(tmp, disk::file::mode::create);
    if (!f) return std::move(f.error());
    if (auto err = (*f)->truncate(0)) return err;
    if (auto err = (*f)->write_at(bytes.data(), bytes.size(), 0)) return err;
  }
  // Renamed into place complete: a reader sees the old set or the new file, never a torn one
  // (a power loss may still leave one torn; its CRC tells).
  if (auto err = disk::rename_file(tmp, path)) return err;
  auto all = list_versions(dir);
  for (size_t i = static_cast<size_t>(std::max(1, keep)); i < all.size(); ++i)
    (void)disk::remove_file(dir + "/" + version_name(all[i]));
  return caf::none;
}

caf::expected<std::optional<entity_snapshot>> file_snapshot_store::load(
    const std::string& id, const snapshot_query& q) const {
  auto dir = entity_dir(id);
  for (auto v : list_versions(dir)) {
    if (q.max_version >= 0 && v > q.max_version) continue;
    auto path = dir + "/" + version_name(v);
    auto f = disk::file::open(path, disk::file::mode::read_only);
    if (!f) continue;  // deleted by a save that pruned it meanwhile
    auto size = (*f)->size();
    if (!size || *size > static_cast<int64_t>(snapshot_format::max_size)) {
      std::lock_guard<std::mutex> guard{mtx_};
      ++skipped_;
      continue;
    }
    std::string bytes(static_cast<size_t>(*size), '\0');
    auto n = (*f)->read_at(bytes.data(), bytes.size(), 0);
    auto s = n ? decode_snapshot(bytes.data(), *n) : caf::expected<entity_snapshot>{n.error()};
    if (!s || s->id != id || s->version != v) {
      std::lock_guard<std::mutex> guard{mtx_};
      ++skipped_;
      continue;
    }
    if (q.matches(*s)) return std::optional<entity_snapshot>{std::move(*s)};
  }
  return std::optional<entity_snapshot>{};
}

std::vector<int64_t> file_snapshot_store::versions(const std::string& id) const {
  auto out = list_versions(entity_dir(id));
  std::reverse(out.begin(), out.end());
  return out;
}

int64_t file_snapshot_store::skipped() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return skipped_;
}

}  // namespace herald
