// Forward declarations of Herald's message types (see registration.cpp for the full list).
#pragma once

#include <cstdint>

namespace herald {

struct offset;
struct partition_id;
struct producer_id;
struct epoch;
struct timestamp;
struct event_id;
class event;
class event_view;
class record_batch;
class batch_builder;
struct batch_slice;
struct retention_policy;
struct topic_config;
struct topic_metadata;
struct create_topic;
struct delete_topic;
struct get_topic;
struct list_topics;
struct get_group;
struct list_groups;
struct append_batch;
struct append_ack;
struct read_records;
struct read_result;
struct offset_for_time;
struct get_partition_status;
struct partition_status;
struct group_cursor;
struct start_position;
struct join_group;
struct leave_group;
struct assign_partition;
struct revoke_partition;
struct revoke_done;
struct commit_offset;
struct subscribe_group;
struct unsubscribe_group;
struct grant_credit;
struct delivery;
struct describe_group;
struct partition_assignment;
struct group_description;
enum class errc : uint8_t;

}  // namespace herald
