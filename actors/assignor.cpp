#include "actors/assignor.hpp"

#include <algorithm>

namespace herald {

std::string to_string(const topic_partition& tp) {
  return tp.topic + "/" + std::to_string(tp.partition.value);
}

assignment_map assign_partitions(const std::map<std::string, int32_t>& topics,
                                 const std::vector<member_topics>& members,
                                 const assignment_map& previous) {
  assignment_map result;
  for (auto& [topic, count] : topics) {
    std::vector<std::string> eligible;
    for (auto& m : members)
      if (std::find(m.topics.begin(), m.topics.end(), topic) != m.topics.end())
        eligible.push_back(m.name);
    if (eligible.empty() || count <= 0) continue;
    std::sort(eligible.begin(), eligible.end());
    // How many partitions of this topic each member holds now.
    std::map<std::string, int32_t> held;
    for (auto& name : eligible) held[name] = 0;
    for (int32_t p = 0; p < count; ++p) {
      auto it = previous.find({topic, partition_id{p}});
      if (it != previous.end() && held.count(it->second)) ++held[it->second];
    }
    // Quotas: the `extra` members that get one more are those holding the most now (then by
    // name), which keeps the most partitions where they are.
    const auto m = static_cast<int32_t>(eligible.size());
    const int32_t base = count / m;
    int32_t extra = count % m;
    std::vector<std::string> by_held = eligible;
    std::stable_sort(by_held.begin(), by_held.end(), [&](const auto& a, const auto& b) {
      return held[a] > held[b];
    });
    std::map<std::string, int32_t> quota;
    for (auto& name : by_held) quota[name] = base + (extra-- > 0 ? 1 : 0);
    // Keep what fits the quota; collect the rest.
    std::map<std::string, int32_t> taken;
    std::vector<int32_t> pending;
    for (int32_t p = 0; p < count; ++p) {
      topic_partition tp{topic, partition_id{p}};
      auto it = previous.find(tp);
      if (it != previous.end() && quota.count(it->second) && taken[it->second] < quota[it->second]) {
        ++taken[it->second];
        result[tp] = it->second;
      } else {
        pending.push_back(p);
      }
    }
    // Hand out the rest in name order.
    auto next = eligible.begin();
    for (auto p : pending) {
      while (taken[*next] >= quota[*next]) ++next;
      ++taken[*next];
      result[{topic, partition_id{p}}] = *next;
    }
  }
  return result;
}

}  // namespace herald
