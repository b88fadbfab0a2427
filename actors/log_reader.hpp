// Reading a range of one partition from inside an actor, in chunks, without blocking it:
// aggregators and projections rebuild their state this way. Each chunk is one read_records
// request to the partition actor; events are handed over one by one as event_views, valid
// during the call.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/error.hpp>

#include "messages/partition.hpp"
#include "messages/record_batch.hpp"
#include "messages/topic.hpp"

namespace herald {

template <class Self>
struct log_reader : std::enable_shared_from_this<log_reader<Self>> {
  Self* self = nullptr;
  caf::actor partition;
  std::string topic;
  partition_id p;
  offset until{-1};  ///< -1: the log end as the first read reports it
  int32_t chunk = 4096;
  std::function<void(const event_view&)> each;
  /// Called after each chunk (a projection commits one transaction per chunk); may be null.
  std::function<void(offset next)> chunk_done;
  std::function<void(caf::error)> done;

  /// Reads from `from`; -1: from the first retained offset.
  void start(offset from) {
    if (from.value >= 0) {
      read(from);
      return;
    }
    auto me = this->shared_from_this();
    self->request(partition, std::chrono::seconds{10}, get_partition_status{})
        .then([me](partition_status& st) { me->read(st.start); },
              [me](caf::error& err) { me->done(std::move(err)); });
  }

 private:
  void read(offset from) {
    auto me = this->shared_from_this();
    self->request(partition, std::chrono::seconds{10}, read_records{from, chunk, int64_t{4} << 20})
        .then(
            [me, from](read_result& r) {
              auto limit = me->until.value >= 0 ? me->until : r.end;
              if (me->until.value < 0) me->until = r.end;
              event_view v;
              for (auto& s : r.slices) {
                batch_cursor cur{s, me->topic, me->p};
                while (!cur.done()) {
                  cur.next(v);
                  if (v.offset() >= from && v.offset() < limit) me->each(v);
                }
              }
              auto next = std::min(r.next, limit);
              if (me->chunk_done) me->chunk_done(next);
              if (r.next > from && r.next < limit)
                me->read(r.next);
              else
                me->done(caf::none);
            },
            [me](caf::error& err) { me->done(std::move(err)); });
  }
};

/// Reads every retained event of every partition of `topic_name` (as far as each log ends when
/// its first read reports it), calling `each` per event; then `done` once: with none after the
/// last partition, or with the first error (looking the topic up, or reading a partition).
template <class Self>
void read_whole_topic(Self* self, const caf::actor& registry, const std::string& topic_name,
                      std::function<void(const event_view&)> each,
                      std::function<void(caf::error)> done) {
  self->request(registry, std::chrono::seconds{10}, get_topic{topic_name})
      .then(
          [self, each, done](topic_metadata& md) {
            auto left = std::make_shared<size_t>(md.partitions.size());
            if (*left == 0) {
              done(caf::none);
              return;
            }
            auto failed = std::make_shared<bool>(false);
            for (size_t i = 0; i < md.partitions.size(); ++i) {
              auto r = std::make_shared<log_reader<Self>>();
              r->self = self;
              r->partition = md.partitions[i];
              r->topic = md.name;
              r->p = partition_id{static_cast<int32_t>(i)};
              r->each = each;
              r->done = [left, failed, done](caf::error err) {
                if (*failed) return;
                if (err) {
                  *failed = true;
                  done(std::move(err));
                } else if (--*left == 0) {
                  done(caf::none);
                }
              };
              r->start(offset{-1});
            }
          },
          [done](caf::error& err) { done(std::move(err)); });
}

}  // namespace herald
