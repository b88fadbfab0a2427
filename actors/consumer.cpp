#include "actors/consumer.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/system_messages.hpp>

#include "base/logging.hpp"
#include "messages/atoms.hpp"
#include "messages/errors.hpp"

namespace herald {

namespace {

auto& logger() {
  static auto l = log::get("consumer");
  return l;
}

using self_ptr = consumer_actor_t*;

void commit(self_ptr self, const topic_partition& tp, const consumer_state::owned& o) {
  self->send(self->state.args.coordinator, commit_offset{tp.topic, tp.partition, o.assignment,
                                                         o.next});
}

/// Runs the handler on each event; returns the number handled and the failure, if any.
std::pair<int32_t, caf::error> run_handler(self_ptr self, const delivery& d, event_view& failed) {
  auto& args = self->state.args;
  handler_context ctx{args.group, args.member};
  event_view v;
  int32_t handled = 0;
  for (auto& s : d.slices) {
    batch_cursor cur{s, d.topic, d.partition};
    while (!cur.done()) {
      cur.next(v);
      caf::error err;
      try {
        err = args.fn(v, ctx);
      } catch (const std::exception& e) {
        err = make_error(errc::handler_failed, std::string{"handler threw: "} + e.what());
      } catch (...) {
        err = make_error(errc::handler_failed, "handler threw a non-standard exception");
      }
      if (err) {
        failed = v;
        return {handled, std::move(err)};
      }
      ++handled;
    }
  }
  return {handled, caf::none};
}

void finish_delivery(self_ptr self, consumer_state::owned& o, const topic_partition& tp,
                     const delivery& d) {
  auto& probe = *self->state.args.probe;
  o.next = d.next;
  commit(self, tp, o);
  self->send(o.partition, grant_credit{self->state.args.group, o.assignment, d.count});
  probe.handled.fetch_add(d.count, std::memory_order_relaxed);
  probe.deliveries.fetch_add(1, std::memory_order_relaxed);
}

void fail(self_ptr self, consumer_state::owned& o, const topic_partition& tp, offset at,
          const std::string& event_id, caf::error err) {
  auto& args = self->state.args;
  args.probe->failures.fetch_add(1, std::memory_order_relaxed);
  logger()->error("group={} member={} topic={} partition={} offset={} event_id={} "
                  "event=handler_failed error=\"{}\"",
                  args.group, args.member, tp.topic, tp.partition.value, at.value, event_id,
                  describe(err));
  // Everything before the failed event is handled: commit it, so only the failed event and
  // what follows are delivered again.
  o.next = at;
  commit(self, tp, o);
  self->quit(std::move(err));
}

void on_delivery(self_ptr self, delivery& d) {
  auto& st = self->state;
  topic_partition tp{d.topic, d.partition};
  auto it = st.partitions.find(tp);
  if (it == st.partitions.end() || it->second.assignment != d.assignment) {
    st.args.probe->dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (st.args.handler_actor) {
    // A handler written as an actor takes the whole delivery and answers it. Waiting for the
    // answer (await) keeps deliveries and revokes in order.
    auto first = d.first;
    self->request(st.args.handler_actor, st.args.options.actor_handler_timeout, d)
        .await(
            [self, tp, d]() {
              auto it = self->state.partitions.find(tp);
              if (it != self->state.partitions.end() && it->second.assignment == d.assignment)
                finish_delivery(self, it->second, tp, d);
            },
            [self, tp, first, assignment = d.assignment](caf::error& err) {
              auto it = self->state.partitions.find(tp);
              if (it != self->state.partitions.end() && it->second.assignment == assignment)
                fail(self, it->second, tp, first, "-", std::move(err));
            });
    return;
  }
  event_view failed;
  auto [handled, err] = run_handler(self, d, failed);
  if (err) {
    self->state.args.probe->handled.fetch_add(handled, std::memory_order_relaxed);
    fail(self, it->second, tp, failed.offset(), std::string{failed.id_text()}, std::move(err));
    return;
  }
  finish_delivery(self, it->second, tp, d);
}

}  // namespace

caf::behavior consumer_actor(consumer_actor_t* self, consumer_args args) {
  self->state.args = std::move(args);
  return {
      [self](assign_partition& a) {
        auto& st = self->state;
        topic_partition tp{a.topic, a.partition};
        st.partitions[tp] = {a.partition_actor, a.assignment, a.from};
        st.args.probe->assigned.store(static_cast<int32_t>(st.partitions.size()));
        st.args.probe->assignments.fetch_add(1);
        subscribe_group req{st.args.group, caf::actor_cast<caf::actor>(self), a.assignment,
                            a.from, a.start, st.args.options.credit_window};
        self->request(a.partition_actor, caf::infinite, std::move(req))
            .then(
                [self, tp, ep = a.assignment](offset start) {
                  auto it = self->state.partitions.find(tp);
                  if (it == self->state.partitions.end() || it->second.assignment != ep) return;
                  if (it->second.next.value < 0) {
                    // Fix the group's position now, so a rebalance before the first event
                    // does not resolve "latest" or a timestamp again.
                    it->second.next = start;
                    commit(self, tp, it->second);
                  }
                },
                [self, tp](caf::error& err) {
                  auto& st = self->state;
                  logger()->warn("group={} member={} topic={} partition={} event=subscribe_failed "
                                 "error=\"{}\"",
                                 st.args.group, st.args.member, tp.topic, tp.partition.value,
                                 describe(err));
                });
      },
      [self](revoke_partition& r) {
        auto& st = self->state;
        topic_partition tp{r.topic, r.partition};
        offset next{-1};
        auto it = st.partitions.find(tp);
        if (it != st.partitions.end() && it->second.assignment == r.assignment) {
          next = it->second.next;
          self->send(it->second.partition, unsubscribe_group{st.args.group, r.assignment});
          st.partitions.erase(it);
          st.args.probe->assigned.store(static_cast<int32_t>(st.partitions.size()));
        }
        self->send(st.args.coordinator, revoke_done{r.topic, r.partition, r.assignment, next});
      },
      [self](delivery& d) { on_delivery(self, d); },
      [self](stop_atom) -> caf::result<ok_atom> {
        auto& st = self->state;
        for (auto& [tp, o] : st.partitions)
          self->send(o.partition, unsubscribe_group{st.args.group, o.assignment});
        st.partitions.clear();
        st.args.probe->assigned.store(0);
        auto rp = self->make_response_promise<ok_atom>();
        // Commits went out before this leave on the same channel, so the coordinator has them
        // when it hands the partitions on.
        self->request(st.args.coordinator, std::chrono::seconds{10},
                      leave_group{st.args.member})
            .then([self, rp](ok_atom) mutable {
                    rp.deliver(ok_atom::value);
                    self->quit();
                  },
                  [self, rp](caf::error&) mutable {
                    rp.deliver(ok_atom::value);
                    self->quit();
                  });
        return rp;
      },
  };
}

}  // namespace herald
