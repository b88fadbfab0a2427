// The cart example: a storefront publishes ItemAdded / ItemRemoved events (key = cart id);
// the cart aggregator folds them into CartUpdated events; a projection keeps a read model of
// the latest cart state that the "checkout page" queries. The session has a client retry (the
// same event twice) and a bad removal, which ends in cart.events.dlq. The example checks its
// own output and exits 1 if a cart is wrong.
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "runtime/herald.hpp"

namespace {

using herald::cart::item_added;
using herald::cart::item_removed;

int fail(const char* what, const caf::error& err) {
  std::fprintf(stderr, "cart-demo: %s: %s\n", what, herald::describe(err).c_str());
  return 1;
}

std::string money(int64_t cents) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "$%lld.%02lld", static_cast<long long>(cents / 100),
                static_cast<long long>(cents % 100));
  return buf;
}

/// The read model of the checkout page: the latest CartUpdated of each cart. A version at or
/// below the one held is ignored, so a CartUpdated delivered twice changes nothing.
using cart_view = herald::memory_read_model<herald::cart::cart_updated>;

std::shared_ptr<cart_view> make_cart_view() {
  return std::make_shared<cart_view>(
      [](cart_view::table& rows, const herald::event_view& e) -> caf::error {
        auto u = herald::cart::parse_cart_updated(e.payload());
        if (!u) return std::move(u.error());
        auto& row = rows[u->cart_id];
        if (u->version > row.version) row = std::move(*u);
        return caf::none;
      });
}

template <class Pred>
bool wait_for(Pred pred) {
  for (int i = 0; i < 20000 && !pred(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  return pred();
}

int run() {
  herald::runtime_config cfg;
  cfg.log_level = "error";  // a refused event is logged at warn; the story is on stdout
  herald::runtime rt{cfg};
  if (auto t = rt.create_topic(herald::cart::input_topic, {.partitions = 4}); !t)
    return fail("create_topic", t.error());
  auto agg =
      herald::aggregator::start(rt, herald::cart::make_spec(herald::emit_policy::on_change()));
  if (!agg) return fail("aggregator", agg.error());
  auto view = make_cart_view();
  auto proj = herald::projection::start(
      rt, {.name = "checkout-page", .topic = herald::cart::output_topic, .model = view});
  if (!proj) return fail("projection", proj.error());

  std::printf(
      "Herald cart example: cart.events (4 partitions, key = cart id) -> cart-aggregator -> "
      "cart.updated -> projection checkout-page\n\n1. the storefront publishes a session\n");
  auto lamp = herald::cart::make_event(item_added{"CART-1", "LAMP-04", 1, 5450});
  std::vector<std::pair<herald::event, const char*>> session{
      {herald::cart::make_event(item_added{"CART-1", "WIDGET-01", 2, 2499}), ""},
      {lamp, ""},
      {herald::cart::make_event(item_added{"CART-2", "DESK-05", 1, 14900}), ""},
      {lamp, "  <- a client retry: the same event, same id"},
      {herald::cart::make_event(item_removed{"CART-1", "WIDGET-01", 1}), ""},
      {herald::cart::make_event(item_removed{"CART-2", "DESK-05", 2}), "  <- more than it holds"},
      {herald::cart::make_event(item_added{"CART-2", "CABLE-03", 3, 949}), ""},
  };
  auto producer = rt.make_producer();
  for (auto& [e, note] : session) {
    std::printf("  %-11s %.*s%s\n", std::string{e.type()}.c_str(), int(e.payload().size()),
                e.payload().data(), note);
    if (auto err = producer.publish_async(e)) return fail("publish", err);
  }
  if (auto err = producer.flush()) return fail("flush", err);

  // Wait (bounded) until the aggregator folded the session and the view caught up.
  auto& probe = agg->probe();
  if (!wait_for([&] {
        auto lag = proj->lag();
        return probe.applied.load() + probe.duplicates.load() + probe.rejected.load() == 7 &&
               probe.acknowledged.load() == probe.emitted.load() && lag && lag->events == 0 &&
               view->size() == 2;
      }))
    return fail("waiting", herald::make_error(herald::errc::timeout, "not done within 20 s"));

  std::printf("\n2. cart.updated, as the aggregator published it\n");
  std::map<std::string, std::vector<herald::cart::cart_updated>> updates;
  for (int p = 0; p < 4; ++p) {
    auto evs = rt.read(herald::cart::output_topic, p, herald::offset{0}, 100);
    if (!evs) return fail("read", evs.error());
    for (auto& e : *evs)
      if (auto u = herald::cart::parse_cart_updated(e.payload())) updates[u->cart_id].push_back(*u);
  }
  for (auto& [id, list] : updates)
    for (auto& u : list) std::printf("  %s\n", herald::cart::to_json(u).c_str());

  std::printf("\n3. the checkout page queries the read model\n");
  for (auto& [id, c] : view->all())
    std::printf("  %s: %lld items, %s (version %llu)\n", id.c_str(),
                static_cast<long long>(c.item_count), money(c.total).c_str(),
                static_cast<unsigned long long>(c.version));

  auto dead = rt.dead_letters(herald::cart::input_topic);
  if (!dead) return fail("dead_letters", dead.error());
  std::printf("\n4. cart.events.dlq holds %zu event(s)\n", dead->size());
  for (auto& d : *dead) std::printf("  %s\n", d.story.error.c_str());

  auto c1 = view->get("CART-1");
  auto c2 = view->get("CART-2");
  bool ok = c1 && c2 && c1->total == 2499 + 5450 && c1->version == 3 &&
            c2->total == 14900 + 3 * 949 && c2->version == 2 && dead->size() == 1 &&
            probe.duplicates.load() == 1 && updates["CART-1"].size() == 3 &&
            updates["CART-2"].size() == 2;
  std::printf(
      "\n%s: %lld input events folded, %lld duplicate skipped, %lld refused, %lld "
      "CartUpdated published\n",
      ok ? "OK" : "FAILED", static_cast<long long>(probe.applied.load()),
      static_cast<long long>(probe.duplicates.load()),
      static_cast<long long>(probe.rejected.load()),
      static_cast<long long>(probe.acknowledged.load()));
  (void)proj->stop();
  (void)agg->stop();
  if (auto err = rt.shutdown()) return fail("shutdown", err);
  return ok ? 0 : 1;
}

}  // namespace

int main() {
  return run();
}
