#include "actors/partition.hpp"

#include <algorithm>

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>

#include "base/logging.hpp"
#include "messages/atoms.hpp"
#include "messages/errors.hpp"
#include "observability/context.hpp"

namespace herald {

namespace {

auto& logger() {
  static auto l = log::get("partition");
  return l;
}

using self_ptr = partition_actor_t*;

/// Pushes records to one group's member while it has credit and records are visible.
void deliver(self_ptr self, const std::string& group, partition_state::cursor& c) {
  auto& st = self->state;
  const auto visible = st.log->durable_offset();
  while (c.credit > 0 && c.next < visible) {
    delivery d;
    d.topic = st.topic;
    d.partition = st.partition;
    d.assignment = c.assignment;
    auto n = static_cast<int32_t>(std::min<int64_t>(c.credit, st.options.max_delivery_events));
    auto next = st.log->read(c.next, n, st.options.max_delivery_bytes, d.slices);
    if (!next) {
      if (is(next.error(), errc::offset_out_of_range)) {
        auto start = st.log->start_offset();
        logger()->warn(
            "topic={} partition={} group={} event=cursor_below_log_start next={} "
            "start={} skipped={} reason=retention",
            st.topic, st.partition.value, group, c.next.value, start.value, start - c.next);
        c.next = start;
        continue;
      }
      logger()->error("topic={} partition={} group={} event=read_failed offset={} error=\"{}\"",
                      st.topic, st.partition.value, group, c.next.value, describe(next.error()));
      return;
    }
    if (d.slices.empty()) return;
    int32_t count = 0;
    for (auto& s : d.slices) count += static_cast<int32_t>(s.count);
    d.first = d.slices.front().first_offset();
    d.next = *next;
    d.count = count;
    c.next = *next;
    c.credit -= count;
    c.delivered += count;
    self->send(c.member, std::move(d));
  }
}

void deliver_all(self_ptr self) {
  for (auto& [group, c] : self->state.groups) deliver(self, group, c);
}

/// Sends the acknowledgements that became durable and delivers what became visible.
void release_durable(self_ptr self) {
  auto& st = self->state;
  auto durable = st.log->durable_offset();
  while (!st.pending_acks.empty()) {
    auto& p = st.pending_acks.front();
    if (p.ack.base + p.ack.count > durable) break;
    if (p.to) self->send(p.to, std::move(p.ack));
    st.pending_acks.pop_front();
  }
  deliver_all(self);
}

offset resolve_start(self_ptr self, const subscribe_group& req) {
  auto& log = *self->state.log;
  if (req.from.value >= 0) return std::clamp(req.from, log.start_offset(), log.end_offset());
  switch (req.start.from) {
    case start_position::kind::earliest:
      return log.start_offset();
    case start_position::kind::latest:
      return log.end_offset();
    case start_position::kind::at_offset:
      return std::clamp(offset{req.start.value}, log.start_offset(), log.end_offset());
    case start_position::kind::at_time:
      return log.offset_for_time(timestamp{req.start.value});
  }
  return log.start_offset();
}

/// The earlier ack for a retried batch, if this producer's batch `seq` was appended before.
const partition_state::sent_batch* find_duplicate(self_ptr self, producer_id pid, uint64_t seq) {
  auto& producers = self->state.store->producers;
  auto it = producers.find(pid.value);
  if (it == producers.end()) return nullptr;
  for (auto& b : it->second)
    if (b.seq == seq) return &b;
  return nullptr;
}

void remember(self_ptr self, producer_id pid, uint64_t seq, offset base, int32_t count) {
  auto& window = self->state.store->producers[pid.value];
  window.push_back({seq, base, count});
  while (window.size() > static_cast<size_t>(self->state.options.producer_dedupe_window))
    window.pop_front();
}

void apply_retention(self_ptr self) {
  auto& st = self->state;
  auto deleted = st.log->enforce_retention(st.config.retention, timestamp::now());
  if (deleted > 0 && st.cells) {
    auto s = st.log->stats();
    st.cells->log_start.store(s.start.value, std::memory_order_relaxed);
    st.cells->retained_events.store(s.events, std::memory_order_relaxed);
    st.cells->retained_bytes.store(s.bytes, std::memory_order_relaxed);
  }
  if (deleted > 0)
    logger()->debug("topic={} partition={} event=retention deleted={} start={}", st.topic,
                    st.partition.value, deleted, st.log->start_offset().value);
}

/// Per appended batch: the partition's figures, and append spans of its sampled events (the
/// batch is walked only when tracing is on).
void observe_append(self_ptr self, const append_batch& msg, const append_ack& ack,
                    int64_t start_ns) {
  auto& st = self->state;
  if (auto* c = st.cells.get()) {
    constexpr auto rel = std::memory_order_relaxed;
    auto s = st.log->stats();
    c->events_in.fetch_add(ack.count, rel);
    c->bytes_in.fetch_add(msg.batch->size(), rel);
    c->batches_in.fetch_add(1, rel);
    c->log_start.store(s.start.value, rel);
    c->log_end.store(s.end.value, rel);
    c->retained_events.store(s.events, rel);
    c->retained_bytes.store(s.bytes, rel);
    st.mailbox->depth.store(static_cast<int64_t>(self->mailbox().size()), rel);
  }
  if (!st.tracer) return;
  std::vector<obs::span> spans;
  int64_t end_ns = 0;
  event_view v;
  batch_cursor cur{*msg.batch, ack.base, st.topic, st.partition};
  while (!cur.done()) {
    // Only sampled records carry a traceparent: read its length in the record's prefix and
    // skip the others without decoding them.
    auto tp_len =
        format::load<uint16_t>(msg.batch->data() + cur.position() + format::r_traceparent_len);
    if (tp_len == 0) {
      cur.skip();
      continue;
    }
    cur.next(v);
    auto tc = obs::trace_context::parse(v.traceparent());
    if (!tc || !tc->sampled()) continue;
    if (end_ns == 0) end_ns = obs::unix_ns();
    obs::span s;
    s.trace_hi = tc->trace_hi;
    s.trace_lo = tc->trace_lo;
    s.id = obs::new_span_id();
    s.parent = tc->span;
    s.kind = obs::span_kind::append;
    s.start_ns = start_ns;
    s.end_ns = end_ns;
    s.topic = st.topic;
    s.partition = st.partition.value;
    s.offset = v.offset().value;
    s.event_type = v.type();
    s.event_id = v.id_text();
    s.correlation_id = v.correlation_id();
    s.causation_id = v.causation_id();
    spans.push_back(std::move(s));
  }
  st.tracer->record(std::move(spans));
}

append_ack handle_append(self_ptr self, append_batch& msg) {
  auto& st = self->state;
  append_ack ack;
  ack.topic = st.topic;
  ack.partition = st.partition;
  if (!msg.batch) {
    ack.error = make_error(errc::invalid_argument, "append without a batch");
    return ack;
  }
  ack.producer = msg.batch->producer();
  ack.seq = msg.batch->producer_seq();
  if (msg.partition != st.partition) {
    ack.error = make_error(errc::unknown_partition,
                           "batch for partition " + std::to_string(msg.partition.value) +
                               " sent to partition " + std::to_string(st.partition.value) +
                               " of '" + st.topic + "'");
    return ack;
  }
  if (ack.producer.value != 0) {
    if (auto dup = find_duplicate(self, ack.producer, ack.seq)) {
      ack.base = dup->base;
      ack.count = dup->count;
      ack.duplicate = true;
      return ack;
    }
  }
  auto info = st.log->append(msg.batch, timestamp::now());
  if (!info) {
    logger()->error("topic={} partition={} event=append_failed producer={} seq={} error=\"{}\"",
                    st.topic, st.partition.value, ack.producer.value, ack.seq,
                    describe(info.error()));
    ack.error = std::move(info.error());
    return ack;
  }
  ack.base = info->base;
  ack.count = info->count;
  ++st.appended_batches;
  st.appended_events += info->count;
  if (ack.producer.value != 0) remember(self, ack.producer, ack.seq, info->base, info->count);
  return ack;
}

}  // namespace

caf::behavior partition_actor(partition_actor_t* self, partition_args args) {
  auto& st = self->state;
  st.topic = std::move(args.topic);
  st.partition = args.partition;
  st.config = std::move(args.config);
  st.options = args.options;
  st.store = std::move(args.store);
  st.log = st.store->log.get();
  st.tracer = args.obs.tracer;
  if (args.obs.metrics) {
    st.cells = args.obs.metrics->partition(st.topic, st.partition.value);
    st.mailbox =
        args.obs.metrics->mailbox("partition", st.topic + "/" + std::to_string(st.partition.value));
    // A (re)started partition may hold records already: publish its figures before any append.
    auto s = st.log->stats();
    st.cells->log_start.store(s.start.value, std::memory_order_relaxed);
    st.cells->log_end.store(s.end.value, std::memory_order_relaxed);
    st.cells->retained_events.store(s.events, std::memory_order_relaxed);
    st.cells->retained_bytes.store(s.bytes, std::memory_order_relaxed);
  }
  st.log->set_durability_listener(
      [weak = caf::actor_cast<caf::weak_actor_ptr>(self)](offset durable) {
        if (auto strong = caf::actor_cast<caf::actor>(weak))
          caf::anon_send(strong, durable_advanced{durable});
      });
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& groups = self->state.groups;
    for (auto it = groups.begin(); it != groups.end();) {
      if (it->second.member.address() == dm.source)
        it = groups.erase(it);
      else
        ++it;
    }
  });
  if (st.config.retention.max_age_ms >= 0) {
    auto interval = std::chrono::milliseconds{
        std::clamp<int64_t>(st.config.retention.max_age_ms / 4, 10, 1000)};
    self->delayed_send(self, interval, retention_tick_atom::value);
  }
  return {
      [self](append_batch& msg) {
        const int64_t start_ns = self->state.tracer ? obs::unix_ns() : 0;
        auto ack = handle_append(self, msg);
        bool appended = !ack.error && !ack.duplicate;
        auto sender = caf::actor_cast<caf::actor>(self->current_sender());
        auto& st = self->state;
        // An acknowledgement promises durability: it waits until the storage says so (at
        // once for memory_log). No acknowledgement, not even of a duplicate or a refusal,
        // overtakes an earlier pending one: producers match them in sequence order.
        // A duplicate's ack waits too when its original is not durable yet (a resend after a
        // crash of the previous incarnation).
        if (!st.pending_acks.empty() ||
            (!ack.error && ack.base + ack.count > st.log->durable_offset())) {
          st.pending_acks.push_back({std::move(sender), std::move(ack)});
        } else if (sender) {
          self->send(sender, std::move(ack));
        }
        if (appended) {
          auto& r = st.config.retention;
          if (r.max_events >= 0 || r.max_bytes >= 0) apply_retention(self);
          observe_append(self, msg, ack, start_ns);
          release_durable(self);
        }
      },
      [self](durable_advanced&) { release_durable(self); },
      [self](subscribe_group& req) -> caf::result<offset> {
        auto& st = self->state;
        auto it = st.groups.find(req.group);
        if (it != st.groups.end() && req.assignment < it->second.assignment)
          return make_error(errc::fenced, "group '" + req.group + "' on " + st.topic + "/" +
                                              std::to_string(st.partition.value) +
                                              " is already owned under a newer assignment");
        auto start = resolve_start(self, req);
        auto& c = st.groups[req.group];
        if (c.member != req.member) self->monitor(req.member);
        c.member = req.member;
        c.assignment = req.assignment;
        c.next = start;
        c.credit = req.credit;
        logger()->debug("topic={} partition={} group={} event=subscribed epoch={} start={}",
                        st.topic, st.partition.value, req.group, req.assignment.value, start.value);
        deliver(self, req.group, c);
        return start;
      },
      [self](unsubscribe_group& req) {
        auto& groups = self->state.groups;
        auto it = groups.find(req.group);
        if (it != groups.end() && it->second.assignment == req.assignment) groups.erase(it);
      },
      [self](grant_credit& msg) {
        auto& groups = self->state.groups;
        auto it = groups.find(msg.group);
        if (it == groups.end() || it->second.assignment != msg.assignment) return;
        it->second.credit += msg.n;
        deliver(self, it->first, it->second);
      },
      [self](read_records& req) -> caf::result<read_result> {
        auto& log = *self->state.log;
        read_result r;
        auto next = log.read(req.from, req.max_events, req.max_bytes, r.slices);
        if (!next) return std::move(next.error());
        r.next = *next;
        r.end = log.end_offset();
        return r;
      },
      [self](offset_for_time& req) { return self->state.log->offset_for_time(req.time); },
      [self](get_partition_status) {
        auto& st = self->state;
        auto s = st.log->stats();
        partition_status out;
        out.topic = st.topic;
        out.partition = st.partition;
        out.start = s.start;
        out.end = s.end;
        out.retained_events = s.events;
        out.retained_bytes = s.bytes;
        out.appended_events = st.appended_events;
        out.appended_batches = st.appended_batches;
        for (auto& [g, c] : st.groups)
          out.groups.push_back({g, c.assignment, c.next, c.credit, c.delivered});
        return out;
      },
      [self](retention_tick_atom) {
        apply_retention(self);
        auto ms = std::clamp<int64_t>(self->state.config.retention.max_age_ms / 4, 10, 1000);
        self->delayed_send(self, std::chrono::milliseconds{ms}, retention_tick_atom::value);
      },
  };
}

}  // namespace herald
