// Messages a partition actor receives from producers and readers, and what it answers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/meta/type_name.hpp>

#include "messages/ids.hpp"
#include "messages/record_batch.hpp"

namespace herald {

/// Inspects a record_batch_ptr: in process the pointer is shared, serialized the bytes are
/// written and checked again (CRC, framing) when read.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, record_batch_ptr& x) {
  batch_slice s{x, offset{0}, timestamp{0}, format::batch_header_size, 0};
  if constexpr (std::is_same_v<Inspector, caf::deserializer>) {
    auto err = inspect(f, s);
    x = std::move(s.batch);
    return err;
  } else {
    return inspect(f, s);
  }
}

/// Producer -> partition: append one sealed batch. The partition answers the sender (the
/// producer actor) with an append_ack, in the order the batches arrived.
struct append_batch {
  partition_id partition;
  record_batch_ptr batch;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, append_batch& x) {
    return f(caf::meta::type_name("append_batch"), x.partition, x.batch);
  }
};

/// Partition -> producer: the batch with (producer, seq) is stored at [base, base + count).
/// `error` is set instead when it was not stored; nothing of the batch was appended then.
/// `duplicate` is true when the batch had been appended before (a producer retry): the
/// offsets are the original ones.
struct append_ack {
  std::string topic;
  partition_id partition;
  producer_id producer;
  uint64_t seq = 0;
  offset base;
  int32_t count = 0;
  bool duplicate = false;
  caf::error error;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, append_ack& x) {
    return f(caf::meta::type_name("append_ack"), x.topic, x.partition, x.producer, x.seq, x.base, x.count,
             x.duplicate, x.error);
  }
};

/// -> read_result: records from `from` on, at most max_events, at most ~max_bytes (at least
/// one record when any is there). Used for replays outside a group (tail, tests, tools).
/// errc::offset_out_of_range if `from` is below the log start (retention removed it).
struct read_records {
  offset from;
  int32_t max_events = 1024;
  int64_t max_bytes = 1 << 20;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, read_records& x) {
    return f(caf::meta::type_name("read_records"), x.from, x.max_events, x.max_bytes);
  }
};

struct read_result {
  std::vector<batch_slice> slices;
  offset next;  ///< the offset to ask for next
  offset end;   ///< the log end offset when read

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, read_result& x) {
    return f(caf::meta::type_name("read_result"), x.slices, x.next, x.end);
  }
};

/// -> offset: the first offset whose record has a timestamp >= `time`, or the log end.
struct offset_for_time {
  timestamp time;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, offset_for_time& x) {
    return f(caf::meta::type_name("offset_for_time"), x.time);
  }
};

/// Storage -> partition (via the durability listener): everything below `durable` survives a
/// crash now; acknowledge and deliver up to it.
struct durable_advanced {
  offset durable;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, durable_advanced& x) {
    return f(caf::meta::type_name("durable_advanced"), x.durable);
  }
};

/// -> partition_status.
struct get_partition_status {
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, get_partition_status&) {
    return f(caf::meta::type_name("get_partition_status"));
  }
};

/// One consumer group's position on one partition, as the partition sees it.
struct group_cursor {
  std::string group;
  epoch assignment;
  offset next;            ///< next offset to deliver
  int64_t credit = 0;     ///< events the member will still accept
  int64_t delivered = 0;  ///< events pushed to this group since the partition started

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, group_cursor& x) {
    return f(caf::meta::type_name("group_cursor"), x.group, x.assignment, x.next, x.credit,
             x.delivered);
  }
};

struct partition_status {
  std::string topic;
  partition_id partition;
  offset start;  ///< first retained offset
  offset end;    ///< offset the next record will get
  int64_t retained_events = 0;
  int64_t retained_bytes = 0;
  int64_t appended_events = 0;   ///< since the actor started
  int64_t appended_batches = 0;  ///< since the actor started
  std::vector<group_cursor> groups;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, partition_status& x) {
    return f(caf::meta::type_name("partition_status"), x.topic, x.partition, x.start, x.end,
             x.retained_events, x.retained_bytes, x.appended_events, x.appended_batches,
             x.groups);
  }
};

}  // namespace herald
