// The rebalance protocol of one consumer group as a state machine without actors; the
// group_coordinator actor feeds it events and carries out the actions it returns.
//
// A partition is owned by at most one member at a time. Moving it from member A to member B
// takes two steps: A is told to revoke (it finishes the event in hand, commits and answers),
// and only then is B assigned, from the offset A committed. So no two members of a group
// handle one partition at once, and B starts exactly where A stopped. A dead member needs no
// revoke: its partitions go to the others at once, from the last committed offsets (the
// events it had in flight are delivered again: at-least-once).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <caf/error.hpp>

#include "actors/assignor.hpp"
#include "messages/group.hpp"
#include "messages/ids.hpp"

namespace herald {

struct group_action {
  enum class kind : uint8_t { assign, revoke };
  kind what;
  std::string member;
  topic_partition tp;
  epoch assignment;
  offset from{-1};       ///< assign: the committed offset, -1 when none
  start_position start;  ///< assign: the member's start position, used when from == -1
};

class group_state {
 public:
  /// `first_epoch` should grow across restarts of the coordinator (the runtime passes a
  /// value derived from the clock) so that partitions never see an epoch go back.
  explicit group_state(std::string name, uint64_t first_epoch = 1);

  /// Adds a member. errc::member_exists if the name is taken. Call rebalance() after.
  [[nodiscard]] caf::error add_member(const std::string& name,
                                      const std::map<std::string, int32_t>& topics,
                                      start_position start);
  bool has_member(const std::string& name) const { return members_.count(name) > 0; }
  size_t member_count() const { return members_.size(); }

  /// Removes a member that left or died. Its partitions become free at once.
  void remove_member(const std::string& name);

  /// Computes the target assignment and returns the steps towards it: revokes for partitions
  /// that move away from a live owner, assigns for free partitions.
  std::vector<group_action> rebalance();

  /// The owner finished revoking `tp` under `assignment`; `next` is its last handled offset
  /// + 1 (or -1). Returns the assign that follows. Stale calls return nothing.
  std::vector<group_action> revoked(const topic_partition& tp, epoch assignment, offset next);

  /// The partition's actor was replaced (it crashed and was restarted): its owner revokes
  /// it, and revoked() assigns it again with a new epoch, so the owner reads from the new
  /// actor from its commit point. Nothing when the partition is free or already revoking.
  std::vector<group_action> reassign(const topic_partition& tp);

  /// Records a commit. False (and nothing changes) if `assignment` is not the current one.
  bool commit(const topic_partition& tp, epoch assignment, offset next);

  std::optional<offset> committed(const topic_partition& tp) const;

  /// Sets a committed offset directly (group reset by an operator, or loading stored offsets).
  void set_committed(const topic_partition& tp, offset next);

  group_description describe() const;

  /// Partitions currently owned by `member` (including those being revoked).
  std::vector<topic_partition> owned_by(const std::string& member) const;

 private:
  struct member_info {
    std::vector<std::string> topics;
    start_position start;
  };
  struct slot {
    std::string owner;  // empty: free
    epoch assignment;
    bool revoking = false;
    std::optional<offset> committed;
  };
  group_action assign_to(const std::string& member, const topic_partition& tp, slot& s);
  assignment_map target() const;

  std::string name_;
  uint64_t next_epoch_;
  int64_t rebalances_ = 0;
  std::map<std::string, member_info> members_;
  std::map<std::string, int32_t> topics_;
  std::map<topic_partition, slot> slots_;
};

}  // namespace herald
