#include "actors/processed_ids.hpp"

#include <bit>
#include <climits>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace herald {

processed_ids::processed_ids(size_t capacity) {
  if (capacity == 0) capacity = 1;
  if (capacity > max_capacity)
    throw std::invalid_argument("idempotence window of " + std::to_string(capacity) +
                                " ids is over the limit of 2^32: choose a smaller one");
  index_bits_ = static_cast<unsigned>(std::bit_width(capacity - 1));
  // Load factor <= 1/2 keeps linear probe runs short; slots are 8 bytes, so runs stay within
  // a cache line or two.
  table_ = huge_array<uint64_t>{capacity * 2 + 1};
  ring_.assign(capacity, event_id{});
}

uint64_t processed_ids::fingerprint(const event_id& id) const {
  // Ids made within one millisecond differ by one in `lo` (ULID monotonic increment): mix
  // every bit (splitmix64's finaliser) so neighbours land far apart.
  uint64_t h = id.lo ^ (id.hi * 0x9E3779B97F4A7C15ull);
  h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ull;
  h = (h ^ (h >> 27)) * 0x94D049BB133111EBull;
  h ^= h >> 31;
  uint64_t fp = h >> index_bits_;
  return fp == 0 ? 1 : fp;
}

namespace {
__extension__ using uint128 = unsigned __int128;  // GCC and clang have it; -Wpedantic does not
}  // namespace

size_t processed_ids::home(uint64_t fp) const {
  // The fingerprint's top bits scaled to the table size (Lemire's fast range): no modulo, and
  // the home of a stored entry is computable from the entry alone (backward shift needs it).
  auto top = static_cast<uint128>(fp << index_bits_);
  return static_cast<size_t>((top * table_.size()) >> 64);
}

bool processed_ids::contains(const event_id& id) const {
  if (id.empty()) return false;
  auto fp = fingerprint(id);
  auto mask = (uint64_t{1} << index_bits_) - 1;
  for (size_t i = home(fp);; i = next_slot(i)) {
    auto e = table_[i];
    if (e == 0) return false;
    if ((e >> index_bits_) == fp && ring_[e & mask] == id) return true;
  }
}

void processed_ids::insert(const event_id& id) {
  if (id.empty() || contains(id)) return;
  if (size_ == ring_.size()) {
    erase(fingerprint(ring_[head_]), head_);
    --size_;
  }
  ring_[head_] = id;
  auto fp = fingerprint(id);
  size_t i = home(fp);
  while (table_[i] != 0) i = next_slot(i);
  table_[i] = (fp << index_bits_) | head_;
  head_ = head_ + 1 == ring_.size() ? 0 : head_ + 1;
  ++size_;
  if (unsaved_ < ring_.size()) ++unsaved_;
}

void processed_ids::prefetch_evictions(size_t evictions) const {
  if (size_ < ring_.size()) return;  // not full: insert() forgets nothing
  evictions = std::min(evictions, ring_.size());
  for (size_t k = 0, i = head_; k < evictions; ++k, i = i + 1 == ring_.size() ? 0 : i + 1)
    __builtin_prefetch(&table_[home(fingerprint(ring_[i]))], 1);
}

void processed_ids::erase(uint64_t fp, size_t pos) {
  auto entry = (fp << index_bits_) | pos;
  size_t i = home(fp);
  while (table_[i] != entry) {
    if (table_[i] == 0) return;
    i = next_slot(i);
  }
  // Backward-shift deletion: move later entries of the probe run into the hole, so lookups
  // never need tombstones.
  size_t hole = i;
  for (size_t j = next_slot(i); table_[j] != 0; j = next_slot(j)) {
    size_t h = home(table_[j] >> index_bits_);
    // Can table_[j] move to `hole`? Only if its home is not in (hole, j] cyclically.
    bool in_between = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j);
    if (!in_between) {
      table_[hole] = table_[j];
      hole = j;
    }
  }
  table_[hole] = 0;
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
