// The processed-event-id store of idempotent consumers: which event ids a group has applied on
// one partition. Bounded: it remembers the last `capacity` ids and forgets the oldest first.
//
// An open-addressing table (linear probing, backward-shift deletion) plus a ring of ids in
// insertion order: contains() and insert() cost a hash and a few probes and never allocate
// after construction. Owned by one member at a time (the partition's owner), so not
// thread-safe; group_ids hands the sets out.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "actors/assignor.hpp"
#include "messages/event_id.hpp"

namespace herald {

class processed_ids {
 public:
  explicit processed_ids(size_t capacity);

  bool contains(const event_id& id) const;
  /// Adds `id` (no-op if present), forgetting the oldest id when full.
  void insert(const event_id& id);
  size_t size() const { return size_; }
  size_t capacity() const { return ring_.size(); }
  /// The ids in insertion order, oldest first (for persisting them).
  std::vector<event_id> snapshot() const;

 private:
  size_t slot_of(const event_id& id) const;
  void erase(const event_id& id);

  std::vector<event_id> table_;  // empty slots hold the all-zero id (never a real id)
  size_t mask_;
  std::vector<event_id> ring_;
  size_t head_ = 0;  // next ring position to write
  size_t size_ = 0;
};

/// One group's processed-id sets, one per partition. Outlives the members (a restarted or new
/// owner of a partition gets the same set), so an event applied before a crash is not applied
/// again after it.
class group_ids {
 public:
  explicit group_ids(size_t capacity_per_partition) : capacity_(capacity_per_partition) {}
  std::shared_ptr<processed_ids> of(const topic_partition& tp);

 private:
  size_t capacity_;
  std::mutex mtx_;
  std::map<topic_partition, std::shared_ptr<processed_ids>> sets_;
};

}  // namespace herald
