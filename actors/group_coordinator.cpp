#include "actors/group_coordinator.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/system_messages.hpp>

#include "base/logging.hpp"
#include "messages/atoms.hpp"
#include "messages/errors.hpp"

namespace herald {

namespace {

auto& logger() {
  static auto l = log::get("group");
  return l;
}

using self_ptr = coordinator_actor_t*;

void execute(self_ptr self, std::vector<group_action> actions) {
  auto& st = self->state;
  for (auto& a : actions) {
    auto m = st.members.find(a.member);
    if (m == st.members.end()) continue;
    if (a.what == group_action::kind::assign) {
      auto& parts = st.topics[a.tp.topic];
      auto idx = static_cast<size_t>(a.tp.partition.value);
      if (idx >= parts.size()) continue;
      logger()->info("group={} topic={} partition={} event=assign member={} epoch={} from={}",
                     st.group, a.tp.topic, a.tp.partition.value, a.member, a.assignment.value,
                     a.from.value >= 0 ? std::to_string(a.from.value) : to_string(a.start));
      self->send(m->second, assign_partition{a.tp.topic, a.tp.partition, a.assignment, parts[idx],
                                             a.from, a.start});
    } else {
      logger()->info("group={} topic={} partition={} event=revoke member={} epoch={}", st.group,
                     a.tp.topic, a.tp.partition.value, a.member, a.assignment.value);
      self->send(m->second, revoke_partition{a.tp.topic, a.tp.partition, a.assignment});
      self->delayed_send(self, st.options.revoke_timeout, revoke_timeout_atom::value, a.tp.topic,
                         a.tp.partition.value, a.assignment.value);
    }
  }
}

/// Stores the group's committed offset of `tp` durably, if the coordinator has a store.
void publish_committed(self_ptr self, const topic_partition& tp, offset committed) {
  auto& st = self->state;
  if (!st.options.metrics) return;
  auto& c = st.cells[tp];
  if (!c) c = st.options.metrics->group_partition(st.group, tp.topic, tp.partition.value);
  c->committed.store(committed.value, std::memory_order_relaxed);
}

void persist(self_ptr self, const topic_partition& tp) {
  auto& st = self->state;
  auto committed = st.stm->committed(tp);
  if (!committed) return;
  if (st.options.memory) (*st.options.memory)[tp] = *committed;
  publish_committed(self, tp, *committed);
  if (!st.options.offsets) return;
  if (auto err = st.options.offsets->commit(st.group, tp.topic, tp.partition, *committed))
    logger()->warn(
        "group={} topic={} partition={} event=commit_not_stored offset={} "
        "error=\"{}\"",
        st.group, tp.topic, tp.partition.value, committed->value, describe(err));
}

void drop_member(self_ptr self, const std::string& name, const char* why) {
  auto& st = self->state;
  auto it = st.members.find(name);
  if (it == st.members.end()) return;
  self->demonitor(it->second);
  st.members.erase(it);
  st.stm->remove_member(name);
  logger()->info("group={} event=member_{} member={} members={}", st.group, why, name,
                 st.members.size());
  execute(self, st.stm->rebalance());
}

}  // namespace

caf::behavior group_coordinator(coordinator_actor_t* self, std::string group,
                                coordinator_options options) {
  auto& st = self->state;
  st.group = group;
  st.options = options;
  // Epochs must grow across coordinator restarts: start from the clock.
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  st.stm = std::make_unique<group_state>(group, static_cast<uint64_t>(now_ms) << 16);
  if (st.options.offsets)
    for (auto& c : st.options.offsets->committed(group))
      st.stm->set_committed({c.topic, c.partition}, c.next);
  // A restarted coordinator: what its predecessor accepted (newer than the store's, if any).
  if (st.options.memory)
    for (auto& [tp, next] : *st.options.memory) st.stm->set_committed(tp, next);
  if (st.options.offsets)
    for (auto& c : st.options.offsets->committed(group))
      if (auto next = st.stm->committed({c.topic, c.partition}))
        publish_committed(self, {c.topic, c.partition}, *next);
  if (st.options.memory)
    for (auto& [tp, next] : *st.options.memory) publish_committed(self, tp, next);
  self->set_down_handler([self](caf::down_msg& dm) {
    for (auto& [name, handle] : self->state.members) {
      if (handle.address() == dm.source) {
        logger()->warn("group={} event=member_down member={} reason=\"{}\"", self->state.group,
                       name, describe(dm.reason));
        auto copy = name;
        drop_member(self, copy, "died");
        return;
      }
    }
  });
  return {
      [self](join_group& req) -> caf::result<ok_atom> {
        auto& st = self->state;
        std::map<std::string, int32_t> counts;
        for (auto& t : req.topics) counts[t.name] = static_cast<int32_t>(t.partitions.size());
        if (auto err = st.stm->add_member(req.member, counts, req.start)) return err;
        // The first member's view of a topic; later ones may be older than what
        // partition_restarted told this coordinator since.
        for (auto& t : req.topics)
          if (st.members.empty())
            st.topics[t.name] = t.partitions;
          else
            st.topics.emplace(t.name, t.partitions);
        st.members.emplace(req.member, req.handle);
        self->monitor(req.handle);
        logger()->info("group={} event=member_joined member={} members={} start={}", st.group,
                       req.member, st.members.size(), to_string(req.start));
        execute(self, st.stm->rebalance());
        return ok_atom::value;
      },
      [self](leave_group& req) {
        drop_member(self, req.member, "left");
        return ok_atom::value;
      },
      [self](revoke_done& msg) {
        auto actions =
            self->state.stm->revoked({msg.topic, msg.partition}, msg.assignment, msg.next);
        if (msg.next.value >= 0) persist(self, {msg.topic, msg.partition});
        execute(self, std::move(actions));
      },
      [self](commit_offset& msg) {
        auto& st = self->state;
        if (st.stm->commit({msg.topic, msg.partition}, msg.assignment, msg.next)) {
          ++st.commits;
          persist(self, {msg.topic, msg.partition});
        } else {
          ++st.fenced_commits;
          logger()->debug("group={} topic={} partition={} event=commit_fenced epoch={} next={}",
                          st.group, msg.topic, msg.partition.value, msg.assignment.value,
                          msg.next.value);
        }
      },
      [self](revoke_timeout_atom, const std::string& topic, int32_t partition, uint64_t ep) {
        auto& st = self->state;
        topic_partition tp{topic, partition_id{partition}};
        auto actions = st.stm->revoked(tp, epoch{ep}, offset{-1});
        if (!actions.empty())
          logger()->warn(
              "group={} topic={} partition={} event=revoke_timeout epoch={} "
              "action=reassign_from_last_commit",
              st.group, topic, partition, ep);
        execute(self, std::move(actions));
      },
      [self](partition_restarted& msg) {
        auto& st = self->state;
        auto it = st.topics.find(msg.topic);
        if (it == st.topics.end()) return;
        auto idx = static_cast<size_t>(msg.partition.value);
        if (idx >= it->second.size()) return;
        it->second[idx] = msg.actor;
        auto actions = st.stm->reassign({msg.topic, msg.partition});
        logger()->info("group={} topic={} partition={} event=partition_restarted action={}",
                       st.group, msg.topic, msg.partition.value,
                       actions.empty() ? "none" : "reassign");
        execute(self, std::move(actions));
      },
      [self](describe_group) { return self->state.stm->describe(); },
  };
}

}  // namespace herald
