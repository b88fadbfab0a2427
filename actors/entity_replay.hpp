// Rebuilding one entity from its partition, as a state machine without actors: the entity
// actor feeds it the read results of its partition (from the log start, or from a snapshot's
// offset) and it applies the entity's own events, in version order, until the log end or a
// version or time limit. Tested alone in tests/actors/entity_replay_test.cpp.
//
// Which records count: the key must be the entity's id and the record must carry the
// herald.entity.version header. A version at or below the current one is a duplicate and is
// skipped; a version that jumps (current + 2 or more) means events are missing from the log
// and the replay fails with errc::storage_failure rather than build a wrong state.
#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>

#include "messages/entity.hpp"
#include "messages/errors.hpp"
#include "messages/partition.hpp"
#include "messages/record_batch.hpp"

namespace herald {

class entity_replay {
 public:
  struct limits {
    int64_t max_version = -1;  ///< -1: no limit
    timestamp max_time{-1};    ///< -1: no limit
  };

  /// Starts after version `version` (0, or a snapshot's) at log offset `from`, and ends at
  /// `end` when the entity's events are known to end before it (-1: at the log end as of the
  /// first read).
  entity_replay(std::string id, std::string topic, limits lim, int64_t version, offset from,
                offset end = offset{-1})
      : id_(std::move(id)),
        topic_(std::move(topic)),
        limits_(lim),
        version_(version),
        next_(from),
        end_(end) {
    done_ = end_.value >= 0 && next_ >= end_;
  }

  /// The offset to read next.
  offset next() const { return next_; }
  bool done() const { return done_; }
  int64_t version() const { return version_; }
  timestamp last_time() const { return last_time_; }
  offset last_offset() const { return last_offset_; }
  offset first_applied() const { return first_applied_; }
  /// Records left before the known end (-1: unknown).
  int64_t remaining() const { return end_.value >= 0 ? end_ - next_ : -1; }
  int64_t applied() const { return applied_; }
  int64_t duplicates() const { return duplicates_; }
  int64_t foreign() const { return foreign_; }    ///< this key's records without a version
  int64_t records_read() const { return read_; }  ///< every record fed, any key

  /// Sets the position after the snapshot's last event.
  void resume_after(int64_t version, offset last, timestamp time) {
    version_ = version;
    last_offset_ = last;
    last_time_ = time;
  }

  /// Moves the read position (to the log start when records before it are gone).
  void seek(offset from) { next_ = from; }

  /// Applies the entity's events of `r` through `apply(const event_view&)` and advances.
  /// Done when the read reached the log end or a limit. An exception from `apply` passes
  /// through (the entity fails and is restarted).
  template <class F>
  [[nodiscard]] caf::error feed(const read_result& r, partition_id p, F&& apply) {
    event_view v;
    for (auto& s : r.slices) {
      batch_cursor cur{s, topic_, p};
      while (!cur.done()) {
        cur.next(v);
        ++read_;
        if (v.key() != id_) continue;
        auto ver = entity_version_of(v);
        if (!ver) {
          ++foreign_;
          continue;
        }
        if (*ver <= version_) {
          ++duplicates_;
          continue;
        }
        if (*ver != version_ + 1) return gap(*ver, v.offset());
        if ((limits_.max_version >= 0 && *ver > limits_.max_version) ||
            (limits_.max_time.value >= 0 && v.time() > limits_.max_time)) {
          done_ = true;
          return caf::none;
        }
        apply(static_cast<const event_view&>(v));
        if (first_applied_.value < 0) first_applied_ = v.offset();
        version_ = *ver;
        last_offset_ = v.offset();
        last_time_ = v.time();
        ++applied_;
      }
    }
    // The end as of the first read is the end of this entity's events: only the entity
    // appends them, and it appends nothing while it rebuilds. Reading on to a later end would
    // chase the other entities' appends. An empty read before the end would read the same
    // place again: the log has a hole there that reads cannot cross.
    if (end_.value < 0) end_ = r.end;
    if (r.slices.empty() || r.next >= end_) done_ = true;
    next_ = r.next;
    return caf::none;
  }

 private:
  caf::error gap(int64_t found, offset at) const;

  std::string id_;
  std::string topic_;
  limits limits_;
  int64_t version_ = 0;
  offset next_{0};
  offset end_{-1};
  offset last_offset_{-1};
  offset first_applied_{-1};
  timestamp last_time_{0};
  bool done_ = false;
  int64_t applied_ = 0;
  int64_t duplicates_ = 0;
  int64_t foreign_ = 0;
  int64_t read_ = 0;
};

}  // namespace herald
