// Background fdatasync for the disk logs: a few threads owned by the disk_storage_factory
// that run the syncs partitions ask for, so that no actor ever blocks on the disk's flush.
//
// Group commit falls out of the protocol: a log asks for a sync when it has unsynced writes
// and none is queued or running; while one runs, further appends only add to what the next
// one covers. One sync per log runs at a time; syncs of different logs run in parallel on
// the pool's threads (devices and journals merge concurrent flushes).
//
// Thread-safe. Targets are held weakly: a log that is gone is skipped.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace herald::disk {

class sync_scheduler;

/// Something that syncs itself when asked (a segment_log, the offset store).
class sync_target {
 public:
  virtual ~sync_target() = default;
  /// Runs one sync on a thread of `on`. A target must not take a strong reference to the
  /// scheduler here (through a weak_ptr): if that became the last one, the pool would be
  /// destroyed by one of its own threads. Use `on` instead.
  virtual void run_sync(sync_scheduler& on) = 0;
};

class sync_scheduler {
 public:
  using clock = std::chrono::steady_clock;

  explicit sync_scheduler(int threads);
  ~sync_scheduler();  ///< runs what is queued, then joins the threads
  sync_scheduler(const sync_scheduler&) = delete;
  sync_scheduler& operator=(const sync_scheduler&) = delete;

  /// Runs target->run_sync() as soon as a thread is free.
  void request(std::weak_ptr<sync_target> target);
  /// Runs it at `due` (interval policies, the offset store).
  void schedule(std::weak_ptr<sync_target> target, clock::time_point due);

  /// fdatasyncs issued through this scheduler so far (benchmarks report it).
  uint64_t syncs() const { return syncs_.load(std::memory_order_relaxed); }
  void count_sync() { syncs_.fetch_add(1, std::memory_order_relaxed); }

 private:
  void work();

  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<std::weak_ptr<sync_target>> ready_;
  std::multimap<clock::time_point, std::weak_ptr<sync_target>> timed_;
  bool stopping_ = false;
  std::atomic<uint64_t> syncs_{0};
  std::vector<std::thread> threads_;
};

}  // namespace herald::disk
