#include "actors/projector.hpp"

#include <charconv>

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include "actors/dead_letter.hpp"
#include "actors/log_reader.hpp"
#include "base/logging.hpp"
#include "messages/atoms.hpp"
#include "messages/errors.hpp"
#include "messages/topic.hpp"

namespace herald {

namespace {

auto& logger() {
  static auto l = log::get("projection");
  return l;
}

using self_ptr = projector_actor_t*;

void fail(self_ptr self, const std::string& what, const caf::error& err) {
  auto& a = self->state.args;
  logger()->error("projection={} topic={} event=failed what=\"{}\" error=\"{}\" action=restart",
                  a.name, a.topic, what, describe(err));
  auto reason = make_error(errc::storage_failure,
                           "projection '" + a.name + "': " + what + ": " + describe(err));
  // Answer what waits: the member awaits each delivery's answer and would neither see the
  // restart nor leave its group before that request timed out.
  for (auto& j : self->state.jobs) j.rp.deliver(reason);
  self->state.jobs.clear();
  self->quit(std::move(reason));
}

/// One model transaction for the scratch views (offset order, one partition) up to `next`.
/// Refused events of a live job (number `seq`) become its dead letters. False when the actor
/// failed.
bool commit(self_ptr self, partition_id p, offset next, projector_state::job* j, uint64_t seq) {
  auto& st = self->state;
  auto& a = st.args;
  st.refused.clear();
  if (auto err = a.model->apply(a.name, a.topic, p, st.scratch, next, st.refused)) {
    fail(self, "applying to the read model", err);
    return false;
  }
  a.probe->commits.fetch_add(1, std::memory_order_relaxed);
  auto& pos = st.next[p.value];
  int64_t fresh = 0;
  for (auto& v : st.scratch) fresh += pos.value < 0 || v.offset() >= pos;
  a.probe->applied.fetch_add(fresh, std::memory_order_relaxed);
  if (!j) a.probe->caught_up.fetch_add(fresh, std::memory_order_relaxed);
  a.probe->skipped.fetch_add(static_cast<int64_t>(st.scratch.size()) - fresh,
                             std::memory_order_relaxed);
  if (pos < next) pos = next;
  for (auto& r : st.refused) {
    a.probe->refused.fetch_add(1, std::memory_order_relaxed);
    // One dead letter per event: a catch-up or a rebuild meets events refused before.
    if (!st.dead.insert({p.value, r.off.value}).second) continue;
    const event_view* v = nullptr;
    for (auto& x : st.scratch)
      if (x.offset() == r.off) v = &x;
    if (!v) continue;
    logger()->warn(
        "projection={} topic={} partition={} offset={} event=refused action=dead_letter "
        "error=\"{}\"",
        a.name, a.topic, p.value, r.off.value, describe(r.why));
    auto t = timestamp::now();
    failure_story story{a.topic, p, r.off, a.name, 1, t, t, describe(r.why)};
    auto weak = caf::actor_cast<caf::weak_actor_ptr>(self);
    // A live delivery waits for its dead letters; a catch-up has nobody to answer (seq ~0).
    auto tag = j ? seq : ~uint64_t{0};
    auto done = [weak, tag](caf::expected<std::vector<publish_ack>> res) {
      if (auto strong = caf::actor_cast<caf::actor>(weak))
        caf::anon_send(strong, agg_dlq_atom::value, tag, static_cast<bool>(res));
    };
    if (auto err = a.dead_letters->publish_async(make_dead_letter(*v, story), std::move(done))) {
      fail(self, "writing a dead letter", err);
      return false;
    }
    if (j) ++j->pending;
  }
  if (a.after_commit) a.after_commit(p, next);
  return true;
}

void pump(self_ptr self);

/// Reads [from, until) of partition `p` (until -1: the log end) into the model, one
/// transaction per chunk, then calls `then`.
void catch_up(self_ptr self, const caf::actor& partition, partition_id p, offset from, offset until,
              std::function<void()> then) {
  auto& st = self->state;
  st.scratch.clear();
  auto r = std::make_shared<log_reader<projector_actor_t>>();
  r->self = self;
  r->partition = partition;
  r->topic = st.args.topic;
  r->p = p;
  r->until = until;
  r->each = [self](const event_view& v) {
    self->state.scratch.push_back(v);
  };
  r->chunk_done = [self, p](offset next) {
    // The chunk's views point into the read result, alive during this call.
    if (!commit(self, p, next, nullptr, 0)) return;
    self->state.scratch.clear();
  };
  r->done = [self, p, then = std::move(then)](caf::error err) {
    if (err) {
      fail(self, "catching up partition " + std::to_string(p.value), err);
      return;
    }
    then();
  };
  r->start(from);
}

/// Applies a job whose partition the model has up to its first offset at least.
void apply_job(self_ptr self, projector_state::job& j, uint64_t seq) {
  auto& st = self->state;
  st.scratch.clear();
  event_view v;
  for (auto& s : j.d.slices) {
    batch_cursor cur{s, j.d.topic, j.d.partition};
    while (!cur.done()) {
      cur.next(v);
      st.scratch.push_back(v);
    }
  }
  if (!commit(self, j.d.partition, j.d.next, &j, seq)) return;
  j.applied = true;
}

void with_partition(self_ptr self, partition_id p, std::function<void(const caf::actor&)> then) {
  auto& st = self->state;
  self->request(st.args.registry, std::chrono::seconds{10}, get_topic{st.args.topic})
      .then(
          [self, p, then = std::move(then)](topic_metadata& md) {
            if (p.value < 0 || static_cast<size_t>(p.value) >= md.partitions.size()) {
              fail(self, "looking up a partition",
                   make_error(errc::unknown_partition, std::to_string(p.value)));
              return;
            }
            then(md.partitions[p.value]);
          },
          [self](caf::error& err) { fail(self, "looking up the topic", err); });
}

void pump(self_ptr self) {
  auto& st = self->state;
  while (st.ready && !st.busy && !st.jobs.empty()) {
    auto& j = st.jobs.front();
    if (!j.applied) {
      auto it = st.next.find(j.d.partition.value);
      auto pos = it == st.next.end() ? offset{-1} : it->second;
      if (pos < j.d.first) {
        // The model is behind this delivery (it was reset, or another member applied the
        // range): read the gap from the log first.
        st.busy = true;
        auto p = j.d.partition;
        auto until = j.d.first;
        with_partition(self, p, [self, p, pos, until](const caf::actor& part) {
          catch_up(self, part, p, pos, until, [self, p, until] {
            auto& pos = self->state.next[p.value];
            if (pos < until) pos = until;
            self->state.busy = false;
            pump(self);
          });
        });
        return;
      }
      apply_job(self, j, st.first_job);
      if (!j.applied) return;  // failed
    }
    if (j.pending > 0) return;
    j.rp.deliver(caf::unit);
    st.jobs.pop_front();
    ++st.first_job;
  }
}

/// At start: which input events <topic>.dlq holds for this projection already.
void read_dead_letters(self_ptr self, std::function<void()> then) {
  auto& st = self->state;
  read_whole_topic(
      self, st.args.registry, dead_letter_topic(st.args.topic),
      [self](const event_view& v) {
        auto& st = self->state;
        auto g = v.header(dlq_header::group);
        auto t = v.header(dlq_header::topic);
        auto part = v.header(dlq_header::partition);
        auto off = v.header(dlq_header::offset);
        if (!g || *g != st.args.name || !t || *t != st.args.topic || !part || !off) return;
        int32_t pv = -1;
        int64_t ov = -1;
        std::from_chars(part->data(), part->data() + part->size(), pv);
        std::from_chars(off->data(), off->data() + off->size(), ov);
        st.dead.insert({pv, ov});
      },
      [self, then = std::move(then)](caf::error err) {
        if (err) {
          fail(self, "reading the dead-letter topic", err);
          return;
        }
        then();
      });
}

/// At start: every partition from the model's position to the log end.
void start_catch_up(self_ptr self) {
  auto& st = self->state;
  auto pos = st.args.model->positions(st.args.name, st.args.topic);
  if (!pos) {
    fail(self, "reading the model's positions", pos.error());
    return;
  }
  for (auto& [p, mp] : *pos) st.next[p] = mp.next;
  self->request(st.args.registry, std::chrono::seconds{10}, get_topic{st.args.topic})
      .then(
          [self](topic_metadata& md) {
            auto parts = std::make_shared<std::vector<caf::actor>>(md.partitions);
            auto step = std::make_shared<std::function<void(size_t)>>();
            *step = [self, parts, step](size_t i) {
              auto& st = self->state;
              if (i == parts->size()) {
                st.ready = true;
                st.args.probe->ready.fetch_add(1);
                logger()->info("projection={} topic={} event=caught_up", st.args.name,
                               st.args.topic);
                auto me = self;   // the closure dies on the next line
                *step = nullptr;  // break the cycle step -> closure -> step
                pump(me);
                return;
              }
              partition_id p{static_cast<int32_t>(i)};
              auto it = st.next.find(p.value);
              auto from = it == st.next.end() ? offset{-1} : it->second;
              catch_up(self, (*parts)[i], p, from, offset{-1}, [step, i] { (*step)(i + 1); });
            };
            (*step)(0);
          },
          [self](caf::error& err) { fail(self, "looking up the topic", err); });
}

}  // namespace

caf::behavior projector_actor(projector_actor_t* self, projector_args args) {
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
                             "projection '" + self->state.args.name + "' threw: " + what);
    for (auto& j : self->state.jobs) j.rp.deliver(reason);
    self->state.jobs.clear();
    return reason;
  });
  self->state.args.probe->starts.fetch_add(1);
  read_dead_letters(self, [self] { start_catch_up(self); });
  return {
      [self](delivery& d) -> caf::result<void> {
        auto rp = self->make_response_promise();
        self->state.jobs.push_back({std::move(d), rp});
        pump(self);
        return rp;
      },
      [self](agg_dlq_atom, uint64_t seq, bool ok) {
        auto& st = self->state;
        if (!ok) {
          fail(self, "writing a dead letter", make_error(errc::storage_failure, "not stored"));
          return;
        }
        if (seq < st.first_job || seq - st.first_job >= st.jobs.size()) return;
        --st.jobs[seq - st.first_job].pending;
        pump(self);
      },
  };
}

}  // namespace herald
