// Helpers for tests of the on-disk log: a temporary directory, batches with recognisable
// records, decoding what a read returned, and byte-level file surgery (truncate, flip a bit)
// to simulate torn writes and bit rot.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "messages/errors.hpp"
#include "messages/event.hpp"
#include "messages/record_batch.hpp"
#include "storage/disk_options.hpp"
#include "storage/log_storage.hpp"
#include "storage/segment_log.hpp"
#include "storage/sync_scheduler.hpp"

namespace herald::test {

/// A fresh directory under $TMPDIR (default /tmp), removed with everything in it at the end.
class temp_dir {
 public:
  /// `base`: the parent directory; empty: $TMPDIR, else /tmp.
  explicit temp_dir(const std::string& prefix = "herald-test", std::string base = {}) {
    if (base.empty()) {
      const char* env = std::getenv("TMPDIR");
      base = env && *env ? env : "/tmp";
    }
    std::string tmpl = base + "/" + prefix + "-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!::mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed for " + tmpl);
    path_ = buf.data();
  }
  ~temp_dir() {
    std::error_code ec;
    // Tests may have made parts read-only: give permissions back first.
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

constexpr int64_t t0_ns = 1'700'000'000'000'000'000;  // ns since the Unix epoch
constexpr int64_t ms_ns = 1'000'000;

/// A batch of `n` events whose payloads carry seq = first_seq, first_seq + 1, ..., whose keys
/// are "k<seq % keys>" and whose timestamps are t0 + seq ms (or `times`, one per event).
inline record_batch_ptr make_batch(int64_t first_seq, int n, int keys = 1 << 30,
                                   const std::vector<int64_t>& times = {}, size_t payload_pad = 0) {
  batch_builder b;
  for (int i = 0; i < n; ++i) {
    auto seq = first_seq + i;
    auto t = times.empty() ? t0_ns + seq * ms_ns : times[static_cast<size_t>(i)];
    auto ev = event::builder{"t", "E"}
                  .key("k" + std::to_string(seq % keys))
                  .payload(R"({"seq":)" + std::to_string(seq) + R"(,"pad":")" +
                           std::string(payload_pad, 'x') + "\"}")
                  .time(timestamp{t})
                  .build();
    if (b.add(ev)) throw std::runtime_error("batch_builder::add failed");
  }
  return b.seal(producer_id{1}, static_cast<uint64_t>(first_seq));
}

/// A batch of one tombstone for `key`.
inline record_batch_ptr make_tombstone(const std::string& key, int64_t t) {
  batch_builder b;
  auto ev = event::builder{"t", "E"}.key(key).tombstone().time(timestamp{t}).build();
  if (b.add(ev)) throw std::runtime_error("batch_builder::add failed");
  return b.seal(producer_id{0}, 0);
}

struct rec {
  offset off;
  int64_t seq;
  int64_t time;
  std::string key;
  bool tombstone;
  friend bool operator==(const rec&, const rec&) = default;
};

inline int64_t seq_in(std::string_view payload) {
  auto pos = payload.find(R"("seq":)");
  if (pos == std::string_view::npos) return -1;
  return std::atoll(std::string{payload.substr(pos + 6, 20)}.c_str());
}

inline std::vector<rec> decode(const std::vector<batch_slice>& slices) {
  std::vector<rec> out;
  event_view v;
  for (auto& s : slices) {
    batch_cursor cur{s, "t", partition_id{0}};
    while (!cur.done()) {
      cur.next(v);
      out.push_back({v.offset(), seq_in(v.payload()), v.time().value, std::string{v.key()},
                     v.is_tombstone()});
    }
  }
  return out;
}

/// Every record from `from` to the end (as read() returns them: below the durable offset).
inline std::vector<rec> read_all(const log_storage& log, offset from, int32_t step = 1000) {
  std::vector<rec> out;
  for (;;) {
    std::vector<batch_slice> slices;
    auto next = log.read(from, step, 1 << 20, slices);
    if (!next) throw std::runtime_error("read failed: " + describe(next.error()));
    auto part = decode(slices);
    out.insert(out.end(), part.begin(), part.end());
    if (*next == from) return out;
    from = *next;
  }
}

inline std::vector<rec> read_all(const log_storage& log) {
  return read_all(log, log.start_offset());
}

// -- file surgery -----------------------------------------------------------------------------

inline std::string read_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, {}};
}

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline int64_t file_size(const std::string& path) {
  return static_cast<int64_t>(std::filesystem::file_size(path));
}

inline void truncate_file(const std::string& path, int64_t size) {
  std::filesystem::resize_file(path, static_cast<uintmax_t>(size));
}

inline void flip_bit(const std::string& path, int64_t byte, int bit) {
  auto s = read_file(path);
  s.at(static_cast<size_t>(byte)) ^= static_cast<char>(1 << bit);
  write_file(path, s);
}

/// Files in `dir` whose name ends with `suffix`, sorted.
inline std::vector<std::string> files_with(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> out;
  for (auto& e : std::filesystem::directory_iterator(dir)) {
    auto n = e.path().filename().string();
    if (n.size() >= suffix.size() &&
        n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0)
      out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline std::vector<std::string> files_containing(const std::string& dir, const std::string& part) {
  std::vector<std::string> out;
  for (auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().filename().string().find(part) != std::string::npos)
      out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

// -- opening logs -----------------------------------------------------------------------------

/// A partition directory, the options and a sync pool: opens segment_logs on the same dir.
struct log_env {
  temp_dir dir{"herald-log"};
  std::shared_ptr<disk::sync_scheduler> sched = std::make_shared<disk::sync_scheduler>(2);
  disk_options opts;
  topic_config cfg;

  log_env() {
    cfg.storage = "disk";
    cfg.durability = durability_policy::never();
  }
  std::string part() const { return dir.path() + "/t/0"; }

  caf::expected<std::shared_ptr<segment_log>> try_open() {
    return segment_log::open({part(), "t", partition_id{0}, cfg, opts, sched});
  }
  std::shared_ptr<segment_log> open() {
    auto log = try_open();
    if (!log) throw std::runtime_error("open failed: " + describe(log.error()));
    return *log;
  }
};

}  // namespace herald::test
