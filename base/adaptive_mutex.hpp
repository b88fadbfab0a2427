// A mutex that spins briefly before sleeping (glibc's PTHREAD_MUTEX_ADAPTIVE_NP). For locks
// held ~100 ns by a user thread and an actor at once, spinning avoids the futex sleep and
// wake-up (several microseconds each) that std::mutex pays under contention. Use with
// std::condition_variable_any.
#pragma once

#include <pthread.h>

namespace herald {

class adaptive_mutex {
 public:
  adaptive_mutex() {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
#endif
    pthread_mutex_init(&m_, &attr);
    pthread_mutexattr_destroy(&attr);
  }
  ~adaptive_mutex() {
    pthread_mutex_destroy(&m_);
  }
  adaptive_mutex(const adaptive_mutex&) = delete;
  adaptive_mutex& operator=(const adaptive_mutex&) = delete;

  void lock() {
    pthread_mutex_lock(&m_);
  }
  bool try_lock() {
    return pthread_mutex_trylock(&m_) == 0;
  }
  void unlock() {
    pthread_mutex_unlock(&m_);
  }

 private:
  pthread_mutex_t m_;
};

}  // namespace herald
