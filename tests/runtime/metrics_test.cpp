// Metrics: figures against a known workload, through the API and over HTTP.
#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <sstream>
#include <string>

#include <boost/json/parse.hpp>

#include "actors/member_instruments.hpp"
#include "runtime/herald.hpp"
#include "tests/support/builders.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/wait.hpp"

using namespace herald;

namespace {

/// One parsed sample of the Prometheus text format: name, labels, value.
struct prom_sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

/// A small parser of the text exposition format: "# TYPE" lines and samples
/// `name{k="v",...} value`. Fails the test on a line it cannot read.
struct prom_text {
  std::map<std::string, std::string> types;  // family -> counter, gauge, histogram
  std::vector<prom_sample> samples;

  explicit prom_text(const std::string& text) {
    std::istringstream in{text};
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      if (line.rfind("# TYPE ", 0) == 0) {
        auto rest = line.substr(7);
        auto sp = rest.find(' ');
        types[rest.substr(0, sp)] = rest.substr(sp + 1);
        continue;
      }
      if (line[0] == '#') continue;
      prom_sample s;
      size_t i = 0;
      while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
      s.name = line.substr(0, i);
      if (i < line.size() && line[i] == '{') {
        ++i;
        while (line[i] != '}') {
          auto eq = line.find('=', i);
          auto key = line.substr(i, eq - i);
          INFO(line);
          REQUIRE(line[eq + 1] == '"');
          std::string value;
          size_t j = eq + 2;
          for (; line[j] != '"'; ++j) {
            if (line[j] == '\\') ++j;
            value += line[j];
          }
          s.labels[key] = value;
          i = j + 1;
          if (line[i] == ',') ++i;
        }
        ++i;
      }
      INFO(line);
      REQUIRE(line[i] == ' ');
      s.value = std::stod(line.substr(i + 1));
      samples.push_back(std::move(s));
    }
  }

  /// Sum of every sample of `name` whose labels include `match`.
  double sum(const std::string& name, const std::map<std::string, std::string>& match = {}) const {
    double total = 0;
    for (auto& s : samples) {
      if (s.name != name) continue;
      bool ok = true;
      for (auto& [k, v] : match) {
        auto it = s.labels.find(k);
        ok = ok && it != s.labels.end() && it->second == v;
      }
      if (ok) total += s.value;
    }
    return total;
  }
  size_t count(const std::string& name) const {
    size_t n = 0;
    for (auto& s : samples) n += s.name == name;
    return n;
  }
};

void publish_n(producer& p, const std::string& topic, int from, int n) {
  for (int i = from; i < from + n; ++i)
    REQUIRE_FALSE(p.publish_async(test::order(topic, "K" + std::to_string(i), i)));
  REQUIRE_FALSE(p.flush());
}

}  // namespace

TEST_CASE("lag figures match a known backlog, in events and in seconds", "[runtime][metrics]") {
  runtime rt{test::quiet_config()};
  REQUIRE(rt.create_topic("orders", {.partitions = 3}));
  auto p = rt.make_producer();
  std::atomic<int> handled{0};
  auto sub = rt.subscribe("orders", "billing", [&](const event_view&) { ++handled; });
  REQUIRE(sub);
  publish_n(p, "orders", 0, 10);
  REQUIRE(test::wait_until([&] {
    auto lag = rt.group_lag("billing");
    return handled == 10 && lag && lag->total == 0;
  }));
  REQUIRE_FALSE(sub->stop());

  // The backlog: 25 events nobody consumes.
  auto before = timestamp::now();
  publish_n(p, "orders", 10, 25);
  auto after = timestamp::now();

  auto snap_begin = timestamp::now();
  auto snap = rt.metrics_snapshot();
  auto snap_end = timestamp::now();
  auto lag = rt.group_lag("billing");
  REQUIRE(lag);
  CHECK(lag->total == 25);

  int64_t lag_events = 0, handled_total = 0;
  int rows = 0;
  for (auto& g : snap.groups) {
    if (g.group != "billing") continue;
    ++rows;
    INFO("partition " << g.partition);
    lag_events += g.lag_events;
    handled_total += g.handled;
    auto ps = rt.describe_partition("orders", g.partition);
    REQUIRE(ps);
    CHECK(g.lag_events == ps->end - offset{g.committed});
    if (g.lag_events > 0) {
      // The first uncommitted event was appended between `before` and `after`.
      CHECK(g.lag_seconds >= double(snap_begin.value - after.value) / 1e9);
      CHECK(g.lag_seconds <= double(snap_end.value - before.value) / 1e9);
      CHECK(g.lag_seconds > 0);
    } else {
      CHECK(g.lag_seconds == 0);
    }
  }
  CHECK(rows == 3);
  CHECK(lag_events == 25);
  CHECK(handled_total == 10);

  int64_t in = 0, end = 0;
  for (auto& r : snap.partitions) {
    if (r.topic != "orders") continue;
    in += r.events_in;
    end += r.log_end;
    CHECK(r.retained_events == r.log_end - r.log_start);
    CHECK(r.bytes_in > 0);
  }
  CHECK(in == 35);
  CHECK(end == 35);
}

TEST_CASE("Prometheus text over HTTP parses back to the figures of the run",
          "[runtime][metrics][http]") {
  auto cfg = test::quiet_config();
  cfg.observability.http_port = 0;  // any free port
  runtime rt{cfg};
  REQUIRE(rt.http_port() != 0);
  REQUIRE(rt.create_topic("orders", {.partitions = 2}));
  std::atomic<int> handled{0};
  auto sub = rt.subscribe("orders", "billing", [&](const event_view&) { ++handled; });
  REQUIRE(sub);
  auto p = rt.make_producer();
  publish_n(p, "orders", 0, 40);
  REQUIRE(test::wait_until([&] {
    auto lag = rt.group_lag("billing");
    return handled == 40 && lag && lag->total == 0;
  }));

  auto reply = test::http_get(rt.http_port(), "/metrics");
  INFO(reply.error);
  REQUIRE(reply.status == 200);
  CHECK(reply.content_type.find("text/plain; version=0.0.4") == 0);
  prom_text prom{reply.body};

  CHECK(prom.types["herald_partition_events_in_total"] == "counter");
  CHECK(prom.types["herald_group_lag_events"] == "gauge");
  CHECK(prom.types["herald_handler_latency_seconds"] == "histogram");
  CHECK(prom.types["herald_actor_mailbox_depth"] == "gauge");
  CHECK(prom.sum("herald_partition_events_in_total", {{"topic", "orders"}}) == 40);
  CHECK(prom.sum("herald_partition_log_end_offset", {{"topic", "orders"}}) == 40);
  CHECK(prom.count("herald_partition_events_in_total") >= 2);
  CHECK(prom.sum("herald_group_committed_offset", {{"group", "billing"}}) == 40);
  CHECK(prom.sum("herald_group_lag_events", {{"group", "billing"}}) == 0);
  CHECK(prom.sum("herald_group_handled_total", {{"group", "billing"}}) == 40);
  // The histogram is whole: cumulative buckets, +Inf equal to the count, which is the calls
  // the member timed (one in time_every, the first included).
  constexpr int timed = (40 + member_instruments::time_every - 1) / member_instruments::time_every;
  CHECK(prom.sum("herald_handler_latency_seconds_count", {{"group", "billing"}}) == timed);
  CHECK(prom.sum("herald_handler_latency_seconds_bucket", {{"group", "billing"}, {"le", "+Inf"}}) ==
        timed);
  double prev = 0;
  for (auto& s : prom.samples) {
    if (s.name != "herald_handler_latency_seconds_bucket" || s.labels["group"] != "billing")
      continue;
    CHECK(s.value >= prev);
    prev = s.value;
  }
  CHECK(prom.sum("herald_handler_latency_seconds_sum", {{"group", "billing"}}) > 0);
  CHECK(prom.count("herald_actor_mailbox_depth") >= 3);  // two partitions and the member

  // The same figures as JSON, and a clear answer for a path that is not served.
  auto json = test::http_get(rt.http_port(), "/metrics.json");
  REQUIRE(json.status == 200);
  auto v = boost::json::parse(json.body);
  int64_t committed = 0;
  for (auto& g : v.at("groups").as_array())
    if (g.at("group").as_string() == "billing") committed += g.at("committed_offset").as_int64();
  CHECK(committed == 40);
  auto missing = test::http_get(rt.http_port(), "/nope");
  CHECK(missing.status == 404);
  CHECK(missing.body.find("/metrics") != std::string::npos);
}

TEST_CASE("metrics switched off: nothing counted, the snapshot is empty", "[runtime][metrics]") {
  auto cfg = test::quiet_config();
  cfg.observability.metrics = false;
  runtime rt{cfg};
  REQUIRE(rt.create_topic("orders"));
  auto p = rt.make_producer();
  publish_n(p, "orders", 0, 5);
  auto snap = rt.metrics_snapshot();
  CHECK(snap.partitions.empty());
  CHECK(snap.groups.empty());
  CHECK(rt.http_port() == 0);
}

TEST_CASE("a port that is taken is a clear configuration error", "[runtime][metrics][http]") {
  auto cfg = test::quiet_config();
  cfg.observability.http_port = 0;
  runtime first{cfg};
  cfg.observability.http_port = first.http_port();
  try {
    runtime second{cfg};
    FAIL("a second runtime bound the same port");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string{e.what()}.find(std::to_string(first.http_port())) != std::string::npos);
  }
}

TEST_CASE("retries count as redeliveries, given-up events as dead letters", "[runtime][metrics]") {
  runtime rt{test::quiet_config()};
  REQUIRE(rt.create_topic("orders", {.partitions = 1}));
  subscribe_options opts;
  opts.retry.max_attempts = 2;
  opts.retry.backoff.delays = {std::chrono::milliseconds{1}};
  std::atomic<int> handled{0};
  auto sub = rt.subscribe(
      "orders", "billing",
      [&](const event_view& e, handler_context& ctx) -> caf::error {
        // Every event fails its first attempt; POISON fails both.
        if (ctx.attempt() == 1 || e.key() == "POISON")
          return make_error(errc::handler_failed, "not yet");
        ++handled;
        return caf::none;
      },
      opts);
  REQUIRE(sub);
  auto p = rt.make_producer();
  publish_n(p, "orders", 0, 10);
  REQUIRE_FALSE(p.publish_async(test::order("orders", "POISON", 10)));
  REQUIRE_FALSE(p.publish_async(test::order("orders", "POISON", 11)));
  REQUIRE_FALSE(p.flush());
  REQUIRE(test::wait_until([&] { return handled == 10 && sub->probe().dead_letters.load() == 2; }));
  auto snap = rt.metrics_snapshot();
  bool found = false;
  for (auto& g : snap.groups) {
    if (g.group != "billing" || g.topic != "orders") continue;
    found = true;
    CHECK(g.handled == 10);
    CHECK(g.redeliveries == 12);  // every event's second attempt
    CHECK(g.dead_letters == 2);
  }
  CHECK(found);
  for (auto& h : snap.handlers)
    if (h.group == "billing") CHECK(h.failures == 14);
}
