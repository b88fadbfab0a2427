// Random operation sequences on a segment_log checked against memory_log as the model, in
// the style of Redpanda's storage/opfuzz: the same appends must give the same reads (record
// for record, and the same next offset), the same timestamp lookups, and the same answers
// after a reopen; retention may only ever remove whole segments from the front.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <random>

#include "storage/memory_log.hpp"
#include "storage/segment_log.hpp"
#include "tests/support/disk.hpp"

using namespace herald;
using namespace herald::test;

namespace {

int rounds() {
  return std::getenv("HERALD_TEST_LONG") ? 40 : 8;
}

void same_read(const log_storage& log, const log_storage& model, offset from, int32_t max_events,
               int64_t max_bytes) {
  std::vector<batch_slice> a, b;
  auto ra = log.read(from, max_events, max_bytes, a);
  auto rb = model.read(from, max_events, max_bytes, b);
  INFO("read from " << from.value << " max_events " << max_events << " max_bytes " << max_bytes);
  REQUIRE(static_cast<bool>(ra) == static_cast<bool>(rb));
  if (!ra) return;
  REQUIRE(*ra == *rb);
  REQUIRE(decode(a) == decode(b));
  // Same slicing too: whole batches where memory_log gives whole batches.
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    REQUIRE(a[i].base == b[i].base);
    REQUIRE(a[i].count == b[i].count);
    REQUIRE(a[i].append_time == b[i].append_time);
  }
}

}  // namespace

TEST_CASE("random operation sequences read the same as memory_log", "[storage][opfuzz]") {
  std::mt19937_64 rng{20241123};
  for (int round = 0; round < rounds(); ++round) {
    log_env env;
    env.opts.segment_bytes = 2048 << (rng() % 4);
    env.opts.index_interval_bytes = static_cast<int32_t>(rng() % 3) * 700;
    env.opts.tail_cache_bytes = std::vector<int64_t>{0, 3000, 1 << 20}[rng() % 3];
    env.cfg.durability = rng() % 2 ? durability_policy::never() : durability_policy::interval(5);
    INFO("round " << round << " segment_bytes " << env.opts.segment_bytes << " cache "
                  << env.opts.tail_cache_bytes);
    memory_log model;
    auto log = env.open();
    int64_t seq = 0;
    int64_t clock = t0_ns;
    offset start{0};  // the disk log's start after retention
    for (int op = 0; op < 400; ++op) {
      auto what = rng() % 100;
      if (what < 45) {
        int n = 1 + static_cast<int>(rng() % 12);
        std::vector<int64_t> times;
        for (int i = 0; i < n; ++i) {
          clock += static_cast<int64_t>(rng() % 5) * ms_ns;
          times.push_back(clock - (rng() % 4 == 0 ? static_cast<int64_t>(rng() % 20) * ms_ns : 0));
        }
        auto b = make_batch(seq, n, 50, times, rng() % 200);
        auto at = timestamp{clock};
        auto r1 = log->append(b, at);
        auto r2 = model.append(b, at);
        REQUIRE(r1);
        REQUIRE(r2);
        REQUIRE(r1->base == r2->base);
        seq += n;
      } else if (what < 85) {
        auto end = model.end_offset().value;
        auto from = offset{start.value + static_cast<int64_t>(
                                             rng() % static_cast<uint64_t>(end - start.value + 3))};
        auto max_events = 1 + static_cast<int32_t>(rng() % 40);
        auto max_bytes = static_cast<int64_t>(64 + rng() % 20000);
        same_read(*log, model, from, max_events, max_bytes);
      } else if (what < 92) {
        auto t = timestamp{
            t0_ns +
            static_cast<int64_t>(rng() % static_cast<uint64_t>(clock - t0_ns + 50 * ms_ns)) -
            20 * ms_ns};
        // Equal unless retention removed the answer: then the disk's is its start or later.
        auto disk = log->offset_for_time(t);
        auto mem = model.offset_for_time(t);
        if (mem >= start)
          REQUIRE(disk == mem);
        else
          REQUIRE(disk >= start);
      } else if (what < 97) {
        log.reset();
        log = env.open();
        REQUIRE(log->end_offset() == model.end_offset());
        REQUIRE(log->start_offset() == start);
      } else {
        auto before = log->segment_bases();
        auto limit = static_cast<int64_t>(rng() % 300);
        log->enforce_retention({limit, -1, -1}, timestamp{clock});
        auto after = log->segment_bases();
        // Only whole segments from the front, never the active one.
        REQUIRE(after.size() >= 1);
        REQUIRE(after.back() == before.back());
        REQUIRE(std::find(before.begin(), before.end(), after.front()) != before.end());
        start = log->start_offset();
        REQUIRE(start == after.front());
        auto s = log->stats();
        REQUIRE((s.events <= limit || after.size() == 1));
      }
    }
    // In the end, every retained record is the model's, in order.
    same_read(*log, model, start, 1 << 30, int64_t{1} << 40);
  }
}
