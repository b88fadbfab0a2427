// The bank example: accounts as event-sourced entities. Deposit and Withdraw commands become
// Deposited and Withdrawn events in "accounts.events"; a balance is whatever those events add
// up to. It shows an overdraft refused, a stale write refused by optimistic concurrency, the
// events as any consumer sees them, the state as of an earlier version, an idle entity
// passivated and rebuilt from its snapshot, and the whole runtime restarted on its data
// directory with every balance intact. It checks its claims and exits 1 if one fails.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "examples/bank/account.hpp"
#include "runtime/herald.hpp"

namespace {

using namespace std::chrono_literals;
using accounts_t = herald::entities<bank::account_entity>;

bool ok = true;

void check(bool cond, const char* what) {
  if (!cond) {
    std::fprintf(stderr, "bank-demo: FAILED: %s\n", what);
    ok = false;
  }
}

void show(const char* what, const caf::expected<herald::command_result>& r) {
  if (r)
    std::printf("  %-36s ok, version %lld\n", what, static_cast<long long>(r->version));
  else
    std::printf("  %-36s %s\n", what, herald::describe(r.error()).c_str());
}

herald::entity_options options() {
  herald::entity_options o;
  o.topic = bank::events_topic;
  o.partitions = 2;
  o.snapshot_every = 3;   // a snapshot after every 3 events of an account
  o.idle_timeout = 50ms;  // short, to show passivation
  return o;
}

std::string balance(const accounts_t& accounts, const std::string& id) {
  auto s = accounts.state(id);
  if (!s) return herald::describe(s.error());
  return bank::money(s->state.balance) + " (version " + std::to_string(s->version) + ")";
}

int run(const std::string& dir) {
  herald::runtime_config cfg;
  cfg.log_level = "error";
  cfg.data_dir = dir;  // durable: events in segment files, snapshots beside them
  {
    herald::runtime rt{cfg};
    auto accounts = accounts_t::open(rt, options());
    if (!accounts) {
      std::fprintf(stderr, "bank-demo: %s\n", herald::describe(accounts.error()).c_str());
      return 1;
    }
    std::printf("1. commands (amounts in cents, shown as money)\n");
    show("ACC-1 deposit 10.00", accounts->execute("ACC-1", bank::deposit{1000}));
    show("ACC-1 withdraw 2.50", accounts->execute("ACC-1", bank::withdraw{250}));
    show("ACC-2 deposit 5.00", accounts->execute("ACC-2", bank::deposit{500}));
    auto over = accounts->execute("ACC-2", bank::withdraw{2000});
    show("ACC-2 withdraw 20.00", over);
    check(!over && herald::is(over.error(), herald::errc::command_rejected), "overdraft refused");
    // Two clients read ACC-1 at version 2 and both act on it: the second one is too late.
    auto first =
        accounts->execute("ACC-1", bank::deposit{100}, herald::expected_version::exactly(2));
    show("ACC-1 deposit 1.00 if at version 2", first);
    auto late =
        accounts->execute("ACC-1", bank::withdraw{800}, herald::expected_version::exactly(2));
    show("ACC-1 withdraw 8.00 if at version 2", late);
    check(first && !late && herald::is(late.error(), herald::errc::version_conflict),
          "the stale write is refused");

    std::printf("\n2. the events in %s, as any consumer reads them\n", bank::events_topic);
    for (int32_t p = 0; p < 2; ++p) {
      auto evs = rt.read(bank::events_topic, p, herald::offset{0});
      if (!evs) continue;
      for (auto& e : *evs)
        std::printf("  p%d @%lld %-9s key=%s version=%s %s\n", p,
                    static_cast<long long>(e.offset().value), std::string{e.type()}.c_str(),
                    std::string{e.key()}.c_str(),
                    std::string{e.header(herald::entity_version_header).value_or("?")}.c_str(),
                    std::string{e.payload()}.c_str());
    }

    std::printf("\n3. balances, derived from the events\n");
    std::printf("  ACC-1 %s\n  ACC-2 %s\n", balance(*accounts, "ACC-1").c_str(),
                balance(*accounts, "ACC-2").c_str());

    std::printf("\n4. the past\n");
    for (int64_t v = 1; v <= 3; ++v) {
      auto s = accounts->state_at("ACC-1", v);
      if (s)
        std::printf("  ACC-1 as of version %lld: %s\n", static_cast<long long>(v),
                    bank::money(s->state.balance).c_str());
      check(static_cast<bool>(s), "state as of a version");
    }

    std::printf("\n5. passivation: an account idle for 50 ms stops; its next use rebuilds it\n");
    auto& probe = accounts->handle().probe();
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (probe.active.load() > 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(1ms);
    std::printf("  active entities: %lld, passivated: %lld\n",
                static_cast<long long>(probe.active.load()),
                static_cast<long long>(probe.passivations.load()));
    auto again = accounts->state("ACC-1");
    check(again && again->state.balance == 850 && again->snapshot_version == 3,
          "ACC-1 rebuilt from its snapshot");
    if (again)
      std::printf("  ACC-1 %s, rebuilt from the snapshot of version %lld + %lld later events\n",
                  bank::money(again->state.balance).c_str(),
                  static_cast<long long>(again->snapshot_version),
                  static_cast<long long>(again->events_replayed));
    (void)rt.shutdown();
  }

  std::printf("\n6. the runtime restarts on its data directory\n");
  herald::runtime rt{cfg};
  auto accounts = accounts_t::open(rt, options());
  if (!accounts) return 1;
  auto s1 = accounts->state("ACC-1");
  auto s2 = accounts->state("ACC-2");
  check(s1 && s1->state.balance == 850 && s1->version == 3, "ACC-1 after the restart");
  check(s2 && s2->state.balance == 500 && s2->version == 1, "ACC-2 after the restart");
  std::printf("  ACC-1 %s\n  ACC-2 %s\n", balance(*accounts, "ACC-1").c_str(),
              balance(*accounts, "ACC-2").c_str());
  show("ACC-2 withdraw 5.00", accounts->execute("ACC-2", bank::withdraw{500}));
  std::printf("  ACC-2 %s\n", balance(*accounts, "ACC-2").c_str());
  std::printf("\n%s\n", ok ? "OK: every balance is the sum of its events" : "FAILED");
  return ok ? 0 : 1;
}

}  // namespace

int main() {
  // A fresh data directory, removed at the end.
  char tmpl[] = "/tmp/herald-bank-XXXXXX";
  if (!::mkdtemp(tmpl)) {
    std::perror("mkdtemp");
    return 1;
  }
  std::printf("Herald bank example: accounts as event-sourced entities in topic %s\n\n",
              bank::events_topic);
  int rc = run(tmpl);
  std::error_code ec;
  std::filesystem::remove_all(tmpl, ec);
  return rc;
}
