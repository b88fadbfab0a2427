#include "actors/retry_stm.hpp"

namespace herald {

retry_stm::retry_stm(retry_options opts, uint64_t seed) : opts_(std::move(opts)), rng_(seed) {}

size_t retry_stm::bucket(std::string_view block_key) {
  return std::hash<std::string_view>{}(block_key) % blocked_buckets;
}

std::string_view retry_stm::block_key(std::string_view key) const {
  return opts_.strict_order ? whole_partition_ : key;
}

bool retry_stm::admit(offset off, std::string_view key, const record_ref& ref) {
  // The common case, nothing failing: no lookup, no allocation. An event that runs at once
  // finishes (or fails and is recorded by failed()) before the member asks for a commit point.
  if (heads_.empty()) return true;
  auto bk = block_key(key);
  if (blocked_[bucket(bk)] == 0) return true;  // no head for this key, so no queue either
  auto q = queues_.find(bk);
  if (heads_.find(bk) != heads_.end() || (q != queues_.end() && !q->second.empty())) {
    unfinished_.insert(off);
    if (q == queues_.end()) q = queues_.emplace(std::string{bk}, std::deque<waiting>{}).first;
    q->second.push_back(waiting{off, std::string{key}, ref});
    return false;
  }
  return true;
}

std::optional<retry_stm::waiting> retry_stm::finish(offset off, std::string_view key) {
  // Only failed and queued events are tracked; a queue never outlives its key's head.
  if (heads_.empty()) return std::nullopt;
  auto bk = block_key(key);
  if (blocked_[bucket(bk)] == 0) return std::nullopt;  // an event that ran freely
  unfinished_.erase(off);
  auto h = heads_.find(bk);
  if (h != heads_.end() && h->second.w.off == off) {
    heads_.erase(h);
    --blocked_[bucket(bk)];
  }
  if (heads_.find(bk) != heads_.end()) return std::nullopt;  // another event still blocks the key
  auto q = queues_.find(bk);
  if (q == queues_.end() || q->second.empty()) {
    if (q != queues_.end()) queues_.erase(q);
    return std::nullopt;
  }
  // The next queued event becomes the running head: the key stays blocked while it runs.
  auto next = std::move(q->second.front());
  q->second.pop_front();
  heads_.insert_or_assign(std::string{bk}, head_state{next, phase::running});
  ++blocked_[bucket(bk)];
  return next;
}

std::optional<retry_stm::waiting> retry_stm::succeeded(offset off, std::string_view key) {
  return finish(off, key);
}

std::optional<retry_stm::waiting> retry_stm::dead_lettered(offset off, std::string_view key) {
  return finish(off, key);
}

retry_stm::outcome retry_stm::failed(offset off, std::string_view key, const record_ref& ref,
                                     std::string error, clock::time_point now) {
  auto bk = block_key(key);
  auto it = heads_.find(bk);
  if (it == heads_.end()) {
    it = heads_.emplace(std::string{bk}, head_state{}).first;
    ++blocked_[bucket(bk)];
  }
  auto& h = it->second;
  if (h.w.off != off || h.w.attempts == 0) {
    // First failure of an event that ran freely.
    h = head_state{waiting{off, std::string{key}, ref}, phase::running};
    h.w.first_failure = timestamp::now();
    unfinished_.insert(off);
  }
  ++h.w.attempts;
  h.w.last_failure = timestamp::now();
  h.w.last_error = std::move(error);
  if (h.w.attempts >= opts_.max_attempts) {
    h.ph = phase::dead_lettering;
    ++given_up_;
    return outcome::give_up;
  }
  h.ph = phase::parked;
  h.w.due = now + opts_.backoff.delay(h.w.attempts, rng_);
  ++retries_;
  return outcome::retry_later;
}

std::optional<retry_stm::waiting> retry_stm::next_due(clock::time_point now) {
  head_state* best = nullptr;
  for (auto& [bk, h] : heads_)
    if (h.ph == phase::parked && h.w.due <= now && (!best || h.w.due < best->w.due)) best = &h;
  if (!best) return std::nullopt;
  best->ph = phase::running;
  return best->w;
}

std::optional<retry_stm::clock::time_point> retry_stm::earliest_due() const {
  std::optional<clock::time_point> out;
  for (auto& [bk, h] : heads_)
    if (h.ph == phase::parked && (!out || h.w.due < *out)) out = h.w.due;
  return out;
}

const retry_stm::waiting* retry_stm::head(std::string_view key) const {
  auto it = heads_.find(block_key(key));
  return it == heads_.end() ? nullptr : &it->second.w;
}

offset retry_stm::commit_point(offset delivered_next) const {
  return unfinished_.empty() ? delivered_next : *unfinished_.begin();
}

size_t retry_stm::parked() const {
  size_t n = 0;
  for (auto& [bk, h] : heads_) n += h.ph == phase::parked;
  return n;
}

size_t retry_stm::queued() const {
  size_t n = 0;
  for (auto& [bk, q] : queues_) n += q.size();
  return n;
}

}  // namespace herald
