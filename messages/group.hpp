// Consumer groups: membership (member <-> coordinator), assignment, delivery with credit
// (partition <-> member) and offset commits (member -> coordinator). docs/ARCHITECTURE.md
// draws the sequence.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/sec.hpp>

#include "messages/ids.hpp"
#include "messages/record_batch.hpp"
#include "messages/topic.hpp"

namespace herald {

/// Where a group starts reading a partition it has no committed offset for.
struct start_position {
  enum class kind : uint8_t { earliest = 0, latest = 1, at_offset = 2, at_time = 3 };
  kind from = kind::earliest;
  int64_t value = 0;  ///< the offset, or the timestamp (ns since the Unix epoch)

  static start_position earliest() { return {kind::earliest, 0}; }
  static start_position latest() { return {kind::latest, 0}; }
  static start_position at(offset o) { return {kind::at_offset, o.value}; }
  static start_position at(timestamp t) { return {kind::at_time, t.value}; }

  friend bool operator==(const start_position&, const start_position&) = default;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, start_position& x) {
    auto k = static_cast<uint8_t>(x.from);
    auto restore = caf::meta::load_callback([&]() -> caf::error {
      if (k > 3) return caf::make_error(caf::sec::invalid_argument, "start_position kind");
      x.from = static_cast<kind>(k);
      return caf::none;
    });
    return f(caf::meta::type_name("start_position"), k, x.value, restore);
  }
};

std::string to_string(const start_position& x);

// -- membership (member -> coordinator) -------------------------------------------------------

/// -> ok_atom, or errc::member_exists when `member` is already in the group.
/// The coordinator monitors `handle`: its death is a leave.
struct join_group {
  std::string member;
  caf::actor handle;
  std::vector<topic_metadata> topics;
  start_position start;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, join_group& x) {
    return f(caf::meta::type_name("join_group"), x.member, x.handle, x.topics, x.start);
  }
};

/// -> ok_atom. The member's partitions are revoked and handed to the others.
struct leave_group {
  std::string member;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, leave_group& x) {
    return f(caf::meta::type_name("leave_group"), x.member);
  }
};

// -- assignment (coordinator -> member) -------------------------------------------------------

/// The member now owns (topic, partition) under `assignment`. It reads from `from` when set
/// (the group's committed offset), else from `start`.
struct assign_partition {
  std::string topic;
  partition_id partition;
  epoch assignment;
  caf::actor partition_actor;
  offset from{-1};  ///< -1: no committed offset, use `start`
  start_position start;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, assign_partition& x) {
    return f(caf::meta::type_name("assign_partition"), x.topic, x.partition, x.assignment,
             x.partition_actor, x.from, x.start);
  }
};

/// The member must stop handling (topic, partition): finish the event in hand, commit, drop
/// what arrives later for it, and answer revoke_done.
struct revoke_partition {
  std::string topic;
  partition_id partition;
  epoch assignment;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, revoke_partition& x) {
    return f(caf::meta::type_name("revoke_partition"), x.topic, x.partition, x.assignment);
  }
};

/// Member -> coordinator: revocation finished; `next` is the offset after the last event it
/// handled (-1 if it handled none).
struct revoke_done {
  std::string topic;
  partition_id partition;
  epoch assignment;
  offset next{-1};

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, revoke_done& x) {
    return f(caf::meta::type_name("revoke_done"), x.topic, x.partition, x.assignment, x.next);
  }
};

/// Member -> coordinator: every event before `next` is handled. Ignored (fenced) unless
/// `assignment` is the current owner's epoch.
struct commit_offset {
  std::string topic;
  partition_id partition;
  epoch assignment;
  offset next;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, commit_offset& x) {
    return f(caf::meta::type_name("commit_offset"), x.topic, x.partition, x.assignment, x.next);
  }
};

// -- delivery (member <-> partition) ----------------------------------------------------------

/// Member -> partition: deliver to me for `group` from `from` (or `start` when from is -1),
/// and accept `credit` events. Replaces the group's cursor when `assignment` is not older
/// than the current one. -> offset: where delivery starts.
struct subscribe_group {
  std::string group;
  caf::actor member;
  epoch assignment;
  offset from{-1};
  start_position start;
  int64_t credit = 0;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, subscribe_group& x) {
    return f(caf::meta::type_name("subscribe_group"), x.group, x.member, x.assignment, x.from,
             x.start, x.credit);
  }
};

/// Member -> partition: stop delivering to `group` under `assignment`.
struct unsubscribe_group {
  std::string group;
  epoch assignment;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, unsubscribe_group& x) {
    return f(caf::meta::type_name("unsubscribe_group"), x.group, x.assignment);
  }
};

/// Member -> partition: the member handled `n` more events and accepts that many again.
struct grant_credit {
  std::string group;
  epoch assignment;
  int64_t n = 0;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, grant_credit& x) {
    return f(caf::meta::type_name("grant_credit"), x.group, x.assignment, x.n);
  }
};

/// Partition -> member: consecutive records [first, next) of one partition, never more than
/// the member's credit.
struct delivery {
  std::string topic;
  partition_id partition;
  epoch assignment;
  std::vector<batch_slice> slices;
  offset first;
  offset next;
  int32_t count = 0;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, delivery& x) {
    return f(caf::meta::type_name("delivery"), x.topic, x.partition, x.assignment, x.slices,
             x.first, x.next, x.count);
  }
};

// -- member-internal --------------------------------------------------------------------------

/// Producer callback -> member: the dead letter of `off` is stored (or `error` says why not).
/// A member sends it to itself only, so it is not registered for the network.
struct dead_letter_written {
  std::string topic;
  partition_id partition;
  epoch assignment;
  offset off;
  std::string key;
  caf::error error;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, dead_letter_written& x) {
    return f(caf::meta::type_name("dead_letter_written"), x.topic, x.partition, x.assignment, x.off,
             x.key, x.error);
  }
};

// -- inspection -------------------------------------------------------------------------------

/// -> group_description.
struct describe_group {
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, describe_group&) {
    return f(caf::meta::type_name("describe_group"));
  }
};

struct partition_assignment {
  std::string topic;
  partition_id partition;
  std::string member;  ///< empty while unassigned
  epoch assignment;
  bool revoking = false;
  offset committed{-1};  ///< -1: nothing committed yet

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, partition_assignment& x) {
    return f(caf::meta::type_name("partition_assignment"), x.topic, x.partition, x.member,
             x.assignment, x.revoking, x.committed);
  }
};

struct group_description {
  std::string group;
  std::vector<std::string> members;
  std::vector<partition_assignment> partitions;
  int64_t rebalances = 0;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, group_description& x) {
    return f(caf::meta::type_name("group_description"), x.group, x.members, x.partitions,
             x.rebalances);
  }
};

}  // namespace herald
