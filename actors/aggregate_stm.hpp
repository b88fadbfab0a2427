// The aggregator's logic for one input partition, without actors: folds events into per-key
// state, numbers each key's versions, skips what it has folded before (by offset and by event
// id) and decides which versions to emit under an emit_policy. The aggregator actor
// (actors/aggregator.hpp) drives one per partition and owns it; tests drive it directly.
//
// Versions make outputs and inputs consistent: a key's version is the number of its input
// events folded so far, a function of the partition's log alone. Replaying the log from its
// start rebuilds the same states with the same versions, and a version is emitted only when
// it is above the key's `emitted` mark (seeded from the output topic at start), so a rebuild
// emits exactly the versions that never reached the output topic. docs/AGGREGATOR.md.
//
// Cost per event: one hash lookup of the key, one in the processed-id set, the fold, no
// allocation for a key seen before under every_change/every_n/interval (quiet keeps one key
// copy per change in its deadline queue).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/processed_ids.hpp"
#include "messages/event.hpp"

namespace herald {

/// When an aggregator publishes a key's state. Triggers combine: any one that fires emits.
struct emit_policy {
  bool every_change = false;              ///< after every folded event
  uint32_t every_n = 0;                   ///< when the key's version is a multiple of n (0: off)
  std::chrono::milliseconds quiet{0};     ///< once the key had no change for this long (0: off)
  std::chrono::milliseconds interval{0};  ///< every T, each key that changed since (0: off)
  /// A closing event (e.g. CheckedOut): emit at once when it returns true. Null: off.
  std::function<bool(const event_view&)> closing;

  static emit_policy on_change() { return {.every_change = true}; }
  static emit_policy every(uint32_t n) { return {.every_n = n}; }
  static emit_policy after_quiet(std::chrono::milliseconds d) { return {.quiet = d}; }
  static emit_policy periodic(std::chrono::milliseconds t) { return {.interval = t}; }

  /// At least one trigger, none negative.
  [[nodiscard]] caf::error validate() const;
};

/// What the aggregator knows about one key besides its state.
struct key_meta {
  uint64_t version = 0;   ///< input events of the key folded so far
  uint64_t emitted = 0;   ///< highest version in (or on its way to) the output topic
  offset source{-1};      ///< input offset of the last folded event
  int64_t source_ms = 0;  ///< that event's time (ms since the epoch): the output id's time part
  bool seeded = false;    ///< `emitted` was read from the index of already emitted versions
  bool listed = false;    ///< in the list of keys the next interval tick emits
};

/// The per-key states of one partition. Type-erased so that the aggregator actor is not a
/// template; basic_fold_table is the usual implementation.
class fold_table {
 public:
  virtual ~fold_table() = default;
  /// Folds `e` into the state of its key (created on first use) and returns the key's meta.
  /// An error means bad input: the key's state is as it was.
  virtual caf::expected<key_meta*> fold(const event_view& e) = 0;
  virtual key_meta* find(std::string_view key) = 0;
  /// The output payload for `key`'s current state and version.
  virtual std::string render(std::string_view key) const = 0;
  virtual size_t size() const = 0;
};

/// A fold_table over `State`: `fold(state, event)` must leave the state unchanged when it
/// returns an error; `render(key, state, meta)` makes the output payload.
template <class State>
class basic_fold_table final : public fold_table {
 public:
  using fold_fn = std::function<caf::error(State&, const event_view&)>;
  using render_fn = std::function<std::string(std::string_view, const State&, const key_meta&)>;

  basic_fold_table(fold_fn fold, render_fn render)
      : fold_(std::move(fold)), render_(std::move(render)) {}

  caf::expected<key_meta*> fold(const event_view& e) override {
    auto it = map_.find(e.key());
    if (it == map_.end()) it = map_.emplace(std::string{e.key()}, entry{}).first;
    if (auto err = fold_(it->second.state, e)) return err;
    return &it->second.meta;
  }
  key_meta* find(std::string_view key) override {
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : &it->second.meta;
  }
  std::string render(std::string_view key) const override {
    auto it = map_.find(key);
    return it == map_.end() ? std::string{} : render_(key, it->second.state, it->second.meta);
  }
  size_t size() const override { return map_.size(); }
  /// The state of `key`, or null (tests, queries).
  const State* state(std::string_view key) const {
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : &it->second.state;
  }

 private:
  struct entry {
    State state;
    key_meta meta;
  };
  struct hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  fold_fn fold_;
  render_fn render_;
  std::unordered_map<std::string, entry, hash, std::equal_to<>> map_;
};

/// Highest version already in the output topic, per key (read at the aggregator's start).
using emitted_index = std::unordered_map<std::string, uint64_t>;

/// One output the policy asks for: the key's state rendered at `version`.
struct emission {
  std::string key;
  uint64_t version = 0;
  std::string payload;
  offset source;  ///< the input offset that made this version
  int64_t source_ms = 0;
};

class aggregate_stm {
 public:
  using clock = std::chrono::steady_clock;

  enum class outcome : uint8_t {
    applied,    ///< folded: a new version of its key
    seen,       ///< offset below next(): folded before (a redelivery)
    duplicate,  ///< an event id folded before at another offset (a producer retry, a redrive)
    rejected,   ///< bad input: the fold refused it; the caller dead-letters it
  };

  /// `known` (may be null) outlives the stm.
  aggregate_stm(emit_policy policy, std::unique_ptr<fold_table> table, size_t id_window,
                const emitted_index* known);

  /// Folds `e` (events of one partition, in offset order). Emissions due now are appended to
  /// `out`; for outcome::rejected, `why` says what is wrong with the event.
  outcome apply(const event_view& e, clock::time_point now, std::vector<emission>& out,
                caf::error& why);

  /// Emits the keys whose quiet period ended by `now`.
  void quiet_due(clock::time_point now, std::vector<emission>& out);
  /// Emits every key that changed since the previous tick (interval policy).
  void interval_tick(std::vector<emission>& out);
  std::optional<clock::time_point> next_quiet() const;
  bool has_listed() const { return !listed_.empty(); }
  /// Changes waiting for a timer: listed keys plus queued quiet deadlines.
  size_t pending() const { return listed_.size() + quiet_.size(); }

  /// The next offset to fold; -1 before the first event.
  offset next() const { return next_; }
  /// After a rebuild read the log up to `o`: nothing below it is left to fold (the log may
  /// have had nothing there, or retention deleted it).
  void skip_to(offset o) {
    if (next_ < o) next_ = o;
  }
  const fold_table& table() const { return *table_; }
  fold_table& table() { return *table_; }

 private:
  void emit(std::string_view key, key_meta& m, std::vector<emission>& out);

  struct quiet_entry {
    clock::time_point due;
    std::string key;
    uint64_t version;
  };
  emit_policy policy_;
  std::unique_ptr<fold_table> table_;
  processed_ids ids_;
  const emitted_index* known_;
  offset next_{-1};
  std::deque<quiet_entry> quiet_;  // in due order: the quiet period is the same for all keys
  std::vector<std::string> listed_;
};

}  // namespace herald
