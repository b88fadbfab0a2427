// Messages of event-sourced entities (docs/EVENT_SOURCING.md): commands to an entity, what
// they answer, state queries, and the passivation handshake between an entity and its
// supervisor. Commands and states carry the user's own C++ values in std::any, so these
// messages stay inside one process (like start_child); command_result crosses as data.
#pragma once

#include <any>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>

#include "messages/event.hpp"
#include "messages/ids.hpp"

namespace herald {

/// The header that numbers an entity's events: 1 for its first event, then 2, 3, ... It is
/// what makes a replay exact (duplicates and gaps are visible) and keeps the payload the
/// user's alone.
inline constexpr std::string_view entity_version_header = "herald.entity.version";

/// The entity version an event carries, if it carries a valid one.
inline std::optional<int64_t> entity_version_of(const event_view& e) {
  auto h = e.header(entity_version_header);
  if (!h) return std::nullopt;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(h->data(), h->data() + h->size(), v);
  if (ec != std::errc{} || end != h->data() + h->size() || v < 1) return std::nullopt;
  return v;
}

/// Which version a command expects its entity to be at (optimistic concurrency).
struct expected_version {
  int64_t value = -1;  ///< -1: any version; 0: the entity has no event yet; n: exactly n

  static constexpr expected_version any() { return {-1}; }
  static constexpr expected_version none() { return {0}; }
  static constexpr expected_version exactly(int64_t v) { return {v}; }
  constexpr bool is_any() const { return value < 0; }
};

/// An event a command handler decided on: its type and JSON payload. The entity adds the
/// key (its id), the version header and the time when it appends it.
struct entity_event {
  std::string type;
  std::string payload;
};

/// Client -> entity supervisor -> entity: run `command` on entity `id`.
/// -> command_result, or errc::version_conflict, errc::command_rejected (or another error
/// the command handler returned), errc::storage_failure, errc::timeout.
struct entity_command {
  std::string id;
  expected_version expected;
  std::any command;  ///< a value of the entity type's command type
};

/// What a command did. An accepted command that decided no event has events == 0.
struct command_result {
  std::string id;
  int64_t version = 0;  ///< the entity's version after the command
  int32_t events = 0;   ///< events the command appended
  partition_id partition{-1};
  offset first{-1};  ///< offset of the first appended event; -1 when none

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, command_result& x) {
    return f(caf::meta::type_name("command_result"), x.id, x.version, x.events, x.partition,
             x.first);
  }
};

/// -> entity_state: the state of entity `id` now, or as of a version or a time (the state
/// after its last event with version <= max_version and time <= max_time).
struct get_entity_state {
  std::string id;
  int64_t max_version = -1;   ///< -1: no limit
  timestamp max_time{-1};     ///< -1: no limit
  bool use_snapshots = true;  ///< false: replay every event from the start of the log

  bool is_current() const { return max_version < 0 && max_time.value < 0 && use_snapshots; }
};

struct entity_state {
  std::string id;
  int64_t version = 0;           ///< 0: no event yet (the initial state)
  timestamp time{0};             ///< time of the last event applied
  std::any state;                ///< a value of the entity type's state type
  int64_t snapshot_version = 0;  ///< version of the snapshot the rebuild started from (0: none)
  int64_t events_replayed = 0;   ///< events applied while rebuilding it
};

/// Entity -> its supervisor: idle for its idle timeout. The supervisor stops routing to it
/// and answers passivate_ok_atom; commands routed before arrive first, later ones wait in the
/// supervisor until the entity has stopped.
struct passivate_request {
  std::string id;
};

/// Where an entity's events lie in its partition, as far as its supervisor knows: from the
/// offset of its first event to that of its last. Exact while no actor of the entity runs or
/// after one stopped cleanly; after a crash only `first` is known (the actor may have
/// appended before it died), and a rebuild reads on to the log end.
struct entity_span {
  offset first{-1};
  offset last{-1};
  bool exact = false;
};

/// Entity -> its supervisor, as the last thing before it stops after passivation: where its
/// events are now.
struct entity_passivated {
  std::string id;
  entity_span span;
};

/// -> caf::actor: the live actor of entity `id`, or an invalid handle (tests and tools).
struct get_entity_actor {
  std::string id;
};

using passivate_ok_atom = caf::atom_constant<caf::atom("h_passok")>;
/// An entity's timers: the idle check, and the watchdog of its append in flight.
using idle_tick_atom = caf::atom_constant<caf::atom("h_idle")>;
using append_timeout_atom = caf::atom_constant<caf::atom("h_appto")>;

}  // namespace herald

// std::any holds the user's types: these messages never leave the process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herald::entity_command)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herald::get_entity_state)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herald::entity_state)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herald::passivate_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herald::entity_passivated)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herald::get_entity_actor)
