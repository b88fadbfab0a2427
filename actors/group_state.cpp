#include "actors/group_state.hpp"

#include "messages/errors.hpp"

namespace herald {

group_state::group_state(std::string name, uint64_t first_epoch)
    : name_(std::move(name)), next_epoch_(first_epoch) {}

caf::error group_state::add_member(const std::string& name,
                                   const std::map<std::string, int32_t>& topics,
                                   start_position start) {
  if (name.empty()) return make_error(errc::invalid_argument, "member name must not be empty");
  if (members_.count(name))
    return make_error(errc::member_exists,
                      "group '" + name_ + "' already has a member named '" + name +
                          "'; give each subscription a distinct member name (or none, to get "
                          "a generated one)");
  member_info info;
  info.start = start;
  for (auto& [topic, count] : topics) {
    info.topics.push_back(topic);
    topics_[topic] = count;
  }
  members_.emplace(name, std::move(info));
  return caf::none;
}

void group_state::remove_member(const std::string& name) {
  members_.erase(name);
  for (auto& [tp, s] : slots_) {
    if (s.owner == name) {
      s.owner.clear();
      s.revoking = false;
    }
  }
}

assignment_map group_state::target() const {
  std::vector<member_topics> ms;
  for (auto& [name, info] : members_) ms.push_back({name, info.topics});
  assignment_map previous;
  for (auto& [tp, s] : slots_)
    if (!s.owner.empty()) previous[tp] = s.owner;
  return assign_partitions(topics_, ms, previous);
}

group_action group_state::assign_to(const std::string& member, const topic_partition& tp, slot& s) {
  s.owner = member;
  s.assignment = epoch{next_epoch_++};
  s.revoking = false;
  group_action a{group_action::kind::assign, member, tp, s.assignment, offset{-1},
                 members_.at(member).start};
  if (s.committed) a.from = *s.committed;
  return a;
}

std::vector<group_action> group_state::rebalance() {
  ++rebalances_;
  std::vector<group_action> actions;
  auto wanted = target();
  for (auto& [tp, member] : wanted) {
    auto& s = slots_[tp];
    if (s.owner == member) continue;
    if (s.owner.empty()) {
      actions.push_back(assign_to(member, tp, s));
    } else if (!s.revoking) {
      s.revoking = true;
      actions.push_back({group_action::kind::revoke, s.owner, tp, s.assignment});
    }
    // Already revoking: revoked() assigns to whoever the target is then.
  }
  // Partitions no longer wanted by anyone (their topic lost all subscribers).
  for (auto& [tp, s] : slots_) {
    if (!s.owner.empty() && !wanted.count(tp) && !s.revoking) {
      s.revoking = true;
      actions.push_back({group_action::kind::revoke, s.owner, tp, s.assignment});
    }
  }
  return actions;
}

std::vector<group_action> group_state::revoked(const topic_partition& tp, epoch assignment,
                                               offset next) {
  auto it = slots_.find(tp);
  if (it == slots_.end() || it->second.assignment != assignment || it->second.owner.empty())
    return {};
  auto& s = it->second;
  if (next.value >= 0) s.committed = next;
  s.owner.clear();
  s.revoking = false;
  auto wanted = target();
  auto w = wanted.find(tp);
  if (w == wanted.end()) return {};
  return {assign_to(w->second, tp, s)};
}

std::vector<group_action> group_state::reassign(const topic_partition& tp) {
  auto it = slots_.find(tp);
  if (it == slots_.end() || it->second.owner.empty() || it->second.revoking) return {};
  it->second.revoking = true;
  return {{group_action::kind::revoke, it->second.owner, tp, it->second.assignment}};
}

bool group_state::commit(const topic_partition& tp, epoch assignment, offset next) {
  auto it = slots_.find(tp);
  if (it == slots_.end() || it->second.owner.empty() || it->second.assignment != assignment)
    return false;
  it->second.committed = next;
  return true;
}

std::optional<offset> group_state::committed(const topic_partition& tp) const {
  auto it = slots_.find(tp);
  if (it == slots_.end()) return std::nullopt;
  return it->second.committed;
}

void group_state::set_committed(const topic_partition& tp, offset next) {
  slots_[tp].committed = next;
}

group_description group_state::describe() const {
  group_description d;
  d.group = name_;
  d.rebalances = rebalances_;
  for (auto& [name, info] : members_) d.members.push_back(name);
  for (auto& [topic, count] : topics_) {
    for (int32_t p = 0; p < count; ++p) {
      topic_partition tp{topic, partition_id{p}};
      partition_assignment pa{topic, partition_id{p}, {}, epoch{}, false, offset{-1}};
      if (auto it = slots_.find(tp); it != slots_.end()) {
        pa.member = it->second.owner;
        pa.assignment = it->second.assignment;
        pa.revoking = it->second.revoking;
        if (it->second.committed) pa.committed = *it->second.committed;
      }
      d.partitions.push_back(std::move(pa));
    }
  }
  return d;
}

std::vector<topic_partition> group_state::owned_by(const std::string& member) const {
  std::vector<topic_partition> out;
  for (auto& [tp, s] : slots_)
    if (s.owner == member) out.push_back(tp);
  return out;
}

}  // namespace herald
