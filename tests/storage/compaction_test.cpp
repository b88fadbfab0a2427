// Compaction: closed segments keep the latest record per key, tombstones hide their key's
// older records and go themselves after tombstone_retention, offsets never change (reads
// skip the gaps), the result survives a reopen, and appends go on while it runs.
#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <random>
#include <thread>

#include "storage/segment_log.hpp"
#include "tests/support/disk.hpp"

using namespace herald;
using namespace herald::test;

namespace {

struct model_rec {
  offset off;
  std::string key;
  int64_t seq;
  bool tombstone;
};

/// A log with compaction on, small segments, and a model of everything appended.
struct compacted_env : log_env {
  std::vector<model_rec> model;
  std::shared_ptr<segment_log> log;
  int64_t seq = 0;

  compacted_env() {
    cfg.compaction = true;
    opts.segment_bytes = 1024;
    opts.tail_cache_bytes = 0;
    opts.tombstone_retention = std::chrono::hours{1};
    log = open();
  }

  /// Appends a batch of `n` records with keys k<seq % keys>.
  void put(int n, int keys) {
    batch_builder b;
    for (int i = 0; i < n; ++i) {
      auto key = "k" + std::to_string(seq % keys);
      auto ev = event::builder{"t", "E"}
                    .key(key)
                    .payload(R"({"seq":)" + std::to_string(seq) + "}")
                    .time(timestamp{t0_ns + seq * ms_ns})
                    .build();
      REQUIRE_FALSE(b.add(ev));
      model.push_back({log->end_offset() + i, key, seq, false});
      ++seq;
    }
    REQUIRE(log->append(b.seal(producer_id{1}, 0), timestamp{t0_ns}));
  }

  void put_tombstone(const std::string& key) {
    model.push_back({log->end_offset(), key, -1, true});
    REQUIRE(log->append(make_tombstone(key, t0_ns), timestamp{t0_ns}));
  }

  /// What compaction at `now` must leave: in [start, active base), the latest record per key
  /// (tombstones only while younger than the retention; appended at t0); the rest untouched.
  std::vector<model_rec> expected(offset active_base, bool tombstones_expired) const {
    std::map<std::string, offset> latest;
    for (auto& r : model)
      if (r.off < active_base) latest[r.key] = r.off;
    std::vector<model_rec> out;
    for (auto& r : model) {
      bool keep = r.off >= active_base ||
                  (latest.at(r.key) == r.off && !(r.tombstone && tombstones_expired));
      if (keep) out.push_back(r);
    }
    return out;
  }

  static void check(const std::vector<rec>& got, const std::vector<model_rec>& want) {
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      INFO("record " << i);
      REQUIRE(got[i].off == want[i].off);
      REQUIRE(got[i].key == want[i].key);
      REQUIRE(got[i].tombstone == want[i].tombstone);
      if (!want[i].tombstone) REQUIRE(got[i].seq == want[i].seq);
    }
  }
};

}  // namespace

TEST_CASE("compaction keeps the latest record per key in closed segments", "[compaction]") {
  compacted_env env;
  for (int i = 0; i < 60; ++i) env.put(4, 10);
  auto active = env.log->segment_bases().back();
  REQUIRE(env.log->segment_bases().size() > 3);
  auto before = env.log->stats();
  auto st = env.log->compact(timestamp{t0_ns});
  REQUIRE(st);
  CHECK(st->segments_rewritten > 0);
  CHECK(st->records_removed > 0);
  auto want = env.expected(active, false);
  compacted_env::check(read_all(*env.log), want);
  auto after = env.log->stats();
  CHECK(after.events == static_cast<int64_t>(want.size()));
  CHECK(after.bytes < before.bytes);
  CHECK(after.end == before.end);
  CHECK(after.start == before.start);
  // A second pass finds nothing more to do.
  auto again = env.log->compact(timestamp{t0_ns});
  REQUIRE(again);
  CHECK(again->segments_rewritten == 0);
  // The compacted segments survive a reopen (their offset gaps are legal there).
  env.log.reset();
  env.log = env.open();
  compacted_env::check(read_all(*env.log), want);
}

TEST_CASE("tombstones delete their key, then go themselves after the retention", "[compaction]") {
  compacted_env env;
  for (int i = 0; i < 20; ++i) env.put(4, 10);
  env.put_tombstone("k3");
  env.put_tombstone("k7");
  for (int i = 0; i < 40; ++i) env.put(4, 5);  // k0..k4 again: k3 comes back after its delete
  REQUIRE(env.log->segment_bases().size() > 3);
  auto active = env.log->segment_bases().back();

  REQUIRE(env.log->compact(timestamp{t0_ns}));
  auto want = env.expected(active, false);
  compacted_env::check(read_all(*env.log), want);
  // k7 is only its tombstone now; k3's old values before its tombstone are gone.
  int k7_values = 0;
  for (auto& r : read_all(*env.log))
    if (r.key == "k7" && !r.tombstone) ++k7_values;
  CHECK(k7_values == 0);

  // Two hours later the tombstones themselves are removed.
  auto st = env.log->compact(timestamp{t0_ns + int64_t{2} * 3600 * 1'000'000'000});
  REQUIRE(st);
  CHECK(st->tombstones_removed >= 1);
  compacted_env::check(read_all(*env.log), env.expected(active, true));
  for (auto& r : read_all(*env.log)) CHECK(r.key != "k7");
}

TEST_CASE("reads across compaction gaps return what memory would after the same filter",
          "[compaction]") {
  compacted_env env;
  for (int i = 0; i < 50; ++i) env.put(3, 7);
  auto active = env.log->segment_bases().back();
  REQUIRE(env.log->compact(timestamp{t0_ns}));
  auto want = env.expected(active, false);
  std::mt19937_64 rng{11};
  for (int i = 0; i < 300; ++i) {
    auto from = offset{static_cast<int64_t>(rng() % static_cast<uint64_t>(env.seq + 2))};
    auto max = 1 + static_cast<int32_t>(rng() % 10);
    std::vector<batch_slice> out;
    auto next = env.log->read(from, max, 1 << 20, out);
    REQUIRE(next);
    auto got = decode(out);
    std::vector<model_rec> exp;
    for (auto& r : want)
      if (r.off >= from && exp.size() < static_cast<size_t>(max)) exp.push_back(r);
    INFO("from " << from.value << " max " << max);
    compacted_env::check(got, exp);
    if (!got.empty()) CHECK(*next > got.back().off);
  }
}

TEST_CASE("appends continue while compaction runs, and nothing is lost", "[compaction]") {
  compacted_env env;
  for (int i = 0; i < 30; ++i) env.put(4, 10);
  std::atomic<bool> done{false};
  std::atomic<int> passes{0};
  std::thread compactor{[&] {
    while (!done) {
      auto st = env.log->compact(timestamp{t0_ns});
      if (!st) FAIL_CHECK(describe(st.error()));
      ++passes;
    }
  }};
  for (int i = 0; i < 200; ++i) env.put(4, 10);
  done = true;
  compactor.join();
  CHECK(passes > 0);
  REQUIRE(env.log->compact(timestamp{t0_ns}));
  // Whatever was compacted when: every record read is the model's record at its offset,
  // offsets increase, and the latest record of every key is there.
  auto got = read_all(*env.log);
  std::map<int64_t, const model_rec*> by_off;
  for (auto& r : env.model) by_off[r.off.value] = &r;
  std::map<std::string, offset> latest;
  for (auto& r : env.model) latest[r.key] = r.off;
  for (size_t i = 0; i < got.size(); ++i) {
    REQUIRE(by_off.count(got[i].off.value));
    CHECK(by_off[got[i].off.value]->seq == got[i].seq);
    if (i > 0) CHECK(got[i].off > got[i - 1].off);
  }
  for (auto& [key, off] : latest) {
    bool found = std::any_of(got.begin(), got.end(), [&](const rec& r) { return r.off == off; });
    CHECK(found);
  }
}

TEST_CASE("compaction leaves records without a key and refuses uncompacted topics",
          "[compaction]") {
  compacted_env env;
  for (int i = 0; i < 30; ++i) {
    batch_builder b;
    auto ev = event::builder{"t", "E"}.payload(R"({"seq":1})").time(timestamp{t0_ns}).build();
    REQUIRE_FALSE(b.add(ev));
    REQUIRE(env.log->append(b.seal(producer_id{1}, 0), timestamp{t0_ns}));
  }
  auto st = env.log->compact(timestamp{t0_ns});
  REQUIRE(st);
  CHECK(st->records_removed == 0);
  CHECK(read_all(*env.log).size() == 30);

  log_env plain;
  auto log = plain.open();
  auto r = log->compact();
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::invalid_argument));
}
