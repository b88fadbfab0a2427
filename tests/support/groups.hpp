// Conditions on consumer groups that integration tests wait for (always bounded).
#pragma once

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "runtime/herald.hpp"
#include "tests/support/wait.hpp"

namespace herald::test {

/// True when `group` has exactly `members` members and every partition it reads has an owner
/// that is not being revoked: no rebalance is under way.
bool group_settled(runtime& rt, const std::string& group, size_t members);

/// True when every partition of `topic` has a cursor for `group` under the epoch the
/// coordinator assigned: the owners' subscriptions have reached the partitions, so a "latest"
/// start position is resolved and deliveries flow.
bool group_subscribed(runtime& rt, const std::string& topic, const std::string& group);

/// True when `group` has committed every event of the partitions it reads.
bool group_drained(runtime& rt, const std::string& group);

/// Waits until the group is settled and subscribed on `topic`.
bool wait_stable(runtime& rt, const std::string& topic, const std::string& group, size_t members,
                 std::chrono::milliseconds timeout = default_wait);

/// The partitions `member` of `group` owns now.
std::vector<int32_t> partitions_of(runtime& rt, const std::string& group,
                                   const std::string& member);

/// Ids of events, as text.
std::set<std::string> ids_of(const std::vector<event>& evs);

}  // namespace herald::test
