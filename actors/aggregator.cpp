#include "actors/aggregator.hpp"

#include <algorithm>
#include <charconv>

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include "actors/dead_letter.hpp"
#include "actors/log_reader.hpp"
#include "base/logging.hpp"
#include "messages/atoms.hpp"
#include "messages/errors.hpp"
#include "messages/partition.hpp"
#include "messages/topic.hpp"

namespace herald {

namespace {

auto& logger() {
  static auto l = log::get("aggregator");
  return l;
}

using self_ptr = aggregator_actor_t*;
using clock = aggregate_stm::clock;

/// Outputs the producer has not accepted beyond this hold the next delivery back (credit).
constexpr size_t outbox_limit = 4096;

uint64_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

uint64_t hash_text(std::string_view s, uint64_t seed) {
  uint64_t h = seed ^ 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return mix(h);
}

void pump(self_ptr self);
void publish(self_ptr self, std::vector<emission>& ems, const std::string& input_topic,
             partition_id p);

void fail(self_ptr self, const std::string& what, const caf::error& err) {
  auto& a = self->state.args;
  logger()->error("aggregator={} event=failed what=\"{}\" error=\"{}\" action=restart_and_rebuild",
                  a.spec.name, what, describe(err));
  auto reason = make_error(errc::storage_failure,
                           "aggregator '" + a.spec.name + "': " + what + ": " + describe(err));
  // Answer what waits: the member awaits each delivery's answer and would neither see the
  // restart nor leave its group before that request timed out.
  for (auto& j : self->state.jobs) j.rp.deliver(reason);
  self->state.jobs.clear();
  self->quit(std::move(reason));
}

// -- timers -------------------------------------------------------------------------------------

void arm_timers(self_ptr self) {
  auto& st = self->state;
  auto& pol = st.args.spec.policy;
  int64_t pending = 0;
  for (auto& [p, stm] : st.partitions) pending += static_cast<int64_t>(stm->pending());
  st.args.probe->pending.store(pending, std::memory_order_relaxed);
  if (pol.quiet.count() > 0) {
    std::optional<clock::time_point> due;
    for (auto& [p, stm] : st.partitions)
      if (auto d = stm->next_quiet(); d && (!due || *d < *due)) due = d;
    if (due && (!st.quiet_timer || *due < *st.quiet_timer)) {
      st.quiet_timer = due;
      auto wait = std::max(clock::duration::zero(), *due - clock::now());
      self->delayed_send(self, std::chrono::duration_cast<std::chrono::nanoseconds>(wait),
                         agg_quiet_atom::value);
    }
  }
  if (pol.interval.count() > 0 && !st.interval_timer) {
    bool any = std::any_of(st.partitions.begin(), st.partitions.end(),
                           [](auto& kv) { return kv.second->has_listed(); });
    if (any) {
      st.interval_timer = true;
      self->delayed_send(self, pol.interval, agg_interval_atom::value);
    }
  }
}

void on_quiet(self_ptr self) {
  auto& st = self->state;
  st.quiet_timer.reset();
  if (st.busy) {  // a rebuild is half-way: emit once it is done
    self->delayed_send(self, std::chrono::milliseconds{1}, agg_quiet_atom::value);
    return;
  }
  auto now = clock::now();
  for (auto& [p, stm] : st.partitions) {
    st.scratch.clear();
    stm->quiet_due(now, st.scratch);
    publish(self, st.scratch, st.args.spec.input_topic, partition_id{p});
  }
  arm_timers(self);
}

void on_interval(self_ptr self) {
  auto& st = self->state;
  st.interval_timer = false;
  if (st.busy) {
    st.interval_timer = true;
    self->delayed_send(self, std::chrono::milliseconds{1}, agg_interval_atom::value);
    return;
  }
  for (auto& [p, stm] : st.partitions) {
    st.scratch.clear();
    stm->interval_tick(st.scratch);
    publish(self, st.scratch, st.args.spec.input_topic, partition_id{p});
  }
  arm_timers(self);
}

// -- outputs ------------------------------------------------------------------------------------

/// Hands the outbox to the producer in order; stops at the first refusal (a full lane) and
/// tries again shortly.
void drain_outbox(self_ptr self) {
  auto& st = self->state;
  auto probe = st.args.probe;
  auto weak = caf::actor_cast<caf::weak_actor_ptr>(self);
  while (!st.outbox.empty()) {
    auto done = [probe, weak](caf::expected<std::vector<publish_ack>> r) {
      if (r) {
        probe->acknowledged.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      if (auto strong = caf::actor_cast<caf::actor>(weak))
        caf::anon_send(strong, agg_failed_atom::value, describe(r.error()));
    };
    auto err = st.args.out->publish_async(st.outbox.front(), std::move(done));
    if (err && is(err, errc::timeout)) break;
    if (err) {
      fail(self, "publishing to '" + st.args.spec.output_topic + "' failed", err);
      return;
    }
    probe->emitted.fetch_add(1, std::memory_order_relaxed);
    st.outbox.pop_front();
  }
  if (!st.outbox.empty() && !st.outbox_timer) {
    st.outbox_timer = true;
    self->delayed_send(self, std::chrono::milliseconds{2}, agg_outbox_atom::value);
  }
}

void publish(self_ptr self, std::vector<emission>& ems, const std::string& input_topic,
             partition_id p) {
  if (ems.empty()) return;
  auto& st = self->state;
  auto& spec = st.args.spec;
  auto input_prefix = input_topic + "/" + std::to_string(p.value) + "/";
  for (auto& em : ems) {
    st.outbox.push_back(
        event::builder{spec.output_topic, spec.output_type}
            .key(em.key)
            .payload(std::move(em.payload))
            .id(output_id(spec.name, em.key, em.version, em.source_ms))
            .header(agg_header::source, spec.name)
            .header(agg_header::version, std::to_string(em.version))
            .header(agg_header::input, input_prefix + std::to_string(em.source.value))
            .build());
  }
  ems.clear();
  drain_outbox(self);
}

// -- deliveries ---------------------------------------------------------------------------------

aggregate_stm& table_of(self_ptr self, partition_id p) {
  auto& st = self->state;
  auto& slot = st.partitions[p.value];
  if (!slot)
    slot = std::make_unique<aggregate_stm>(st.args.spec.policy, st.args.spec.make_table(),
                                           st.args.spec.idempotence_window, &st.emitted);
  return *slot;
}

/// Publishes the counts of the events folded since the last call (once per delivery or
/// chunk, not per event).
void flush_tally(self_ptr self) {
  auto& t = self->state.tally;
  auto& probe = *self->state.args.probe;
  auto add = [](std::atomic<int64_t>& to, int64_t& n) {
    if (n) to.fetch_add(n, std::memory_order_relaxed);
    n = 0;
  };
  add(probe.applied, t.applied);
  add(probe.replayed, t.replayed);
  add(probe.seen, t.seen);
  add(probe.duplicates, t.duplicates);
  add(probe.rejected, t.rejected);
}

/// Folds one event; a bad one from a live delivery becomes a dead letter of `j`.
void fold_one(self_ptr self, aggregate_stm& stm, const event_view& v, clock::time_point now,
              aggregator_state::job* j) {
  auto& st = self->state;
  auto& tally = st.tally;
  caf::error why;
  switch (stm.apply(v, now, st.scratch, why)) {
    case aggregate_stm::outcome::applied:
      ++tally.applied;
      if (!j) ++tally.replayed;
      break;
    case aggregate_stm::outcome::seen:
      if (j) ++tally.seen;
      break;
    case aggregate_stm::outcome::duplicate:
      // Counted when delivered, not again when a rebuild meets it.
      if (j) ++tally.duplicates;
      break;
    case aggregate_stm::outcome::rejected: {
      // Events below the group's commit were dead-lettered by whoever committed them.
      if (!j) break;
      auto& spec = st.args.spec;
      ++tally.rejected;
      logger()->warn(
          "aggregator={} topic={} partition={} offset={} event_id={} event=rejected "
          "action=dead_letter error=\"{}\"",
          spec.name, spec.input_topic, v.partition().value, v.offset().value, v.id_text(),
          describe(why));
      auto t = timestamp::now();
      failure_story story{spec.input_topic, v.partition(), v.offset(), spec.name, 1, t, t,
                          describe(why)};
      j->unsent.push_back(make_dead_letter(v, story));
      break;
    }
  }
}

/// Hands a job's dead letters to the producer; a full lane is tried again in 2 ms. The job is
/// answered once all are stored.
void send_dead_letters(self_ptr self, aggregator_state::job& j, uint64_t seq) {
  auto weak = caf::actor_cast<caf::weak_actor_ptr>(self);
  while (!j.unsent.empty()) {
    auto done = [weak, seq](caf::expected<std::vector<publish_ack>> r) {
      if (auto strong = caf::actor_cast<caf::actor>(weak))
        caf::anon_send(strong, agg_dlq_atom::value, seq, static_cast<bool>(r));
    };
    auto err = self->state.args.out->publish_async(j.unsent.front(), std::move(done));
    if (err && is(err, errc::timeout)) {
      self->delayed_send(self, std::chrono::milliseconds{2}, agg_dlq_retry_atom::value, seq);
      return;
    }
    if (err) {
      fail(self, "writing a dead letter", err);
      return;
    }
    ++j.pending_dead_letters;
    j.unsent.erase(j.unsent.begin());
  }
}

void fold_delivery(self_ptr self, aggregator_state::job& j, uint64_t seq) {
  auto& st = self->state;
  auto& stm = table_of(self, j.d.partition);
  auto now = clock::now();
  st.scratch.clear();
  event_view v;
  for (auto& s : j.d.slices) {
    batch_cursor cur{s, j.d.topic, j.d.partition};
    while (!cur.done()) {
      cur.next(v);
      fold_one(self, stm, v, now, &j);
    }
  }
  flush_tally(self);
  st.args.probe->inputs_handled.fetch_add(j.d.count, std::memory_order_relaxed);
  j.folded = true;
  publish(self, st.scratch, j.d.topic, j.d.partition);
  send_dead_letters(self, j, seq);
  arm_timers(self);
}

/// Rebuilds partition `p` from the log up to `until`, then carries on with the jobs.
void rebuild(self_ptr self, partition_id p, offset from, offset until) {
  auto& st = self->state;
  st.busy = true;
  self->request(st.args.registry, std::chrono::seconds{10}, get_topic{st.args.spec.input_topic})
      .then(
          [self, p, from, until](topic_metadata& md) {
            if (p.value < 0 || static_cast<size_t>(p.value) >= md.partitions.size()) {
              fail(self, "input partition missing",
                   make_error(errc::unknown_partition, std::to_string(p.value)));
              return;
            }
            auto r = std::make_shared<log_reader<aggregator_actor_t>>();
            r->self = self;
            r->partition = md.partitions[p.value];
            r->topic = md.name;
            r->p = p;
            r->until = until;
            r->each = [self, p](const event_view& v) {
              auto& st = self->state;
              st.scratch.clear();
              fold_one(self, table_of(self, p), v, clock::now(), nullptr);
              publish(self, st.scratch, st.args.spec.input_topic, p);
            };
            r->done = [self, p, until](caf::error err) {
              if (err) {
                fail(self, "rebuilding partition " + std::to_string(p.value), err);
                return;
              }
              table_of(self, p).skip_to(until);
              flush_tally(self);
              self->state.busy = false;
              pump(self);
            };
            r->start(from);
          },
          [self](caf::error& err) { fail(self, "looking up the input topic", err); });
}

void pump(self_ptr self) {
  auto& st = self->state;
  while (st.ready && !st.busy && !st.jobs.empty()) {
    auto& j = st.jobs.front();
    if (!j.folded) {
      if (st.outbox.size() >= outbox_limit) return;  // resumed when the outbox drains
      auto& stm = table_of(self, j.d.partition);
      // State for this partition is missing (a start) or behind (it was another member's):
      // fold the log up to this delivery first.
      if (stm.next().value < 0 || stm.next() < j.d.first) {
        rebuild(self, j.d.partition, stm.next(), j.d.first);
        return;
      }
      fold_delivery(self, j, st.first_job);
    }
    if (j.pending_dead_letters > 0 || !j.unsent.empty()) return;
    j.rp.deliver(caf::unit);
    st.jobs.pop_front();
    ++st.first_job;
  }
}

// -- start: read what was emitted before --------------------------------------------------------

void scan_outputs(self_ptr self) {
  auto& st = self->state;
  read_whole_topic(
      self, st.args.registry, st.args.spec.output_topic,
      [self](const event_view& v) {
        auto& st = self->state;
        auto src = v.header(agg_header::source);
        if (!src || *src != st.args.spec.name) return;
        auto ver = v.header(agg_header::version);
        if (!ver) return;
        uint64_t n = 0;
        std::from_chars(ver->data(), ver->data() + ver->size(), n);
        auto& mark = st.emitted[std::string{v.key()}];
        mark = std::max(mark, n);
      },
      [self](caf::error err) {
        if (err) {
          fail(self, "reading the output topic", err);
          return;
        }
        auto& st = self->state;
        st.ready = true;
        st.args.probe->ready.fetch_add(1);
        logger()->info("aggregator={} event=ready keys_emitted_before={}", st.args.spec.name,
                       st.emitted.size());
        pump(self);
      });
}

/// Outputs of a previous incarnation still in flight would be missed by the scan and emitted
/// again: wait (bounded) until the producer has none.
void on_poll(self_ptr self) {
  auto& st = self->state;
  if (st.args.out->stats().outstanding > 0 && ++st.flush_polls < 10000) {
    self->delayed_send(self, std::chrono::milliseconds{1}, agg_poll_atom::value);
    return;
  }
  scan_outputs(self);
}

}  // namespace

event_id output_id(std::string_view aggregator, std::string_view key, uint64_t version,
                   int64_t source_ms) {
  auto h1 = hash_text(key, hash_text(aggregator, 0x41474752ull) ^ mix(version));
  auto h2 = mix(h1 ^ 0x9E3779B97F4A7C15ull ^ version);
  event_id id;
  id.hi = (static_cast<uint64_t>(std::max<int64_t>(source_ms, 1)) << 16) | (h1 & 0xFFFF);
  id.lo = h2 | 1;  // never the all-zero id
  return id;
}

caf::behavior aggregator_actor(aggregator_actor_t* self, aggregator_args args) {
  self->state.args = std::move(args);
  // An exception kills the actor like fail() does: answer what waits first.
  self->set_exception_handler([self](std::exception_ptr& ep) -> caf::error {
    std::string what = "a non-standard exception";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    auto reason = make_error(errc::handler_failed,
                             "aggregator '" + self->state.args.spec.name + "' threw: " + what);
    for (auto& j : self->state.jobs) j.rp.deliver(reason);
    self->state.jobs.clear();
    return reason;
  });
  self->state.args.probe->starts.fetch_add(1);
  self->send(self, agg_poll_atom::value);
  return {
      [self](delivery& d) -> caf::result<void> {
        auto& st = self->state;
        auto rp = self->make_response_promise();
        st.jobs.push_back({std::move(d), rp});
        pump(self);
        return rp;
      },
      [self](agg_poll_atom) { on_poll(self); },
      [self](agg_quiet_atom) { on_quiet(self); },
      [self](agg_interval_atom) { on_interval(self); },
      [self](agg_outbox_atom) {
        self->state.outbox_timer = false;
        drain_outbox(self);
        if (self->state.outbox.size() < outbox_limit) pump(self);
      },
      [self](agg_dlq_atom, uint64_t seq, bool ok) {
        auto& st = self->state;
        if (seq < st.first_job || seq - st.first_job >= st.jobs.size()) return;
        auto& j = st.jobs[seq - st.first_job];
        if (!ok) {
          // Not stored: fail, so that the member gets the delivery again after the restart
          // and the dead letter is written again. Nothing bad is dropped silently.
          fail(self, "writing a dead letter", make_error(errc::storage_failure, "not stored"));
          return;
        }
        --j.pending_dead_letters;
        pump(self);
      },
      [self](agg_dlq_retry_atom, uint64_t seq) {
        auto& st = self->state;
        if (seq < st.first_job || seq - st.first_job >= st.jobs.size()) return;
        send_dead_letters(self, st.jobs[seq - st.first_job], seq);
        pump(self);
      },
      [self](agg_failed_atom, const std::string& why) {
        fail(self, "an output was lost", make_error(errc::storage_failure, why));
      },
  };
}

}  // namespace herald
