// memory_log: offsets, reads, limits, retention and time lookups, first case by case, then as
// random operation sequences checked against a plain vector of records (the model), in the
// style of Redpanda's storage/opfuzz. The on-disk log will have to pass the same fuzz test.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "messages/errors.hpp"
#include "messages/event.hpp"
#include "messages/record_batch.hpp"
#include "storage/memory_log.hpp"
#include "tests/support/builders.hpp"
#include "tests/support/printing.hpp"

using namespace herald;

namespace {

constexpr int64_t t0 = 1'700'000'000'000'000'000;  // ns since the Unix epoch
constexpr int64_t ms = 1'000'000;

/// A batch of events whose payloads carry seq = first_seq, first_seq + 1, ... and whose
/// timestamps are `times` (one per event).
record_batch_ptr make_batch_at(int64_t first_seq, const std::vector<int64_t>& times) {
  batch_builder b;
  for (size_t i = 0; i < times.size(); ++i) {
    auto seq = first_seq + static_cast<int64_t>(i);
    auto ev = event::builder{"t", "E"}
                  .key("k" + std::to_string(seq))
                  .payload(R"({"seq":)" + std::to_string(seq) + "}")
                  .time(timestamp{times[i]})
                  .build();
    REQUIRE_FALSE(b.add(ev));
  }
  return b.seal(producer_id{1}, static_cast<uint64_t>(first_seq));
}

/// `n` events with seqs from `first_seq`, timestamps t0 + seq ms.
record_batch_ptr make_batch(int64_t first_seq, int n) {
  std::vector<int64_t> times;
  for (int i = 0; i < n; ++i) times.push_back(t0 + (first_seq + i) * ms);
  return make_batch_at(first_seq, times);
}

struct record {
  offset off;
  int64_t seq;
  int64_t time;
};

std::vector<record> decode(const std::vector<batch_slice>& slices) {
  std::vector<record> out;
  event_view v;
  for (auto& s : slices) {
    batch_cursor cur{s, "t", partition_id{0}};
    while (!cur.done()) {
      cur.next(v);
      out.push_back({v.offset(), test::seq_of(v), v.time().value});
    }
  }
  return out;
}

/// Bytes a slice covers: its records, plus the header when it is a whole batch.
int64_t slice_bytes(const batch_slice& s) {
  batch_cursor cur{s, "t", partition_id{0}};
  auto begin = cur.position();
  while (!cur.done()) cur.skip();
  int64_t n = cur.position() - begin;
  if (s.begin_pos == format::batch_header_size && s.count == s.batch->record_count())
    n += format::batch_header_size;
  return n;
}

struct read_out {
  offset next;
  std::vector<record> records;
  std::vector<batch_slice> slices;
};

read_out read_ok(const log_storage& log, offset from, int32_t max_events = 1 << 20,
                 int64_t max_bytes = int64_t{1} << 40) {
  read_out r;
  auto next = log.read(from, max_events, max_bytes, r.slices);
  INFO((next ? std::string{} : describe(next.error())));
  REQUIRE(next);
  r.next = *next;
  r.records = decode(r.slices);
  return r;
}

std::vector<int64_t> offsets_of(const std::vector<record>& rs) {
  std::vector<int64_t> out;
  for (auto& r : rs) out.push_back(r.off.value);
  return out;
}

std::vector<int64_t> range(int64_t first, int64_t last_exclusive) {
  std::vector<int64_t> out;
  for (auto i = first; i < last_exclusive; ++i) out.push_back(i);
  return out;
}

}  // namespace

TEST_CASE("append assigns consecutive offsets and read returns every record in order",
          "[memory_log]") {
  memory_log log;
  CHECK(log.start_offset() == offset{0});
  CHECK(log.end_offset() == offset{0});
  auto b1 = make_batch(0, 3);
  auto b2 = make_batch(3, 1);
  auto b3 = make_batch(4, 5);
  auto a1 = log.append(b1, timestamp{t0});
  auto a2 = log.append(b2, timestamp{t0});
  auto a3 = log.append(b3, timestamp{t0});
  REQUIRE((a1 && a2 && a3));
  CHECK(a1->base == offset{0});
  CHECK(a1->count == 3);
  CHECK(a2->base == offset{3});
  CHECK(a2->count == 1);
  CHECK(a3->base == offset{4});
  CHECK(a3->count == 5);
  CHECK(log.end_offset() == offset{9});
  auto st = log.stats();
  CHECK(st.start == offset{0});
  CHECK(st.end == offset{9});
  CHECK(st.events == 9);
  CHECK(st.batches == 3);
  CHECK(st.bytes == int64_t{b1->size()} + b2->size() + b3->size());

  auto r = read_ok(log, offset{0});
  CHECK(r.next == offset{9});
  CHECK(offsets_of(r.records) == range(0, 9));
  for (auto& rec : r.records) CHECK(rec.seq == rec.off.value);
  // Whole batches are shared, not copied.
  REQUIRE(r.slices.size() == 3);
  CHECK(r.slices[0].batch.get() == b1.get());
}

TEST_CASE("a read starting mid-batch returns the rest of that batch and what follows",
          "[memory_log]") {
  memory_log log;
  REQUIRE(log.append(make_batch(0, 4), timestamp{t0}));
  REQUIRE(log.append(make_batch(4, 4), timestamp{t0}));
  for (int64_t from = 0; from < 8; ++from) {
    INFO("from " << from);
    auto r = read_ok(log, offset{from});
    CHECK(offsets_of(r.records) == range(from, 8));
    CHECK(r.next == offset{8});
    REQUIRE_FALSE(r.slices.empty());
    CHECK(r.slices.front().first_offset() == offset{from});
  }
}

TEST_CASE("max_events bounds a read also when it ends inside a batch", "[memory_log]") {
  memory_log log;
  REQUIRE(log.append(make_batch(0, 5), timestamp{t0}));
  REQUIRE(log.append(make_batch(5, 5), timestamp{t0}));
  auto r = read_ok(log, offset{0}, 3);
  CHECK(offsets_of(r.records) == range(0, 3));
  CHECK(r.next == offset{3});
  r = read_ok(log, offset{3}, 4);  // crosses the batch boundary
  CHECK(offsets_of(r.records) == range(3, 7));
  CHECK(r.next == offset{7});
  r = read_ok(log, offset{2}, 0);
  CHECK(r.records.empty());
  CHECK(r.next == offset{2});
  // Reading on from `next` with a small limit visits every record exactly once.
  std::vector<int64_t> seen;
  for (offset at{0}; at < log.end_offset();) {
    auto part = read_ok(log, at, 2);
    REQUIRE_FALSE(part.records.empty());
    CHECK(part.records.size() <= 2);
    for (auto& rec : part.records) seen.push_back(rec.off.value);
    at = part.next;
  }
  CHECK(seen == range(0, 10));
}

TEST_CASE("readers that stop inside batches resume exactly where they stopped, interleaved",
          "[memory_log]") {
  // More readers than the log keeps resume points for, each reading 1 to 3 records at a time
  // (a group that keeps up), plus re-reads from earlier offsets that must not take a resume
  // point meant for another offset.
  memory_log log;
  for (int b = 0; b < 20; ++b) REQUIRE(log.append(make_batch(b * 7, 7), timestamp{t0}));
  std::mt19937 rng{7};
  constexpr int readers = 11;
  std::vector<offset> at(readers, offset{0});
  std::vector<std::vector<int64_t>> seen(readers);
  for (bool busy = true; busy;) {
    busy = false;
    for (int r = 0; r < readers; ++r) {
      if (at[r] >= log.end_offset()) continue;
      busy = true;
      auto part = read_ok(log, at[r], static_cast<int32_t>(rng() % 3 + 1));
      REQUIRE_FALSE(part.records.empty());
      for (auto& rec : part.records) {
        REQUIRE(rec.seq == rec.off.value);  // the record at that offset, not a neighbour
        seen[r].push_back(rec.off.value);
      }
      at[r] = part.next;
      if (rng() % 5 == 0 && at[r].value > 1) {
        auto back = offset{at[r].value - 2};
        auto again = read_ok(log, back, 2);
        CHECK(offsets_of(again.records) == range(back.value, back.value + 2));
      }
    }
  }
  for (auto& s : seen) CHECK(s == range(0, 140));
}

TEST_CASE("max_bytes bounds a read softly and never returns nothing", "[memory_log]") {
  memory_log log;
  std::vector<record_batch_ptr> batches;
  for (int i = 0; i < 6; ++i) {
    batches.push_back(make_batch(i * 4, 4));
    REQUIRE(log.append(batches.back(), timestamp{t0}));
  }
  const int64_t batch_bytes = batches[0]->size();

  // A limit below one batch still returns the first batch.
  auto r = read_ok(log, offset{0}, 1000, 1);
  CHECK(offsets_of(r.records) == range(0, 4));
  // Starting mid-batch with a tiny limit: at least one record.
  r = read_ok(log, offset{6}, 1000, 1);
  CHECK_FALSE(r.records.empty());
  CHECK(r.records.front().off == offset{6});

  // 2.5 batches' worth: no batch starts once the limit is reached.
  r = read_ok(log, offset{0}, 1000, batch_bytes * 5 / 2);
  int64_t total = 0;
  for (auto& s : r.slices) total += slice_bytes(s);
  CHECK(total - slice_bytes(r.slices.back()) < batch_bytes * 5 / 2);
  CHECK(r.records.size() == 12);
  CHECK(r.next == offset{12});
}

TEST_CASE("a read below the log start fails with offset_out_of_range", "[memory_log]") {
  memory_log log;
  for (int i = 0; i < 4; ++i) REQUIRE(log.append(make_batch(i * 3, 3), timestamp{t0}));
  REQUIRE(log.enforce_retention({6, -1, -1}, timestamp{t0}) == 6);
  REQUIRE(log.start_offset() == offset{6});
  std::vector<batch_slice> out;
  auto r = log.read(offset{5}, 10, 1 << 20, out);
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::offset_out_of_range));
  CHECK(describe(r.error()).find("6") != std::string::npos);  // says where the log starts
  CHECK(out.empty());
  // At and past the end: nothing, and the same offset back.
  auto at_end = read_ok(log, offset{12});
  CHECK(at_end.records.empty());
  CHECK(at_end.next == offset{12});
  auto past = read_ok(log, offset{20});
  CHECK(past.records.empty());
  CHECK(past.next == offset{20});
}

TEST_CASE("appending an empty or missing batch fails and changes nothing", "[memory_log]") {
  memory_log log;
  REQUIRE(log.append(make_batch(0, 2), timestamp{t0}));
  batch_builder b;
  auto empty = b.seal(producer_id{1}, 0);
  CHECK_FALSE(log.append(empty, timestamp{t0}));
  CHECK_FALSE(log.append(nullptr, timestamp{t0}));
  CHECK(log.end_offset() == offset{2});
  CHECK(log.stats().batches == 1);
}

TEST_CASE("retention by count deletes whole batches oldest first", "[memory_log]") {
  memory_log log;
  for (int i = 0; i < 4; ++i) REQUIRE(log.append(make_batch(i * 3, 3), timestamp{t0}));
  // 12 events, keep at most 7: two batches must go (9 would still be too many).
  CHECK(log.enforce_retention({7, -1, -1}, timestamp{t0}) == 6);
  CHECK(log.start_offset() == offset{6});
  CHECK(log.stats().events == 6);
  CHECK(offsets_of(read_ok(log, offset{6}).records) == range(6, 12));
  // Within the limit: nothing more goes.
  CHECK(log.enforce_retention({7, -1, -1}, timestamp{t0}) == 0);
  // Everything goes; offsets are not reused afterwards.
  CHECK(log.enforce_retention({0, -1, -1}, timestamp{t0}) == 6);
  CHECK(log.start_offset() == offset{12});
  CHECK(log.end_offset() == offset{12});
  CHECK(log.stats().bytes == 0);
  auto a = log.append(make_batch(12, 1), timestamp{t0});
  REQUIRE(a);
  CHECK(a->base == offset{12});
}

TEST_CASE("retention by bytes keeps at most the configured bytes", "[memory_log]") {
  memory_log log;
  std::vector<record_batch_ptr> bs;
  for (int i = 0; i < 5; ++i) {
    bs.push_back(make_batch(i * 2, 2));
    REQUIRE(log.append(bs.back(), timestamp{t0}));
  }
  const int64_t keep = int64_t{bs[3]->size()} + bs[4]->size();
  CHECK(log.enforce_retention({-1, keep, -1}, timestamp{t0}) == 6);
  CHECK(log.stats().bytes == keep);
  CHECK(log.start_offset() == offset{6});
  // One byte less than two batches: only the newest stays.
  CHECK(log.enforce_retention({-1, keep - 1, -1}, timestamp{t0}) == 2);
  CHECK(log.start_offset() == offset{8});
}

TEST_CASE("retention by age deletes batches whose newest record is too old", "[memory_log]") {
  memory_log log;
  REQUIRE(log.append(make_batch_at(0, {t0, t0 + 1000 * ms}), timestamp{t0}));
  REQUIRE(log.append(make_batch_at(2, {t0 + 10'000 * ms}), timestamp{t0}));
  // Old first record, new last record: the batch's age is that of its newest record.
  REQUIRE(log.append(make_batch_at(3, {t0 + 1000 * ms, t0 + 20'000 * ms}), timestamp{t0}));
  const timestamp now{t0 + 25'000 * ms};
  CHECK(log.enforce_retention({-1, -1, 30'000}, now) == 0);
  // 12 s: the first two batches (24 s and 15 s old) go, the third (5 s) stays.
  CHECK(log.enforce_retention({-1, -1, 12'000}, now) == 3);
  CHECK(log.start_offset() == offset{3});
  CHECK(offsets_of(read_ok(log, offset{3}).records) == range(3, 5));
}

TEST_CASE("offset_for_time finds the first record at or after a time", "[memory_log]") {
  memory_log log;
  REQUIRE(log.append(make_batch_at(0, {t0 + 10 * ms, t0 + 20 * ms, t0 + 30 * ms}), timestamp{t0}));
  // A batch from a producer whose clock is behind: its records are older than the first's.
  REQUIRE(log.append(make_batch_at(3, {t0 + 5 * ms, t0 + 6 * ms}), timestamp{t0}));
  // Records inside a batch need not be sorted by time either.
  REQUIRE(log.append(make_batch_at(5, {t0 + 40 * ms, t0 + 60 * ms, t0 + 50 * ms}), timestamp{t0}));
  CHECK(log.offset_for_time(timestamp{0}) == offset{0});
  CHECK(log.offset_for_time(timestamp{t0 + 10 * ms}) == offset{0});
  CHECK(log.offset_for_time(timestamp{t0 + 11 * ms}) == offset{1});
  CHECK(log.offset_for_time(timestamp{t0 + 30 * ms}) == offset{2});
  CHECK(log.offset_for_time(timestamp{t0 + 31 * ms}) == offset{5});
  CHECK(log.offset_for_time(timestamp{t0 + 55 * ms}) == offset{6});
  CHECK(log.offset_for_time(timestamp{t0 + 61 * ms}) == log.end_offset());
  // After retention the answer is never below the start.
  REQUIRE(log.enforce_retention({5, -1, -1}, timestamp{t0}) == 3);
  CHECK(log.offset_for_time(timestamp{0}) == offset{3});
}

TEST_CASE("offset_for_time stays exact after retention deleted the newest-timed batch",
          "[memory_log]") {
  // Found by the opfuzz test below: the lookup keeps a running maximum of record times, which
  // still counts a deleted batch's times.
  memory_log log;
  REQUIRE(log.append(make_batch_at(0, {t0 + 100 * ms}), timestamp{t0}));
  REQUIRE(log.append(make_batch_at(1, {t0 + 50 * ms, t0 + 60 * ms}), timestamp{t0}));
  REQUIRE(log.append(make_batch_at(3, {t0 + 70 * ms, t0 + 90 * ms}), timestamp{t0}));
  CHECK(log.offset_for_time(timestamp{t0 + 80 * ms}) == offset{0});
  REQUIRE(log.enforce_retention({4, -1, -1}, timestamp{t0}) == 1);
  CHECK(log.offset_for_time(timestamp{t0 + 80 * ms}) == offset{4});
  CHECK(log.offset_for_time(timestamp{t0 + 55 * ms}) == offset{2});
  CHECK(log.offset_for_time(timestamp{t0 + 95 * ms}) == log.end_offset());
}

// -- opfuzz -----------------------------------------------------------------------------------

namespace {

/// The model: a vector of records and the batch boundaries retention works on.
struct model {
  struct batch {
    int64_t base;
    int32_t count;
    int64_t bytes;
    int64_t max_time;
  };
  std::vector<record> records;  // retained, in offset order
  std::vector<batch> batches;
  int64_t start = 0;
  int64_t end = 0;

  int64_t bytes() const {
    int64_t n = 0;
    for (auto& b : batches) n += b.bytes;
    return n;
  }

  void append(const record_batch_ptr& b, const std::vector<record>& rs) {
    batches.push_back({end, static_cast<int32_t>(rs.size()), b->size(),
                       std::max_element(rs.begin(), rs.end(), [](auto& x, auto& y) {
                         return x.time < y.time;
                       })->time});
    for (auto& r : rs) records.push_back({offset{end + (r.off.value)}, r.seq, r.time});
    end += static_cast<int64_t>(rs.size());
  }

  int64_t retain(const retention_policy& p, int64_t now) {
    int64_t deleted = 0;
    while (!batches.empty()) {
      auto& f = batches.front();
      bool over = (p.max_events >= 0 && static_cast<int64_t>(records.size()) > p.max_events) ||
                  (p.max_bytes >= 0 && bytes() > p.max_bytes) ||
                  (p.max_age_ms >= 0 && now - f.max_time > p.max_age_ms * ms);
      if (!over) break;
      records.erase(records.begin(), records.begin() + f.count);
      deleted += f.count;
      start = f.base + f.count;
      batches.erase(batches.begin());
    }
    return deleted;
  }

  int64_t offset_for_time(int64_t t) const {
    for (auto& r : records)
      if (r.time >= t) return r.off.value;
    return end;
  }
};

void run_opfuzz(uint64_t seed, int ops) {
  std::mt19937_64 rng{seed};
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>{lo, hi}(rng);
  };
  memory_log log;
  model m;
  int64_t clock = t0;
  int64_t next_seq = 0;
  std::ostringstream trail;  // the last operations, printed when a check fails
  for (int op = 0; op < ops; ++op) {
    auto kind = uniform(0, 99);
    std::ostringstream what;
    if (kind < 40) {
      // append 1..8 records; clocks jitter, so times are not monotonic
      auto n = uniform(1, 8);
      std::vector<int64_t> times;
      std::vector<record> rs;
      for (int64_t i = 0; i < n; ++i) {
        clock += uniform(0, 3) * ms;
        times.push_back(clock + uniform(-2, 2) * ms);
        rs.push_back({offset{i}, next_seq + i, times.back()});
      }
      auto b = make_batch_at(next_seq, times);
      next_seq += n;
      what << "append " << n;
      auto info = log.append(b, timestamp{clock});
      INFO(trail.str() << what.str());
      REQUIRE(info);
      CHECK(info->base == offset{m.end});
      CHECK(info->count == n);
      m.append(b, rs);
    } else if (kind < 85) {
      auto from = uniform(m.start - 2, m.end + 2);
      auto max_events = static_cast<int32_t>(uniform(0, 12));
      auto max_bytes = uniform(0, 3) == 0 ? uniform(1, 2000) : int64_t{1} << 40;
      what << "read from=" << from << " max_events=" << max_events << " max_bytes=" << max_bytes;
      INFO(trail.str() << what.str());
      std::vector<batch_slice> slices;
      auto next = log.read(offset{from}, max_events, max_bytes, slices);
      if (from < m.start) {
        REQUIRE_FALSE(next);
        CHECK(is(next.error(), errc::offset_out_of_range));
        CHECK(slices.empty());
      } else {
        REQUIRE(next);
        auto got = decode(slices);
        auto avail = std::max<int64_t>(0, m.end - from);
        if (avail == 0 || max_events == 0) {
          CHECK(got.empty());
          CHECK(*next == offset{from});
        } else {
          // A prefix of the model's records from `from`, within the limits, never empty.
          REQUIRE_FALSE(got.empty());
          CHECK(static_cast<int64_t>(got.size()) <= max_events);
          auto first = static_cast<size_t>(from - m.start);
          for (size_t i = 0; i < got.size(); ++i) {
            auto& want = m.records[first + i];
            REQUIRE(got[i].off == want.off);
            CHECK(got[i].seq == want.seq);
            CHECK(got[i].time == want.time);
          }
          CHECK(*next == got.back().off + 1);
          int64_t before_last = 0;
          for (size_t i = 0; i + 1 < slices.size(); ++i) before_last += slice_bytes(slices[i]);
          CHECK(before_last < max_bytes);
          if (max_bytes >= m.bytes())
            CHECK(static_cast<int64_t>(got.size()) == std::min<int64_t>(max_events, avail));
        }
      }
    } else if (kind < 95) {
      auto t = clock + uniform(-40, 5) * ms;
      what << "offset_for_time " << (t - t0) / ms << "ms";
      INFO(trail.str() << what.str());
      CHECK(log.offset_for_time(timestamp{t}) == offset{m.offset_for_time(t)});
    } else {
      auto events = static_cast<int64_t>(m.records.size());
      retention_policy p;
      p.max_events = uniform(0, 2) == 0 ? uniform(0, events + 3) : -1;
      p.max_bytes = uniform(0, 2) == 0 ? uniform(0, m.bytes() + 100) : -1;
      p.max_age_ms = uniform(0, 2) == 0 ? uniform(0, 40) : -1;
      auto now = clock + uniform(0, 10) * ms;
      what << "retain events=" << p.max_events << " bytes=" << p.max_bytes
           << " age_ms=" << p.max_age_ms;
      INFO(trail.str() << what.str());
      auto deleted = log.enforce_retention(p, timestamp{now});
      CHECK(deleted == m.retain(p, now));
    }
    // The log's bookkeeping matches the model after every operation.
    {
      INFO(trail.str() << what.str());
      auto st = log.stats();
      REQUIRE(st.start == offset{m.start});
      REQUIRE(st.end == offset{m.end});
      REQUIRE(st.events == static_cast<int64_t>(m.records.size()));
      REQUIRE(st.bytes == m.bytes());
      REQUIRE(st.batches == static_cast<int64_t>(m.batches.size()));
    }
    trail << "#" << op << " " << what.str() << "\n";
    if (trail.tellp() > 4000) trail.str(trail.str().substr(trail.str().size() - 2000));
  }
  // Everything retained reads back in one pass.
  auto all = read_ok(log, log.start_offset());
  CHECK(all.records.size() == m.records.size());
}

}  // namespace

TEST_CASE("memory_log matches a vector model over random operation sequences",
          "[memory_log][opfuzz]") {
  // Brief in every ctest run; `make test-long` (HERALD_TEST_LONG=1) runs longer sequences.
  const int ops = std::getenv("HERALD_TEST_LONG") ? 300000 : 10000;
  for (uint64_t seed : {1ull, 2ull, 0xC0FFEEull, 20240601ull}) {
    INFO("seed " << seed);
    run_opfuzz(seed, ops);
  }
}
