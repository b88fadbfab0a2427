#include "actors/producer.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>

#include "base/logging.hpp"
#include "messages/atoms.hpp"
#include "messages/errors.hpp"
#include "messages/json.hpp"
#include "messages/partitioner.hpp"
#include "observability/context.hpp"

namespace herald {

namespace {

auto& logger() {
  static auto l = log::get("producer");
  return l;
}

std::string lane_name(const std::string& topic, partition_id p) {
  return topic + "/" + std::to_string(p.value);
}

}  // namespace

struct producer_core::sync_waiter {
  std::vector<publish_ack> acks;
  size_t remaining = 0;
  caf::error error;
  completion done;  // set for publish_async(ev, done): called when remaining reaches 0
};

void producer_core::settle(waiter_ref& r, const caf::error* err) {
  auto& w = *r.waiter;
  if (err && !w.error) w.error = *err;
  if (--w.remaining == 0 && w.done) {
    auto done = std::move(w.done);
    if (w.error)
      done(w.error);
    else
      done(std::move(w.acks));
  }
}

producer_core::producer_core(caf::actor_system& sys, producer_id id, producer_options opts,
                             metadata_fn md)
    : sys_(sys), id_(id), opts_(opts), metadata_(std::move(md)) {}

producer_core::~producer_core() = default;

void producer_core::start() {
  actor_ = sys_.spawn(producer_actor, shared_from_this());
}

producer_stats producer_core::stats() const {
  std::lock_guard<adaptive_mutex> guard{mtx_};
  return stats_;
}

std::shared_ptr<const schema_catalog> producer_core::schemas() const {
  return schemas_ ? schemas_->load_if_used() : nullptr;
}

caf::error producer_core::check(const event& ev, const schema_catalog* schemas) const {
  if (ev.topic().empty())
    return make_error(errc::invalid_event,
                      "event has no topic; build it with "
                      "event::builder{topic, type}");
  if (ev.type().empty())
    return make_error(errc::invalid_event, "event for topic '" + std::string{ev.topic()} +
                                               "' has an empty type; every event needs a type "
                                               "such as \"OrderPlaced\"");
  if (ev.id().empty())
    return make_error(errc::invalid_event,
                      "event has no id; create events with "
                      "event::builder{...}.build()");
  // A registered schema checks the syntax too: one parse, not two.
  if (schemas && schemas->governs(ev)) return schemas->validate(ev);
  if (opts_.validate_json && !ev.is_tombstone()) {
    if (auto err = validate_json(ev.payload()))
      return make_error(errc::invalid_json, "event " + std::string{ev.id_text()} + " (" +
                                                std::string{ev.type()} + " for topic '" +
                                                std::string{ev.topic()} + "'): " + describe(err));
  }
  return caf::none;
}

caf::expected<producer_core::topic_entry*> producer_core::topic_for(lock_t& lk,
                                                                    std::string_view name) {
  if (last_topic_ && last_topic_->meta.name == name) return last_topic_;
  auto it = topics_.find(name);
  if (it == topics_.end()) {
    // Rare (once per topic). The registry round trip must not hold the lock: the producer's
    // actor needs it for acknowledgements, and with one scheduler thread the registry could
    // not even answer while that actor waits.
    lk.unlock();
    auto md = metadata_(std::string{name});
    lk.lock();
    if (!md) return std::move(md.error());
    if (closed_) return make_error(errc::producer_closed, "producer closed while publishing");
    it = topics_.find(name);
    if (it == topics_.end()) {  // nobody added it meanwhile
      auto entry = std::make_unique<topic_entry>();
      entry->meta = std::move(*md);
      auto reserve = static_cast<size_t>(std::min(opts_.batch_max_bytes, 64 * 1024));
      for (size_t p = 0; p < entry->meta.partitions.size(); ++p) {
        auto l = std::make_unique<lane>();
        l->topic = entry->meta.name;
        l->partition = partition_id{static_cast<int32_t>(p)};
        l->actor = entry->meta.partitions[p];
        l->open = batch_builder{reserve};
        entry->lanes.push_back(std::move(l));
      }
      caf::anon_send(actor_, entry->meta.partitions);  // the actor monitors them
      it = topics_.emplace(entry->meta.name, std::move(entry)).first;
    }
  }
  last_topic_ = it->second.get();
  return last_topic_;
}

bool producer_core::can_send(const lane& l) const {
  return l.actor && l.inflight.size() < static_cast<size_t>(opts_.max_inflight_batches);
}

bool producer_core::full(const lane& l) const {
  return l.open.count() >= static_cast<uint32_t>(opts_.batch_max_events) ||
         l.open.size_bytes() >= static_cast<size_t>(opts_.batch_max_bytes);
}

void producer_core::seal_and_send(lane& l) {
  auto count = static_cast<int32_t>(l.open.count());
  auto batch = l.open.seal(id_, l.next_seq);
  l.inflight.push_back(
      {l.next_seq, count, std::move(l.open_waiters), std::move(l.open_spans), batch});
  l.open_waiters.clear();
  l.open_spans.clear();
  ++l.next_seq;
  ++stats_.batches;
  caf::send_as(actor_, l.actor, append_batch{l.partition, std::move(batch)});
}

caf::error producer_core::enqueue(lock_t& lk, const event& ev,
                                  const std::shared_ptr<sync_waiter>& w, uint32_t slot,
                                  clock::time_point deadline) {
  if (closed_) return make_error(errc::producer_closed, "publish on a closed producer");
  auto t = topic_for(lk, ev.topic());
  if (!t) return std::move(t.error());
  auto& topic = **t;
  auto size = batch_builder::encoded_size(ev);
  if (size > topic.meta.config.max_event_bytes)
    return make_error(errc::event_too_large,
                      "event " + std::string{ev.id_text()} + " is " + std::to_string(size) +
                          " bytes encoded; topic '" + topic.meta.name + "' accepts at most " +
                          std::to_string(topic.meta.config.max_event_bytes) +
                          " (max_event_bytes): make the event smaller or raise the limit");
  const auto n = static_cast<int32_t>(topic.lanes.size());
  int32_t idx;
  if (ev.key().empty()) {
    // Sticky for keyless events (as Kafka's partitioner): one partition per batch, the next
    // one as soon as that batch has shipped, whether full or lingered.
    auto& sticky_lane = *topic.lanes[topic.sticky % n];
    if (sticky_lane.next_seq != topic.sticky_seq) {
      ++topic.sticky;
      topic.sticky_seq = topic.lanes[topic.sticky % n]->next_seq;
    }
    idx = static_cast<int32_t>(topic.sticky % n);
  } else {
    idx = partition_for_key(ev.key(), n);
  }
  auto& l = *topic.lanes[idx];
  // A lane whose partition crashed buffers (up to its bound) until the successor is there.
  if (!l.actor && !l.dead)
    return make_error(errc::unknown_partition,
                      "partition " + lane_name(l.topic, l.partition) +
                          " stopped; nothing was published (retry when it is back)");
  // Back-pressure: wait for a free slot while the open batch is full and the lane is at its
  // in-flight limit.
  while (full(l)) {
    if (can_send(l)) {
      seal_and_send(l);
      break;
    }
    if ((clock::now() >= deadline || cv_.wait_until(lk, deadline) == std::cv_status::timeout) &&
        full(l) && !can_send(l))
      return make_error(errc::timeout,
                        "partition " + lane_name(l.topic, l.partition) +
                            " acknowledged nothing for " +
                            std::to_string(opts_.send_timeout.count()) +
                            " ms and the producer's buffer for it is full; the broker is "
                            "overloaded or stopped. Nothing of this event was accepted");
    if (closed_) return make_error(errc::producer_closed, "producer closed while publishing");
    if (!l.actor && !l.dead)
      return make_error(errc::unknown_partition,
                        "partition " + lane_name(l.topic, l.partition) + " stopped");
  }
  const bool was_empty = l.open.empty();
  // Inside a handler the event inherits the handled event's flow (observability/context.hpp).
  obs::lineage lin{ev, tracer_.get(), tracer_ ? &obs::tracer::sample_fn : nullptr};
  if (auto err = l.open.add(ev, {lin.correlation(), lin.causation(), lin.traceparent()}))
    return err;
  if (lin.sampled() && tracer_) add_publish_span(l, ev, lin);
  if (w) {
    w->acks[slot].id = ev.id();
    l.open_waiters.push_back({w, slot, l.open.count() - 1});
  }
  ++stats_.published;
  ++stats_.outstanding;
  if (full(l) && can_send(l)) {
    seal_and_send(l);
  } else if (was_empty) {
    // One clock read per batch, not per event.
    l.open_since = clock::now();
    if (!tick_armed_) {
      tick_armed_ = true;
      caf::delayed_anon_send(actor_, opts_.linger, linger_tick_atom::value);
    }
  }
  return caf::none;
}

void producer_core::add_publish_span(lane& l, const event& ev, const obs::lineage& lin) {
  auto& tc = *lin.trace();
  obs::span s;
  s.trace_hi = tc.trace_hi;
  s.trace_lo = tc.trace_lo;
  s.id = tc.span;
  s.parent = lin.parent_span();
  s.kind = obs::span_kind::publish;
  s.start_ns = obs::unix_ns();
  s.topic = l.topic;
  s.partition = l.partition.value;
  s.event_type = ev.type();
  s.event_id = ev.id_text();
  s.correlation_id = lin.correlation().empty() ? ev.id_text() : lin.correlation();
  s.causation_id = lin.causation();
  l.open_spans.push_back({l.open.count() - 1, std::move(s)});
}

caf::error producer_core::publish_async(const event& ev) {
  if (auto err = check(ev, schemas().get())) return err;
  lock_t lk{mtx_};
  return enqueue(lk, ev, nullptr, 0, clock::now() + opts_.send_timeout);
}

caf::error producer_core::publish_async(const event& ev, completion done) {
  if (auto err = check(ev, schemas().get())) return err;
  auto w = std::make_shared<sync_waiter>();
  w->acks.resize(1);
  w->remaining = 1;
  w->done = std::move(done);
  lock_t lk{mtx_};
  // Never blocks: the caller is an actor, and the acknowledgements that would free a slot may
  // need its scheduler thread. A full lane answers errc::timeout at once; try again later.
  if (auto err = enqueue(lk, ev, w, 0, clock::now())) return err;
  ship_open(true);
  return caf::none;
}

caf::error producer_core::prepare(const std::string& topic) {
  lock_t lk{mtx_};
  auto t = topic_for(lk, topic);
  return t ? caf::none : std::move(t.error());
}

void producer_core::ship_open(bool force) {
  for (auto& [name, t] : topics_)
    for (auto& l : t->lanes)
      if (!l->open.empty() && can_send(*l) && (force || l->inflight.empty())) seal_and_send(*l);
}

caf::expected<std::vector<publish_ack>> producer_core::await(lock_t& lk, sync_waiter& w) {
  ship_open(true);
  auto deadline = clock::now() + opts_.ack_timeout;
  while (w.remaining > 0) {
    // on_ack ships a lane's open batch at once while it holds a waiting caller's events.
    if (cv_.wait_until(lk, deadline) == std::cv_status::timeout && w.remaining > 0)
      return make_error(errc::timeout,
                        "no acknowledgement within " + std::to_string(opts_.ack_timeout.count()) +
                            " ms; the events may still be appended (a retry is deduplicated "
                            "only by an idempotent consumer)");
  }
  if (w.error) return w.error;
  return std::move(w.acks);
}

caf::expected<publish_ack> producer_core::publish(const event& ev) {
  if (auto err = check(ev, schemas().get())) return err;
  auto w = std::make_shared<sync_waiter>();
  w->acks.resize(1);
  w->remaining = 1;
  lock_t lk{mtx_};
  if (auto err = enqueue(lk, ev, w, 0, clock::now() + opts_.send_timeout)) return err;
  auto acks = await(lk, *w);
  if (!acks) return std::move(acks.error());
  return std::move(acks->front());
}

caf::expected<std::vector<publish_ack>> producer_core::publish(const std::vector<event>& evs) {
  auto cat = schemas();
  for (size_t i = 0; i < evs.size(); ++i)
    if (auto err = check(evs[i], cat.get()))
      return make_error(static_cast<errc>(err.code()), "event " + std::to_string(i) +
                                                           " of the batch: " + describe(err) +
                                                           "; nothing of the batch was published");
  auto w = std::make_shared<sync_waiter>();
  w->acks.resize(evs.size());
  w->remaining = evs.size();
  lock_t lk{mtx_};
  auto deadline = clock::now() + opts_.send_timeout;
  for (size_t i = 0; i < evs.size(); ++i) {
    if (auto err = enqueue(lk, evs[i], w, static_cast<uint32_t>(i), deadline)) {
      // The events before i are accepted and will be acknowledged; report which were not.
      w->remaining -= evs.size() - i;
      return make_error(static_cast<errc>(err.code()),
                        "event " + std::to_string(i) + " of the batch: " + describe(err) +
                            "; events before it were accepted, it and those after were not");
    }
  }
  return await(lk, *w);
}

caf::error producer_core::flush() {
  lock_t lk{mtx_};
  // While a flush waits, on_ack ships open batches at once instead of after the linger.
  ++flushing_;
  ship_open(true);
  auto deadline = clock::now() + opts_.ack_timeout;
  while (stats_.outstanding > 0) {
    if (cv_.wait_until(lk, deadline) == std::cv_status::timeout && stats_.outstanding > 0) {
      --flushing_;
      return make_error(errc::timeout, std::to_string(stats_.outstanding) +
                                           " events not acknowledged within " +
                                           std::to_string(opts_.ack_timeout.count()) + " ms");
    }
  }
  --flushing_;
  if (failed_since_flush_ > 0) {
    // Keep the code of the first failure (unknown_partition, storage_failure, ...).
    auto code = first_error_.category() == caf::atom("herald")
                    ? static_cast<errc>(first_error_.code())
                    : errc::storage_failure;
    auto err = make_error(
        code, std::to_string(failed_since_flush_) +
                  " events failed since the last flush; first error: " + describe(first_error_));
    failed_since_flush_ = 0;
    first_error_ = caf::none;
    return err;
  }
  return caf::none;
}

void producer_core::close() {
  {
    lock_t lk{mtx_};
    if (closed_) return;
  }
  if (auto err = flush())
    logger()->warn("producer={} event=close_flush_failed error=\"{}\"", id_.value, describe(err));
  caf::actor actor;
  {
    lock_t lk{mtx_};
    closed_ = true;
    for (auto& [name, t] : topics_)
      for (auto& l : t->lanes)
        fail_lane(*l, make_error(errc::producer_closed,
                                 "producer closed before the "
                                 "acknowledgement arrived"));
    actor = std::move(actor_);
    cv_.notify_all();
  }
  if (actor) caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
}

void producer_core::fail_lane(lane& l, const caf::error& err) {
  auto fail = [&](std::vector<waiter_ref>& ws, int32_t count) {
    for (auto& r : ws) settle(r, &err);
    stats_.failed += count;
    stats_.outstanding -= count;
    failed_since_flush_ += count;
    if (!first_error_) first_error_ = err;
  };
  for (auto& ib : l.inflight) fail(ib.waiters, ib.count);
  l.inflight.clear();
  if (!l.open.empty()) {
    fail(l.open_waiters, static_cast<int32_t>(l.open.count()));
    l.open_waiters.clear();
    l.open.seal(id_, 0);  // drop the records
    l.open_spans.clear();
  }
}

producer_core::lane* producer_core::find_lane(const std::string& topic, partition_id p) {
  auto it = topics_.find(topic);
  if (it == topics_.end()) return nullptr;
  auto idx = static_cast<size_t>(p.value);
  return idx < it->second->lanes.size() ? it->second->lanes[idx].get() : nullptr;
}

void producer_core::on_ack(append_ack& ack) {
  lock_t lk{mtx_};
  auto* l = find_lane(ack.topic, ack.partition);
  if (!l || l->inflight.empty() || l->inflight.front().seq != ack.seq) {
    logger()->error("producer={} topic={} partition={} event=unexpected_ack seq={}", id_.value,
                    ack.topic, ack.partition.value, ack.seq);
    return;
  }
  auto ib = std::move(l->inflight.front());
  l->inflight.pop_front();
  if (ack.error) {
    logger()->error(
        "producer={} topic={} partition={} event=batch_refused seq={} events={} "
        "error=\"{}\"",
        id_.value, ack.topic, ack.partition.value, ack.seq, ib.count, describe(ack.error));
    for (auto& r : ib.waiters) settle(r, &ack.error);
    stats_.failed += ib.count;
    failed_since_flush_ += ib.count;
    if (!first_error_) first_error_ = ack.error;
  } else {
    if (!ib.spans.empty()) {
      auto now = obs::unix_ns();
      std::vector<obs::span> done;
      done.reserve(ib.spans.size());
      for (auto& ps : ib.spans) {
        ps.span.offset = (ack.base + ps.index).value;
        ps.span.end_ns = now;
        done.push_back(std::move(ps.span));
      }
      tracer_->record(std::move(done));
    }
    for (auto& r : ib.waiters) {
      auto& a = r.waiter->acks[r.slot];
      a.topic = ack.topic;
      a.partition = ack.partition;
      a.offset = ack.base + r.index;
      settle(r, nullptr);
    }
    stats_.acknowledged += ib.count;
  }
  stats_.outstanding -= ib.count;
  // A batch that waited for this slot goes now if it is due: full, lingered, or awaited by a
  // publish() or flush() caller.
  if (!l->open.empty() && can_send(*l) &&
      (full(*l) || !l->open_waiters.empty() || flushing_ > 0 ||
       clock::now() - l->open_since >= opts_.linger))
    seal_and_send(*l);
  cv_.notify_all();
}

std::chrono::nanoseconds producer_core::on_linger_tick() {
  lock_t lk{mtx_};
  auto now = clock::now();
  std::chrono::nanoseconds next{-1};
  for (auto& [name, t] : topics_) {
    for (auto& l : t->lanes) {
      if (l->open.empty() || !l->actor) continue;
      auto age = now - l->open_since;
      if (age >= opts_.linger && can_send(*l)) {
        seal_and_send(*l);
        continue;
      }
      // Not due yet, or waiting for an in-flight slot (the ack ships it; tick again anyway).
      auto wait = age >= opts_.linger ? std::chrono::nanoseconds{opts_.linger}
                                      : std::chrono::nanoseconds{opts_.linger - age};
      if (next.count() < 0 || wait < next) next = wait;
    }
  }
  tick_armed_ = next.count() >= 0;
  if (tick_armed_) cv_.notify_all();
  return next;
}

std::vector<std::string> producer_core::on_down(const caf::actor_addr& source,
                                                const caf::error& reason) {
  lock_t lk{mtx_};
  std::vector<std::string> refresh;
  for (auto& [name, t] : topics_) {
    for (auto& l : t->lanes) {
      if (!l->actor || l->actor.address() != source) continue;
      if (registry_ && !closed_) {
        logger()->warn(
            "producer={} topic={} partition={} event=partition_down in_flight={} "
            "action=wait_for_restart reason=\"{}\"",
            id_.value, l->topic, l->partition.value, l->inflight.size(), describe(reason));
        l->dead = source;
        l->actor = nullptr;
        if (refresh.empty() || refresh.back() != name) refresh.push_back(name);
        continue;
      }
      logger()->error(
          "producer={} topic={} partition={} event=partition_down in_flight={} "
          "reason=\"{}\"",
          id_.value, l->topic, l->partition.value, l->inflight.size(), describe(reason));
      fail_lane(*l, make_error(errc::unknown_partition,
                               "partition " + lane_name(l->topic, l->partition) +
                                   " stopped before acknowledging (" + describe(reason) +
                                   "); these events may or may not be stored"));
      l->actor = nullptr;
    }
  }
  cv_.notify_all();
  return refresh;
}

bool producer_core::on_metadata(const topic_metadata& md) {
  lock_t lk{mtx_};
  auto it = topics_.find(md.name);
  if (it == topics_.end()) return false;
  auto& t = *it->second;
  bool waiting = false;
  std::vector<caf::actor> watch;
  for (auto& l : t.lanes) {
    if (l->actor || !l->dead) continue;
    auto idx = static_cast<size_t>(l->partition.value);
    auto next = idx < md.partitions.size() ? md.partitions[idx] : caf::actor{};
    if (!next) {
      l->dead = caf::actor_addr{};
      fail_lane(*l, make_error(errc::unknown_partition,
                               "partition " + lane_name(l->topic, l->partition) +
                                   " crashed too often and was not restarted; the events in "
                                   "flight may or may not be stored (check the broker log)"));
      continue;
    }
    if (next.address() == l->dead) {  // the registry has not restarted it yet
      waiting = true;
      continue;
    }
    l->actor = next;
    l->dead = caf::actor_addr{};
    t.meta.partitions[idx] = next;
    watch.push_back(next);
    logger()->info("producer={} topic={} partition={} event=partition_back resent={}", id_.value,
                   l->topic, l->partition.value, l->inflight.size());
    for (auto& ib : l->inflight)
      caf::send_as(actor_, l->actor, append_batch{l->partition, ib.batch});
    if (!l->open.empty() && can_send(*l)) seal_and_send(*l);
  }
  if (!watch.empty()) caf::anon_send(actor_, std::move(watch));
  cv_.notify_all();
  return waiting;
}

void producer_core::on_refresh_failed(const std::string& topic, const caf::error& err) {
  lock_t lk{mtx_};
  auto it = topics_.find(topic);
  if (it == topics_.end()) return;
  for (auto& l : it->second->lanes) {
    if (l->actor || !l->dead) continue;
    l->dead = caf::actor_addr{};
    fail_lane(*l, make_error(errc::unknown_partition,
                             "partition " + lane_name(l->topic, l->partition) +
                                 " stopped and did not come back (" + describe(err) +
                                 "); the events in flight may or may not be stored"));
  }
  cv_.notify_all();
}

caf::behavior producer_actor(producer_actor_t* self, std::shared_ptr<producer_core> core) {
  self->state.core = std::move(core);
  self->set_down_handler([self](caf::down_msg& dm) {
    for (auto& topic : self->state.core->on_down(dm.source, dm.reason))
      self->send(self, refresh_atom::value, std::move(topic), int32_t{0});
  });
  return {
      [self](refresh_atom, std::string& topic, int32_t attempt) {
        // The registry restarts a crashed partition at once; ask until its successor shows,
        // for at most ~ack_timeout.
        constexpr auto pause = std::chrono::milliseconds{10};
        auto& core = self->state.core;
        auto limit = static_cast<int32_t>(core->options().ack_timeout / pause);
        self->request(core->registry(), std::chrono::seconds{10}, get_topic{topic})
            .then(
                [self, topic, attempt, limit, pause](topic_metadata& md) {
                  if (!self->state.core->on_metadata(md)) return;
                  if (attempt >= limit) {
                    self->state.core->on_refresh_failed(
                        topic, make_error(errc::timeout, "no successor within ack_timeout"));
                    return;
                  }
                  self->delayed_send(self, pause, refresh_atom::value, topic, attempt + 1);
                },
                [self, topic](caf::error& err) {
                  self->state.core->on_refresh_failed(topic, err);
                });
      },
      [self](append_ack& ack) { self->state.core->on_ack(ack); },
      [self](linger_tick_atom) {
        auto next = self->state.core->on_linger_tick();
        if (next.count() >= 0) self->delayed_send(self, next, linger_tick_atom::value);
      },
      [self](std::vector<caf::actor>& partitions) {
        for (auto& p : partitions) self->monitor(p);
      },
  };
}

}  // namespace herald
