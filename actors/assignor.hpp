// Which member of a group reads which partition: balanced and sticky. A pure function, so
// the rebalance rules are tested without actors.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "messages/ids.hpp"

namespace herald {

struct topic_partition {
  std::string topic;
  partition_id partition;

  friend auto operator<=>(const topic_partition&, const topic_partition&) = default;
  friend bool operator==(const topic_partition&, const topic_partition&) = default;
};

std::string to_string(const topic_partition& tp);

/// A member and the topics it subscribed to.
struct member_topics {
  std::string name;
  std::vector<std::string> topics;
};

using assignment_map = std::map<topic_partition, std::string>;

/// Assigns every partition of `topics` (name -> partition count) to one member subscribed to
/// its topic. Per topic, every eligible member gets floor(n/m) or ceil(n/m) partitions;
/// partitions stay with their `previous` owner where that keeps the balance, so a join or a
/// leave moves as few partitions as possible. Deterministic: the same input gives the same
/// output on every node. Partitions of a topic nobody subscribes to are left out.
assignment_map assign_partitions(const std::map<std::string, int32_t>& topics,
                                 const std::vector<member_topics>& members,
                                 const assignment_map& previous);

}  // namespace herald
