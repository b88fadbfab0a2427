#include "actors/processed_ids.hpp"

#include <bit>
#include <climits>
#include <cstdint>

namespace herald {

processed_ids::processed_ids(size_t capacity) {
  if (capacity == 0) capacity = 1;
  // Load factor <= 0.5 keeps probe sequences short.
  auto slots = std::bit_ceil(capacity * 2);
  table_.assign(slots, event_id{});
  mask_ = slots - 1;
  ring_.assign(capacity, event_id{});
}

size_t processed_ids::slot_of(const event_id& id) const {
  // Ids of one millisecond differ only in their low bits (ULID increments them), so without a
  // full mix consecutive ids take consecutive slots: long clusters that every probe and every
  // backward-shift deletion walks (measured: 19% of the aggregator's time). fmix64 of
  // MurmurHash3 spreads them.
  uint64_t h = id.lo ^ (id.hi * 0x9E3779B97F4A7C15ull);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return static_cast<size_t>(h) & mask_;
}

bool processed_ids::contains(const event_id& id) const {
  if (id.empty()) return false;
  for (size_t i = slot_of(id);; i = (i + 1) & mask_) {
    if (table_[i] == id) return true;
    if (table_[i].empty()) return false;
  }
}

void processed_ids::insert(const event_id& id) {
  if (id.empty() || contains(id)) return;
  if (size_ == ring_.size()) {
    erase(ring_[head_]);
    --size_;
  }
  ring_[head_] = id;
  head_ = (head_ + 1) % ring_.size();
  ++size_;
  if (unsaved_ < ring_.size()) ++unsaved_;
  size_t i = slot_of(id);
  while (!table_[i].empty()) i = (i + 1) & mask_;
  table_[i] = id;
}

void processed_ids::erase(const event_id& id) {
  size_t i = slot_of(id);
  while (!(table_[i] == id)) {
    if (table_[i].empty()) return;
    i = (i + 1) & mask_;
  }
  // Backward-shift deletion: move later entries of the probe run into the hole, so lookups
  // never need tombstones.
  size_t hole = i;
  for (size_t j = (i + 1) & mask_; !table_[j].empty(); j = (j + 1) & mask_) {
    size_t home = slot_of(table_[j]);
    // Can table_[j] move to `hole`? Only if its home is not in (hole, j] cyclically.
    bool in_between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (!in_between) {
      table_[hole] = table_[j];
      hole = j;
    }
  }
  table_[hole] = event_id{};
}

std::vector<event_id> processed_ids::snapshot() const {
  std::vector<event_id> out;
  out.reserve(size_);
  size_t start = (head_ + ring_.size() - size_) % ring_.size();
  for (size_t k = 0; k < size_; ++k) out.push_back(ring_[(start + k) % ring_.size()]);
  return out;
}

std::vector<event_id> processed_ids::unsaved_ids() const {
  auto n = unsaved();
  std::vector<event_id> out;
  out.reserve(n);
  size_t start = (head_ + ring_.size() - n) % ring_.size();
  for (size_t k = 0; k < n; ++k) out.push_back(ring_[(start + k) % ring_.size()]);
  return out;
}

std::shared_ptr<processed_ids> group_ids::of(const topic_partition& tp) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& p = sets_[tp];
  if (!p) {
    p = std::make_shared<processed_ids>(capacity_);
    if (store_) {
      // What the group applied on this partition before the runtime (re)started.
      for (auto& id : store_->processed(group_, tp.topic, tp.partition)) p->insert(id);
      p->mark_saved();
    }
  }
  return p;
}

caf::error group_ids::save(const topic_partition& tp, processed_ids& set) {
  if (!store_ || set.unsaved() == 0) return caf::none;
  auto window = static_cast<uint32_t>(std::min<size_t>(set.capacity(), UINT32_MAX));
  // On failure the ids stay unsaved: the next commit tries again.
  if (auto err = store_->save_processed(group_, tp.topic, tp.partition, set.unsaved_ids(), window))
    return err;
  set.mark_saved();
  return caf::none;
}

}  // namespace herald
