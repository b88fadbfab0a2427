// segment_log: appends and reads across segments and the tail cache, rolls by size and age,
// timestamp seeks, index rebuild, retention by whole segments, and the three durability
// policies (what durable_offset() and read() promise under each).
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "storage/memory_log.hpp"
#include "storage/segment_log.hpp"
#include "tests/support/disk.hpp"
#include "tests/support/wait.hpp"

using namespace herald;
using namespace herald::test;

namespace {

/// Appends `batches` batches of `per` events (seqs 0, 1, ...); returns the next seq.
int64_t fill(segment_log& log, int batches, int per, int64_t seq = 0) {
  for (int i = 0; i < batches; ++i) {
    auto r = log.append(make_batch(seq, per), timestamp{t0_ns + seq * ms_ns});
    REQUIRE(r);
    REQUIRE(r->base == offset{seq});
    seq += per;
  }
  return seq;
}

void check_sequence(const std::vector<rec>& rs, int64_t first, int64_t count) {
  REQUIRE(static_cast<int64_t>(rs.size()) == count);
  for (int64_t i = 0; i < count; ++i) {
    CHECK(rs[i].off == offset{first + i});
    CHECK(rs[i].seq == first + i);
  }
}

}  // namespace

TEST_CASE("segment_log appends, reads and reopens with every record in place", "[storage]") {
  log_env env;
  int64_t n = 0;
  {
    auto log = env.open();
    CHECK(log->start_offset() == offset{0});
    CHECK(log->end_offset() == offset{0});
    n = fill(*log, 20, 10);
    check_sequence(read_all(*log), 0, n);
    auto s = log->stats();
    CHECK(s.events == n);
    CHECK(s.batches == 20);
  }
  auto log = env.open();
  CHECK(log->end_offset() == offset{n});
  check_sequence(read_all(*log), 0, n);
  // Appends continue at the recovered end.
  auto r = log->append(make_batch(n, 5), timestamp{t0_ns});
  REQUIRE(r);
  CHECK(r->base == offset{n});
}

TEST_CASE("segment_log rolls segments by size and serves reads across them and from disk",
          "[storage]") {
  log_env env;
  env.opts.segment_bytes = 8 * 1024;
  env.opts.tail_cache_bytes = 0;  // every read goes to the files
  env.opts.index_interval_bytes = 512;
  auto log = env.open();
  auto n = fill(*log, 100, 7);
  CHECK(log->segment_bases().size() > 5);
  check_sequence(read_all(*log), 0, n);
  // Reads starting inside batches and segments, with small limits.
  for (int64_t from : {0, 1, 6, 7, 100, 351, 699}) {
    std::vector<batch_slice> out;
    auto next = log->read(offset{from}, 3, 1 << 20, out);
    REQUIRE(next);
    auto rs = decode(out);
    check_sequence(rs, from, std::min<int64_t>(3, n - from));
    CHECK(*next == offset{from + static_cast<int64_t>(rs.size())});
  }
  // Every segment but the active one has its index files.
  CHECK(files_with(env.part(), ".index").size() == log->segment_bases().size() - 1);
}

TEST_CASE("segment_log rolls the active segment by age", "[storage]") {
  log_env env;
  env.opts.segment_age = std::chrono::milliseconds{100};
  auto log = env.open();
  REQUIRE(log->append(make_batch(0, 2), timestamp{t0_ns}));
  REQUIRE(log->append(make_batch(2, 2), timestamp{t0_ns + 50 * ms_ns}));
  CHECK(log->segment_bases().size() == 1);
  REQUIRE(log->append(make_batch(4, 2), timestamp{t0_ns + 150 * ms_ns}));
  CHECK(log->segment_bases() == std::vector<offset>{offset{0}, offset{4}});
  check_sequence(read_all(*log), 0, 6);
}

TEST_CASE("segment_log finds offsets by timestamp like memory_log, from the indexes", "[storage]") {
  log_env env;
  env.opts.segment_bytes = 4096;
  env.opts.index_interval_bytes = 300;
  env.opts.tail_cache_bytes = 0;
  memory_log model;
  auto log = env.open();
  std::mt19937_64 rng{42};
  int64_t seq = 0;
  int64_t clock = t0_ns;
  for (int b = 0; b < 200; ++b) {
    int n = 1 + static_cast<int>(rng() % 4);
    std::vector<int64_t> times;
    for (int i = 0; i < n; ++i) {
      // Mostly increasing, sometimes going back (producers' clocks differ).
      clock += static_cast<int64_t>(rng() % 10) * ms_ns;
      times.push_back(clock - static_cast<int64_t>(rng() % 3 == 0 ? (rng() % 30) * ms_ns : 0));
    }
    auto batch = make_batch(seq, n, 1 << 30, times);
    REQUIRE(log->append(batch, timestamp{clock}));
    REQUIRE(model.append(batch, timestamp{clock}));
    seq += n;
  }
  REQUIRE(log->segment_bases().size() > 3);
  for (int64_t t = t0_ns - 10 * ms_ns; t <= clock + 10 * ms_ns; t += 3 * ms_ns)
    REQUIRE(log->offset_for_time(timestamp{t}) == model.offset_for_time(timestamp{t}));
  // The same after a reopen (sealed indexes are read from the files).
  log.reset();
  log = env.open();
  for (int64_t t = t0_ns - 10 * ms_ns; t <= clock + 10 * ms_ns; t += 7 * ms_ns)
    REQUIRE(log->offset_for_time(timestamp{t}) == model.offset_for_time(timestamp{t}));
}

TEST_CASE("deleted index files are rebuilt on open and seeks still work", "[storage]") {
  log_env env;
  env.opts.segment_bytes = 4096;
  env.opts.tail_cache_bytes = 0;
  env.opts.index_interval_bytes = 256;
  int64_t n;
  std::vector<offset> seek_from_time;
  {
    auto log = env.open();
    n = fill(*log, 60, 5);
    for (int64_t s : {0, 17, 123, 250, 299})
      seek_from_time.push_back(log->offset_for_time(timestamp{t0_ns + s * ms_ns}));
  }
  auto indexes = files_with(env.part(), ".index");
  auto times = files_with(env.part(), ".timeindex");
  REQUIRE(indexes.size() > 2);
  for (auto& f : indexes) std::filesystem::remove(f);
  // A stale index: a time index of another generation must not be trusted either.
  truncate_file(times.front(), 10);
  auto log = env.open();
  CHECK(files_with(env.part(), ".index").size() == indexes.size());
  check_sequence(read_all(*log), 0, n);
  for (int64_t from : {3, 58, 149, 201}) {
    std::vector<batch_slice> out;
    REQUIRE(log->read(offset{from}, 1, 1 << 20, out));
    check_sequence(decode(out), from, 1);
  }
  size_t i = 0;
  for (int64_t s : {0, 17, 123, 250, 299})
    CHECK(log->offset_for_time(timestamp{t0_ns + s * ms_ns}) == seek_from_time[i++]);
  CHECK(log->offset_for_time(timestamp{t0_ns + 17 * ms_ns}) == offset{17});
}

TEST_CASE("retention deletes whole closed segments, oldest first", "[storage]") {
  log_env env;
  env.opts.segment_bytes = 2048;
  auto log = env.open();
  auto n = fill(*log, 60, 4);
  auto bases = log->segment_bases();
  REQUIRE(bases.size() > 4);
  auto before = log->stats();

  SECTION("by record count") {
    auto deleted = log->enforce_retention({100, -1, -1}, timestamp{t0_ns});
    auto s = log->stats();
    CHECK(deleted == before.events - s.events);
    CHECK(s.events <= 100);
    // Whole segments only: the start is a segment base, and one more segment would be > 100.
    auto now = log->segment_bases();
    CHECK(now.front() == s.start);
    CHECK(std::find(bases.begin(), bases.end(), s.start) != bases.end());
    check_sequence(read_all(*log), s.start.value, n - s.start.value);
    std::vector<batch_slice> out;
    auto below = log->read(offset{0}, 10, 1 << 20, out);
    REQUIRE_FALSE(below);
    CHECK(is(below.error(), errc::offset_out_of_range));
    CHECK(files_with(env.part(), ".log").size() == now.size());
  }
  SECTION("by bytes") {
    log->enforce_retention({-1, 3000, -1}, timestamp{t0_ns});
    CHECK(log->stats().bytes <= 3000);
    CHECK(log->stats().bytes > 0);
  }
  SECTION("by age, including an active segment that has wholly expired") {
    // Records have times t0 + seq ms; at now = t0 + n ms + 1 s with max age 1 s, all expire.
    log->enforce_retention({-1, -1, 1000}, timestamp{t0_ns + (n + 1000) * ms_ns + 1});
    auto s = log->stats();
    CHECK(s.events == 0);
    CHECK(s.start == offset{n});
    CHECK(s.end == offset{n});
    auto r = log->append(make_batch(n, 1), timestamp{t0_ns});
    REQUIRE(r);
    CHECK(r->base == offset{n});
  }
  SECTION("and survives a reopen") {
    log->enforce_retention({100, -1, -1}, timestamp{t0_ns});
    auto start = log->start_offset();
    log.reset();
    log = env.open();
    CHECK(log->start_offset() == start);
    check_sequence(read_all(*log), start.value, n - start.value);
  }
}

TEST_CASE("durability always: acknowledged only after fdatasync, and shared fsyncs", "[storage]") {
  log_env env;
  env.cfg.durability = durability_policy::always();
  auto log = env.open();
  std::atomic<int64_t> heard{-1};
  std::atomic<int> calls{0};
  log->set_durability_listener([&](offset o) {
    heard = o.value;
    ++calls;
  });
  auto syncs_before = env.sched->syncs();
  int64_t seq = 0;
  for (int i = 0; i < 200; ++i) {
    REQUIRE(log->append(make_batch(seq, 5), timestamp{t0_ns}));
    seq += 5;
    // Never ahead of what was written; readers never see beyond what is durable.
    CHECK(log->durable_offset() <= log->end_offset());
  }
  REQUIRE(wait_until([&] { return heard.load() == seq; }));
  CHECK(log->durable_offset() == offset{seq});
  check_sequence(read_all(*log), 0, seq);
  // Group commit: 200 appends in a burst are covered by (far) fewer fdatasyncs.
  auto syncs = env.sched->syncs() - syncs_before;
  CHECK(syncs >= 1);
  CHECK(syncs < 200);
  CHECK(calls.load() <= static_cast<int>(syncs));
}

TEST_CASE("durability always: read() shows nothing that is not durable yet", "[storage]") {
  log_env env;
  env.cfg.durability = durability_policy::always();
  // No sync threads run: nothing becomes durable until flush().
  env.sched.reset();
  auto log = env.open();
  REQUIRE(log->append(make_batch(0, 3), timestamp{t0_ns}));
  CHECK(log->durable_offset() == offset{0});
  CHECK(read_all(*log).empty());
  REQUIRE_FALSE(log->flush());
  CHECK(log->durable_offset() == offset{3});
  CHECK(read_all(*log).size() == 3);
}

TEST_CASE("durability interval and never: durable (acknowledged) at write time", "[storage]") {
  log_env env;
  auto policy = GENERATE(durability_policy::interval(20), durability_policy::never());
  env.cfg.durability = policy;
  auto log = env.open();
  REQUIRE(log->append(make_batch(0, 3), timestamp{t0_ns}));
  CHECK(log->durable_offset() == offset{3});
  CHECK(read_all(*log).size() == 3);
  if (policy.mode == durability_policy::kind::interval) {
    // The background sync catches up within a few intervals.
    CHECK(wait_until([&] { return log->synced_offset() == offset{3}; }));
  } else {
    CHECK(log->synced_offset() == offset{0});
  }
}

TEST_CASE("appends keep going while a sync runs, and nothing is lost across reopen", "[storage]") {
  log_env env;
  env.cfg.durability = durability_policy::always();
  env.opts.segment_bytes = 16 * 1024;
  auto log = env.open();
  std::atomic<bool> stop{false};
  std::thread reader{[&] {
    while (!stop) (void)log->durable_offset();
  }};
  int64_t seq = 0;
  for (int i = 0; i < 500; ++i) {
    REQUIRE(log->append(make_batch(seq, 3), timestamp{t0_ns}));
    seq += 3;
  }
  stop = true;
  reader.join();
  REQUIRE(wait_until([&] { return log->durable_offset() == offset{seq}; }));
  log.reset();
  log = env.open();
  check_sequence(read_all(*log), 0, seq);
}
