#include "bench/faults.hpp"

#include <charconv>
#include <optional>

namespace herald::bench {

namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

std::optional<uint64_t> parse_seq(std::optional<std::string_view> text) {
  if (!text) return std::nullopt;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc{} || end != text->data() + text->size()) return std::nullopt;
  return v;
}

void bump(uint8_t& counter) {
  if (counter < 255) ++counter;
}

}  // namespace

fate fate_of(uint64_t seq) {
  auto h = splitmix64(seq) % 1000;
  if (h == 0) return fate::always_fails;
  if (h <= 10) return fate::fails_twice;
  return fate::succeeds;
}

fault_plan plan_for(uint64_t n) {
  fault_plan p;
  for (uint64_t i = 0; i < n; ++i) {
    switch (fate_of(i)) {
      case fate::fails_twice:
        ++p.fails_twice;
        break;
      case fate::always_fails:
        ++p.always_fails;
        break;
      case fate::succeeds:
        break;
    }
  }
  return p;
}

fault_ledger::fault_ledger(uint64_t n) : n_(n), calls_(n), applied_(n), dead_(n) {}

caf::error fault_ledger::handle(const event_view& e, handler_context& ctx) {
  auto seq = parse_seq(e.header(seq_header));
  if (!seq || *seq >= n_) {
    ++bad_seq_;
    return caf::none;
  }
  bump(calls_[*seq]);
  auto f = fate_of(*seq);
  if (f == fate::always_fails)
    return make_error(errc::handler_failed, "W6: this event always fails");
  if (f == fate::fails_twice && ctx.attempt() <= 2)
    return make_error(errc::handler_failed, "W6: this event fails its first two attempts");
  bump(applied_[*seq]);
  hist_.record(steady_ns() - read_ts_ns(e.payload()));
  return caf::none;
}

void fault_ledger::dead_lettered(const event& original) {
  auto seq = parse_seq(original.header(seq_header));
  if (!seq || *seq >= n_) {
    ++bad_seq_;
    return;
  }
  bump(dead_[*seq]);
}

fault_ledger::verdict fault_ledger::check() const {
  verdict v;
  v.bad_seq = bad_seq_;
  for (uint64_t i = 0; i < n_; ++i) {
    if (applied_[i] > 0) ++v.applied;
    if (applied_[i] > 1) ++v.applied_twice;
    if (calls_[i] > 1) ++v.retried;
    v.dead_lettered += dead_[i];
    if (dead_[i] > 0 && fate_of(i) != fate::always_fails) ++v.wrong_dead;
    if (applied_[i] == 0 && dead_[i] == 0) ++v.lost;
  }
  return v;
}

}  // namespace herald::bench
