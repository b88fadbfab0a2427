#include "messages/registration.hpp"

#include <caf/atom.hpp>

#include "messages/errors.hpp"
#include "messages/event.hpp"
#include "messages/group.hpp"
#include "messages/partition.hpp"
#include "messages/supervision.hpp"
#include "messages/topic.hpp"

namespace herald {

namespace {

// The X-macro keeps the list of names and the list of registrations one list.
#define HERALD_MESSAGE_TYPES(X)                                \
  X(offset, "herald.offset")                                   \
  X(event, "herald.event")                                     \
  X(topic_config, "herald.topic_config")                       \
  X(topic_metadata, "herald.topic_metadata")                   \
  X(std::vector<topic_metadata>, "herald.topic_metadata_list") \
  X(create_topic, "herald.create_topic")                       \
  X(delete_topic, "herald.delete_topic")                       \
  X(get_topic, "herald.get_topic")                             \
  X(list_topics, "herald.list_topics")                         \
  X(get_group, "herald.get_group")                             \
  X(list_groups, "herald.list_groups")                         \
  X(append_batch, "herald.append_batch")                       \
  X(append_ack, "herald.append_ack")                           \
  X(read_records, "herald.read_records")                       \
  X(read_result, "herald.read_result")                         \
  X(offset_for_time, "herald.offset_for_time")                 \
  X(durable_advanced, "herald.durable_advanced")               \
  X(get_partition_status, "herald.get_partition_status")       \
  X(partition_status, "herald.partition_status")               \
  X(join_group, "herald.join_group")                           \
  X(leave_group, "herald.leave_group")                         \
  X(assign_partition, "herald.assign_partition")               \
  X(revoke_partition, "herald.revoke_partition")               \
  X(revoke_done, "herald.revoke_done")                         \
  X(commit_offset, "herald.commit_offset")                     \
  X(subscribe_group, "herald.subscribe_group")                 \
  X(unsubscribe_group, "herald.unsubscribe_group")             \
  X(grant_credit, "herald.grant_credit")                       \
  X(delivery, "herald.delivery")                               \
  X(describe_group, "herald.describe_group")                   \
  X(group_description, "herald.group_description")             \
  X(supervision_node, "herald.supervision_node")               \
  X(get_supervision_tree, "herald.get_supervision_tree")       \
  X(stop_child, "herald.stop_child")                           \
  X(partition_restarted, "herald.partition_restarted")

}  // namespace

void register_types(caf::actor_system_config& cfg) {
#define HERALD_REGISTER(type, name) cfg.add_message_type<type>(name);
  HERALD_MESSAGE_TYPES(HERALD_REGISTER)
#undef HERALD_REGISTER
  cfg.add_error_category(caf::atom("herald"),
                         [](uint8_t code, caf::atom_value, const caf::message& ctx) {
                           return describe(caf::make_error(static_cast<errc>(code), ctx));
                         });
}

const std::vector<std::string>& registered_type_names() {
  static const std::vector<std::string> names = {
#define HERALD_NAME(type, name) name,
      HERALD_MESSAGE_TYPES(HERALD_NAME)
#undef HERALD_NAME
  };
  return names;
}

}  // namespace herald
