// Retries of one partition's events inside a consumer member, as a state machine without
// actors (the consumer actor drives it; tests/actors/retry_stm_test.cpp drives it by hand).
//
// Events arrive in offset order. An event whose handler fails is parked and retried after a
// backoff; while it waits, later events with the same key queue behind it (order per key
// holds) and events with other keys run on. In strict mode any parked event blocks the whole
// partition instead. After max_attempts the event is given up: the member writes it to the
// dead-letter topic, then the key's queue runs on.
//
// The commit point is the lowest offset not finished yet: committing it after a crash means
// events of other keys that already ran after a parked one run again (at-least-once; an
// idempotent handler applies them once).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "actors/restart_policy.hpp"
#include "messages/ids.hpp"
#include "messages/record_batch.hpp"

namespace herald {

struct retry_options {
  /// Attempts per event, the first included; 1 = no retry.
  int max_attempts = 3;
  backoff_policy backoff{.initial = std::chrono::milliseconds{100},
                         .multiplier = 2.0,
                         .max = std::chrono::milliseconds{10000},
                         .jitter = 0.2};
  /// A failing event blocks its whole partition instead of only its key.
  bool strict_order = false;
};

/// Where an event's bytes are, so it can be decoded again later (the batch stays alive).
struct record_ref {
  record_batch_ptr batch;
  offset base;
  uint32_t pos = 0;  ///< byte position of the record in the batch
};

class retry_stm {
 public:
  using clock = std::chrono::steady_clock;

  struct waiting {
    offset off;
    std::string key;
    record_ref ref;
    int attempts = 0;  ///< failed attempts so far
    timestamp first_failure;
    timestamp last_failure;
    std::string last_error;
    clock::time_point due;  ///< when a parked event is retried
  };

  enum class outcome { retry_later, give_up };

  explicit retry_stm(retry_options opts, uint64_t seed = std::random_device{}());

  /// Called for each delivered event in offset order. True: run the handler now. False: it
  /// was queued behind a failing event of its key (of the partition, in strict mode).
  bool admit(offset off, std::string_view key, const record_ref& ref);

  /// The handler accepted `off`. Returns the next queued event of its key, which the member
  /// runs now (and reports the same way), or nothing when the key flows freely again.
  std::optional<waiting> succeeded(offset off, std::string_view key);

  /// The handler failed on `off`. retry_later: it is parked until next_due() returns it.
  /// give_up: after max_attempts; the member writes it to the dead-letter topic, then calls
  /// dead_lettered(). head(key) describes it (attempts, failure times, error).
  outcome failed(offset off, std::string_view key, const record_ref& ref, std::string error,
                 clock::time_point now);

  /// The given-up event is safely in the dead-letter topic. Returns the key's next queued
  /// event, as succeeded() does.
  std::optional<waiting> dead_lettered(offset off, std::string_view key);

  /// A parked event whose retry is due at `now` (it is running from then on).
  std::optional<waiting> next_due(clock::time_point now);

  /// When the earliest parked event is due, if any (the member arms one timer for it).
  std::optional<clock::time_point> earliest_due() const;

  /// The event blocking `key` (parked, running or being dead-lettered), if any.
  const waiting* head(std::string_view key) const;

  /// Every event below this offset is finished (handled, or dead-lettered). `delivered_next`
  /// is the offset after the last delivered event.
  offset commit_point(offset delivered_next) const;

  size_t parked() const;
  size_t queued() const;
  /// Events failed or queued behind a failure and not finished yet (they hold the partition's
  /// credit). An event that runs at once is never counted: it finishes before the member
  /// asks for the commit point.
  size_t unfinished() const { return unfinished_.size(); }
  int64_t retries() const { return retries_; }
  int64_t given_up() const { return given_up_; }
  const retry_options& options() const { return opts_; }

 private:
  enum class phase { running, parked, dead_lettering };
  struct head_state {
    waiting w;
    phase ph = phase::running;
  };
  std::string_view block_key(std::string_view key) const;
  static size_t bucket(std::string_view block_key);
  std::optional<waiting> finish(offset off, std::string_view key);

  retry_options opts_;
  std::mt19937_64 rng_;
  std::map<std::string, head_state, std::less<>> heads_;  // block key -> event blocking it
  std::map<std::string, std::deque<waiting>, std::less<>> queues_;  // block key -> events behind it
  std::set<offset> unfinished_;                                     // failed or queued events only
  // How many heads' block keys hash to each bucket: a zero answers "is this key blocked?"
  // without a map lookup, for nearly every event while a few keys wait for a retry.
  static constexpr size_t blocked_buckets = 1024;
  std::array<uint32_t, blocked_buckets> blocked_{};
  int64_t retries_ = 0;
  int64_t given_up_ = 0;
  std::string whole_partition_;  // the block key of every event in strict mode
};

}  // namespace herald
