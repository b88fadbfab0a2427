#include "actors/topic_registry.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/system_messages.hpp>

#include "base/logging.hpp"
#include "messages/atoms.hpp"
#include "messages/errors.hpp"

namespace herald {

namespace {

auto& logger() {
  static auto l = log::get("registry");
  return l;
}

using self_ptr = registry_actor_t*;

caf::actor spawn_partition(self_ptr self, const topic_metadata& md, partition_id p,
                           std::shared_ptr<partition_store> store) {
  partition_args args{md.name,
                      p,
                      md.config,
                      std::move(store),
                      self->state.options.partition,
                      self->state.options.obs};
  auto a = self->spawn(partition_actor, std::move(args));
  self->monitor(a);
  return a;
}

/// A partition actor died. Unless it was stopped on purpose, start it again on its store
/// (same log, same producer sequences) and tell every coordinator where it is now.
void on_partition_down(self_ptr self, const std::string& topic, size_t p, const caf::error& why) {
  auto& st = self->state;
  auto& md = st.topics[topic];
  auto& sp = st.partitions[topic][p];
  if (!why || why == caf::exit_reason::user_shutdown) return;
  sp.last_failure = describe(why);
  if (!sp.window.allow(std::chrono::steady_clock::now())) {
    sp.failed = true;
    md.partitions[p] = caf::actor{};  // producers asking again learn that it is gone
    logger()->critical(
        "topic={} partition={} event=partition_given_up restarts={} reason=\"{}\" "
        "action=\"publishing to it fails with unknown_partition; restart the runtime after "
        "fixing the cause\"",
        topic, p, sp.restarts, sp.last_failure);
    return;
  }
  ++sp.restarts;
  auto a = spawn_partition(self, md, partition_id{static_cast<int32_t>(p)}, sp.store);
  md.partitions[p] = a;
  logger()->error("topic={} partition={} event=partition_restarted restarts={} reason=\"{}\"",
                  topic, p, sp.restarts, sp.last_failure);
  for (auto& [name, g] : st.groups)
    self->send(g, partition_restarted{topic, partition_id{static_cast<int32_t>(p)}, a});
}

caf::actor spawn_coordinator(self_ptr self, const std::string& group) {
  auto opts = self->state.options.coordinator;
  opts.memory = self->state.group_sup.at(group).committed;
  opts.metrics = self->state.options.obs.metrics;
  auto g = self->spawn(group_coordinator, group, opts);
  self->monitor(g);
  return g;
}

/// A coordinator died. Start it again with what its predecessor committed; its members see it
/// die, ask for the group's coordinator again and rejoin.
void on_coordinator_down(self_ptr self, const std::string& group, const caf::error& why) {
  auto& st = self->state;
  auto& sup = st.group_sup.at(group);
  if (!why || why == caf::exit_reason::user_shutdown) {
    st.groups.erase(group);
    return;
  }
  sup.last_failure = describe(why);
  if (!sup.window.allow(std::chrono::steady_clock::now())) {
    sup.failed = true;
    st.groups.erase(group);
    logger()->critical(
        "group={} event=coordinator_given_up restarts={} reason=\"{}\" action=\"the group's "
        "members stop; restart the runtime after fixing the cause\"",
        group, sup.restarts, sup.last_failure);
    return;
  }
  ++sup.restarts;
  st.groups[group] = spawn_coordinator(self, group);
  logger()->error("group={} event=coordinator_restarted restarts={} reason=\"{}\"", group,
                  sup.restarts, sup.last_failure);
}

supervision_node broker_tree(self_ptr self) {
  auto& st = self->state;
  supervision_node root;
  root.name = "broker";
  root.kind = "supervisor";
  root.strategy = "one_for_one";
  root.mode = "permanent";
  root.state = "running";
  root.actor_id = self->id();
  for (auto& [topic, md] : st.topics) {
    auto& sup = st.partitions[topic];
    for (size_t p = 0; p < md.partitions.size() && p < sup.size(); ++p) {
      supervision_node n;
      n.name = "partition/" + topic + "/" + std::to_string(p);
      n.kind = "worker";
      n.mode = "permanent";
      n.state = sup[p].failed ? "stopped" : "running";
      n.actor_id = md.partitions[p] ? md.partitions[p].id() : 0;
      n.restarts = sup[p].restarts;
      n.last_failure = sup[p].last_failure;
      root.children.push_back(std::move(n));
    }
  }
  for (auto& [name, sup] : st.group_sup) {
    supervision_node n;
    n.name = "group/" + name;
    n.kind = "worker";
    n.mode = "permanent";
    auto g = st.groups.find(name);
    n.state = sup.failed ? "stopped" : "running";
    n.actor_id = g != st.groups.end() && g->second ? g->second.id() : 0;
    n.restarts = sup.restarts;
    n.last_failure = sup.last_failure;
    root.children.push_back(std::move(n));
  }
  return root;
}

caf::expected<topic_metadata> create(self_ptr self, create_topic& req) {
  auto& st = self->state;
  if (auto err = validate_topic_name(req.name)) return err;
  if (req.config.storage.empty()) req.config.storage = st.storage->default_backend();
  if (auto err = validate_topic_config(req.config, st.options)) return err;
  if (st.topics.count(req.name))
    return make_error(errc::topic_exists,
                      "topic '" + req.name + "' already exists (" +
                          std::to_string(st.topics[req.name].partitions.size()) +
                          " partitions); delete it first or use it as is");
  topic_metadata md;
  md.name = req.name;
  md.config = req.config;
  std::vector<registry_state::supervised_partition> sup;
  for (int32_t p = 0; p < req.config.partitions; ++p) {
    auto log = st.storage->open(req.name, partition_id{p}, req.config);
    if (!log) {
      for (auto& a : md.partitions) {
        self->demonitor(a);
        self->send_exit(a, caf::exit_reason::user_shutdown);
      }
      return make_error(errc::storage_failure, "cannot open storage of " + req.name + "/" +
                                                   std::to_string(p) + ": " +
                                                   describe(log.error()));
    }
    auto store = std::make_shared<partition_store>();
    store->log = std::move(*log);
    md.partitions.push_back(spawn_partition(self, md, partition_id{p}, store));
    sup.push_back({std::move(store), restart_window{st.options.partition_restarts}, 0, {}, false});
  }
  st.partitions[md.name] = std::move(sup);
  logger()->info("topic={} event=topic_created partitions={} storage={}", md.name,
                 md.partitions.size(), md.config.storage);
  st.topics.emplace(md.name, md);
  return md;
}

}  // namespace

caf::error validate_topic_name(const std::string& name) {
  if (name.empty()) return make_error(errc::invalid_topic_name, "topic name is empty");
  if (name.size() > limits::max_topic_name)
    return make_error(errc::invalid_topic_name,
                      "topic name is " + std::to_string(name.size()) + " characters; at most " +
                          std::to_string(limits::max_topic_name) + " are allowed");
  if (name == "." || name == "..")
    return make_error(errc::invalid_topic_name, "topic name cannot be '.' or '..'");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok)
      return make_error(errc::invalid_topic_name,
                        "topic name '" + name + "' contains '" + std::string(1, c) +
                            "'; use only letters, digits, '.', '_' and '-'");
  }
  return caf::none;
}

caf::error validate_topic_config(const topic_config& cfg, const registry_options& options) {
  if (cfg.partitions <= 0 || cfg.partitions > options.max_partitions)
    return make_error(errc::invalid_partition_count,
                      "a topic needs 1 to " + std::to_string(options.max_partitions) +
                          " partitions, got " + std::to_string(cfg.partitions));
  auto& r = cfg.retention;
  if (r.max_events < -1 || r.max_bytes < -1 || r.max_age_ms < -1)
    return make_error(errc::invalid_config,
                      "retention limits are -1 (none) or a non-negative number");
  if (cfg.max_event_bytes < 64 || cfg.max_event_bytes > format::max_batch_bytes / 2)
    return make_error(errc::invalid_config, "max_event_bytes must be between 64 and " +
                                                std::to_string(format::max_batch_bytes / 2) +
                                                ", got " + std::to_string(cfg.max_event_bytes));
  if (!cfg.storage.empty() && cfg.storage != "memory" && cfg.storage != "disk")
    return make_error(errc::invalid_config, "storage backend '" + cfg.storage +
                                                "' is not available; use \"disk\" or \"memory\"");
  auto& d = cfg.durability;
  if (d.mode == durability_policy::kind::interval && (d.interval_ms < 1 || d.interval_ms > 3600000))
    return make_error(errc::invalid_config, "durability interval must be 1 ms to 1 hour, got " +
                                                std::to_string(d.interval_ms) + " ms");
  if (cfg.compaction && cfg.storage == "memory")
    return make_error(errc::invalid_config,
                      "compaction needs storage \"disk\"; the memory log does not compact");
  return caf::none;
}

caf::behavior topic_registry(registry_actor_t* self, std::shared_ptr<storage_factory> storage,
                             registry_options options) {
  self->state.storage = std::move(storage);
  self->state.options = options;
  self->set_down_handler([self](caf::down_msg& dm) {
    for (auto& [name, g] : self->state.groups)
      if (g.address() == dm.source) {
        auto group = name;
        on_coordinator_down(self, group, dm.reason);
        return;
      }
    for (auto& [name, md] : self->state.topics)
      for (size_t p = 0; p < md.partitions.size(); ++p)
        if (md.partitions[p].address() == dm.source) {
          auto topic = name;  // on_partition_down may touch the map
          on_partition_down(self, topic, p, dm.reason);
          return;
        }
  });
  return {
      [self](create_topic& req) -> caf::result<topic_metadata> {
        auto md = create(self, req);
        if (!md) return std::move(md.error());
        return std::move(*md);
      },
      [self](delete_topic& req) -> caf::result<ok_atom> {
        auto& st = self->state;
        auto it = st.topics.find(req.name);
        if (it == st.topics.end())
          return make_error(errc::unknown_topic, "no topic named '" + req.name + "'");
        for (auto& a : it->second.partitions) {
          self->demonitor(a);
          self->send_exit(a, caf::exit_reason::user_shutdown);
        }
        auto n = static_cast<int32_t>(it->second.partitions.size());
        st.topics.erase(it);
        st.partitions.erase(req.name);
        if (st.options.obs.metrics) st.options.obs.metrics->forget_topic(req.name);
        if (auto err = st.storage->remove(req.name, n))
          logger()->error("topic={} event=storage_remove_failed error=\"{}\"", req.name,
                          describe(err));
        logger()->info("topic={} event=topic_deleted", req.name);
        return ok_atom::value;
      },
      [self](get_topic& req) -> caf::result<topic_metadata> {
        auto& st = self->state;
        auto it = st.topics.find(req.name);
        if (it == st.topics.end())
          return make_error(errc::unknown_topic, "no topic named '" + req.name +
                                                     "'; create it first (runtime::create_topic)");
        return it->second;
      },
      [self](list_topics) {
        std::vector<topic_metadata> out;
        for (auto& [name, md] : self->state.topics) out.push_back(md);
        return out;
      },
      [self](get_group& req) -> caf::result<caf::actor> {
        auto& st = self->state;
        if (req.name.empty())
          return make_error(errc::invalid_argument, "consumer group name is empty");
        auto& g = st.groups[req.name];
        if (!g) {
          auto& sup = st.group_sup
                          .emplace(req.name,
                                   registry_state::supervised_group{
                                       std::make_shared<std::map<topic_partition, offset>>(),
                                       restart_window{st.options.coordinator_restarts}})
                          .first->second;
          if (sup.failed)
            return make_error(errc::escalated, "the coordinator of group '" + req.name +
                                                   "' crashed too often (" + sup.last_failure +
                                                   "); restart the runtime after fixing the cause");
          g = spawn_coordinator(self, req.name);
        }
        return g;
      },
      [self](get_supervision_tree) { return broker_tree(self); },
      [self](list_groups) {
        std::vector<std::string> out;
        for (auto& [name, a] : self->state.groups) out.push_back(name);
        return out;
      },
      [self](stop_atom) {
        // Shutdown: stop what this registry spawned, coordinators first.
        for (auto& [name, g] : self->state.groups) {
          self->demonitor(g);
          self->send_exit(g, caf::exit_reason::user_shutdown);
        }
        for (auto& [name, md] : self->state.topics)
          for (auto& a : md.partitions) {
            self->demonitor(a);
            self->send_exit(a, caf::exit_reason::user_shutdown);
          }
        self->quit();
        return ok_atom::value;
      },
  };
}

}  // namespace herald
