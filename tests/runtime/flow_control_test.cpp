// Flow control, measured by counting: a blocked group holds at most its credit and slows
// neither the producer nor another group; a partition that stops acknowledging makes the
// producer block (and time out) once its bounded buffer is full, instead of growing.
//
// What makes a partition stop acknowledging is its storage: a write that does not return
// (a partition actor kept busy) or a write that is not durable yet. A blocked consumer does
// not: the log absorbs what it has not read (see the first test).
#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/herald.hpp"
#include "storage/memory_log.hpp"
#include "tests/support/builders.hpp"
#include "tests/support/gate.hpp"
#include "tests/support/groups.hpp"
#include "tests/support/printing.hpp"
#include "tests/support/wait.hpp"

using namespace herald;
using namespace std::chrono_literals;

namespace {

/// A memory log whose appends wait at a gate (a partition stuck in a slow write), and whose
/// durable offset can be held back (a write that is not yet synced).
class slow_log final : public log_storage {
 public:
  struct control {
    test::gate* append_gate = nullptr;  // null: appends never wait
    std::atomic<int> appends_started{0};
    std::atomic<bool> hold_durability{false};
    std::atomic<int64_t> durable_cap{0};  // durable offset while held
    std::mutex mtx;
    std::vector<durability_listener> on_release;  // the partitions' listeners
  };

  slow_log(log_storage_ptr inner, std::shared_ptr<control> ctl)
      : inner_(std::move(inner)), ctl_(std::move(ctl)) {}

  caf::expected<append_info> append(const record_batch_ptr& b, timestamp t) override {
    ++ctl_->appends_started;
    if (ctl_->append_gate) ctl_->append_gate->wait();
    return inner_->append(b, t);
  }
  caf::expected<offset> read(offset from, int32_t n, int64_t bytes,
                             std::vector<batch_slice>& out) const override {
    return inner_->read(from, n, bytes, out);
  }
  offset start_offset() const override { return inner_->start_offset(); }
  offset end_offset() const override { return inner_->end_offset(); }
  offset durable_offset() const override {
    if (ctl_->hold_durability) return std::min(inner_->end_offset(), offset{ctl_->durable_cap});
    return inner_->end_offset();
  }
  void set_durability_listener(durability_listener fn) override {
    std::lock_guard<std::mutex> guard{ctl_->mtx};
    ctl_->on_release.push_back(std::move(fn));
  }
  offset offset_for_time(timestamp t) const override { return inner_->offset_for_time(t); }
  int64_t enforce_retention(const retention_policy& p, timestamp now) override {
    return inner_->enforce_retention(p, now);
  }
  storage_stats stats() const override { return inner_->stats(); }

 private:
  log_storage_ptr inner_;
  std::shared_ptr<control> ctl_;
};

class slow_storage final : public storage_factory {
 public:
  std::shared_ptr<slow_log::control> ctl = std::make_shared<slow_log::control>();

  caf::expected<log_storage_ptr> open(const std::string& topic, partition_id p,
                                      const topic_config& cfg) override {
    auto inner = memory_.open(topic, p, cfg);
    if (!inner) return std::move(inner.error());
    return log_storage_ptr{new slow_log(std::move(*inner), ctl)};
  }
  caf::error remove(const std::string& topic, int32_t partitions) override {
    return memory_.remove(topic, partitions);
  }

  /// Makes everything appended durable and tells the partitions (`end`: the log end now).
  void release_durability(offset end) {
    ctl->hold_durability = false;
    std::lock_guard<std::mutex> guard{ctl->mtx};
    for (auto& f : ctl->on_release) f(end);
  }

 private:
  memory_storage_factory memory_;
};

/// Small, deterministic producer buffers: batches ship only when full (the linger never
/// fires within the test), at most two in flight.
producer_options tiny_buffers() {
  producer_options o;
  o.batch_max_events = 4;
  o.max_inflight_batches = 2;
  o.linger = std::chrono::microseconds{std::chrono::seconds{30}};
  o.send_timeout = 200ms;
  o.ack_timeout = 20s;
  return o;
}

constexpr int buffer_bound = 4 * (2 + 1);  // batch_max_events * (max_inflight_batches + 1)

/// Publishes until publish_async refuses; returns the accepted events and the refusal.
std::pair<std::vector<event>, caf::error> publish_until_refused(producer& p, int limit) {
  std::vector<event> accepted;
  for (int i = 0; i < limit; ++i) {
    auto ev = test::order("orders", "ORD-1", i);  // one key: one partition
    if (auto err = p.publish_async(ev)) return {accepted, err};
    accepted.push_back(std::move(ev));
  }
  return {accepted, caf::none};
}

/// True when thread `tid` of this process is blocked (state S: here, in a condition wait).
bool thread_sleeps(pid_t tid) {
  std::ifstream in{"/proc/self/task/" + std::to_string(tid) + "/stat"};
  std::string line;
  std::getline(in, line);
  auto close = line.rfind(')');  // the state follows the command name in parentheses
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'S';
}

std::vector<std::string> ids(const std::vector<event>& evs) {
  std::vector<std::string> out;
  for (auto& e : evs) out.emplace_back(e.id_text());
  return out;
}

}  // namespace

TEST_CASE("a blocked group slows neither the producer nor another group", "[runtime][flow]") {
  constexpr int n = 4000;
  constexpr int64_t slow_credit = 16;
  test::recorder slow_rec, fast_rec;
  test::gate gate;
  auto cfg = test::quiet_config();
  cfg.worker_threads = 4;  // the blocked handler holds one scheduler thread
  runtime rt{cfg};
  test::open_on_exit release{gate};
  REQUIRE(rt.create_topic("orders", {.partitions = 4}));
  auto slow = rt.subscribe("orders", "slow",
                           [&](const event_view& e) {
                             gate.wait();
                             slow_rec.add("slow", e);
                           },
                           {.credit_window = slow_credit});
  auto fast = rt.subscribe("orders", "fast", [&](const event_view& e) { fast_rec.add("fast", e); });
  REQUIRE(slow);
  REQUIRE(fast);
  REQUIRE(test::wait_stable(rt, "orders", "slow", 1));
  REQUIRE(test::wait_stable(rt, "orders", "fast", 1));

  auto p = rt.make_producer();
  std::vector<event> published;
  for (int i = 0; i < n; ++i) {
    published.push_back(test::order("orders", "ORD-" + std::to_string(i % 101), i));
    REQUIRE_FALSE(p.publish_async(published.back()));
  }
  // The producer finishes while the slow group is stuck in its first event.
  auto flushed = p.flush();
  INFO(describe(flushed));
  REQUIRE_FALSE(flushed);
  CHECK(p.stats().acknowledged == n);
  // The fast group handles everything meanwhile.
  REQUIRE(test::wait_until([&] { return test::group_drained(rt, "fast"); }));
  CHECK(fast_rec.size() == n);
  REQUIRE_FALSE(gate.is_open());
  CHECK(gate.arrived() == 1);
  CHECK(slow_rec.size() == 0);
  // The slow member's buffer is its credit: no partition pushed it more.
  for (int32_t part = 0; part < 4; ++part) {
    auto st = rt.describe_partition("orders", part);
    REQUIRE(st);
    for (auto& c : st->groups) {
      INFO("partition " << part << " group " << c.group);
      if (c.group == "slow") CHECK(c.delivered <= slow_credit);
      if (c.group == "fast") CHECK(c.next == st->end);
    }
  }

  gate.open();
  REQUIRE(test::wait_until([&] { return test::group_drained(rt, "slow"); }));
  auto counts = slow_rec.id_counts();
  CHECK(counts.size() == published.size());
  for (auto& e : published) CHECK(counts[std::string{e.id_text()}] == 1);
}

TEST_CASE("a partition stuck in a write makes the producer block and time out at its bound",
          "[runtime][flow][backpressure]") {
  test::gate gate;
  test::recorder rec;
  auto storage = std::make_shared<slow_storage>();
  storage->ctl->append_gate = &gate;
  auto cfg = test::quiet_config();
  cfg.worker_threads = 4;  // the stuck partition holds one scheduler thread
  cfg.storage = storage;
  runtime rt{cfg};
  test::open_on_exit release{gate};
  REQUIRE(rt.create_topic("orders", {.partitions = 1}));
  auto p = rt.make_producer(tiny_buffers());

  auto [accepted, refusal] = publish_until_refused(p, 1000);
  // Two batches went out (one in the stuck write, one waiting in the partition's mailbox),
  // one full batch waits in the producer; the next event finds no room.
  CHECK(accepted.size() == buffer_bound);
  REQUIRE(refusal);
  INFO(describe(refusal));
  CHECK(is(refusal, errc::timeout));
  CHECK(describe(refusal).find("orders/0") != std::string::npos);
  auto st = p.stats();
  CHECK(st.published == buffer_bound);
  CHECK(st.outstanding == buffer_bound);
  CHECK(st.batches == 2);
  CHECK(storage->ctl->appends_started == 1);
  // A waiting publish gives up the same way.
  auto sync = p.publish(test::order("orders", "ORD-1", 9999));
  REQUIRE_FALSE(sync);
  CHECK(is(sync.error(), errc::timeout));

  gate.open();
  auto flushed = p.flush();
  INFO(describe(flushed));
  REQUIRE_FALSE(flushed);
  CHECK(p.stats().acknowledged == buffer_bound);
  CHECK(p.stats().failed == 0);
  // Exactly the accepted events are stored, in order; the refused ones are not.
  auto stored = rt.read("orders", 0, offset{0});
  REQUIRE(stored);
  CHECK(ids(*stored) == ids(accepted));
  // And the producer works again once the partition does.
  REQUIRE(p.publish(test::order("orders", "ORD-1", 10'000)));
}

TEST_CASE("a partition whose writes are not yet durable holds acks and the producer blocks",
          "[runtime][flow][backpressure]") {
  test::recorder rec;
  auto storage = std::make_shared<slow_storage>();
  storage->ctl->hold_durability = true;
  storage->ctl->durable_cap = 0;
  auto cfg = test::quiet_config();
  cfg.storage = storage;
  runtime rt{cfg};
  REQUIRE(rt.create_topic("orders", {.partitions = 1}));
  auto sub = rt.subscribe("orders", "readers", [&](const event_view& e) { rec.add("r", e); });
  REQUIRE(sub);
  REQUIRE(test::wait_stable(rt, "orders", "readers", 1));
  auto p = rt.make_producer(tiny_buffers());

  auto [accepted, refusal] = publish_until_refused(p, 1000);
  CHECK(accepted.size() == buffer_bound);
  REQUIRE(refusal);
  CHECK(is(refusal, errc::timeout));
  CHECK(p.stats().acknowledged == 0);
  // Appended but not durable: stored, not acknowledged, not delivered.
  CHECK(storage->ctl->appends_started == 2);
  CHECK(rec.size() == 0);

  storage->release_durability(offset{2 * 4});  // the two batches sent
  auto flushed = p.flush();
  INFO(describe(flushed));
  REQUIRE_FALSE(flushed);
  CHECK(p.stats().acknowledged == buffer_bound);
  REQUIRE(test::wait_until([&] { return test::group_drained(rt, "readers"); }));
  std::vector<std::string> seen;
  for (auto& it : rec.items()) seen.push_back(it.id);
  CHECK(seen == ids(accepted));
}

TEST_CASE("flush ships a batch that waited for an in-flight slot as soon as one frees",
          "[runtime][flow][backpressure]") {
  // flush() promises to send every open batch now. A batch that cannot go because the lane
  // is at max_inflight_batches must go when an acknowledgement frees a slot, not when its
  // linger expires (here: never within ack_timeout).
  test::gate gate;
  auto storage = std::make_shared<slow_storage>();
  storage->ctl->append_gate = &gate;
  auto cfg = test::quiet_config();
  cfg.worker_threads = 4;
  cfg.storage = storage;
  runtime rt{cfg};
  test::open_on_exit release{gate};
  REQUIRE(rt.create_topic("orders", {.partitions = 1}));
  auto opts = tiny_buffers();
  opts.linger = std::chrono::microseconds{std::chrono::seconds{60}};
  opts.ack_timeout = 3s;
  auto p = rt.make_producer(opts);
  // Two full batches in flight (the partition is stuck in the first), two events open.
  for (int i = 0; i < 10; ++i) REQUIRE_FALSE(p.publish_async(test::order("orders", "ORD-1", i)));
  REQUIRE(test::wait_until([&] { return storage->ctl->appends_started == 1; }));
  CHECK(p.stats().batches == 2);
  // The flush must be waiting before the partition acknowledges; otherwise it finds free
  // slots and ships at once, and the test proves nothing.
  std::atomic<pid_t> flusher{0};
  auto flushed = std::async(std::launch::async, [&] {
    flusher = static_cast<pid_t>(::syscall(SYS_gettid));
    return p.flush();
  });
  REQUIRE(test::wait_until([&] { return flusher != 0 && thread_sleeps(flusher); }));
  gate.open();
  auto err = flushed.get();
  INFO(describe(err));
  CHECK_FALSE(err);
  CHECK(p.stats().acknowledged == 10);
}
