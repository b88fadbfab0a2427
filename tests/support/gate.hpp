// A gate that handlers (or storage) block on until a test opens it: the way to hold an actor
// inside a handler without sleeping.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace herald::test {

class gate {
 public:
  /// Blocks until open(). The bound keeps a failing test from holding a scheduler thread
  /// forever; a passing test opens the gate long before it.
  void wait(std::chrono::milliseconds limit = std::chrono::seconds{60}) {
    std::unique_lock<std::mutex> lk{mtx_};
    ++arrived_;
    cv_.notify_all();
    cv_.wait_for(lk, limit, [this] { return open_; });
  }

  void open() {
    std::lock_guard<std::mutex> guard{mtx_};
    open_ = true;
    cv_.notify_all();
  }

  bool is_open() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return open_;
  }

  /// How many wait() calls started (including those that already passed).
  int arrived() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return arrived_;
  }

 private:
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  bool open_ = false;
  int arrived_ = 0;
};

/// Opens a gate when leaving scope. Declare it after the runtime, so that the gate opens
/// before the runtime's destructor waits for the actors blocked on it.
class open_on_exit {
 public:
  explicit open_on_exit(gate& g) : g_(g) {}
  ~open_on_exit() { g_.open(); }
  open_on_exit(const open_on_exit&) = delete;
  open_on_exit& operator=(const open_on_exit&) = delete;

 private:
  gate& g_;
};

}  // namespace herald::test
