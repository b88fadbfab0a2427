// The e-commerce demo (what `make demo` runs). An order service publishes OrderPlaced events
// to the topic "orders"; five services consume them, each as its own consumer group, so each
// sees every order. Then the notification service stops, orders keep coming, and it starts
// again in the same group: it resumes from its committed offsets and misses nothing. The demo
// checks that itself and exits non-zero if any service missed an order.
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <utility>

#include <caf/all.hpp>

#include "examples/ecommerce/fraud.hpp"
#include "examples/ecommerce/orders.hpp"
#include "examples/ecommerce/services.hpp"
#include "runtime/herald.hpp"

namespace {

using namespace std::chrono_literals;

constexpr uint32_t seed = 2024;
constexpr int first_wave = 120;
constexpr int second_wave = 80;
constexpr const char* groups[] = {"payment", "inventory", "notification", "analytics", "fraud"};

int fail(const char* what, const caf::error& err) {
  std::fprintf(stderr, "ecommerce-demo: %s: %s\n", what, herald::describe(err).c_str());
  return 1;
}

/// Publishes `n` orders. publish_async() only queues an event; flush() waits for every
/// acknowledgement and reports what the broker refused.
caf::error place_orders(herald::producer& p, shop::order_generator& gen, int n) {
  for (int i = 0; i < n; ++i)
    if (auto err = p.publish_async(shop::to_event(gen.next()))) return err;
  return p.flush();
}

/// Events published to the group's partitions but not yet committed by the group.
int64_t lag(herald::runtime& rt, const std::string& group) {
  auto l = rt.group_lag(group);
  return l ? l->total : -1;
}

/// Waits, within a bound, until every group in `names` has committed everything published.
bool caught_up(herald::runtime& rt, std::initializer_list<const char*> names) {
  auto deadline = std::chrono::steady_clock::now() + 30s;
  for (auto* g : names)
    while (lag(rt, g) != 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        std::fprintf(stderr, "ecommerce-demo: group %s still has %lld events to handle\n", g,
                     static_cast<long long>(lag(rt, g)));
        return false;
      }
      std::this_thread::sleep_for(1ms);
    }
  return true;
}

/// The fraud actor's summary line and how many orders it saw.
std::pair<std::string, int> fraud_summary(caf::actor_system& sys, const caf::actor& fraud) {
  caf::scoped_actor self{sys};
  std::pair<std::string, int> out{"fraud: no answer", -1};
  self->request(fraud, 5s, shop::summary_atom::value)
      .receive(
          [&](std::string& line, int orders) {
            out = {std::move(line), orders};
          },
          [&](caf::error& err) { out.first = herald::describe(err); });
  return out;
}

/// The demo's data directory: $HERALD_DATA_DIR, or a fresh one under /tmp that is removed at
/// the end (so that every run starts from empty topics).
struct demo_dir {
  std::string path;
  bool owned = false;
  demo_dir() {
    if (auto* env = std::getenv("HERALD_DATA_DIR")) {
      path = env;
      return;
    }
    char tmpl[] = "/tmp/herald-demo-XXXXXX";
    if (::mkdtemp(tmpl)) {
      path = tmpl;
      owned = true;
    }
  }
  ~demo_dir() {
    std::error_code ec;
    if (owned) std::filesystem::remove_all(path, ec);
  }
};

int run() {
  demo_dir dir;
  herald::runtime_config cfg;
  cfg.log_level = "warn";   // Herald logs to stderr; the story goes to stdout
  cfg.data_dir = dir.path;  // the durable on-disk log (docs/STORAGE.md); empty: in memory
  herald::runtime rt{cfg};
  if (auto t = rt.create_topic("orders", {.partitions = 4}); !t)
    return fail("create_topic", t.error());

  shop::payment_service payment;
  shop::inventory_service inventory;
  shop::notification_service notification;
  shop::analytics_service analytics;
  auto fraud = rt.system().spawn(shop::fraud_service);

  auto on = [](auto& service) {
    return [&service](const herald::event_view& e) {
      return service.on_order(e);
    };
  };
  auto pay = rt.subscribe("orders", "payment", on(payment));
  auto inv = rt.subscribe("orders", "inventory", on(inventory));
  auto note = rt.subscribe("orders", "notification", on(notification));
  auto ana = rt.subscribe("orders", "analytics", on(analytics));
  auto fra = rt.subscribe_actor("orders", "fraud", fraud);
  for (auto* s : {&pay, &inv, &note, &ana, &fra})
    if (!*s) return fail("subscribe", s->error());

  shop::order_generator orders{seed};
  auto producer = rt.make_producer();
  auto print_all = [&] {
    std::puts(payment.summary().c_str());
    std::puts(inventory.summary().c_str());
    std::puts(notification.summary().c_str());
    std::puts(analytics.summary().c_str());
    std::puts(fraud_summary(rt.system(), fraud).first.c_str());
  };

  std::printf(
      "Herald e-commerce demo: topic \"orders\" (4 partitions), 5 services, "
      "each its own consumer group\n\n");
  if (auto err = place_orders(producer, orders, first_wave)) return fail("publish", err);
  std::printf("1. order service placed %d orders (seed %u); every group reads all of them\n",
              orders.placed(), seed);
  if (!caught_up(rt, {"payment", "inventory", "notification", "analytics", "fraud"})) return 1;
  print_all();

  std::printf("\n2. notification stops; the order service places %d more orders\n", second_wave);
  if (auto err = note->stop()) return fail("stop notification", err);
  const int emailed_before = notification.emails_sent();
  if (auto err = place_orders(producer, orders, second_wave)) return fail("publish", err);
  if (!caught_up(rt, {"payment", "inventory", "analytics", "fraud"})) return 1;
  const auto waiting = lag(rt, "notification");
  std::printf("%s%lld events wait behind its committed offsets; the other four kept up\n",
              shop::label("notification").c_str(), static_cast<long long>(waiting));

  std::printf("\n3. notification starts again in the same group\n");
  note = rt.subscribe("orders", "notification", on(notification));
  if (!note) return fail("subscribe notification again", note.error());
  if (!caught_up(rt, {"notification"})) return 1;
  const int caught = notification.emails_sent() - emailed_before;
  std::printf("%scaught up on %d orders from its committed offsets, %d duplicates\n",
              shop::label("notification").c_str(), caught, notification.duplicates());
  print_all();

  // The demo's claim, checked: every service saw every order, none was missed.
  const int placed = orders.placed();
  const int seen[] = {payment.orders_seen(), inventory.orders_seen(), notification.orders_seen(),
                      analytics.orders_seen(), fraud_summary(rt.system(), fraud).second};
  bool ok = waiting == second_wave && caught == second_wave;
  for (size_t i = 0; i < std::size(seen); ++i) {
    if (seen[i] != placed) {
      std::fprintf(stderr, "ecommerce-demo: %s saw %d of %d orders\n", groups[i], seen[i], placed);
      ok = false;
    }
  }
  std::printf("\n%s: emails sent %d, orders placed %d: %s\n", ok ? "OK" : "FAILED",
              notification.emails_sent(), placed,
              ok ? "nothing missed" : "orders were missed (see stderr)");

  // Stops in reverse order: producers flush, groups drain and leave, then the broker.
  if (auto err = rt.shutdown()) return fail("shutdown", err);
  caf::anon_send_exit(fraud, caf::exit_reason::user_shutdown);
  return ok ? 0 : 1;
}

}  // namespace

int main() {
  try {
    return run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ecommerce-demo: %s\n", e.what());
    return 1;
  }
}
