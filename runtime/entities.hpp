// Event-sourced entities, the public side (docs/EVENT_SOURCING.md).
//
// An entity type is a plain struct of static functions over a state and a command type:
//
//   struct account_entity {
//     using state = account;                          // copyable, default = no event yet
//     using command = std::variant<deposit, withdraw>;
//     static constexpr uint32_t state_version = 1;    // of encode()'s format
//     static caf::expected<std::vector<herald::entity_event>>
//     decide(const state&, const std::string& id, const command&);  // the command handler
//     static void apply(state&, const herald::event_view&);        // the event handler
//     static std::string encode(const state&);                     // for snapshots
//     static caf::expected<state> decode(std::string_view);
//   };
//
//   auto accounts = herald::entities<account_entity>::open(rt, {.topic = "accounts.events"});
//   auto r = accounts->execute("ACC-1", deposit{1000}, herald::expected_version::exactly(3));
//   auto s = accounts->state("ACC-1");        // {state, version, time}
//   auto past = accounts->state_at("ACC-1", 2);
//
// Handles are cheap to copy and thread-safe. Every call blocks its thread for one round trip
// to the entity (~0.1 ms plus the append's durability wait); a CAF actor reaches higher rates
// by sending entity_command to actor() itself, many in flight (bench/entities.cpp does).
#pragma once

#include <any>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <caf/actor.hpp>
#include <caf/expected.hpp>

#include "actors/entity.hpp"
#include "actors/restart_policy.hpp"
#include "messages/entity.hpp"

namespace herald {

class runtime;

struct entity_options {
  /// The event topic (key = entity id), created if missing. Required.
  std::string topic;
  /// Partitions when the topic is created here.
  int32_t partitions = 4;
  /// Snapshot an entity after this many new events; 0: no snapshots (rebuilds replay every
  /// event of the entity's partition).
  int64_t snapshot_every = 0;
  /// Snapshots kept per entity (older ones serve state_at() queries of the past).
  int32_t snapshots_kept = 2;
  /// An entity without commands or queries for this long is passivated (its actor stops;
  /// the next use rebuilds it). 0: never.
  std::chrono::milliseconds idle_timeout{60000};
  /// An append not acknowledged within this fails its commands and restarts the entity.
  std::chrono::milliseconds append_timeout{10000};
  /// Entity restarts (over all entities of the type) before the type is restarted.
  restart_intensity restarts{100, std::chrono::seconds{10}};
  backoff_policy restart_backoff{.initial = std::chrono::milliseconds{10},
                                 .multiplier = 2.0,
                                 .max = std::chrono::milliseconds{1000},
                                 .jitter = 0.2};
  /// Where snapshot files go. Empty: <data_dir>/@snapshots/<topic> when the runtime has a data
  /// directory, else in memory (gone with the process, like the memory log).
  std::string snapshot_dir;
};

/// An entity type without its C++ types: what entities<Def> is built on.
class entity_type_handle {
 public:
  /// Creates the topic if missing and starts the type's supervisor under the runtime's
  /// root supervisor. Errors: invalid_config (options), shutting_down, and the topic's.
  [[nodiscard]] static caf::expected<entity_type_handle> open(
      runtime& rt, std::shared_ptr<const entity_logic> logic, entity_options opts);

  [[nodiscard]] caf::expected<command_result> execute(entity_command cmd) const;
  /// Sends every command at once and waits for all answers (in input order): commands to
  /// different entities run in parallel, commands to one entity in order and group-committed.
  [[nodiscard]] std::vector<caf::expected<command_result>> execute_all(
      std::vector<entity_command> cmds) const;
  [[nodiscard]] caf::expected<entity_state> query(get_entity_state q) const;

  /// The type's supervisor now (a crash of it replaces it): send it entity_command and
  /// get_entity_state from an actor.
  caf::actor actor() const;
  /// The live actor of entity `id`, or an invalid handle when it is not active (tests, tools).
  [[nodiscard]] caf::expected<caf::actor> entity_actor(const std::string& id) const;
  /// Counters across the type's entities.
  const entity_probe& probe() const;
  /// The type's snapshots (tests and tools read them).
  const snapshot_store& snapshots() const;
  const std::string& topic() const;

 private:
  struct shared;
  std::shared_ptr<shared> s_;
};

/// A state with where it stands.
template <class S>
struct versioned {
  S state;
  int64_t version = 0;           ///< events applied; 0: the initial state
  timestamp time{0};             ///< time of the last event applied
  int64_t snapshot_version = 0;  ///< the snapshot the rebuild started from (0: none)
  int64_t events_replayed = 0;   ///< events the rebuild applied after it
};

/// Adapts an entity definition (see the file comment) to entity_logic.
template <class Def>
class entity_logic_of final : public entity_logic {
 public:
  using state_type = typename Def::state;
  using command_type = typename Def::command;

  std::any initial() const override { return state_type{}; }
  caf::expected<std::vector<entity_event>> decide(const std::any& s, const std::string& id,
                                                  const std::any& cmd) const override {
    return Def::decide(*std::any_cast<state_type>(&s), id, *std::any_cast<command_type>(&cmd));
  }
  void apply(std::any& s, const event_view& e) const override {
    Def::apply(*std::any_cast<state_type>(&s), e);
  }
  std::string encode(const std::any& s) const override {
    return Def::encode(*std::any_cast<state_type>(&s));
  }
  caf::expected<std::any> decode(std::string_view bytes) const override {
    auto s = Def::decode(bytes);
    if (!s) return std::move(s.error());
    return std::any{std::move(*s)};
  }
  uint32_t state_version() const override { return Def::state_version; }
};

template <class Def>
class entities {
 public:
  using state_type = typename Def::state;
  using command_type = typename Def::command;

  [[nodiscard]] static caf::expected<entities> open(runtime& rt, entity_options opts) {
    auto h =
        entity_type_handle::open(rt, std::make_shared<entity_logic_of<Def>>(), std::move(opts));
    if (!h) return std::move(h.error());
    return entities{std::move(*h)};
  }

  /// Runs `cmd` on entity `id`; with an expected version other than any(), only if the
  /// entity is at that version (else errc::version_conflict, nothing appended).
  [[nodiscard]] caf::expected<command_result> execute(
      const std::string& id, command_type cmd,
      expected_version expected = expected_version::any()) const {
    return h_.execute(entity_command{id, expected, std::any{std::move(cmd)}});
  }

  /// The current state (activates the entity).
  [[nodiscard]] caf::expected<versioned<state_type>> state(const std::string& id) const {
    return typed(h_.query(get_entity_state{id}));
  }
  /// The state after event `version` (errc::invalid_argument if the entity has not got there).
  [[nodiscard]] caf::expected<versioned<state_type>> state_at(const std::string& id,
                                                              int64_t version) const {
    return typed(h_.query(get_entity_state{id, version, timestamp{-1}, true}));
  }
  /// The state after the last event no later than `t`.
  [[nodiscard]] caf::expected<versioned<state_type>> state_at(const std::string& id,
                                                              timestamp t) const {
    return typed(h_.query(get_entity_state{id, -1, t, true}));
  }
  /// The current state rebuilt from every event, ignoring snapshots (checks and tools).
  [[nodiscard]] caf::expected<versioned<state_type>> replay(const std::string& id) const {
    return typed(h_.query(get_entity_state{id, -1, timestamp{-1}, false}));
  }

  entity_type_handle& handle() { return h_; }
  const entity_type_handle& handle() const { return h_; }

 private:
  explicit entities(entity_type_handle h) : h_(std::move(h)) {}

  static caf::expected<versioned<state_type>> typed(caf::expected<entity_state> s) {
    if (!s) return std::move(s.error());
    return versioned<state_type>{std::any_cast<state_type>(std::move(s->state)), s->version,
                                 s->time, s->snapshot_version, s->events_replayed};
  }

  entity_type_handle h_;
};

}  // namespace herald
