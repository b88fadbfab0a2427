// Correlation, causation and trace context flow through handlers with no code in them.
#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "observability/context.hpp"
#include "runtime/herald.hpp"
#include "tests/support/builders.hpp"
#include "tests/support/flow.hpp"
#include "tests/support/wait.hpp"

using namespace herald;

namespace {

std::string_view trace_id(std::string_view tp) {
  return tp.substr(3, 32);
}

std::string_view span_id(std::string_view tp) {
  return tp.substr(36, 16);
}

}  // namespace

TEST_CASE(
    "an event published in a handler inherits the flow: correlation and causation over "
    "three hops",
    "[runtime][correlation]") {
  runtime rt{test::quiet_config()};
  test::three_hop_flow flow{rt};
  auto p = rt.make_producer();
  std::vector<event> orders;
  for (int i = 0; i < 3; ++i) {
    orders.push_back(make_event("orders", "OrderPlaced", "ORD-" + std::to_string(i), "{}"));
    REQUIRE(p.publish(orders.back()));
  }
  REQUIRE(flow.wait_for_shipments(orders.size()));
  auto payments = flow.payments();
  auto shipments = flow.shipments();
  REQUIRE(payments.size() == orders.size());
  std::map<std::string, event> payment_by_id;
  for (auto& b : payments) payment_by_id[std::string{b.id_text()}] = b;
  for (auto& a : orders) {
    INFO("order " << a.id_text());
    // B: caused by A, in A's flow (A started it: its correlation id is its own id).
    const event* b = nullptr;
    for (auto& x : payments)
      if (x.causation_id() == a.id_text()) b = &x;
    REQUIRE(b != nullptr);
    CHECK(b->correlation_id() == a.id_text());
    CHECK_FALSE(b->starts_flow());
    // C: caused by B, still in A's flow.
    const event* c = nullptr;
    for (auto& x : shipments)
      if (x.causation_id() == b->id_text()) c = &x;
    REQUIRE(c != nullptr);
    CHECK(c->correlation_id() == a.correlation_id());
    CHECK(c->causation_id() == b->id_text());
    CHECK(c->type() == "ShipmentRequested");
  }
  flow.stop();
}

TEST_CASE("fields the publisher sets are kept, inside a handler too", "[runtime][correlation]") {
  runtime rt{test::quiet_config()};
  REQUIRE(rt.create_topic("in"));
  REQUIRE(rt.create_topic("out"));
  auto p = rt.make_producer();
  std::mutex mtx;
  std::vector<event> seen;
  auto fwd = rt.subscribe("in", "fwd", [&p](const event_view&) -> caf::error {
    return p.publish_async(event::builder{"out", "Explicit"}
                               .key("k")
                               .payload("{}")
                               .correlation_id("MY-FLOW")
                               .causation_id("MY-CAUSE")
                               .build());
  });
  REQUIRE(fwd);
  auto rec = rt.subscribe("out", "rec", [&](const event_view& e) {
    std::lock_guard<std::mutex> guard{mtx};
    seen.push_back(e.to_event());
  });
  REQUIRE(rec);
  REQUIRE(p.publish(make_event("in", "Trigger", "k", "{}")));
  REQUIRE(test::wait_until([&] {
    std::lock_guard<std::mutex> guard{mtx};
    return !seen.empty();
  }));
  std::lock_guard<std::mutex> guard{mtx};
  CHECK(seen[0].correlation_id() == "MY-FLOW");
  CHECK(seen[0].causation_id() == "MY-CAUSE");
}

TEST_CASE("traceparent propagates: same trace id and flags, a new span id per hop",
          "[runtime][correlation][trace]") {
  // Tracing is off here: propagation does not depend on it.
  runtime rt{test::quiet_config()};
  test::three_hop_flow flow{rt};
  auto p = rt.make_producer();
  const std::string tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  auto a =
      event::builder{"orders", "OrderPlaced"}.key("ORD-1").payload("{}").traceparent(tp).build();
  REQUIRE(p.publish(a));
  REQUIRE(flow.wait_for_shipments(1));
  auto b = flow.payments().at(0);
  auto c = flow.shipments().at(0);
  for (auto* e : {&b, &c}) {
    INFO(e->type() << " traceparent " << e->traceparent());
    REQUIRE(obs::trace_context::parse(e->traceparent()));
    CHECK(trace_id(e->traceparent()) == trace_id(tp));
    CHECK(e->traceparent().substr(53) == "01");
  }
  // A's own record carries the span of its publish (new), not the caller's.
  auto stored = rt.read("orders", 0, offset{0});
  auto stored1 = rt.read("orders", 1, offset{0});
  REQUIRE(stored);
  REQUIRE(stored1);
  stored->insert(stored->end(), stored1->begin(), stored1->end());
  REQUIRE(stored->size() == 1);
  auto a_tp = stored->front().traceparent();
  CHECK(trace_id(a_tp) == trace_id(tp));
  CHECK(span_id(a_tp) != span_id(tp));
  CHECK(span_id(b.traceparent()) != span_id(a_tp));
  CHECK(span_id(c.traceparent()) != span_id(b.traceparent()));
  flow.stop();
}

TEST_CASE("without tracing and without a traceparent, events carry none", "[runtime][trace]") {
  runtime rt{test::quiet_config()};
  test::three_hop_flow flow{rt};
  auto p = rt.make_producer();
  REQUIRE(p.publish(make_event("orders", "OrderPlaced", "ORD-1", "{}")));
  REQUIRE(flow.wait_for_shipments(1));
  CHECK(flow.payments().at(0).traceparent().empty());
  CHECK(flow.shipments().at(0).traceparent().empty());
  flow.stop();
}

TEST_CASE("trace context text round-trips and bad input is no context", "[unit][trace]") {
  auto tc = obs::trace_context::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  REQUIRE(tc);
  CHECK(tc->sampled());
  CHECK(tc->to_string() == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  CHECK_FALSE(obs::trace_context::parse(""));
  CHECK_FALSE(obs::trace_context::parse("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));
  CHECK_FALSE(obs::trace_context::parse("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));
  CHECK_FALSE(obs::trace_context::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
}
