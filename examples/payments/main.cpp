// The payments example: a settlement service charges card payments through a gateway that
// fails. Timeouts succeed when retried (after explicit backoff delays); payments in a currency
// the merchant has not enabled fail every attempt and end in "payments.dlq" with the story of
// their failure. Then the fix is deployed, the dead letters are redriven (one card's, then all
// of them), and the idempotent subscription applies every payment exactly once, although the
// checkout sent one twice and the second redrive sends some again. The example checks that
// itself and exits 1 if a payment was charged twice or never.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "examples/payments/payments.hpp"
#include "runtime/herald.hpp"

namespace {

using namespace std::chrono_literals;

constexpr uint32_t seed = 7;
constexpr int n_payments = 40;
constexpr int sent_twice = 10;  // the checkout's client retries PAY-0010
const std::vector<std::chrono::milliseconds> retry_delays{20ms, 50ms};

int fail(const char* what, const caf::error& err) {
  std::fprintf(stderr, "payments-demo: %s: %s\n", what, herald::describe(err).c_str());
  return 1;
}

/// Waits, within a bound, until the group has committed everything in "payments": charged,
/// skipped as a duplicate, or written to the dead-letter topic.
bool settled(herald::runtime& rt) {
  auto deadline = std::chrono::steady_clock::now() + 30s;
  for (;;) {
    auto lag = rt.group_lag("settlement");
    if (lag && lag->total == 0) return true;
    if (std::chrono::steady_clock::now() > deadline) {
      std::fprintf(stderr, "payments-demo: settlement did not finish within 30 s\n");
      return false;
    }
    std::this_thread::sleep_for(1ms);
  }
}

long long ms(pay::clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

void print_tree(const herald::supervision_node& n, int depth = 0) {
  std::string name(static_cast<size_t>(depth) * 2, ' ');
  name += n.name;
  std::printf("  %-40s %-10s %-11s %s", name.c_str(), n.kind.c_str(),
              n.kind == "supervisor" ? n.strategy.c_str() : n.mode.c_str(), n.state.c_str());
  if (n.kind == "worker") std::printf(", %lld restarts", static_cast<long long>(n.restarts));
  std::printf("\n");
  for (auto& c : n.children) print_tree(c, depth + 1);
}

std::string totals(const pay::settlement& s) {
  std::string out;
  for (auto& [currency, amount] : s.totals())
    out += (out.empty() ? "" : " + ") + pay::money(currency, amount);
  return out;
}

int run() {
  herald::runtime_config cfg;
  cfg.log_level = "error";  // "warn" logs every failed attempt to stderr; the story is on stdout
  herald::runtime rt{cfg};
  if (auto t = rt.create_topic("payments", {.partitions = 4}); !t)
    return fail("create_topic", t.error());

  pay::gateway gateway{seed};
  pay::settlement settlement{gateway};
  herald::subscribe_options opts;
  opts.member = "settle-1";
  opts.retry.max_attempts = 3;
  opts.retry.backoff.delays = retry_delays;  // explicit delays instead of exponential backoff
  opts.idempotent = true;                    // skip event ids the group already applied
  auto sub = rt.subscribe(
      "payments", "settlement",
      [&settlement](const herald::event_view& e, herald::handler_context& ctx) {
        return settlement.on_payment(e, ctx);
      },
      opts);
  if (!sub) return fail("subscribe", sub.error());

  std::printf(
      "Herald payments example: topic \"payments\" (4 partitions, key = card), group "
      "\"settlement\"\nretries: 3 attempts, after 20 ms then 50 ms; then payments.dlq; "
      "idempotent subscription\n\n");

  // 1. Payments go through a flaky gateway.
  auto payments = pay::checkout(seed, n_payments);
  auto producer = rt.make_producer();
  int chf = 0;
  for (auto& p : payments) {
    auto ev = pay::to_event(p);
    if (auto err = producer.publish_async(ev)) return fail("publish", err);
    // A client retry: the same event (same id) a second time.
    if (p.seq == sent_twice)
      if (auto err = producer.publish_async(ev)) return fail("publish", err);
    chf += p.currency == "CHF";
  }
  if (auto err = producer.flush()) return fail("flush", err);
  if (!settled(rt)) return 1;
  auto dead = rt.dead_letters("payments");
  if (!dead) return fail("dead_letters", dead.error());
  std::printf("1. checkout sends %d payments (seed %u), PAY-%04d twice (a client retry)\n",
              n_payments, seed, sent_twice);
  std::printf("gateway     %d calls: %d timeouts (retried), %d rejections (CHF not enabled)\n",
              gateway.calls(), gateway.timeouts(), gateway.rejections());
  std::printf("settlement  charged %d payments (%s), skipped %lld duplicate, %zu dead letters\n",
              settlement.charged(), totals(settlement).c_str(),
              static_cast<long long>(sub->probe().duplicates.load()), dead->size());
  // The backoff, observed: the gaps between one payment's attempts, and a check on all of them.
  bool backoff_ok = true;
  const pay::payment* shown = nullptr;
  for (auto& p : payments) {
    auto at = settlement.attempts(p.id);
    if (p.currency == "CHF") continue;
    for (size_t i = 1; i < at.size(); ++i) backoff_ok &= at[i] - at[i - 1] >= retry_delays[i - 1];
    if (!shown && at.size() == 3) shown = &p;
  }
  if (shown) {
    auto at = settlement.attempts(shown->id);
    std::printf("retries     %s (%s): timeout, +%lld ms: timeout, +%lld ms: charged\n",
                shown->id.c_str(), shown->card.c_str(), ms(at[1] - at[0]), ms(at[2] - at[1]));
  }

  // 2. What the dead-letter topic holds.
  std::printf("\n2. payments.dlq holds %zu dead letters; the first, as stored:\n", dead->size());
  auto raw = rt.read("payments.dlq", 0, herald::offset{0}, 1);
  if (!raw) return fail("read payments.dlq", raw.error());
  if (!raw->empty()) {
    auto& r = raw->front();
    std::printf("  %.*s key=%.*s id=%.*s (the original's id)\n", int(r.type().size()),
                r.type().data(), int(r.key().size()), r.key().data(), int(r.id_text().size()),
                r.id_text().data());
    for (auto& h : r.headers())
      if (h.key.rfind("herald.dlq.", 0) == 0)
        std::printf("  %s=%s\n", h.key.c_str(), h.value.c_str());
  }
  std::printf("  all of them (runtime::dead_letters), by payment:\n");
  std::vector<std::pair<pay::payment, const herald::dead_letter_info*>> listed;
  for (auto& d : *dead) listed.emplace_back(pay::from_json(d.original.payload()), &d);
  std::sort(listed.begin(), listed.end(),
            [](auto& a, auto& b) { return a.first.seq < b.first.seq; });
  for (auto& [p, d] : listed)
    std::printf("  %s %s %-11s partition %d offset %-2lld %d attempts\n", p.id.c_str(),
                p.card.c_str(), pay::money(p.currency, p.amount).c_str(), d->story.partition.value,
                static_cast<long long>(d->story.offset.value), d->story.attempts);

  // 3. The fix is deployed; redrive one card's dead letters, then all of them.
  std::printf("\n3. the fix is deployed: the gateway accepts CHF\n");
  gateway.enable_chf();
  if (dead->empty())
    return fail("dead letters",
                herald::make_error(herald::errc::invalid_argument, "none were written"));
  std::string card{dead->front().original.key()};
  auto skipped_before = sub->probe().duplicates.load();
  auto charged_before = settlement.charged();
  auto by_key = rt.redrive("payments", {.key = card});
  if (!by_key) return fail("redrive by key", by_key.error());
  if (!settled(rt)) return 1;
  std::printf("redrive key=%s  %zu republished: %d charged\n", card.c_str(), *by_key,
              settlement.charged() - charged_before);
  charged_before = settlement.charged();
  auto all = rt.redrive("payments");
  if (!all) return fail("redrive all", all.error());
  if (!settled(rt)) return 1;
  auto skipped = sub->probe().duplicates.load() - skipped_before;
  std::printf("redrive all          %zu republished: %d charged, %lld skipped (already applied)\n",
              *all, settlement.charged() - charged_before, static_cast<long long>(skipped));

  // 4. Who restarts what.
  std::printf("\n4. supervision tree (runtime::supervision_tree)\n");
  auto tree = rt.supervision_tree();
  if (!tree) return fail("supervision_tree", tree.error());
  print_tree(*tree);

  // The example's claims, checked.
  auto charges = settlement.charges();
  int twice = 0;
  for (auto& [id, n] : charges) twice += n > 1;
  const int missing = n_payments - static_cast<int>(charges.size());
  bool ok = twice == 0 && missing == 0 && static_cast<int>(dead->size()) == chf &&
            *all == dead->size() && skipped == static_cast<int64_t>(*by_key) && backoff_ok &&
            settlement.in_order() && sub->active();
  if (!backoff_ok) std::fprintf(stderr, "payments-demo: a retry ran before its delay\n");
  if (!settlement.in_order()) std::fprintf(stderr, "payments-demo: a card's order broke\n");
  std::printf("\n%s: %d payments, each charged once (%s); %d twice, %d never; %s\n",
              ok ? "OK" : "FAILED", n_payments, totals(settlement).c_str(), twice, missing,
              settlement.in_order() ? "cards in order" : "a card out of order");
  if (auto err = rt.shutdown()) return fail("shutdown", err);
  return ok ? 0 : 1;
}

}  // namespace

int main() {
  return run();
}
