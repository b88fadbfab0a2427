// Snapshots of event-sourced entities: the state of one entity after its event number
// `version`, with the log position to resume replaying from. A snapshot is a cache of a
// replay, never the truth: a missing, torn or stale one costs replay time, not correctness,
// so the store never fsyncs (docs/EVENT_SOURCING.md, "Snapshots").
//
// Two stores: memory_snapshot_store (the default without a data directory) and
// file_snapshot_store (one file per snapshot under <dir>/<escaped id>/, byte format in
// docs/EVENT_SOURCING.md). Both are thread-safe: entity actors load from any scheduler thread
// while the entity type's snapshot writer saves.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "messages/ids.hpp"

namespace herald {

struct entity_snapshot {
  std::string id;
  int64_t version = 0;  ///< the entity's version: its events 1..version are in `state`
  partition_id partition{-1};
  offset next{0};              ///< offset after the event `version`: where the replay resumes
  offset last_offset{-1};      ///< offset of the event `version` (checked against the log)
  timestamp last_time{0};      ///< time of the event `version`
  timestamp taken{0};          ///< when the snapshot was made
  uint32_t state_version = 0;  ///< the entity type's state encoding version
  std::string state;           ///< the state, encoded by the entity type

  friend bool operator==(const entity_snapshot&, const entity_snapshot&) = default;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, entity_snapshot& x) {
    return f(x.id, x.version, x.partition, x.next, x.last_offset, x.last_time, x.taken,
             x.state_version, x.state);
  }
};

namespace snapshot_format {
constexpr char magic[4] = {'H', 'S', 'N', 'P'};
constexpr uint16_t version = 1;
/// Fixed part before the id: magic, format version, flags, state version, then six 8-byte
/// numbers, the partition and the id length (docs/EVENT_SOURCING.md).
constexpr size_t fixed_size = 4 + 2 + 2 + 4 + 6 * 8 + 4 + 2;
/// Largest snapshot a store reads (a corrupt length must not allocate gigabytes).
constexpr size_t max_size = 256u << 20;
}  // namespace snapshot_format

/// The bytes of a snapshot file.
std::string encode_snapshot(const entity_snapshot& s);
/// Checks and decodes them. errc::corrupt_batch names what is wrong; invalid_argument for a
/// newer format version.
[[nodiscard]] caf::expected<entity_snapshot> decode_snapshot(const char* data, size_t size);

/// Which snapshots a load may return: at most this version, and its last event no later
/// than this time (-1: no limit).
struct snapshot_query {
  int64_t max_version = -1;
  timestamp max_time{-1};
  bool matches(const entity_snapshot& s) const {
    return (max_version < 0 || s.version <= max_version) &&
           (max_time.value < 0 || s.last_time <= max_time);
  }
};

class snapshot_store {
 public:
  virtual ~snapshot_store() = default;
  /// Stores `s` and deletes the entity's older snapshots beyond the newest `keep`.
  [[nodiscard]] virtual caf::error save(const entity_snapshot& s, int32_t keep) = 0;
  /// The newest valid snapshot of `id` that matches `q`, if any. Unreadable ones are skipped
  /// (and counted in skipped()).
  [[nodiscard]] virtual caf::expected<std::optional<entity_snapshot>> load(
      const std::string& id, const snapshot_query& q) const = 0;
  /// The versions of the snapshots kept for `id`, oldest first.
  virtual std::vector<int64_t> versions(const std::string& id) const = 0;
  /// True when save() does file I/O (the writer then gets a thread of its own).
  virtual bool blocking() const = 0;
  /// Snapshots load() found unreadable (torn, corrupt, another id) since the start.
  virtual int64_t skipped() const { return 0; }
};

class memory_snapshot_store final : public snapshot_store {
 public:
  caf::error save(const entity_snapshot& s, int32_t keep) override;
  caf::expected<std::optional<entity_snapshot>> load(const std::string& id,
                                                     const snapshot_query& q) const override;
  std::vector<int64_t> versions(const std::string& id) const override;
  bool blocking() const override { return false; }

 private:
  mutable std::mutex mtx_;
  std::map<std::string, std::map<int64_t, entity_snapshot>> by_id_;
};

/// Files under `dir`: <dir>/<escaped id>/<version, 20 digits>.snap, written to a temporary
/// name and renamed, without fsync (see the file comment).
class file_snapshot_store final : public snapshot_store {
 public:
  /// Creates `dir` if needed; throws std::runtime_error (what and where) if it cannot.
  explicit file_snapshot_store(std::string dir);
  caf::error save(const entity_snapshot& s, int32_t keep) override;
  caf::expected<std::optional<entity_snapshot>> load(const std::string& id,
                                                     const snapshot_query& q) const override;
  std::vector<int64_t> versions(const std::string& id) const override;
  bool blocking() const override { return true; }
  int64_t skipped() const override;

  /// The directory of one entity's snapshots (ids are escaped to a safe file name).
  std::string entity_dir(const std::string& id) const;
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  mutable std::mutex mtx_;  // guards skipped_ only: files are renamed into place atomically
  mutable int64_t skipped_ = 0;
};

}  // namespace herald
