#include "tests/support/groups.hpp"

#include <map>

namespace herald::test {

bool group_settled(runtime& rt, const std::string& group, size_t members) {
  auto d = rt.describe_group(group);
  if (!d || d->members.size() != members || d->partitions.empty()) return false;
  for (auto& pa : d->partitions)
    if (pa.member.empty() || pa.revoking) return false;
  return true;
}

bool group_subscribed(runtime& rt, const std::string& topic, const std::string& group) {
  auto d = rt.describe_group(group);
  auto md = rt.topic(topic);
  if (!d || !md) return false;
  std::map<int32_t, epoch> want;
  for (auto& pa : d->partitions)
    if (pa.topic == topic && !pa.member.empty() && !pa.revoking)
      want[pa.partition.value] = pa.assignment;
  if (want.size() != md->partitions.size()) return false;
  for (auto& [p, ep] : want) {
    auto st = rt.describe_partition(topic, p);
    if (!st) return false;
    bool found = false;
    for (auto& c : st->groups)
      if (c.group == group && c.assignment == ep) found = true;
    if (!found) return false;
  }
  return true;
}

bool group_drained(runtime& rt, const std::string& group) {
  auto lag = rt.group_lag(group);
  return lag && lag->total == 0;
}

bool wait_stable(runtime& rt, const std::string& topic, const std::string& group, size_t members,
                 std::chrono::milliseconds timeout) {
  return wait_until(
      [&] { return group_settled(rt, group, members) && group_subscribed(rt, topic, group); },
      timeout);
}

std::vector<int32_t> partitions_of(runtime& rt, const std::string& group,
                                   const std::string& member) {
  std::vector<int32_t> out;
  auto d = rt.describe_group(group);
  if (!d) return out;
  for (auto& pa : d->partitions)
    if (pa.member == member) out.push_back(pa.partition.value);
  return out;
}

std::set<std::string> ids_of(const std::vector<event>& evs) {
  std::set<std::string> out;
  for (auto& e : evs) out.emplace(e.id_text());
  return out;
}

}  // namespace herald::test
