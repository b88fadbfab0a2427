#include "storage/sync_scheduler.hpp"

#include <algorithm>

namespace herald::disk {

sync_scheduler::sync_scheduler(int threads) {
  for (int i = 0; i < std::max(1, threads); ++i) threads_.emplace_back([this] { work(); });
}

sync_scheduler::~sync_scheduler() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void sync_scheduler::request(std::weak_ptr<sync_target> target) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (stopping_) return;
    ready_.push_back(std::move(target));
  }
  cv_.notify_one();
}

void sync_scheduler::schedule(std::weak_ptr<sync_target> target, clock::time_point due) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (stopping_) return;
    timed_.emplace(due, std::move(target));
  }
  // Wake a sleeper: the new deadline may be earlier than the one it waits for.
  cv_.notify_one();
}

void sync_scheduler::work() {
  std::unique_lock<std::mutex> lk{mtx_};
  for (;;) {
    auto now = clock::now();
    while (!timed_.empty() && timed_.begin()->first <= now) {
      ready_.push_back(std::move(timed_.begin()->second));
      timed_.erase(timed_.begin());
    }
    if (!ready_.empty()) {
      auto next = std::move(ready_.front());
      ready_.pop_front();
      lk.unlock();
      if (auto t = next.lock()) t->run_sync(*this);
      lk.lock();
      continue;
    }
    // Timed work is dropped at shutdown: the owners sync for the last time when they close.
    if (stopping_) return;
    if (timed_.empty())
      cv_.wait(lk);
    else
      cv_.wait_until(lk, timed_.begin()->first);
  }
}

}  // namespace herald::disk
