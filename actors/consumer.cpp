#include "actors/consumer.hpp"

#include <caf/actor_cast.hpp>
#include <caf/response_promise.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>

#include "actors/dead_letter.hpp"
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
using owned_t = consumer_state::owned;
using clock = std::chrono::steady_clock;

/// Decodes the one record a record_ref points at.
event_view decode(const record_ref& r, const topic_partition& tp) {
  batch_slice s{r.batch, r.base, timestamp{}, r.pos, 1};
  batch_cursor cur{s, tp.topic, tp.partition};
  event_view v;
  cur.next(v);
  return v;
}

/// Commits the lowest unfinished offset and returns the credit of finished events.
void progress(self_ptr self, const topic_partition& tp, owned_t& o) {
  auto& args = self->state.args;
  // Idempotent groups with a data directory: the ids of what was applied go to disk before
  // the commit that covers them (one write per commit, not per event), also when the
  // commit point stays behind a retrying event.
  if (o.ids && args.processed)
    if (auto err = args.processed->save(tp, *o.ids))
      logger()->error(
          "group={} member={} topic={} partition={} event=processed_ids_not_saved "
          "error=\"{}\" effect=\"a redelivery after a restart may apply these events again\"",
          args.group, args.member, tp.topic, tp.partition.value, describe(err));
  if (o.delivered_next.value >= 0) {
    auto cp = o.retry->commit_point(o.delivered_next);
    if (cp > o.committed) {
      o.committed = cp;
      self->send(args.coordinator, commit_offset{tp.topic, tp.partition, o.assignment, cp});
    }
  }
  if (o.uncredited > 0) {
    self->send(o.partition, grant_credit{args.group, o.assignment, o.uncredited});
    o.uncredited = 0;
  }
  if (o.cells && o.handled > 0) {
    o.cells->handled.fetch_add(o.handled, std::memory_order_relaxed);
    o.handled = 0;
  }
  auto& inst = self->state.inst;
  inst.flush(inst.metrics_on() ? self->mailbox().size() : 0);
}

void arm_timer(self_ptr self) {
  auto& st = self->state;
  std::optional<clock::time_point> due;
  for (auto& [tp, o] : st.partitions)
    if (auto d = o.retry->earliest_due(); d && (!due || *d < *due)) due = d;
  if (!due || (st.timer_due && *st.timer_due <= *due)) return;
  st.timer_due = due;
  auto wait = std::max(clock::duration::zero(), *due - clock::now());
  self->delayed_send(self, std::chrono::duration_cast<std::chrono::nanoseconds>(wait),
                     retry_tick_atom::value);
}

void write_dead_letter(self_ptr self, const topic_partition& tp, owned_t& o,
                       const std::string& key);

/// Runs the handler on `v`, then on every event of its key that was queued behind it, until
/// one fails or the key's queue is empty. Returns false when the member failed (it quit).
bool run(self_ptr self, const topic_partition& tp, owned_t& o, event_view v, record_ref ref) {
  auto& args = self->state.args;
  auto& probe = *args.probe;
  for (;;) {
    std::string_view key = v.key();
    auto* head = o.retry->head(key);
    int attempt = head && head->off == v.offset() ? head->attempts + 1 : 1;
    caf::error err;
    if (o.ids && o.ids->contains(v.id())) {
      probe.duplicates.fetch_add(1, std::memory_order_relaxed);
    } else {
      handler_context ctx{args.group, args.member, attempt};
      if (attempt > 1 && o.cells) o.cells->redeliveries.fetch_add(1, std::memory_order_relaxed);
      err = self->state.inst.call(args.fn, v, ctx);
      if (!err) {
        if (o.ids) o.ids->insert(v.id());
        probe.handled.fetch_add(1, std::memory_order_relaxed);
        ++o.handled;
      }
    }
    if (err) {
      probe.failures.fetch_add(1, std::memory_order_relaxed);
      self->state.inst.failed();
      if (args.options.on_failure == failure_policy::restart_member) {
        logger()->error(
            "group={} member={} topic={} partition={} offset={} event_id={} "
            "correlation_id={} event=handler_failed action=restart_member error=\"{}\"",
            args.group, args.member, tp.topic, tp.partition.value, v.offset().value, v.id_text(),
            v.correlation_id(), describe(err));
        // What finished before this event is committed; the restarted member starts here.
        progress(self, tp, o);
        self->quit(std::move(err));
        return false;
      }
      auto text = describe(err);
      auto verdict = o.retry->failed(v.offset(), key, ref, text, clock::now());
      // The id's text is built only for a line that is written (failures can be frequent).
      if (logger()->should_log(spdlog::level::warn))
        logger()->warn(
            "group={} member={} topic={} partition={} offset={} event_id={} "
            "correlation_id={} event=handler_failed attempt={} action={} error=\"{}\"",
            args.group, args.member, tp.topic, tp.partition.value, v.offset().value, v.id_text(),
            v.correlation_id(), attempt,
            verdict == retry_stm::outcome::retry_later ? "retry" : "dead_letter", text);
      if (verdict == retry_stm::outcome::retry_later) {
        probe.retries.fetch_add(1, std::memory_order_relaxed);
        arm_timer(self);
      } else {
        write_dead_letter(self, tp, o, std::string{key});
      }
      return true;
    }
    ++o.uncredited;
    auto next = o.retry->succeeded(v.offset(), key);
    if (!next) return true;
    ref = next->ref;
    v = decode(ref, tp);
  }
}

void write_dead_letter(self_ptr self, const topic_partition& tp, owned_t& o,
                       const std::string& key) {
  auto& args = self->state.args;
  auto* head = o.retry->head(key);
  if (!head) return;
  auto v = decode(head->ref, tp);
  failure_story story{tp.topic,       tp.partition,        head->off,          args.group,
                      head->attempts, head->first_failure, head->last_failure, head->last_error};
  auto dl = make_dead_letter(v, story);
  auto weak = caf::actor_cast<caf::weak_actor_ptr>(self);
  auto done = [weak, tp, ep = o.assignment, off = head->off,
               key](caf::expected<std::vector<publish_ack>> r) {
    if (auto strong = caf::actor_cast<caf::actor>(weak))
      caf::anon_send(strong, dead_letter_written{tp.topic, tp.partition, ep, off, key,
                                                 r ? caf::error{} : r.error()});
  };
  caf::error err;
  if (!args.dead_letters)
    err = make_error(errc::invalid_argument, "no dead-letter producer");
  else
    err = args.dead_letters->publish_async(dl, std::move(done));
  if (!err) return;
  auto& st = self->state;
  if (is(err, errc::timeout)) {
    // The dead-letter lane is full (a burst): queue it; the next acknowledgement or one timer
    // for the whole backlog tries again. A timer per refused event would flood the mailbox
    // (thousands of retries every few ms) and starve the actors whose acknowledgements free
    // the lane. The key stays blocked, nothing is lost.
    st.dead_letter_backlog.push_back({tp, o.assignment, key});
    if (!st.dead_letter_timer) {
      st.dead_letter_timer = true;
      self->delayed_send(self, std::chrono::milliseconds{5}, dead_letter_retry_atom::value);
    }
    return;
  }
  // Could not even be accepted for another reason: try again in a while.
  self->delayed_send(
      self, std::chrono::milliseconds{100},
      dead_letter_written{tp.topic, tp.partition, o.assignment, head->off, key, std::move(err)});
}

/// Tries the queued dead letters again, oldest first, until the lane refuses one.
void drain_dead_letters(self_ptr self) {
  auto& st = self->state;
  auto pending = std::move(st.dead_letter_backlog);
  st.dead_letter_backlog.clear();
  while (!pending.empty()) {
    auto b = std::move(pending.front());
    pending.pop_front();
    auto it = st.partitions.find(b.tp);
    if (it == st.partitions.end() || it->second.assignment != b.assignment) continue;
    write_dead_letter(self, b.tp, it->second, b.key);
    if (!st.dead_letter_backlog.empty()) {
      // Refused again: the rest stays behind it, in order.
      for (auto& rest : pending) st.dead_letter_backlog.push_back(std::move(rest));
      return;
    }
  }
}

void on_dead_letter_written(self_ptr self, dead_letter_written& msg) {
  auto& st = self->state;
  topic_partition tp{msg.topic, msg.partition};
  auto it = st.partitions.find(tp);
  if (it == st.partitions.end() || it->second.assignment != msg.assignment) return;
  auto& o = it->second;
  if (msg.error) {
    logger()->error(
        "group={} member={} topic={} partition={} offset={} "
        "event=dead_letter_failed action=retry error=\"{}\"",
        st.args.group, st.args.member, msg.topic, msg.partition.value, msg.off.value,
        describe(msg.error));
    write_dead_letter(self, tp, o, msg.key);
    return;
  }
  st.args.probe->dead_letters.fetch_add(1, std::memory_order_relaxed);
  if (o.cells) o.cells->dead_letters.fetch_add(1, std::memory_order_relaxed);
  logger()->info("group={} member={} topic={} partition={} offset={} event=dead_lettered dlq={}",
                 st.args.group, st.args.member, msg.topic, msg.partition.value, msg.off.value,
                 dead_letter_topic(msg.topic));
  ++o.uncredited;
  if (auto next = o.retry->dead_lettered(msg.off, msg.key)) {
    if (!run(self, tp, o, decode(next->ref, tp), next->ref)) return;
  }
  progress(self, tp, o);
  // Its acknowledgement freed a slot of the dead-letter lane.
  if (!st.dead_letter_backlog.empty()) drain_dead_letters(self);
}

void on_retry_tick(self_ptr self) {
  auto& st = self->state;
  st.timer_due.reset();
  auto now = clock::now();
  for (auto& [tp, o] : st.partitions) {
    bool ran = false;
    while (auto w = o.retry->next_due(now)) {
      ran = true;
      if (!run(self, tp, o, decode(w->ref, tp), w->ref)) return;
    }
    if (ran) progress(self, tp, o);
  }
  arm_timer(self);
}

/// Events of `d` below the highest offset the group was ever delivered on the partition are
/// delivered again (after a member's restart or a rebalance).
void count_redelivered(obs::group_partition_cells& c, const delivery& d) {
  auto high = c.delivered_next.load(std::memory_order_relaxed);
  if (d.first.value < high)
    c.redeliveries.fetch_add(std::min(d.next.value, high) - d.first.value,
                             std::memory_order_relaxed);
  if (d.next.value > high) c.delivered_next.store(d.next.value, std::memory_order_relaxed);
}

void fail_actor_handler(self_ptr self, const topic_partition& tp, offset at, caf::error err) {
  auto& args = self->state.args;
  args.probe->failures.fetch_add(1, std::memory_order_relaxed);
  logger()->error(
      "group={} member={} topic={} partition={} offset={} event=handler_failed "
      "action=restart_member error=\"{}\"",
      args.group, args.member, tp.topic, tp.partition.value, at.value, describe(err));
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
  auto& o = it->second;
  st.args.probe->deliveries.fetch_add(1, std::memory_order_relaxed);
  if (o.cells) count_redelivered(*o.cells, d);
  if (st.args.handler_actor) {
    // A handler written as an actor takes the whole delivery and answers it; await keeps
    // deliveries and revokes in order. Its failure restarts the member.
    self->request(st.args.handler_actor, st.args.options.actor_handler_timeout, d)
        .await(
            [self, tp, next = d.next, count = d.count, ep = d.assignment]() {
              auto it = self->state.partitions.find(tp);
              if (it == self->state.partitions.end() || it->second.assignment != ep) return;
              it->second.delivered_next = next;
              it->second.uncredited += count;
              it->second.handled += count;
              self->state.args.probe->handled.fetch_add(count, std::memory_order_relaxed);
              progress(self, tp, it->second);
            },
            [self, tp, first = d.first](caf::error& err) {
              fail_actor_handler(self, tp, first, std::move(err));
            });
    return;
  }
  if (o.ids) {
    // Idempotent members probe the processed-id table twice per event at random (lookup,
    // eviction): start every line of the delivery loading now so the misses overlap.
    size_t n = 0;
    for (auto& s : d.slices)
      for (batch_cursor cur{s, d.topic, d.partition}; !cur.done(); cur.skip(), ++n)
        o.ids->prefetch(cur.peek_id());
    o.ids->prefetch_evictions(n);
  }
  event_view v;
  for (auto& s : d.slices) {
    batch_cursor cur{s, d.topic, d.partition};
    while (!cur.done()) {
      record_ref ref{s.batch, s.base, cur.position()};
      cur.next(v);
      st.inst.delivered(v, s.append_time, st.args.group);
      if (!o.retry->admit(v.offset(), v.key(), ref)) continue;
      if (!run(self, tp, o, v, ref)) return;
    }
  }
  o.delivered_next = d.next;
  progress(self, tp, o);
}

void on_assign(self_ptr self, assign_partition& a) {
  auto& st = self->state;
  topic_partition tp{a.topic, a.partition};
  owned_t o;
  o.partition = a.partition_actor;
  o.assignment = a.assignment;
  o.committed = a.from;
  o.delivered_next = a.from;
  o.retry = std::make_unique<retry_stm>(st.args.options.retry);
  if (st.args.processed) o.ids = st.args.processed->of(tp);
  o.cells = st.inst.cells(st.args.group, a.topic, a.partition.value);
  st.partitions[tp] = std::move(o);
  st.args.probe->assigned.store(static_cast<int32_t>(st.partitions.size()));
  st.args.probe->assignments.fetch_add(1);
  subscribe_group req{st.args.group, caf::actor_cast<caf::actor>(self), a.assignment, a.from,
                      a.start,       st.args.options.credit_window};
  self->request(a.partition_actor, caf::infinite, std::move(req))
      .then(
          [self, tp, ep = a.assignment](offset start) {
            auto it = self->state.partitions.find(tp);
            if (it == self->state.partitions.end() || it->second.assignment != ep) return;
            auto& o = it->second;
            if (o.delivered_next.value < 0) {
              // Fix the group's position now, so a rebalance before the first event does not
              // resolve "latest" or a timestamp again.
              o.delivered_next = start;
              progress(self, tp, o);
            }
          },
          [self, tp](caf::error& err) {
            auto& args = self->state.args;
            logger()->warn(
                "group={} member={} topic={} partition={} event=subscribe_failed "
                "error=\"{}\"",
                args.group, args.member, tp.topic, tp.partition.value, describe(err));
          });
}

void on_revoke(self_ptr self, revoke_partition& r) {
  auto& st = self->state;
  topic_partition tp{r.topic, r.partition};
  offset next{-1};
  auto it = st.partitions.find(tp);
  if (it != st.partitions.end() && it->second.assignment == r.assignment) {
    auto& o = it->second;
    progress(self, tp, o);
    // Events still retrying are unfinished: the next owner gets them from the commit point.
    next = o.committed;
    self->send(o.partition, unsubscribe_group{st.args.group, r.assignment});
    st.partitions.erase(it);
    st.args.probe->assigned.store(static_cast<int32_t>(st.partitions.size()));
  }
  self->send(st.args.coordinator, revoke_done{r.topic, r.partition, r.assignment, next});
}

void find_coordinator(self_ptr self, int attempt);

/// Drops every partition without committing (the coordinator that would take the commits is
/// gone; its successor hands them out again from the last commits it has).
void drop_partitions(self_ptr self) {
  auto& st = self->state;
  for (auto& [tp, o] : st.partitions)
    self->send(o.partition, unsubscribe_group{st.args.group, o.assignment});
  st.partitions.clear();
  st.args.probe->assigned.store(0);
}

void send_join(self_ptr self);

/// Joins the group. A member that joins again (restarted, or after its coordinator crashed)
/// first fetches fresh topic metadata: partition actors may have been restarted meanwhile.
void join(self_ptr self) {
  auto& st = self->state;
  if (!st.args.restarted || !st.args.registry) {
    send_join(self);
    return;
  }
  self->request(st.args.registry, std::chrono::seconds{10}, list_topics{})
      .then(
          [self](std::vector<topic_metadata>& all) {
            for (auto& t : self->state.args.topics)
              for (auto& fresh : all)
                if (fresh.name == t.name) t = fresh;
            send_join(self);
          },
          [self](caf::error&) { send_join(self); });
}

void send_join(self_ptr self) {
  auto& st = self->state;
  self->monitor(st.args.coordinator);
  join_group req{st.args.member, caf::actor_cast<caf::actor>(self), st.args.topics, st.args.start};
  self->request(st.args.coordinator, std::chrono::seconds{10}, std::move(req))
      .then(
          [self](ok_atom) {
            if (auto f = std::move(self->state.args.on_joined)) f(caf::none);
          },
          [self](caf::error& err) {
            auto& st = self->state;
            // The coordinator may not have seen the previous incarnation's death yet.
            if (st.args.restarted && is(err, errc::member_exists) && ++st.join_attempts < 400) {
              self->delayed_send(self, std::chrono::milliseconds{25}, join_atom::value);
              return;
            }
            if (err == caf::sec::request_receiver_down && st.args.registry) {
              // The coordinator died before answering: ask for its successor.
              st.lost_coordinator = st.args.coordinator.address();
              find_coordinator(self, 0);
              return;
            }
            if (auto f = std::move(st.args.on_joined)) {
              // A first join that fails is the caller's error, not a crash to restart.
              f(err);
              self->quit();
              return;
            }
            logger()->error("group={} member={} event=rejoin_failed error=\"{}\"", st.args.group,
                            st.args.member, describe(err));
            self->quit(std::move(err));
          });
}

/// Asks the registry for the group's coordinator until it is not the one that died.
void find_coordinator(self_ptr self, int attempt) {
  auto& st = self->state;
  self->request(st.args.registry, std::chrono::seconds{10}, get_group{st.args.group})
      .then(
          [self, attempt](caf::actor& g) {
            auto& st = self->state;
            if (g.address() == st.lost_coordinator) {
              if (attempt >= 1000) {
                self->quit(make_error(
                    errc::timeout, "group '" + st.args.group + "' has no coordinator after 10 s"));
                return;
              }
              self->delayed_send(self, std::chrono::milliseconds{10}, find_coordinator_atom::value,
                                 attempt + 1);
              return;
            }
            st.lost_coordinator = caf::actor_addr{};
            st.args.coordinator = std::move(g);
            st.args.restarted = true;
            st.join_attempts = 0;
            logger()->warn("group={} member={} event=rejoin reason=coordinator_restarted",
                           st.args.group, st.args.member);
            join(self);
          },
          [self](caf::error& err) {
            auto& st = self->state;
            logger()->error("group={} member={} event=coordinator_lost error=\"{}\"", st.args.group,
                            st.args.member, describe(err));
            self->quit(std::move(err));
          });
}

}  // namespace

caf::behavior consumer_actor(consumer_actor_t* self, consumer_args args) {
  self->state.args = std::move(args);
  self->state.inst =
      member_instruments{self->state.args.obs, self->state.args.group, self->state.args.member};
  self->state.args.probe->starts.fetch_add(1);
  self->send(self, join_atom::value);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (dm.source != st.args.coordinator.address() || st.lost_coordinator) return;
    if (dm.reason == caf::exit_reason::user_shutdown) {  // the runtime is shutting down
      self->quit();
      return;
    }
    if (!st.args.registry) {
      self->quit(make_error(errc::escalated, "the coordinator of group '" + st.args.group +
                                                 "' stopped: " + describe(dm.reason)));
      return;
    }
    logger()->warn("group={} member={} event=coordinator_down partitions={} reason=\"{}\"",
                   st.args.group, st.args.member, st.partitions.size(), describe(dm.reason));
    drop_partitions(self);
    st.lost_coordinator = dm.source;
    find_coordinator(self, 0);
  });
  return {
      [self](find_coordinator_atom, int attempt) { find_coordinator(self, attempt); },
      [self](assign_partition& a) { on_assign(self, a); },
      [self](revoke_partition& r) { on_revoke(self, r); },
      [self](delivery& d) { on_delivery(self, d); },
      [self](retry_tick_atom) { on_retry_tick(self); },
      [self](dead_letter_retry_atom) {
        self->state.dead_letter_timer = false;
        drain_dead_letters(self);
        if (!self->state.dead_letter_backlog.empty() && !self->state.dead_letter_timer) {
          self->state.dead_letter_timer = true;
          self->delayed_send(self, std::chrono::milliseconds{5}, dead_letter_retry_atom::value);
        }
      },
      [self](dead_letter_written& msg) { on_dead_letter_written(self, msg); },
      [self](join_atom) { join(self); },
      [self](stop_atom) -> caf::result<ok_atom> {
        auto& st = self->state;
        for (auto& [tp, o] : st.partitions) {
          progress(self, tp, o);
          self->send(o.partition, unsubscribe_group{st.args.group, o.assignment});
        }
        st.partitions.clear();
        st.args.probe->assigned.store(0);
        auto rp = self->make_response_promise<ok_atom>();
        // Commits went out before this leave on the same channel, so the coordinator has them
        // when it hands the partitions on.
        self->request(st.args.coordinator, std::chrono::seconds{10}, leave_group{st.args.member})
            .then(
                [self, rp](ok_atom) mutable {
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
