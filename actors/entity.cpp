#include "actors/entity.hpp"

#include <algorithm>
#include <exception>

#include <caf/event_based_actor.hpp>
#include <caf/system_messages.hpp>

#include "base/logging.hpp"
#include "messages/json.hpp"

namespace herald {

namespace {

auto& logger() {
  static auto l = log::get("entity");
  return l;
}

using self_ptr = entity_actor_t*;

std::string where(self_ptr self) {
  auto& a = self->state.args;
  return "entity '" + a.id + "' of topic '" + a.config->topic + "'";
}

entity_state current(self_ptr self) {
  auto& st = self->state;
  return {st.args.id, st.version, st.last_time, st.state, st.snapshot_version, st.events_replayed};
}

/// Answers everything waiting with `err`.
void answer_all(self_ptr self, const caf::error& err) {
  auto& st = self->state;
  for (auto& c : st.in_flight)
    if (c.rp.pending()) c.rp.deliver(err);
  st.in_flight.clear();
  for (auto& w : st.queue)
    if (w.rp.pending()) w.rp.deliver(err);
  st.queue.clear();
  for (auto& [q, rp] : st.state_queries)
    if (rp.pending()) rp.deliver(err);
  st.state_queries.clear();
}

/// Fails the entity: every waiting caller learns why, and the supervisor restarts it, which
/// rebuilds the state from the log (what was appended is there, what was not is not).
void fail(self_ptr self, caf::error err) {
  logger()->warn("topic={} entity={} event=entity_failed error=\"{}\"",
                 self->state.args.config->topic, self->state.args.id, describe(err));
  answer_all(self, err);
  self->quit(std::move(err));
}

void arm_idle(self_ptr self, std::chrono::milliseconds after) {
  auto& st = self->state;
  if (st.args.reader || st.args.config->idle_timeout.count() <= 0 || st.idle_timer) return;
  st.idle_timer = true;
  self->delayed_send(self, std::max(after, std::chrono::milliseconds{1}), idle_tick_atom::value);
}

void maybe_stop(self_ptr self) {
  auto& st = self->state;
  if (!st.stop_when_idle || st.appending || !st.queue.empty()) return;
  // Before the down message (same sender, same receiver): the supervisor learns where this
  // entity's events are, so the next activation reads only those.
  self->send(st.args.supervisor,
             entity_passivated{st.args.id, entity_span{st.first_offset, st.last_offset, true}});
  self->quit();
}

// -- rebuilding -------------------------------------------------------------------------------

void read_next(self_ptr self);

void finish_rebuild(self_ptr self);

void rebuild_failed(self_ptr self, caf::error err) {
  auto& st = self->state;
  // Missing events will not come back by retrying: answer every caller with the reason
  // until the entity passivates, instead of a restart loop.
  logger()->error("topic={} entity={} event=rebuild_failed error=\"{}\"", st.args.config->topic,
                  st.args.id, describe(err));
  st.ph = entity_actor_state::phase::broken;
  st.broken_reason = err;
  answer_all(self, err);
  if (st.args.reader) self->quit();
  st.last_activity = std::chrono::steady_clock::now();
  arm_idle(self, st.args.config->idle_timeout);
}

void on_read(self_ptr self, read_result& r) {
  auto& st = self->state;
  auto& logic = *st.args.config->logic;
  auto err =
      st.replay->feed(r, st.args.partition, [&](const event_view& e) { logic.apply(st.state, e); });
  if (err) return rebuild_failed(self, std::move(err));
  if (st.replay->done()) return finish_rebuild(self);
  read_next(self);
}

void read_next(self_ptr self) {
  auto& st = self->state;
  auto& cfg = *st.args.config;
  auto n = cfg.read_events;
  if (auto left = st.replay->remaining(); left >= 0)
    n = static_cast<int32_t>(std::min<int64_t>(n, std::max<int64_t>(left, 1)));
  self->request(st.args.log, cfg.read_timeout, read_records{st.replay->next(), n, cfg.read_bytes})
      .then([self](read_result& r) { on_read(self, r); },
            [self](caf::error& err) {
              auto& st = self->state;
              if (is(err, errc::offset_out_of_range)) {
                // Retention removed the start of the log: read from where it starts now (a
                // version gap then tells whether events of this entity were among them).
                self->request(st.args.log, st.args.config->read_timeout, get_partition_status{})
                    .then(
                        [self](partition_status& ps) {
                          self->state.replay->seek(ps.start);
                          read_next(self);
                        },
                        [self](caf::error& e) { fail(self, std::move(e)); });
                return;
              }
              fail(self,
                   make_error(errc::storage_failure,
                              "reading the events of " + where(self) + " failed: " + describe(err) +
                                  "; the entity is restarted and reads them again"));
            });
}

/// Where the entity's events end, if its supervisor knows (-1: at the log end).
offset known_end(self_ptr self) {
  auto& sp = self->state.args.span;
  if (!sp.exact) return offset{-1};
  return sp.last.value >= 0 ? sp.last + 1 : offset{0};
}

/// Reads what is left, or finishes at once when nothing is.
void continue_rebuild(self_ptr self) {
  if (self->state.replay->done()) return finish_rebuild(self);
  read_next(self);
}

/// Starts from scratch (no snapshot, or one the log contradicts).
void replay_from_start(self_ptr self) {
  auto& st = self->state;
  st.state = st.args.config->logic->initial();
  st.version = 0;
  st.snapshot_version = 0;
  entity_replay::limits lim;
  if (st.args.reader) lim = {st.args.reader->max_version, st.args.reader->max_time};
  auto from = st.args.span.first.value >= 0 ? st.args.span.first : offset{0};
  st.replay.emplace(st.args.id, st.args.config->topic, lim, 0, from, known_end(self));
  continue_rebuild(self);
}

void discard_snapshot(self_ptr self, const entity_snapshot& snap) {
  auto& st = self->state;
  ++st.args.probe->snapshots_discarded;
  logger()->warn(
      "topic={} entity={} event=snapshot_discarded version={} offset={} "
      "reason=\"the log does not hold the snapshot's last event\"",
      st.args.config->topic, st.args.id, snap.version, snap.last_offset.value);
}

/// A snapshot is used only if the log still holds the event it ends with: after a power loss
/// under a lax durability policy, or a topic deleted and created again, it may not.
void verify_snapshot(self_ptr self, entity_snapshot snap) {
  auto& st = self->state;
  self->request(st.args.log, st.args.config->read_timeout, read_records{snap.last_offset, 1, 1})
      .then(
          [self, snap](read_result& r) {
            auto& st = self->state;
            bool ok = false;
            event_view v;
            for (auto& s : r.slices) {
              batch_cursor cur{s, st.args.config->topic, st.args.partition};
              if (cur.done()) continue;
              cur.next(v);
              ok = v.offset() == snap.last_offset && v.key() == st.args.id &&
                   entity_version_of(v) == snap.version;
              break;
            }
            if (!ok) {
              discard_snapshot(self, snap);
              return replay_from_start(self);
            }
            continue_rebuild(self);
          },
          [self](caf::error& err) {
            // Below the log start (retention): the snapshot is all that is left of those
            // events, so it is the truth.
            if (is(err, errc::offset_out_of_range)) return continue_rebuild(self);
            fail(self, std::move(err));
          });
}

void start_rebuild(self_ptr self) {
  auto& st = self->state;
  auto& cfg = *st.args.config;
  entity_replay::limits lim;
  bool use_snapshots = true;
  if (st.args.reader) {
    lim = {st.args.reader->max_version, st.args.reader->max_time};
    use_snapshots = st.args.reader->use_snapshots;
  }
  if (use_snapshots && st.args.snapshots) {
    auto snap = st.args.snapshots->load(st.args.id, {lim.max_version, lim.max_time});
    if (snap && *snap && (*snap)->state_version == cfg.logic->state_version() &&
        (*snap)->partition == st.args.partition) {
      if (auto decoded = cfg.logic->decode((*snap)->state)) {
        auto& s = **snap;
        st.state = std::move(*decoded);
        st.version = s.version;
        st.last_time = s.last_time;
        st.last_offset = s.last_offset;
        st.snapshot_version = s.version;
        st.replay.emplace(st.args.id, cfg.topic, lim, s.version, s.next, known_end(self));
        st.replay->resume_after(s.version, s.last_offset, s.last_time);
        auto& sp = st.args.span;
        if (sp.exact && sp.last.value >= 0) {
          // The supervisor saw where the entity's events end: a snapshot beyond that is ahead
          // of the log; one that ends there needs no check.
          if (s.last_offset > sp.last) {
            discard_snapshot(self, s);
            return replay_from_start(self);
          }
          if (s.last_offset == sp.last) return continue_rebuild(self);
        }
        return verify_snapshot(self, std::move(s));
      }
    }
  }
  replay_from_start(self);
}

void answer_state(self_ptr self, const get_entity_state& q, caf::response_promise& rp) {
  auto& st = self->state;
  if (q.max_version > st.version)
    return rp.deliver(
        make_error(errc::invalid_argument, where(self) + " is at version " +
                                               std::to_string(st.version) + "; it has no version " +
                                               std::to_string(q.max_version) + " yet"));
  rp.deliver(current(self));
}

void run_batch(self_ptr self);

void finish_rebuild(self_ptr self) {
  auto& st = self->state;
  auto& r = *st.replay;
  st.version = r.version();
  st.last_time = r.last_time();
  st.last_offset = r.last_offset();
  st.events_replayed = r.applied();
  if (st.args.span.first.value >= 0)
    st.first_offset = st.args.span.first;
  else if (r.first_applied().value >= 0)
    st.first_offset = r.first_applied();
  st.ph = entity_actor_state::phase::ready;
  if (!st.args.reader) {
    ++st.args.probe->rebuilds;
    if (st.snapshot_version > 0) ++st.args.probe->rebuilds_from_snapshot;
    st.args.probe->events_replayed += r.applied();
    st.args.probe->records_read += r.records_read();
  }
  logger()->debug(
      "topic={} entity={} event=rebuilt version={} snapshot={} replayed={} "
      "duplicates={} foreign={}",
      st.args.config->topic, st.args.id, st.version, st.snapshot_version, r.applied(),
      r.duplicates(), r.foreign());
  auto answered = !st.state_queries.empty();
  for (auto& [q, rp] : st.state_queries) answer_state(self, q, rp);
  st.state_queries.clear();
  if (st.args.reader) {
    // A reader answers one query and stops; that query may still be on its way (the
    // supervisor sends it right after the spawn), then its handler answers it.
    if (answered) self->quit();
    return;
  }
  st.last_activity = std::chrono::steady_clock::now();
  arm_idle(self, st.args.config->idle_timeout);
  run_batch(self);
}

// -- commands ---------------------------------------------------------------------------------

caf::error conflict(self_ptr self, int64_t expected) {
  return make_error(errc::version_conflict,
                    where(self) + " is at version " + std::to_string(self->state.version) +
                        ", the command expected version " + std::to_string(expected) +
                        "; read the entity again and decide on its current state");
}

/// Decides one command's events and encodes them; applies them to the state once sealed,
/// so the state sees exactly the bytes that a replay will see. Errors reject the command
/// and leave the state as it was.
caf::expected<record_batch_ptr> decide(self_ptr self, entity_actor_state::waiting_command& w,
                                       timestamp now, uint64_t seq) {
  auto& st = self->state;
  auto& cfg = *st.args.config;
  caf::expected<std::vector<entity_event>> events{caf::error{}};
  try {
    events = cfg.logic->decide(st.state, st.args.id, w.cmd.command);
  } catch (std::exception& e) {
    return make_error(errc::handler_failed, "the command handler of " + where(self) +
                                                " threw: " + e.what() + "; nothing was appended");
  }
  if (!events) return std::move(events.error());
  if (events->empty()) return record_batch_ptr{};
  batch_builder b{512};
  auto v = st.version;
  auto t = std::max(now, st.last_time);  // an entity's event times never go back
  for (auto& e : *events) {
    if (auto err = validate_json(e.payload))
      return make_error(errc::invalid_json,
                        "the command handler of " + where(self) + " decided a " + e.type +
                            " event whose payload is not JSON: " + describe(err) +
                            "; nothing was appended");
    auto ev = event::builder{cfg.topic, e.type}
                  .key(st.args.id)
                  .payload(std::move(e.payload))
                  .header(std::string{entity_version_header}, std::to_string(++v))
                  .time(t)
                  .build();
    if (batch_builder::encoded_size(ev) > cfg.max_event_bytes)
      return make_error(errc::event_too_large, "a " + e.type + " event of " + where(self) +
                                                   " exceeds the topic's " + "max_event_bytes (" +
                                                   std::to_string(cfg.max_event_bytes) +
                                                   "); nothing was appended");
    if (auto err = b.add(ev)) return err;
  }
  return b.seal(producer_id{0}, seq);
}

void apply_batch(self_ptr self, const record_batch& b) {
  auto& st = self->state;
  batch_cursor cur{b, offset{0}, st.args.config->topic, st.args.partition};
  event_view v;
  while (!cur.done()) {
    cur.next(v);
    st.args.config->logic->apply(st.state, v);  // a throw fails the entity (exception handler)
    st.version = entity_version_of(v).value_or(st.version + 1);
    st.last_time = v.time();
  }
}

void run_batch(self_ptr self) {
  auto& st = self->state;
  if (st.appending || st.queue.empty() || st.ph != entity_actor_state::phase::ready) return;
  auto& cfg = *st.args.config;
  auto& probe = *st.args.probe;
  auto seq = st.append_seq + 1;
  auto now = timestamp::now();
  std::vector<record_batch_ptr> parts;
  int32_t events = 0;
  for (int32_t i = 0; i < cfg.max_batch_commands && !st.queue.empty(); ++i) {
    auto w = std::move(st.queue.front());
    st.queue.pop_front();
    ++probe.commands;
    if (!w.cmd.expected.is_any() && w.cmd.expected.value != st.version) {
      ++probe.conflicts;
      w.rp.deliver(conflict(self, w.cmd.expected.value));
      continue;
    }
    auto b = decide(self, w, now, seq);
    if (!b) {
      ++probe.rejected;
      w.rp.deliver(std::move(b.error()));
      continue;
    }
    if (!*b) {
      w.rp.deliver(command_result{st.args.id, st.version, 0, st.args.partition, offset{-1}});
      continue;
    }
    apply_batch(self, **b);
    auto n = static_cast<int32_t>((*b)->record_count());
    st.in_flight.push_back(
        {std::move(w.rp), command_result{st.args.id, st.version, n, st.args.partition, offset{-1}},
         events});
    events += n;
    parts.push_back(std::move(*b));
  }
  if (parts.empty()) return maybe_stop(self);
  record_batch_ptr batch;
  if (parts.size() == 1) {
    batch = std::move(parts.front());
  } else {
    batch_builder all{static_cast<size_t>(events) * 256};
    event_view v;
    for (auto& p : parts) {
      batch_cursor cur{*p, offset{0}, cfg.topic, st.args.partition};
      while (!cur.done()) {
        cur.next(v);
        (void)all.add(v);  // re-encodes records that were encoded once already
      }
    }
    batch = all.seal(producer_id{0}, seq);
  }
  st.append_seq = seq;
  st.appending = true;
  st.append_started = std::chrono::steady_clock::now();
  self->send(st.args.log, append_batch{st.args.partition, std::move(batch)});
  // One watchdog timer per entity, not one per append: a delayed message costs the clock
  // thread work and keeps the actor alive until it fires.
  if (!st.append_timer) {
    st.append_timer = true;
    self->delayed_send(self, cfg.append_timeout, append_timeout_atom::value);
  }
}

void maybe_snapshot(self_ptr self) {
  auto& st = self->state;
  auto& cfg = *st.args.config;
  if (cfg.snapshot_every <= 0 || st.version - st.snapshot_version < cfg.snapshot_every) return;
  entity_snapshot s;
  s.id = st.args.id;
  s.version = st.version;
  s.partition = st.args.partition;
  s.next = st.last_offset + 1;
  s.last_offset = st.last_offset;
  s.last_time = st.last_time;
  s.taken = timestamp::now();
  s.state_version = cfg.logic->state_version();
  s.state = cfg.logic->encode(st.state);
  st.snapshot_version = st.version;
  ++st.args.probe->snapshots_taken;
  self->send(st.args.snapshot_writer, std::move(s));
}

void on_ack(self_ptr self, append_ack& ack) {
  auto& st = self->state;
  if (!st.appending || ack.seq != st.append_seq) return;  // a batch already given up on
  st.appending = false;
  if (ack.error)
    return fail(self, make_error(errc::storage_failure,
                                 "appending the events of " + where(self) +
                                     " failed: " + describe(ack.error) +
                                     "; nothing was appended, the entity rebuilds its state; "
                                     "retry the commands"));
  ++st.args.probe->appends;
  st.args.probe->events_appended += ack.count;
  st.last_offset = ack.base + (ack.count - 1);
  if (st.first_offset.value < 0) st.first_offset = ack.base;
  for (auto& c : st.in_flight) {
    c.result.first = ack.base + c.first_index;
    c.rp.deliver(std::move(c.result));
  }
  st.in_flight.clear();
  maybe_snapshot(self);
  run_batch(self);
  maybe_stop(self);
}

}  // namespace

caf::behavior entity_actor(entity_actor_t* self, entity_args args) {
  auto& st = self->state;
  st.args = std::move(args);
  st.state = st.args.config->logic->initial();
  st.last_activity = std::chrono::steady_clock::now();
  self->set_exception_handler([self](std::exception_ptr& ep) -> caf::error {
    std::string what = "an unknown exception";
    try {
      std::rethrow_exception(ep);
    } catch (std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    auto err = make_error(errc::handler_failed,
                          "the event handler of " + where(self) + " threw: " + what +
                              "; the entity is restarted and rebuilds its state from its events");
    logger()->error("topic={} entity={} event=handler_threw error=\"{}\"",
                    self->state.args.config->topic, self->state.args.id, what);
    answer_all(self, err);
    return err;
  });
  self->monitor(st.args.log);
  if (st.args.supervisor) self->monitor(st.args.supervisor);
  self->set_down_handler([self](caf::down_msg& dm) {
    if (dm.source == self->state.args.supervisor.address()) {
      answer_all(self,
                 make_error(errc::shutting_down,
                            where(self) + " stopped with its entity type (" + describe(dm.reason) +
                                "); a command in flight may or may not have been appended"));
      return self->quit(dm.reason);
    }
    if (dm.source != self->state.args.log.address()) return;
    fail(self, make_error(errc::storage_failure,
                          "the partition of " + where(self) + " stopped (" + describe(dm.reason) +
                              "); the entity is restarted on its successor"));
  });
  start_rebuild(self);
  return {
      [self](entity_command& cmd) -> caf::result<command_result> {
        auto& st = self->state;
        if (st.ph == entity_actor_state::phase::broken) return st.broken_reason;
        if (st.args.reader) return make_error(errc::invalid_argument, "a reader runs no commands");
        auto rp = self->make_response_promise<command_result>();
        st.queue.push_back({std::move(cmd), rp});
        st.last_activity = std::chrono::steady_clock::now();
        run_batch(self);
        return rp;
      },
      [self](get_entity_state& q) -> caf::result<entity_state> {
        auto& st = self->state;
        if (st.ph == entity_actor_state::phase::broken) return st.broken_reason;
        st.last_activity = std::chrono::steady_clock::now();
        auto rp = self->make_response_promise<entity_state>();
        if (st.ph == entity_actor_state::phase::rebuilding) {
          st.state_queries.emplace_back(std::move(q), rp);
          return rp;
        }
        answer_state(self, q, rp);
        if (st.args.reader) self->quit();
        return rp;
      },
      [self](append_ack& ack) { on_ack(self, ack); },
      [self](append_timeout_atom) {
        auto& st = self->state;
        st.append_timer = false;
        if (!st.appending) return;
        auto limit = st.args.config->append_timeout;
        auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - st.append_started);
        if (waited < limit) {
          st.append_timer = true;
          self->delayed_send(self, limit - waited, append_timeout_atom::value);
          return;
        }
        st.appending = false;
        fail(self, make_error(errc::timeout,
                              "the partition did not acknowledge the events of " + where(self) +
                                  " within " + std::to_string(limit.count()) +
                                  " ms; they may or may not be in the log: the entity rebuilds "
                                  "from it, retry with an expected version to be safe"));
      },
      [self](idle_tick_atom) {
        auto& st = self->state;
        st.idle_timer = false;
        if (st.passivating) return;
        auto idle = st.args.config->idle_timeout;
        auto busy =
            st.appending || !st.queue.empty() || st.ph == entity_actor_state::phase::rebuilding;
        auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - st.last_activity);
        if (busy || elapsed < idle) return arm_idle(self, busy ? idle : idle - elapsed);
        st.passivating = true;
        self->send(st.args.supervisor, passivate_request{st.args.id});
      },
      [self](passivate_ok_atom) {
        self->state.stop_when_idle = true;
        maybe_stop(self);
      },
  };
}

}  // namespace herald
