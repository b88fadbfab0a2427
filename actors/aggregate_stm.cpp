#include "actors/aggregate_stm.hpp"

#include "messages/errors.hpp"

namespace herald {

caf::error emit_policy::validate() const {
  if (quiet.count() < 0 || interval.count() < 0)
    return make_error(errc::invalid_config, "emit_policy: quiet and interval must not be negative");
  if (!every_change && every_n == 0 && quiet.count() == 0 && interval.count() == 0 && !closing)
    return make_error(errc::invalid_config,
                      "emit_policy has no trigger: set every_change, every_n, quiet, interval or "
                      "closing, or nothing would ever be published");
  return caf::none;
}

aggregate_stm::aggregate_stm(emit_policy policy, std::unique_ptr<fold_table> table,
                             size_t id_window, const emitted_index* known)
    : policy_(std::move(policy)), table_(std::move(table)), ids_(id_window), known_(known) {}

aggregate_stm::outcome aggregate_stm::apply(const event_view& e, clock::time_point now,
                                            std::vector<emission>& out, caf::error& why) {
  if (next_.value >= 0 && e.offset() < next_) return outcome::seen;
  next_ = e.offset() + 1;
  if (ids_.contains(e.id())) return outcome::duplicate;
  auto folded = table_->fold(e);
  if (!folded) {
    why = std::move(folded.error());
    return outcome::rejected;
  }
  ids_.insert(e.id());
  auto& m = **folded;
  if (!m.seeded) {
    m.seeded = true;
    if (known_)
      if (auto it = known_->find(std::string{e.key()}); it != known_->end()) m.emitted = it->second;
  }
  ++m.version;
  m.source = e.offset();
  m.source_ms = e.time().value / 1'000'000;
  // A version at or below the mark is in the output topic already: this is a replay.
  if (m.version <= m.emitted) return outcome::applied;
  bool now_due = policy_.every_change ||
                 (policy_.every_n > 0 && m.version % policy_.every_n == 0) ||
                 (policy_.closing && policy_.closing(e));
  if (now_due) {
    emit(e.key(), m, out);
    return outcome::applied;
  }
  if (policy_.quiet.count() > 0)
    quiet_.push_back({now + policy_.quiet, std::string{e.key()}, m.version});
  if (policy_.interval.count() > 0 && !m.listed) {
    m.listed = true;
    listed_.emplace_back(e.key());
  }
  return outcome::applied;
}

void aggregate_stm::emit(std::string_view key, key_meta& m, std::vector<emission>& out) {
  out.push_back({std::string{key}, m.version, table_->render(key), m.source, m.source_ms});
  m.emitted = m.version;
}

void aggregate_stm::quiet_due(clock::time_point now, std::vector<emission>& out) {
  while (!quiet_.empty() && quiet_.front().due <= now) {
    auto q = std::move(quiet_.front());
    quiet_.pop_front();
    auto* m = table_->find(q.key);
    // A later change queued a later deadline of its own.
    if (m && m->version == q.version && m->version > m->emitted) emit(q.key, *m, out);
  }
}

void aggregate_stm::interval_tick(std::vector<emission>& out) {
  for (auto& key : listed_) {
    auto* m = table_->find(key);
    if (!m) continue;
    m->listed = false;
    if (m->version > m->emitted) emit(key, *m, out);
  }
  listed_.clear();
}

std::optional<aggregate_stm::clock::time_point> aggregate_stm::next_quiet() const {
  if (quiet_.empty()) return std::nullopt;
  return quiet_.front().due;
}

}  // namespace herald
