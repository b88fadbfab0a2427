#include <catch2/catch.hpp>

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
