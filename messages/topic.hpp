// Topics: configuration, metadata, and the administrative messages of the topic registry.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/sec.hpp>

#include "messages/ids.hpp"

namespace herald {

/// When a partition may delete its oldest records. A limit of -1 means "no limit"; with all
/// three at -1 the log keeps everything (bounded only by memory or disk).
struct retention_policy {
  int64_t max_events = -1;  ///< keep at most this many records per partition
  int64_t max_bytes = -1;   ///< keep at most this many bytes of batches per partition
  int64_t max_age_ms = -1;  ///< delete batches whose newest record is older than this

  friend bool operator==(const retention_policy&, const retention_policy&) = default;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, retention_policy& x) {
    return f(caf::meta::type_name("retention_policy"), x.max_events, x.max_bytes, x.max_age_ms);
  }
};

/// When an on-disk partition makes appended batches durable (docs/STORAGE.md has the exact
/// promise of each). Ignored by the "memory" storage.
struct durability_policy {
  enum class kind : uint8_t {
    always = 0,    ///< fdatasync before acknowledging (group commit); survives power loss
    interval = 1,  ///< acknowledge once written; fdatasync every interval_ms in the background
    never = 2,     ///< acknowledge once written; the OS writes back when it likes
  };
  kind mode = kind::always;
  int64_t interval_ms = 1000;  ///< only for kind::interval

  static durability_policy always() { return {kind::always, 1000}; }
  static durability_policy interval(int64_t ms) { return {kind::interval, ms}; }
  static durability_policy never() { return {kind::never, 1000}; }

  friend bool operator==(const durability_policy&, const durability_policy&) = default;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, durability_policy& x) {
    auto k = static_cast<uint8_t>(x.mode);
    auto restore = caf::meta::load_callback([&]() -> caf::error {
      if (k > 2) return caf::make_error(caf::sec::invalid_argument, "durability_policy kind");
      x.mode = static_cast<kind>(k);
      return caf::none;
    });
    return f(caf::meta::type_name("durability_policy"), k, x.interval_ms, restore);
  }
};

/// "always", "interval" or "never".
inline const char* to_string(durability_policy::kind k) {
  switch (k) {
    case durability_policy::kind::always:
      return "always";
    case durability_policy::kind::interval:
      return "interval";
    case durability_policy::kind::never:
      return "never";
  }
  return "unknown";
}

struct topic_config {
  int32_t partitions = 1;
  retention_policy retention;
  /// Largest encoded event a producer may publish to this topic (payload, key, headers).
  uint32_t max_event_bytes = 1u << 20;
  /// Storage backend of the partitions: "memory", "disk", or empty for the runtime's
  /// default ("disk" when it has a data_dir, else "memory").
  std::string storage;
  /// Disk storage only: when an acknowledged batch is safe (see durability_policy).
  durability_policy durability;
  /// Disk storage only: keep only the latest record per key in closed segments (a
  /// tombstone deletes its key); offsets are preserved, so reads may meet gaps.
  bool compaction = false;

  friend bool operator==(const topic_config&, const topic_config&) = default;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, topic_config& x) {
    return f(caf::meta::type_name("topic_config"), x.partitions, x.retention, x.max_event_bytes,
             x.storage, x.durability, x.compaction);
  }
};

/// Everything a producer or consumer needs to reach a topic's partitions.
struct topic_metadata {
  std::string name;
  topic_config config;
  std::vector<caf::actor> partitions;  ///< index = partition id

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, topic_metadata& x) {
    return f(caf::meta::type_name("topic_metadata"), x.name, x.config, x.partitions);
  }
};

// -- topic registry requests ------------------------------------------------------------------

/// -> topic_metadata, or errc::topic_exists / invalid_topic_name / invalid_partition_count.
struct create_topic {
  std::string name;
  topic_config config;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, create_topic& x) {
    return f(caf::meta::type_name("create_topic"), x.name, x.config);
  }
};

/// -> caf::unit, or errc::unknown_topic. Stops the partitions; their records are gone.
struct delete_topic {
  std::string name;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, delete_topic& x) {
    return f(caf::meta::type_name("delete_topic"), x.name);
  }
};

/// -> topic_metadata, or errc::unknown_topic.
struct get_topic {
  std::string name;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, get_topic& x) {
    return f(caf::meta::type_name("get_topic"), x.name);
  }
};

/// -> std::vector<topic_metadata>, sorted by name.
struct list_topics {
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, list_topics&) {
    return f(caf::meta::type_name("list_topics"));
  }
};

/// -> caf::actor: the group's coordinator, spawned on first use.
struct get_group {
  std::string name;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, get_group& x) {
    return f(caf::meta::type_name("get_group"), x.name);
  }
};

/// -> std::vector<std::string>: names of the groups that exist, sorted.
struct list_groups {
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, list_groups&) {
    return f(caf::meta::type_name("list_groups"));
  }
};

/// Registry -> every group coordinator: the partition actor of (topic, partition) crashed and
/// was restarted with the same log as `actor`; owners must read from the new one.
struct partition_restarted {
  std::string topic;
  partition_id partition;
  caf::actor actor;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, partition_restarted& x) {
    return f(caf::meta::type_name("partition_restarted"), x.topic, x.partition, x.actor);
  }
};

}  // namespace herald
