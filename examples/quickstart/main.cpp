// The smallest Herald program: one topic, one producer, one consumer group.
#include <atomic>
#include <cstdio>

#include "runtime/herald.hpp"

int main() {
  herald::runtime rt;
  if (auto t = rt.create_topic("orders", {.partitions = 4}); !t) {
    std::fprintf(stderr, "create_topic: %s\n", herald::describe(t.error()).c_str());
    return 1;
  }
  std::atomic<int> seen{0};
  auto sub = rt.subscribe("orders", "billing", [&](const herald::event_view& e) {
    std::printf("billing got %.*s key=%.*s partition=%d offset=%lld\n", int(e.type().size()),
                e.type().data(), int(e.key().size()), e.key().data(), e.partition().value,
                static_cast<long long>(e.offset().value));
    ++seen;
  });
  if (!sub) {
    std::fprintf(stderr, "subscribe: %s\n", herald::describe(sub.error()).c_str());
    return 1;
  }
  auto producer = rt.make_producer();
  for (int i = 0; i < 5; ++i) {
    auto ack = producer.publish(herald::make_event(
        "orders", "OrderPlaced", "ORD-" + std::to_string(i),
        R"({"order_id":"ORD-)" + std::to_string(i) + R"(","total":49.99})"));
    if (!ack) {
      std::fprintf(stderr, "publish: %s\n", herald::describe(ack.error()).c_str());
      return 1;
    }
  }
  // shutdown() lets the group consume what was published before stopping.
  if (auto err = rt.shutdown()) std::fprintf(stderr, "shutdown: %s\n", herald::describe(err).c_str());
  std::printf("billing handled %d events\n", seen.load());
  return seen == 5 ? 0 : 1;
}
