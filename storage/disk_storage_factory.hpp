// The storage factory of a data directory: opens one segment_log per partition of the topics
// whose storage is "disk" (or unset), under
//
//   <data>/@lock                      held (flock) by the runtime using the directory
//   <data>/@groups/offsets.log        committed group offsets (offset_store)
//   <data>/<topic>/<partition>/       one partition's segments (docs/STORAGE.md)
//
// and hands "memory" topics to an in-memory factory. Topic names cannot contain '@', so the
// two never collide.
//
// Lifecycle: owned by the runtime (runtime_config::storage) and shared with the topic
// registry. It owns the background threads of every log it opened: the sync pool (group
// commit, interval syncs, the offset store) and one compaction thread. It keeps each log open
// while its topic exists, so a partition actor restarted by its supervisor gets the same log.
// Destroying it syncs and closes every log, then joins the threads.
//
// A problem with the directory itself (not writable, used by another process) does not throw:
// every open() returns it as errc::storage_failure, so create_topic reports it.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "storage/disk_options.hpp"
#include "storage/log_storage.hpp"
#include "storage/memory_log.hpp"
#include "storage/offset_store.hpp"
#include "storage/segment_log.hpp"
#include "storage/sync_scheduler.hpp"

namespace herald {

class disk_storage_factory final : public storage_factory {
 public:
  explicit disk_storage_factory(std::string data_dir, disk_options opts = {});
  ~disk_storage_factory() override;
  disk_storage_factory(const disk_storage_factory&) = delete;
  disk_storage_factory& operator=(const disk_storage_factory&) = delete;

  caf::expected<log_storage_ptr> open(const std::string& topic, partition_id partition,
                                      const topic_config& config) override;
  /// Closes the topic's logs, deletes <data>/<topic>, and forgets its committed offsets.
  caf::error remove(const std::string& topic, int32_t partitions) override;
  std::string default_backend() const override { return "disk"; }

  /// The group offset store, or why it could not be opened.
  caf::expected<std::shared_ptr<offset_store>> offsets() const;
  /// The problem found with the data directory at start, if any.
  const caf::error& startup_error() const { return init_error_; }
  const std::string& data_dir() const { return dir_; }
  const disk_options& options() const { return opts_; }

  /// The open log of a partition, if any (tests, tools).
  std::shared_ptr<segment_log> find(const std::string& topic, partition_id partition);
  /// fdatasyncs issued so far (benchmarks).
  uint64_t syncs() const { return scheduler_ ? scheduler_->syncs() : 0; }

  /// Where a partition's segments live.
  std::string partition_dir(const std::string& topic, partition_id partition) const;

 private:
  caf::error init();
  void compaction_loop();

  std::string dir_;
  disk_options opts_;
  caf::error init_error_;
  int lock_fd_ = -1;
  std::shared_ptr<disk::sync_scheduler> scheduler_;
  std::shared_ptr<offset_store> offsets_;
  memory_storage_factory memory_;
  std::mutex mtx_;
  std::map<std::pair<std::string, int32_t>, std::shared_ptr<segment_log>> logs_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread compaction_thread_;
};

}  // namespace herald
