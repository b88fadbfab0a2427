// Following one order through its flow: the handlers below publish the next event with no
// correlation code of their own; Herald links each event to its cause, traces the flow to a
// file, and prints its causal tree. Then the metrics of the run, as Prometheus would scrape them.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include "observability/trace_tree.hpp"
#include "runtime/herald.hpp"

namespace {

int fail(const char* what, const caf::error& err) {
  std::fprintf(stderr, "%s: %s\n", what, herald::describe(err).c_str());
  return 1;
}

}  // namespace

int main() {
  auto trace_file =
      (std::filesystem::temp_directory_path() / "herald-tracing-example.jsonl").string();
  std::filesystem::remove(trace_file);

  herald::runtime_config cfg;
  cfg.log_level = "warn";
  cfg.observability.tracing.file = trace_file;  // trace every flow (sample = 1.0)
  std::string order_id;
  {
    herald::runtime rt{cfg};
    for (auto t : {"orders", "payments", "shipments"})
      if (auto md = rt.create_topic(t, {.partitions = 2}); !md)
        return fail("create_topic", md.error());
    auto out = rt.make_producer();
    std::atomic<int> shipped{0};

    // Each handler publishes the next step. Correlation id, causation id and traceparent are
    // inherited from the event being handled: nothing here sets them.
    auto pay = rt.subscribe("orders", "payment", [&out](const herald::event_view& e) {
      return out.publish_async(herald::make_event("payments", "PaymentCompleted",
                                                  std::string{e.key()}, R"({"paid":true})"));
    });
    auto ship = rt.subscribe("payments", "shipping", [&out](const herald::event_view& e) {
      return out.publish_async(herald::make_event("shipments", "ShipmentRequested",
                                                  std::string{e.key()}, R"({"carrier":"UPS"})"));
    });
    auto audit = rt.subscribe("shipments", "audit", [&shipped](const herald::event_view& e) {
      std::printf("audit: %.*s caused by %.*s, flow %.*s\n", int(e.type().size()), e.type().data(),
                  int(e.causation_id().size()), e.causation_id().data(),
                  int(e.correlation_id().size()), e.correlation_id().data());
      ++shipped;
    });
    if (!pay || !ship || !audit)
      return fail("subscribe", !pay ? pay.error() : !ship ? ship.error() : audit.error());

    auto order = herald::make_event("orders", "OrderPlaced", "ORD-1", R"({"total":49.99})");
    order_id = std::string{order.id_text()};
    std::printf("placed OrderPlaced %s\n", order_id.c_str());
    if (auto ack = rt.make_producer().publish(order); !ack) return fail("publish", ack.error());
    // shutdown() closes producers before it drains groups, so a handler's producer would be
    // closed mid-flow: wait for the last step first.
    for (int i = 0; i < 10000 && shipped == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds{1});
    if (auto err = rt.shutdown()) return fail("shutdown", err);
    if (shipped != 1) return 1;

    // What Prometheus would scrape from /metrics (with observability.http_port set).
    auto prom = rt.metrics_prometheus();
    std::printf("\nmetrics (excerpt):\n");
    for (size_t pos = 0; pos < prom.size();) {
      auto end = prom.find('\n', pos);
      auto line = prom.substr(pos, end - pos);
      pos = end + 1;
      if (line.rfind("herald_group_handled_total{", 0) == 0 && line.back() != '0')
        std::printf("  %s\n", line.c_str());
    }
  }  // the runtime is gone: every span is in the file

  // What `herald-trace <file> <correlation id>` prints.
  auto tree = herald::obs::load_causal_tree(trace_file, order_id);
  if (!tree) return fail("load_causal_tree", tree.error());
  std::printf("\n%s", herald::obs::render(*tree).c_str());
  std::filesystem::remove(trace_file);
  return tree->events.size() == 3 ? 0 : 1;
}
