#include "observability/metrics.hpp"

#include <cstdio>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "observability/text.hpp"

namespace herald::obs {

namespace {

int64_t load(const std::atomic<int64_t>& a) {
  return a.load(std::memory_order_relaxed);
}

template <class Map, class Key>
auto cell(std::mutex& mtx, Map& map, const Key& key) {
  std::lock_guard<std::mutex> guard{mtx};
  auto& slot = map[key];
  if (!slot) slot = std::make_shared<typename Map::mapped_type::element_type>();
  return slot;
}

void num(std::string& out, double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  out += buf;
}

void num(std::string& out, int64_t v) {
  out += std::to_string(v);
}

void num(std::string& out, uint64_t v) {
  out += std::to_string(v);
}

/// Writes `name{k1="v1",...} value\n`.
class prom_writer {
 public:
  explicit prom_writer(std::string& out) : out_(out) {}
  void family(const char* name, const char* type, const char* help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  template <class V>
  void sample(const char* name, std::initializer_list<std::pair<const char*, std::string>> labels,
              V value) {
    out_ += name;
    if (labels.size() > 0) {
      out_ += '{';
      bool first = true;
      for (auto& [k, v] : labels) {
        if (!first) out_ += ',';
        first = false;
        out_ += k;
        out_ += "=\"";
        prom_label_escape(out_, v);
        out_ += '"';
      }
      out_ += '}';
    }
    out_ += ' ';
    num(out_, value);
    out_ += '\n';
  }

 private:
  std::string& out_;
};

}  // namespace

std::shared_ptr<partition_cells> metrics::partition(const std::string& topic, int32_t p) {
  return cell(mtx_, partitions_, tp_key{topic, p});
}

std::shared_ptr<group_partition_cells> metrics::group_partition(const std::string& group,
                                                                const std::string& topic,
                                                                int32_t p) {
  return cell(mtx_, groups_, gtp_key{group, topic, p});
}

std::shared_ptr<handler_cells> metrics::handler(const std::string& group) {
  return cell(mtx_, handlers_, group);
}

std::shared_ptr<mailbox_cell> metrics::mailbox(const std::string& kind, const std::string& actor) {
  return cell(mtx_, mailboxes_, std::make_pair(kind, actor));
}

void metrics::forget_topic(const std::string& topic) {
  std::lock_guard<std::mutex> guard{mtx_};
  std::erase_if(partitions_, [&](auto& kv) { return kv.first.first == topic; });
  std::erase_if(groups_, [&](auto& kv) { return std::get<1>(kv.first) == topic; });
  std::erase_if(mailboxes_, [&](auto& kv) {
    return kv.first.first == "partition" && kv.first.second.rfind(topic + "/", 0) == 0;
  });
}

metrics_snapshot metrics::snapshot() const {
  metrics_snapshot s;
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& [k, c] : partitions_)
    s.partitions.push_back({k.first, k.second, load(c->events_in), load(c->bytes_in),
                            load(c->batches_in), load(c->log_start), load(c->log_end),
                            load(c->retained_events), load(c->retained_bytes)});
  for (auto& [k, c] : groups_) {
    auto& [group, topic, p] = k;
    int64_t committed = load(c->committed);
    int64_t lag = 0;
    auto it = partitions_.find(tp_key{topic, p});
    if (it != partitions_.end()) {
      auto end = load(it->second->log_end);
      auto from = committed >= 0 ? committed : load(it->second->log_start);
      lag = std::max<int64_t>(0, end - from);
    }
    s.groups.push_back({group, topic, p, committed, lag, 0.0, load(c->handled),
                        load(c->redeliveries), load(c->dead_letters)});
  }
  for (auto& [group, c] : handlers_) {
    metrics_snapshot::handler_row r{group, {}, 0, 0.0, load(c->failures)};
    uint64_t cum = 0;
    for (auto& b : c->counts) {
      cum += b.load(std::memory_order_relaxed);
      r.buckets.push_back(cum);
    }
    // The count is the +Inf bucket, so that the histogram is consistent within itself.
    r.count = cum;
    r.sum_seconds = static_cast<double>(load(c->sum_ns)) / 1e9;
    s.handlers.push_back(std::move(r));
  }
  for (auto& [k, c] : mailboxes_) s.mailboxes.push_back({k.first, k.second, load(c->depth)});
  return s;
}

std::string to_prometheus(const metrics_snapshot& s) {
  std::string out;
  out.reserve(4096);
  prom_writer w{out};
  auto per_partition = [&](const char* name, const char* type, const char* help, auto field) {
    if (s.partitions.empty()) return;
    w.family(name, type, help);
    for (auto& r : s.partitions)
      w.sample(name, {{"topic", r.topic}, {"partition", std::to_string(r.partition)}}, field(r));
  };
  using prow = metrics_snapshot::partition_row;
  per_partition("herald_partition_events_in_total", "counter", "Events appended to the partition.",
                [](const prow& r) { return r.events_in; });
  per_partition("herald_partition_bytes_in_total", "counter",
                "Bytes of record batches appended to the partition.",
                [](const prow& r) { return r.bytes_in; });
  per_partition("herald_partition_batches_in_total", "counter",
                "Record batches appended to the partition.",
                [](const prow& r) { return r.batches_in; });
  per_partition("herald_partition_log_start_offset", "gauge", "First retained offset.",
                [](const prow& r) { return r.log_start; });
  per_partition("herald_partition_log_end_offset", "gauge", "Offset the next event will get.",
                [](const prow& r) { return r.log_end; });
  per_partition("herald_partition_retained_events", "gauge", "Events retained in the log.",
                [](const prow& r) { return r.retained_events; });
  per_partition("herald_partition_retained_bytes", "gauge", "Bytes retained in the log.",
                [](const prow& r) { return r.retained_bytes; });

  auto per_group = [&](const char* name, const char* type, const char* help, auto field) {
    if (s.groups.empty()) return;
    w.family(name, type, help);
    for (auto& r : s.groups)
      w.sample(name,
               {{"group", r.group}, {"topic", r.topic}, {"partition", std::to_string(r.partition)}},
               field(r));
  };
  using grow = metrics_snapshot::group_row;
  per_group("herald_group_committed_offset", "gauge",
            "Offset after the last event the group committed (-1: none).",
            [](const grow& r) { return r.committed; });
  per_group("herald_group_lag_events", "gauge", "Events appended and not committed by the group.",
            [](const grow& r) { return r.lag_events; });
  per_group("herald_group_lag_seconds", "gauge",
            "Age of the oldest event the group has not committed (0 without lag).",
            [](const grow& r) { return r.lag_seconds; });
  per_group("herald_group_handled_total", "counter", "Events the group's handler accepted.",
            [](const grow& r) { return r.handled; });
  per_group("herald_group_redeliveries_total", "counter",
            "Events handed to the handler again (retries, redelivery after a restart or a "
            "rebalance).",
            [](const grow& r) { return r.redeliveries; });
  per_group("herald_group_dead_letters_total", "counter",
            "Events given up and written to the dead-letter topic.",
            [](const grow& r) { return r.dead_letters; });

  if (!s.handlers.empty()) {
    w.family("herald_handler_latency_seconds", "histogram", "Time of one handler call.");
    for (auto& h : s.handlers) {
      for (size_t i = 0; i < h.buckets.size(); ++i) {
        std::string le;
        if (i < latency_bounds_ns.size()) {
          char buf[32];
          std::snprintf(buf, sizeof(buf), "%g", static_cast<double>(latency_bounds_ns[i]) / 1e9);
          le = buf;
        } else {
          le = "+Inf";
        }
        w.sample("herald_handler_latency_seconds_bucket", {{"group", h.group}, {"le", le}},
                 h.buckets[i]);
      }
      w.sample("herald_handler_latency_seconds_sum", {{"group", h.group}}, h.sum_seconds);
      w.sample("herald_handler_latency_seconds_count", {{"group", h.group}}, h.count);
    }
    w.family("herald_handler_failures_total", "counter",
             "Handler calls that returned an error or threw.");
    for (auto& h : s.handlers)
      w.sample("herald_handler_failures_total", {{"group", h.group}}, h.failures);
  }
  if (!s.mailboxes.empty()) {
    w.family("herald_actor_mailbox_depth", "gauge",
             "Messages waiting in the actor's mailbox when it last handled a batch.");
    for (auto& m : s.mailboxes)
      w.sample("herald_actor_mailbox_depth", {{"kind", m.kind}, {"actor", m.actor}}, m.depth);
  }
  return out;
}

std::string to_json(const metrics_snapshot& s) {
  namespace json = boost::json;
  json::object out;
  auto& parts = out["partitions"].emplace_array();
  for (auto& r : s.partitions)
    parts.push_back(json::object{{"topic", r.topic},
                                 {"partition", r.partition},
                                 {"events_in", r.events_in},
                                 {"bytes_in", r.bytes_in},
                                 {"batches_in", r.batches_in},
                                 {"log_start_offset", r.log_start},
                                 {"log_end_offset", r.log_end},
                                 {"retained_events", r.retained_events},
                                 {"retained_bytes", r.retained_bytes}});
  auto& groups = out["groups"].emplace_array();
  for (auto& r : s.groups)
    groups.push_back(json::object{{"group", r.group},
                                  {"topic", r.topic},
                                  {"partition", r.partition},
                                  {"committed_offset", r.committed},
                                  {"lag_events", r.lag_events},
                                  {"lag_seconds", r.lag_seconds},
                                  {"handled", r.handled},
                                  {"redeliveries", r.redeliveries},
                                  {"dead_letters", r.dead_letters}});
  auto& handlers = out["handlers"].emplace_array();
  for (auto& h : s.handlers) {
    json::array buckets;
    for (size_t i = 0; i < h.buckets.size(); ++i) {
      json::value le = "+Inf";
      if (i < latency_bounds_ns.size()) le = static_cast<double>(latency_bounds_ns[i]) / 1e9;
      buckets.push_back(json::object{{"le", le}, {"count", h.buckets[i]}});
    }
    handlers.push_back(json::object{{"group", h.group},
                                    {"count", h.count},
                                    {"sum_seconds", h.sum_seconds},
                                    {"failures", h.failures},
                                    {"buckets", std::move(buckets)}});
  }
  auto& mailboxes = out["mailboxes"].emplace_array();
  for (auto& m : s.mailboxes)
    mailboxes.push_back(json::object{{"kind", m.kind}, {"actor", m.actor}, {"depth", m.depth}});
  return json::serialize(out);
}

}  // namespace herald::obs
