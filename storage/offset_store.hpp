// Committed consumer-group offsets on disk: <data>/@groups/offsets.log, an append-only file
// of (group, topic, partition, offset) records with a CRC each, so that a runtime restarted on
// the same data directory resumes every group where it committed. The same file keeps the
// event ids that idempotent groups applied (the last `window` per group and partition), so
// that a redelivery after a restart is not applied again. docs/STORAGE.md documents the bytes.
//
// Lifecycle: open() replays the file (the last record per key wins, a torn tail is cut) and
// the disk_storage_factory owns the store; group coordinators hold it by shared_ptr.
// Durability: commit() write()s at once (survives kill -9) and the factory's sync threads
// fdatasync at most every offsets_sync_interval (a power loss can lose that much of the
// latest commits: those events are delivered again, never skipped). The file is compacted by
// rewriting the live entries to a new file, fsync, rename, when it holds mostly stale ones.
//
// Thread-safe (one mutex); commit() costs one write() of ~40 bytes + the group/topic names,
// save_processed() one write() of the same + 16 bytes per id. Memory: the live offsets, plus
// at most `window` ids (16 bytes each) per group and partition that saved any.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "messages/event_id.hpp"
#include "messages/ids.hpp"
#include "storage/file.hpp"
#include "storage/sync_scheduler.hpp"

namespace herald {

struct committed_offset {
  std::string topic;
  partition_id partition;
  offset next;
};

class offset_store final : public disk::sync_target,
                           public std::enable_shared_from_this<offset_store> {
 public:
  /// Opens (or creates) the store in directory `dir`.
  [[nodiscard]] static caf::expected<std::shared_ptr<offset_store>> open(
      const std::string& dir, std::weak_ptr<disk::sync_scheduler> scheduler = {},
      std::chrono::milliseconds sync_interval = std::chrono::milliseconds{100});
  ~offset_store() override;

  /// Records that `group` will resume `topic`/`partition` at `next`.
  [[nodiscard]] caf::error commit(const std::string& group, const std::string& topic,
                                  partition_id partition, offset next);
  /// Every committed offset of `group`.
  std::vector<committed_offset> committed(const std::string& group) const;
  /// Records that `group` applied `ids` (oldest first) on `topic`/`partition`; the store
  /// keeps the last `window` ids of each (group, topic, partition). Written at once, like a
  /// commit: save them before the commit that covers their events.
  [[nodiscard]] caf::error save_processed(const std::string& group, const std::string& topic,
                                          partition_id partition, const std::vector<event_id>& ids,
                                          uint32_t window);
  /// The ids saved for `group` on `topic`/`partition`, oldest first (at most the window).
  std::vector<event_id> processed(const std::string& group, const std::string& topic,
                                  partition_id partition) const;
  /// Forgets every group's offsets (and processed ids) of a deleted topic.
  [[nodiscard]] caf::error forget_topic(const std::string& topic);

  /// fdatasyncs what was committed so far.
  [[nodiscard]] caf::error sync();
  /// Rewrites the file with only the live entries (temporary file, fsync, rename).
  [[nodiscard]] caf::error compact();
  /// Syncs and closes; later commits fail. Idempotent.
  caf::error close();

  size_t entries() const;
  int64_t file_bytes() const;
  const std::string& path() const { return path_; }

  void run_sync(disk::sync_scheduler& on) override;

 private:
  using key = std::tuple<std::string, std::string, int32_t>;  // group, topic, partition
  offset_store(std::string dir, std::weak_ptr<disk::sync_scheduler> s,
               std::chrono::milliseconds interval);
  caf::error load();
  caf::error append_locked(const std::string& record);
  caf::error compact_locked();
  void arm_locked();

  std::string dir_;
  std::string path_;
  std::weak_ptr<disk::sync_scheduler> scheduler_;
  std::chrono::milliseconds interval_;
  mutable std::mutex mtx_;
  disk::file_ptr file_;
  int64_t size_ = 0;
  int64_t live_bytes_ = 0;
  bool dirty_ = false;
  bool armed_ = false;
  bool closed_ = false;
  struct id_window {
    uint32_t window = 0;
    std::deque<event_id> ids;  // oldest first, at most `window`
  };
  /// Appends `ids` to `w` and drops the oldest beyond the window; keeps live_bytes_.
  void remember_locked(id_window& w, const std::vector<event_id>& ids, size_t first);

  std::map<key, int64_t> offsets_;
  std::map<key, id_window> processed_;
};

}  // namespace herald
