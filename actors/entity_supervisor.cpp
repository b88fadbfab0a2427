#include "actors/entity_supervisor.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/system_messages.hpp>

#include "actors/snapshot_writer.hpp"
#include "base/logging.hpp"
#include "messages/atoms.hpp"
#include "messages/partitioner.hpp"
#include "messages/topic.hpp"

namespace herald {

namespace {

auto& logger() {
  static auto l = log::get("entity");
  return l;
}

using self_ptr = entity_supervisor_t*;
using held = entity_supervisor_state::held;
using slot_t = entity_supervisor_state::slot;

void forward(const caf::actor& to, held& h) {
  std::visit([&](auto& req) { h.rp.delegate(to, std::move(req)); }, h.req);
}

/// The index's entry; an id it does not hold has no events (the index saw the whole topic).
entity_span span_of(self_ptr self, const std::string& id) {
  auto& idx = self->state.index;
  auto it = idx.find(id);
  return it != idx.end() ? it->second : entity_span{offset{-1}, offset{-1}, true};
}

void activate(self_ptr self, const std::string& id, slot_t& s) {
  auto& st = self->state;
  auto p = partition_for_key(id, static_cast<int32_t>(st.partitions.size()));
  entity_args a;
  a.config = st.args.config;
  a.id = id;
  a.partition = partition_id{p};
  a.log = st.partitions[static_cast<size_t>(p)];
  a.supervisor = caf::actor_cast<caf::actor>(self);
  a.span = span_of(self, id);
  a.snapshots = st.args.snapshots;
  a.snapshot_writer = st.writer;
  a.probe = st.args.probe;
  // Monitored both ways rather than linked: a kill of one entity must not take the
  // supervisor down with it (kill passes any exit handler).
  s.actor = self->spawn<caf::monitored>(entity_actor, std::move(a));
  st.ids[s.actor.id()] = id;
  ++st.args.probe->active;
  ++st.args.probe->activations;
  for (auto& h : s.waiting) forward(s.actor, h);
  s.waiting.clear();
}

void route(self_ptr self, std::string id, held h) {
  auto& st = self->state;
  if (!st.ready) {
    st.before_ready.push_back(std::move(h));
    return;
  }
  auto& s = st.entities[id];
  if (s.passivating || s.restarting) {
    s.waiting.push_back(std::move(h));
    return;
  }
  if (!s.actor) {
    s.waiting.push_back(std::move(h));
    return activate(self, id, s);
  }
  forward(s.actor, h);
}

const std::string& id_of(const held& h) {
  return std::visit([](auto& r) -> const std::string& { return r.id; }, h.req);
}

/// Asks the registry for the topic's partitions (again after a restart: a partition may have
/// been restarted too), then runs `next`.
template <class F>
void with_partitions(self_ptr self, F next) {
  auto& st = self->state;
  self->request(st.args.registry, st.args.request_timeout, get_topic{st.args.config->topic})
      .then(
          [self, next](topic_metadata& md) mutable {
            self->state.partitions = std::move(md.partitions);
            next();
          },
          [self](caf::error& err) {
            // Without its topic the entity type cannot work: fail, and let the root
            // supervisor restart it (the topic may come back).
            auto e =
                make_error(errc::unknown_topic, "entity topic '" + self->state.args.config->topic +
                                                    "' is not available: " + describe(err));
            self->quit(std::move(e));
          });
}

void start_routing(self_ptr self) {
  auto& st = self->state;
  st.ready = true;
  logger()->info("topic={} event=entity_index_built entities={}", st.args.config->topic,
                 st.index.size());
  auto waiting = std::move(st.before_ready);
  st.before_ready.clear();
  for (auto& h : waiting) {
    auto id = id_of(h);
    route(self, std::move(id), std::move(h));
  }
}

/// Reads partition `p` from `from` on, noting where each entity's versioned events are,
/// then the next partition; routing starts after the last.
void scan(self_ptr self, size_t p, offset from) {
  auto& st = self->state;
  if (p >= st.partitions.size()) return start_routing(self);
  auto& cfg = *st.args.config;
  self->request(st.partitions[p], st.args.request_timeout,
                read_records{from, cfg.read_events, cfg.read_bytes})
      .then(
          [self, p](read_result& r) {
            auto& st = self->state;
            event_view v;
            for (auto& s : r.slices) {
              batch_cursor cur{s, st.args.config->topic, partition_id{static_cast<int32_t>(p)}};
              while (!cur.done()) {
                cur.next(v);
                if (!v.header(entity_version_header)) continue;
                auto& sp = st.index[std::string{v.key()}];
                if (sp.first.value < 0) sp.first = v.offset();
                sp.last = v.offset();
                sp.exact = true;
              }
            }
            if (r.slices.empty() || r.next >= r.end) return scan(self, p + 1, offset{0});
            scan(self, p, r.next);
          },
          [self, p](caf::error& err) {
            auto& st = self->state;
            if (is(err, errc::offset_out_of_range)) {
              // Retention removed the start: scan from where the log starts now.
              self->request(st.partitions[p], st.args.request_timeout, get_partition_status{})
                  .then([self, p](partition_status& ps) { scan(self, p, ps.start); },
                        [self](caf::error& e) { self->quit(std::move(e)); });
              return;
            }
            self->quit(make_error(
                errc::storage_failure,
                "scanning entity topic '" + st.args.config->topic + "' failed: " + describe(err)));
          });
}

void answer_held(self_ptr self, const caf::error& err) {
  auto& st = self->state;
  for (auto& h : st.before_ready) h.rp.deliver(err);
  st.before_ready.clear();
  for (auto& [id, s] : st.entities)
    for (auto& h : s.waiting) h.rp.deliver(err);
}

void on_entity_down(self_ptr self, caf::down_msg& dm) {
  auto& st = self->state;
  auto it = st.ids.find(dm.source.id());
  if (it == st.ids.end()) return;
  auto id = std::move(it->second);
  st.ids.erase(it);
  --st.args.probe->active;
  auto& s = st.entities[id];
  s.actor = nullptr;
  if (!dm.reason) {
    if (s.passivating) ++st.args.probe->passivations;
    s.passivating = false;
    s.failures = 0;
    if (s.waiting.empty()) {
      st.entities.erase(id);
      return;
    }
    return activate(self, id, s);
  }
  s.passivating = false;
  // It may have appended before it died: its next rebuild reads on to the log end.
  st.index[id].exact = false;
  ++st.args.probe->restarts;
  if (!st.window.allow(std::chrono::steady_clock::now())) {
    auto err = make_error(
        errc::escalated,
        "entity supervisor of topic '" + st.args.config->topic + "': entities failed more than " +
            std::to_string(st.args.restarts.max_restarts) + " times within " +
            std::to_string(st.args.restarts.window.count()) + " ms (last: '" + id + "', " +
            describe(dm.reason) + "); escalating to the root supervisor, which restarts the type");
    logger()->error("topic={} event=entities_escalated error=\"{}\"", st.args.config->topic,
                    describe(err));
    answer_held(self, err);
    self->quit(std::move(err));
    return;
  }
  s.restarting = true;
  ++s.generation;
  auto delay = st.args.backoff.delay(++s.failures, st.rng);
  logger()->warn("topic={} entity={} event=entity_restart_scheduled delay_ms={} reason=\"{}\"",
                 st.args.config->topic, id, delay.count(), describe(dm.reason));
  self->delayed_send(self, delay, restart_atom::value, id, s.generation);
}

void on_restart(self_ptr self, const std::string& id, uint64_t generation) {
  auto it = self->state.entities.find(id);
  if (it == self->state.entities.end() || !it->second.restarting ||
      it->second.generation != generation)
    return;
  with_partitions(self, [self, id, generation] {
    auto it = self->state.entities.find(id);
    if (it == self->state.entities.end() || it->second.generation != generation) return;
    it->second.restarting = false;
    activate(self, id, it->second);
  });
}

}  // namespace

caf::behavior entity_supervisor(entity_supervisor_t* self, entity_supervisor_args args) {
  auto& st = self->state;
  st.args = std::move(args);
  st.window = restart_window{st.args.restarts};
  auto& cfg = *st.args.config;
  if (st.args.snapshots->blocking())
    st.writer = self->spawn<caf::linked + caf::detached>(
        snapshot_writer, cfg.topic, st.args.snapshots, cfg.snapshots_kept, st.args.probe);
  else
    st.writer = self->spawn<caf::linked>(snapshot_writer, cfg.topic, st.args.snapshots,
                                         cfg.snapshots_kept, st.args.probe);
  // The writer is linked: if it fails, the type restarts. Entities monitor this actor and
  // stop with it.
  self->set_exit_handler([self](caf::exit_msg& em) {
    answer_held(self,
                em.reason ? em.reason : make_error(errc::shutting_down, "the entity type stopped"));
    self->quit(em.reason ? em.reason : caf::error{caf::exit_reason::user_shutdown});
  });
  self->set_down_handler([self](caf::down_msg& dm) { on_entity_down(self, dm); });
  with_partitions(self, [self] { scan(self, 0, offset{0}); });
  return {
      [self](entity_command& cmd) {
        auto rp = self->make_response_promise();
        auto id = cmd.id;
        route(self, std::move(id), held{std::move(cmd), std::move(rp)});
      },
      [self](get_entity_state& q) {
        auto rp = self->make_response_promise();
        if (q.is_current()) {
          auto id = q.id;
          return route(self, std::move(id), held{std::move(q), std::move(rp)});
        }
        auto& st = self->state;
        if (!st.ready) {
          st.before_ready.push_back(held{std::move(q), std::move(rp)});
          return;
        }
        // The past is computed apart from the live entity, which goes on with commands.
        auto p = partition_for_key(q.id, static_cast<int32_t>(st.partitions.size()));
        entity_args a;
        a.config = st.args.config;
        a.id = q.id;
        a.partition = partition_id{p};
        a.log = st.partitions[static_cast<size_t>(p)];
        a.supervisor = caf::actor_cast<caf::actor>(self);
        a.span = span_of(self, q.id);
        if (auto it = st.entities.find(q.id); it != st.entities.end() && it->second.actor)
          a.span.exact = false;  // the live entity may have appended since
        a.snapshots = st.args.snapshots;
        a.probe = st.args.probe;
        a.reader = q;
        auto reader = self->spawn(entity_actor, std::move(a));
        rp.delegate(reader, std::move(q));
      },
      [self](entity_passivated& msg) { self->state.index[msg.id] = msg.span; },
      [self](passivate_request& req) {
        auto it = self->state.entities.find(req.id);
        auto sender = caf::actor_cast<caf::actor>(self->current_sender());
        if (it == self->state.entities.end() || it->second.actor != sender) return;
        it->second.passivating = true;
        self->send(sender, passivate_ok_atom::value);
      },
      [self](restart_atom, const std::string& id, uint64_t generation) {
        on_restart(self, id, generation);
      },
      [self](get_entity_actor& req) -> caf::actor {
        auto it = self->state.entities.find(req.id);
        return it == self->state.entities.end() ? caf::actor{} : it->second.actor;
      },
  };
}

}  // namespace herald
