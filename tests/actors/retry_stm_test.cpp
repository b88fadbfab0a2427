#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "actors/retry_stm.hpp"

using namespace herald;
using namespace std::chrono_literals;

namespace {

retry_options opts(int attempts, bool strict = false) {
  retry_options o;
  o.max_attempts = attempts;
  o.backoff = {.initial = 10ms, .multiplier = 2.0, .max = 1000ms, .jitter = 0.0};
  o.strict_order = strict;
  return o;
}

const record_ref ref{};
const auto t0 = std::chrono::steady_clock::time_point{} + 1h;

}  // namespace

TEST_CASE("a failing key queues its later events while other keys run on", "[retry]") {
  retry_stm stm{opts(3)};
  REQUIRE(stm.admit(offset{0}, "a", ref));
  CHECK(stm.failed(offset{0}, "a", ref, "boom", t0) == retry_stm::outcome::retry_later);
  CHECK_FALSE(stm.admit(offset{1}, "a", ref));  // behind the parked event of its key
  CHECK(stm.admit(offset{2}, "b", ref));        // another key is not delayed
  CHECK_FALSE(stm.succeeded(offset{2}, "b"));
  CHECK(stm.parked() == 1);
  CHECK(stm.queued() == 1);
  // Nothing below the parked event can be committed.
  CHECK(stm.commit_point(offset{3}) == offset{0});
  // Not due before its backoff.
  CHECK_FALSE(stm.next_due(t0 + 5ms));
  REQUIRE(stm.earliest_due() == t0 + 10ms);
  auto due = stm.next_due(t0 + 10ms);
  REQUIRE(due);
  CHECK(due->off == offset{0});
  CHECK(due->attempts == 1);
  // It succeeds on the retry: the queued event of its key runs next, in order.
  auto next = stm.succeeded(offset{0}, "a");
  REQUIRE(next);
  CHECK(next->off == offset{1});
  CHECK(stm.commit_point(offset{3}) == offset{1});
  CHECK_FALSE(stm.succeeded(offset{1}, "a"));
  CHECK(stm.commit_point(offset{3}) == offset{3});
  CHECK(stm.unfinished() == 0);
  // The key flows freely again.
  CHECK(stm.admit(offset{3}, "a", ref));
}

TEST_CASE("backoff grows between attempts and the last one gives up", "[retry]") {
  retry_stm stm{opts(3)};
  REQUIRE(stm.admit(offset{7}, "k", ref));
  CHECK(stm.failed(offset{7}, "k", ref, "e1", t0) == retry_stm::outcome::retry_later);
  CHECK(stm.earliest_due() == t0 + 10ms);
  REQUIRE(stm.next_due(t0 + 10ms));
  CHECK(stm.failed(offset{7}, "k", ref, "e2", t0 + 10ms) == retry_stm::outcome::retry_later);
  CHECK(stm.earliest_due() == t0 + 30ms);
  REQUIRE(stm.next_due(t0 + 30ms));
  CHECK(stm.failed(offset{7}, "k", ref, "e3", t0 + 30ms) == retry_stm::outcome::give_up);
  auto* h = stm.head("k");
  REQUIRE(h);
  CHECK(h->attempts == 3);
  CHECK(h->last_error == "e3");
  CHECK(h->first_failure <= h->last_failure);
  CHECK(stm.given_up() == 1);
  CHECK(stm.retries() == 2);
  // Until the dead letter is written the event is unfinished and its key blocked.
  CHECK_FALSE(stm.admit(offset{8}, "k", ref));
  CHECK(stm.commit_point(offset{9}) == offset{7});
  auto next = stm.dead_lettered(offset{7}, "k");
  REQUIRE(next);
  CHECK(next->off == offset{8});
  CHECK(stm.commit_point(offset{9}) == offset{8});
}

TEST_CASE("one attempt means no retry", "[retry]") {
  retry_stm stm{opts(1)};
  REQUIRE(stm.admit(offset{0}, "k", ref));
  CHECK(stm.failed(offset{0}, "k", ref, "e", t0) == retry_stm::outcome::give_up);
  CHECK(stm.retries() == 0);
}

TEST_CASE("strict order blocks the whole partition behind a failure", "[retry]") {
  retry_stm stm{opts(2, true)};
  REQUIRE(stm.admit(offset{0}, "a", ref));
  CHECK(stm.failed(offset{0}, "a", ref, "boom", t0) == retry_stm::outcome::retry_later);
  CHECK_FALSE(stm.admit(offset{1}, "b", ref));
  CHECK_FALSE(stm.admit(offset{2}, "c", ref));
  REQUIRE(stm.next_due(t0 + 10ms));
  auto next = stm.succeeded(offset{0}, "a");
  REQUIRE(next);
  CHECK(next->off == offset{1});
  next = stm.succeeded(offset{1}, "b");
  REQUIRE(next);
  CHECK(next->off == offset{2});
  CHECK_FALSE(stm.succeeded(offset{2}, "c"));
  CHECK(stm.commit_point(offset{3}) == offset{3});
}

TEST_CASE("a queued event that fails becomes the parked head of its key", "[retry]") {
  retry_stm stm{opts(3)};
  REQUIRE(stm.admit(offset{0}, "a", ref));
  stm.failed(offset{0}, "a", ref, "x", t0);
  CHECK_FALSE(stm.admit(offset{1}, "a", ref));
  CHECK_FALSE(stm.admit(offset{2}, "a", ref));
  REQUIRE(stm.next_due(t0 + 10ms));
  auto next = stm.succeeded(offset{0}, "a");
  REQUIRE(next);
  CHECK(stm.failed(next->off, "a", ref, "y", t0 + 10ms) == retry_stm::outcome::retry_later);
  auto* h = stm.head("a");
  REQUIRE(h);
  CHECK(h->off == offset{1});
  CHECK(h->attempts == 1);  // its own count, not its predecessor's
  CHECK(stm.queued() == 1);
  CHECK(stm.commit_point(offset{3}) == offset{1});
}

TEST_CASE(
    "with thousands of keys and random failures, each key finishes in order and the "
    "commit point never passes an unfinished event",
    "[retry]") {
  // Far more keys than the blocked-key filter has buckets, so keys share buckets: a shared
  // bucket must never let an event of a blocked key run, nor hold up a free one for good.
  std::mt19937_64 rng{11};
  retry_stm stm{opts(3)};
  constexpr int events = 30000;
  constexpr int keys = 3000;
  std::map<std::string, std::vector<int64_t>> finished_by_key;
  std::set<int64_t> unfinished;
  auto now = t0;
  auto key_of = [](int64_t off) {
    return "K-" + std::to_string(off * 7919 % keys);
  };
  // Runs `off` and, while they succeed, the queued events of its key (as the member does).
  std::function<void(int64_t)> run = [&](int64_t off) {
    for (;;) {
      auto key = key_of(off);
      auto* h = stm.head(key);
      int attempt = h && h->off == offset{off} ? h->attempts + 1 : 1;
      if (attempt < 3 && rng() % 10 == 0) {  // fails at most twice: never dead-lettered
        REQUIRE(stm.failed(offset{off}, key, ref, "x", now) == retry_stm::outcome::retry_later);
        return;
      }
      finished_by_key[key].push_back(off);
      unfinished.erase(off);
      auto next = stm.succeeded(offset{off}, key);
      if (!next) return;
      off = next->off.value;
    }
  };
  for (int64_t off = 0; off < events; ++off) {
    unfinished.insert(off);
    if (stm.admit(offset{off}, key_of(off), ref)) run(off);
    if (off % 50 == 0) {
      now += 40ms;
      while (auto w = stm.next_due(now)) run(w->off.value);
    }
    auto cp = stm.commit_point(offset{off + 1});
    REQUIRE(cp.value == (unfinished.empty() ? off + 1 : *unfinished.begin()));
  }
  for (int round = 0; round < 10 && !unfinished.empty(); ++round) {
    now += 1000ms;
    while (auto w = stm.next_due(now)) run(w->off.value);
  }
  CHECK(unfinished.empty());
  CHECK(stm.unfinished() == 0);
  CHECK(stm.parked() == 0);
  CHECK(stm.queued() == 0);
  CHECK(stm.commit_point(offset{events}) == offset{events});
  for (auto& [key, offs] : finished_by_key) REQUIRE(std::is_sorted(offs.begin(), offs.end()));
  size_t total = 0;
  for (auto& [key, offs] : finished_by_key) total += offs.size();
  CHECK(total == events);
}
