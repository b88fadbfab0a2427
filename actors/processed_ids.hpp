// The processed-event-id store of idempotent consumers: which event ids a group has applied on
// one partition. Bounded: it remembers the last `capacity` ids and forgets the oldest first.
// With a data directory, group_ids saves the ids to the offset store when the member commits
// (not per event) and seeds each set from it, so a runtime restarted on the directory does
// not apply again what it applied before (docs/STORAGE.md, "Processed ids").
//
// An open-addressing table (linear probing, backward-shift deletion) plus a ring of ids in
// insertion order. A table slot is 8 bytes: a fingerprint of the id (the high bits of its
// hash) and its ring index; the ring holds the id itself, read only when a fingerprint
// matches, so a lookup costs one cache line of the table and never allocates. Compact on
// purpose: a member probes it twice per event (lookup, eviction of the oldest) at random, and
// a table that stays in the cache is what keeps idempotence cheap (see bench/RESULTS.md, W6).
// Owned by one member at a time (the partition's owner), so not thread-safe; group_ids hands
// the sets out.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "actors/assignor.hpp"
#include "base/huge_array.hpp"
#include "messages/event_id.hpp"
#include "storage/offset_store.hpp"

namespace herald {

class processed_ids {
 public:
  /// The most ids one set remembers (the ring index must fit beside a fingerprint).
  static constexpr size_t max_capacity = size_t{1} << 32;

  /// Throws std::invalid_argument above max_capacity.
  explicit processed_ids(size_t capacity);

  bool contains(const event_id& id) const;
  /// Starts loading the memory contains(id) and insert(id) will touch, and that of the next
  /// `evictions` ids insert() will forget. A member calls it for a whole delivery before
  /// running it, so the table's cache misses overlap instead of stalling each event in turn.
  void prefetch(const event_id& id) const { __builtin_prefetch(&table_[home(fingerprint(id))], 1); }
  void prefetch_evictions(size_t evictions) const;
  /// Adds `id` (no-op if present), forgetting the oldest id when full.
  void insert(const event_id& id);
  size_t size() const { return size_; }
  size_t capacity() const { return ring_.size(); }
  /// The ids in insertion order, oldest first (for persisting them).
  std::vector<event_id> snapshot() const;
  /// How many ids were inserted since the last mark_saved() and are still held (at most
  /// size()), and which, oldest first.
  size_t unsaved() const { return std::min(unsaved_, size_); }
  std::vector<event_id> unsaved_ids() const;
  void mark_saved() { unsaved_ = 0; }

 private:
  uint64_t fingerprint(const event_id& id) const;
  size_t home(uint64_t fp) const;
  size_t next_slot(size_t i) const { return i + 1 == table_.size() ? 0 : i + 1; }
  /// Removes the entry of ring position `pos` (whose id has fingerprint `fp`).
  void erase(uint64_t fp, size_t pos);

  // Slot = fingerprint << index_bits_ | ring index; 0 is an empty slot (fingerprints are never
  // 0).
  huge_array<uint64_t> table_;
  unsigned index_bits_ = 0;
  std::vector<event_id> ring_;
  size_t head_ = 0;  // next ring position to write
  size_t size_ = 0;
  size_t unsaved_ = 0;  // inserted since the last mark_saved()
};

/// One group's processed-id sets, one per partition. Outlives the members (a restarted or new
/// owner of a partition gets the same set), so an event applied before a member crash is not
/// applied again after it. With a `store` (the runtime has a data directory) the sets also
/// outlive the process: of() seeds a set from the ids saved for the group and partition, and
/// save() writes what the owner applied since its last save.
class group_ids {
 public:
  explicit group_ids(size_t capacity_per_partition, std::string group = {},
                     std::shared_ptr<offset_store> store = nullptr)
      : capacity_(capacity_per_partition), group_(std::move(group)), store_(std::move(store)) {}
  std::shared_ptr<processed_ids> of(const topic_partition& tp);
  /// Writes the ids `set` got since its last save (called by the partition's owner before it
  /// commits, so the ids are in the file before the offset that covers their events).
  /// No-op without a store or without new ids.
  [[nodiscard]] caf::error save(const topic_partition& tp, processed_ids& set);
  bool durable() const { return store_ != nullptr; }

 private:
  size_t capacity_;
  std::string group_;
  std::shared_ptr<offset_store> store_;
  std::mutex mtx_;
  std::map<topic_partition, std::shared_ptr<processed_ids>> sets_;
};

}  // namespace herald
