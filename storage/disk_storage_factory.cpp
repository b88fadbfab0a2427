#include "storage/disk_storage_factory.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "base/logging.hpp"
#include "messages/errors.hpp"

namespace herald {

namespace {

auto& logger() {
  static auto l = log::get("storage");
  return l;
}

/// What the partition actor holds: the log stays with the factory, so a restarted actor
/// reopens the same one.
class log_handle final : public log_storage {
 public:
  explicit log_handle(std::shared_ptr<segment_log> log) : log_(std::move(log)) {}
  caf::expected<append_info> append(const record_batch_ptr& b, timestamp t) override {
    return log_->append(b, t);
  }
  caf::expected<offset> read(offset from, int32_t n, int64_t bytes,
                             std::vector<batch_slice>& out) const override {
    return log_->read(from, n, bytes, out);
  }
  offset start_offset() const override { return log_->start_offset(); }
  offset end_offset() const override { return log_->end_offset(); }
  offset durable_offset() const override { return log_->durable_offset(); }
  void set_durability_listener(durability_listener f) override {
    log_->set_durability_listener(std::move(f));
  }
  offset offset_for_time(timestamp t) const override { return log_->offset_for_time(t); }
  int64_t enforce_retention(const retention_policy& p, timestamp now) override {
    return log_->enforce_retention(p, now);
  }
  storage_stats stats() const override { return log_->stats(); }
  caf::error flush() override { return log_->flush(); }

 private:
  std::shared_ptr<segment_log> log_;
};

}  // namespace

disk_storage_factory::disk_storage_factory(std::string data_dir, disk_options opts)
    : dir_(std::move(data_dir)), opts_(opts) {
  if (auto err = validate(opts_)) {
    init_error_ = std::move(err);
  } else if (auto err2 = init()) {
    init_error_ = make_error(errc::storage_failure,
                             "data_dir " + dir_ + " cannot be used: " + describe(err2));
  }
  if (init_error_) {
    logger()->error("event=data_dir_unusable dir={} error=\"{}\"", dir_, describe(init_error_));
    return;
  }
  if (opts_.compaction_interval.count() > 0)
    compaction_thread_ = std::thread{[this] {
      compaction_loop();
    }};
}

caf::error disk_storage_factory::init() {
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
  if (dir_.empty()) return make_error(errc::invalid_config, "data_dir is empty");
  if (auto err = disk::make_dirs(dir_)) return err;
  auto lock_path = dir_ + "/@lock";
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) return disk::io_error("cannot open or create", lock_path, errno);
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    char pid[32] = {};
    (void)!::pread(lock_fd_, pid, sizeof(pid) - 1, 0);
    ::close(lock_fd_);
    lock_fd_ = -1;
    if (err == EWOULDBLOCK)
      return make_error(errc::storage_failure,
                        "it is in use by another Herald runtime (pid " + std::string{pid} +
                            " per " + lock_path +
                            "): stop that one first, or give this runtime another data_dir");
    return disk::io_error("cannot lock", lock_path, err);
  }
  auto pid = std::to_string(::getpid());
  if (::ftruncate(lock_fd_, 0) != 0 || ::pwrite(lock_fd_, pid.data(), pid.size(), 0) < 0)
    return disk::io_error("cannot write", lock_path, errno);
  // A directory we cannot write into fails above (creating @lock) unless @lock already
  // existed: probe with a real file creation.
  auto probe = dir_ + "/@probe.tmp";
  auto f = disk::file::open(probe, disk::file::mode::create);
  if (!f) return std::move(f.error());
  f->reset();
  if (auto err = disk::remove_file(probe)) return err;
  scheduler_ = std::make_shared<disk::sync_scheduler>(opts_.sync_threads);
  auto store = offset_store::open(dir_ + "/@groups", scheduler_, opts_.offsets_sync_interval);
  if (!store) return std::move(store.error());
  offsets_ = std::move(*store);
  logger()->info("event=data_dir_opened dir={}", dir_);
  return caf::none;
}

disk_storage_factory::~disk_storage_factory() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopping_ = true;
  }
  cv_.notify_all();
  if (compaction_thread_.joinable()) compaction_thread_.join();
  std::map<std::pair<std::string, int32_t>, std::shared_ptr<segment_log>> logs;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    logs.swap(logs_);
  }
  for (auto& [key, log] : logs)
    if (auto err = log->close())
      logger()->error("topic={} partition={} event=close_failed error=\"{}\"", key.first,
                      key.second, describe(err));
  if (offsets_) (void)offsets_->close();
  offsets_.reset();
  scheduler_.reset();  // joins the sync threads
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

std::string disk_storage_factory::partition_dir(const std::string& topic,
                                                partition_id partition) const {
  return dir_ + "/" + topic + "/" + std::to_string(partition.value);
}

caf::expected<log_storage_ptr> disk_storage_factory::open(const std::string& topic,
                                                          partition_id partition,
                                                          const topic_config& config) {
  if (config.storage == "memory") return memory_.open(topic, partition, config);
  if (!config.storage.empty() && config.storage != "disk")
    return make_error(errc::invalid_config, "storage backend '" + config.storage +
                                                "' is not available; use \"disk\" or \"memory\"");
  if (init_error_) return init_error_;
  std::lock_guard<std::mutex> guard{mtx_};
  auto& slot = logs_[{topic, partition.value}];
  if (!slot) {
    segment_log::params p{
        partition_dir(topic, partition), topic, partition, config, opts_, scheduler_};
    auto log = segment_log::open(std::move(p));
    if (!log) {
      logs_.erase({topic, partition.value});
      return std::move(log.error());
    }
    slot = std::move(*log);
  }
  return log_storage_ptr{new log_handle(slot)};
}

caf::error disk_storage_factory::remove(const std::string& topic, int32_t partitions) {
  (void)memory_.remove(topic, partitions);
  if (init_error_) return caf::none;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto it = logs_.begin(); it != logs_.end();) {
      if (it->first.first == topic) {
        it->second->abandon();
        it = logs_.erase(it);
      } else {
        ++it;
      }
    }
  }
  if (auto err = disk::remove_tree(dir_ + "/" + topic)) return err;
  if (auto err = disk::sync_dir(dir_)) return err;
  return offsets_->forget_topic(topic);
}

caf::expected<std::shared_ptr<offset_store>> disk_storage_factory::offsets() const {
  if (init_error_) return init_error_;
  return offsets_;
}

std::shared_ptr<segment_log> disk_storage_factory::find(const std::string& topic,
                                                        partition_id partition) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto it = logs_.find({topic, partition.value});
  return it == logs_.end() ? nullptr : it->second;
}

void disk_storage_factory::compaction_loop() {
  std::unique_lock<std::mutex> lk{mtx_};
  while (!stopping_) {
    cv_.wait_for(lk, opts_.compaction_interval);
    if (stopping_) return;
    std::vector<std::shared_ptr<segment_log>> todo;
    for (auto& [key, log] : logs_)
      if (log->config().compaction) todo.push_back(log);
    lk.unlock();
    for (auto& log : todo) {
      auto r = log->compact();
      if (!r)
        logger()->error("dir={} event=compaction_failed error=\"{}\"", log->dir(),
                        describe(r.error()));
    }
    lk.lock();
  }
}

}  // namespace herald
