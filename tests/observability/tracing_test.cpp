// Traces: spans of a three-hop flow written as OTLP/JSON, read back into its causal tree.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/value_to.hpp>

#include "observability/context.hpp"
#include "observability/trace_tree.hpp"
#include "runtime/herald.hpp"
#include "tests/support/builders.hpp"
#include "tests/support/flow.hpp"

using namespace herald;
namespace json = boost::json;

namespace {

/// A fresh trace file path, removed at the end of the test.
struct temp_file {
  std::string path;
  temp_file() {
    auto dir = std::filesystem::temp_directory_path();
    path = (dir / ("herald-trace-" + std::to_string(::getpid()) + "-" +
                   std::to_string(reinterpret_cast<uintptr_t>(this)) + ".jsonl"))
               .string();
    std::filesystem::remove(path);
  }
  ~temp_file() { std::filesystem::remove(path); }
};

struct span_row {
  std::string trace, id, parent, name, event_id, correlation, group;
};

std::vector<span_row> read_spans(const std::string& path) {
  std::vector<span_row> out;
  std::ifstream in{path};
  std::string line;
  while (std::getline(in, line)) {
    auto doc = json::parse(line);
    for (auto& rs : doc.at("resourceSpans").as_array())
      for (auto& ss : rs.at("scopeSpans").as_array())
        for (auto& s : ss.at("spans").as_array()) {
          auto& o = s.as_object();
          span_row r;
          r.trace = json::value_to<std::string>(o.at("traceId"));
          r.id = json::value_to<std::string>(o.at("spanId"));
          if (auto* p = o.if_contains("parentSpanId")) r.parent = json::value_to<std::string>(*p);
          r.name = json::value_to<std::string>(o.at("name"));
          for (auto& a : o.at("attributes").as_array()) {
            auto key = json::value_to<std::string>(a.at("key"));
            auto& v = a.at("value").as_object();
            if (!v.contains("stringValue")) continue;
            auto val = json::value_to<std::string>(v.at("stringValue"));
            if (key == "messaging.message.id") r.event_id = val;
            if (key == "herald.correlation_id") r.correlation = val;
            if (key == "messaging.consumer.group.name") r.group = val;
          }
          out.push_back(std::move(r));
        }
  }
  return out;
}

runtime_config traced(const std::string& file, double sample) {
  auto cfg = test::quiet_config();
  cfg.observability.tracing.file = file;
  cfg.observability.tracing.sample = sample;
  return cfg;
}

}  // namespace

TEST_CASE("a traced flow writes linked OTLP spans and prints as a causal tree",
          "[observability][trace]") {
  temp_file file;
  std::vector<event> orders;
  {
    runtime rt{traced(file.path, 1.0)};
    test::three_hop_flow flow{rt};
    auto p = rt.make_producer();
    for (int i = 0; i < 2; ++i) {
      orders.push_back(make_event("orders", "OrderPlaced", "ORD-" + std::to_string(i), "{}"));
      REQUIRE(p.publish(orders.back()));
    }
    REQUIRE(flow.wait_for_shipments(2));
    flow.stop();
    rt.flush_traces();
  }
  auto spans = read_spans(file.path);
  const std::string flow_id{orders[0].id_text()};
  std::vector<span_row> mine;
  for (auto& s : spans)
    if (s.correlation == flow_id) mine.push_back(s);
  // Three events, each published, appended, delivered and handled once: 12 spans.
  REQUIRE(mine.size() == 12);
  std::map<std::string, int> names;
  for (auto& s : mine) {
    ++names[s.name];
    CHECK(s.trace == mine[0].trace);  // one trace per flow
  }
  CHECK(names ==
        std::map<std::string, int>{{"append", 3}, {"deliver", 3}, {"handle", 3}, {"publish", 3}});
  // Links: each handle span is a child of its event's publish span, and the next event's
  // publish span is a child of the handle span that published it.
  std::map<std::string, span_row> publish_of, handle_of;
  for (auto& s : mine) {
    if (s.name == "publish") publish_of[s.event_id] = s;
    if (s.name == "handle") handle_of[s.event_id] = s;
  }
  int linked_hops = 0;
  for (auto& [id, h] : handle_of) {
    CHECK(h.parent == publish_of.at(id).id);
    for (auto& [child, p] : publish_of)
      if (p.parent == h.id) ++linked_hops;
  }
  CHECK(linked_hops == 2);
  CHECK(publish_of.at(flow_id).parent.empty());  // the flow's root

  auto tree = obs::load_causal_tree(file.path, flow_id);
  REQUIRE(tree);
  REQUIRE(tree->events.size() == 3);
  REQUIRE(tree->roots.size() == 1);
  auto& a = tree->events[tree->roots[0]];
  CHECK(a.type == "OrderPlaced");
  REQUIRE(a.children.size() == 1);
  auto& b = tree->events[a.children[0]];
  CHECK(b.type == "PaymentCompleted");
  REQUIRE(b.children.size() == 1);
  auto& c = tree->events[b.children[0]];
  CHECK(c.type == "ShipmentRequested");
  REQUIRE(c.groups.size() == 1);
  CHECK(c.groups[0].group == "audit");
  CHECK(c.groups[0].handles.size() == 1);
  auto text = obs::render(*tree);
  INFO(text);
  auto pa = text.find("OrderPlaced"), pb = text.find("PaymentCompleted"),
       pc = text.find("ShipmentRequested");
  CHECK(pa < pb);
  CHECK(pb < pc);
  CHECK(text.find("hop ") != std::string::npos);
  CHECK(text.find("payment: delivered after") != std::string::npos);
  // The other flow is not in this tree.
  CHECK(text.find(std::string{orders[1].id_text()}) == std::string::npos);

  auto missing = obs::load_causal_tree(file.path, "NOT-A-FLOW");
  CHECK_FALSE(missing);
}

TEST_CASE("sampling 0 traces nothing and adds no traceparent", "[observability][trace]") {
  temp_file file;
  {
    runtime rt{traced(file.path, 0.0)};
    test::three_hop_flow flow{rt};
    auto p = rt.make_producer();
    REQUIRE(p.publish(make_event("orders", "OrderPlaced", "ORD-1", "{}")));
    REQUIRE(flow.wait_for_shipments(1));
    CHECK(flow.shipments().at(0).traceparent().empty());
    flow.stop();
    rt.flush_traces();
  }
  CHECK(read_spans(file.path).empty());
}

TEST_CASE("a sampled flow's trace id is its correlation id", "[observability][trace]") {
  temp_file file;
  runtime rt{traced(file.path, 1.0)};
  REQUIRE(rt.create_topic("orders"));
  auto p = rt.make_producer();
  auto ev = make_event("orders", "OrderPlaced", "ORD-1", "{}");
  REQUIRE(p.publish(ev));
  auto stored = rt.read("orders", 0, offset{0});
  REQUIRE(stored);
  REQUIRE(stored->size() == 1);
  auto tp = obs::trace_context::parse(stored->front().traceparent());
  REQUIRE(tp);
  CHECK(tp->sampled());
  CHECK(tp->trace_hi == ev.id().hi);
  CHECK(tp->trace_lo == ev.id().lo);
}
