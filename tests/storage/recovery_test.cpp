// Recovery of a partition directory: torn and bit-flipped tails are cut back to the last
// valid batch (and kept aside), damaged closed segments are rescanned, and anything Herald
// cannot read safely (a newer version, a foreign file) stops the open without touching a byte.
#include <catch2/catch.hpp>

#include <random>

#include "messages/crc32c.hpp"
#include "storage/segment_log.hpp"
#include "tests/support/disk.hpp"

using namespace herald;
using namespace herald::test;

namespace {

constexpr int per_batch = 3;

/// Writes `batches` batches of 3 events and closes the log; returns the byte position of
/// every batch in the (single) segment file.
std::vector<int64_t> write_log(log_env& env, int batches) {
  std::vector<int64_t> pos;
  auto log = env.open();
  int64_t at = 64;
  for (int i = 0; i < batches; ++i) {
    auto b = make_batch(i * per_batch, per_batch);
    pos.push_back(at);
    at += b->size();
    REQUIRE(log->append(b, timestamp{t0_ns}));
  }
  pos.push_back(at);  // the end
  return pos;
}

std::string segment_file(const log_env& env, int64_t base = 0) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "/%020lld.log", static_cast<long long>(base));
  return env.part() + buf;
}

/// The log holds exactly the records of the first `batches` batches, and appends go on after.
void expect_batches(log_env& env, int batches) {
  auto log = env.open();
  auto rs = read_all(*log);
  REQUIRE(rs.size() == static_cast<size_t>(batches * per_batch));
  for (size_t i = 0; i < rs.size(); ++i) REQUIRE(rs[i].seq == static_cast<int64_t>(i));
  CHECK(log->end_offset() == offset{batches * per_batch});
  auto r = log->append(make_batch(1000, 2), timestamp{t0_ns});
  REQUIRE(r);
  CHECK(r->base == offset{batches * per_batch});
}

}  // namespace

TEST_CASE("a torn last batch is cut back to the last valid batch, at any length", "[recovery]") {
  for (int64_t cut_into : {1, 8, 16, 24, 71, 72, 100, -1}) {
    log_env env;
    auto pos = write_log(env, 10);
    auto last = pos[9];
    auto cut = cut_into < 0 ? pos[10] - 1 : last + cut_into;
    truncate_file(segment_file(env), cut);
    expect_batches(env, 9);
    // The dropped bytes are kept for inspection, never destroyed.
    auto kept = files_containing(env.part(), ".dropped-");
    REQUIRE(kept.size() == 1);
    CHECK(file_size(kept[0]) == cut - last);
  }
}

TEST_CASE("a cut exactly at a batch boundary loses nothing and drops nothing", "[recovery]") {
  log_env env;
  auto pos = write_log(env, 10);
  truncate_file(segment_file(env), pos[7]);
  expect_batches(env, 7);
  CHECK(files_containing(env.part(), ".dropped-").empty());
}

TEST_CASE("a bit flip in the last segment cuts the log at the damaged batch", "[recovery]") {
  log_env probe;
  auto pos = write_log(probe, 8);
  std::mt19937_64 rng{7};
  for (int round = 0; round < 40; ++round) {
    log_env env;
    write_log(env, 8);
    auto batch = static_cast<int>(rng() % 8);
    auto len = pos[batch + 1] - pos[batch];
    auto within = static_cast<int64_t>(rng() % static_cast<uint64_t>(len));
    flip_bit(segment_file(env), pos[batch] + within, static_cast<int>(rng() % 8));
    INFO("batch " << batch << " byte " << within);
    // Bytes 8..15 (append time) are neither checksummed nor checkable: a flip there
    // changes a timestamp and loses nothing (docs/STORAGE.md, Non-guarantees).
    expect_batches(env, within >= 8 && within < 16 ? 8 : batch);
  }
}

TEST_CASE("garbage or zeros after the last batch are cut", "[recovery]") {
  for (bool zeros : {true, false}) {
    log_env env;
    write_log(env, 5);
    auto bytes = read_file(segment_file(env));
    std::mt19937_64 rng{3};
    for (int i = 0; i < 5000; ++i) bytes.push_back(zeros ? '\0' : static_cast<char>(rng()));
    write_file(segment_file(env), bytes);
    expect_batches(env, 5);
  }
}

TEST_CASE("a segment torn while it was being created is recovered", "[recovery]") {
  log_env env;
  write_log(env, 4);
  // The process died after creating the next segment's file but before its header was
  // complete (or on disk).
  write_file(segment_file(env, 12), std::string(30, '\0'));
  {
    auto log = env.open();
    CHECK(log->segment_bases() == std::vector<offset>{offset{0}, offset{12}});
  }
  expect_batches(env, 4);
}

TEST_CASE("a damaged closed segment without a valid index is rescanned and cut there",
          "[recovery]") {
  log_env env;
  env.opts.segment_bytes = 2048;
  env.opts.tail_cache_bytes = 0;
  int64_t n = 0;
  std::vector<offset> bases;
  {
    auto log = env.open();
    for (int i = 0; i < 40; ++i, n += per_batch)
      REQUIRE(log->append(make_batch(n, per_batch), timestamp{t0_ns}));
    bases = log->segment_bases();
  }
  REQUIRE(bases.size() >= 4);
  // Damage the second segment in its last third and make its index stale.
  auto victim = segment_file(env, bases[1].value);
  auto size = file_size(victim);
  flip_bit(victim, size - size / 3, 2);
  std::filesystem::remove(env.part() + "/" + std::filesystem::path(victim).stem().string() +
                          ".index");
  auto log = env.open();
  auto rs = read_all(*log);
  // Everything before the damage and everything in later segments is there, in order.
  CHECK(rs.front().off == offset{0});
  CHECK(rs.back().off == offset{n - 1});
  for (size_t i = 1; i < rs.size(); ++i) CHECK(rs[i].off > rs[i - 1].off);
  auto lost = n - static_cast<int64_t>(rs.size());
  CHECK(lost > 0);
  CHECK(lost < bases[2].value - bases[1].value);
  CHECK(files_containing(env.part(), ".dropped-").size() == 1);
  // Reading from an offset inside the cut range continues with the next segment.
  std::vector<batch_slice> out;
  REQUIRE(log->read(offset{bases[2].value - 1}, 1, 1 << 20, out));
  CHECK(decode(out).front().off == bases[2]);
}

TEST_CASE("bit rot inside a trusted closed segment is reported on read, never returned",
          "[recovery]") {
  log_env env;
  env.opts.segment_bytes = 2048;
  env.opts.tail_cache_bytes = 0;
  std::vector<offset> bases;
  {
    auto log = env.open();
    for (int i = 0; i < 30; ++i)
      REQUIRE(log->append(make_batch(i * per_batch, per_batch), timestamp{t0_ns}));
    bases = log->segment_bases();
  }
  // Its sealed index still matches the file's length: open trusts it without a scan.
  auto victim = segment_file(env, 0);
  flip_bit(victim, 64 + 100, 0);
  auto log = env.open();
  std::vector<batch_slice> out;
  auto r = log->read(offset{0}, 10, 1 << 20, out);
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::storage_failure));
  CHECK_THAT(describe(r.error()), Catch::Contains("CRC32C mismatch"));
  // The rest of the log is served.
  out.clear();
  REQUIRE(log->read(bases[1], 10, 1 << 20, out));
  CHECK(decode(out).front().off == bases[1]);
}

TEST_CASE("a segment from a newer Herald stops the open and is left untouched", "[recovery]") {
  log_env env;
  write_log(env, 3);
  auto path = segment_file(env);
  SECTION("newer file format") {
    auto bytes = read_file(path);
    bytes[5] = 2;  // the header's version, with its CRC made to match: a real newer file
    format::store<uint32_t>(bytes.data() + 60, crc32c(bytes.data(), 60));
    write_file(path, bytes);
  }
  SECTION("newer batch format inside the last segment") {
    auto bytes = read_file(path);
    auto* b = bytes.data() + 64;
    b[24] = 2;  // the first batch's version, CRC matching: a real batch of version 2
    auto len = format::load<uint32_t>(b + 16);
    format::store<uint32_t>(b + 20, crc32c(b + 24, len - 24));
    write_file(path, bytes);
  }
  auto before = read_file(path);
  auto log = env.try_open();
  REQUIRE_FALSE(log);
  CHECK(is(log.error(), errc::storage_failure));
  CHECK_THAT(describe(log.error()), Catch::Contains("newer") && Catch::Contains("upgrade Herald"));
  CHECK(read_file(path) == before);
  CHECK(files_containing(env.part(), ".dropped-").empty());
}

TEST_CASE("a flipped version byte is damage, not a newer format", "[recovery]") {
  log_env env;
  write_log(env, 3);
  flip_bit(segment_file(env), 5, 1);  // header version 1 -> 3, CRC no longer matches
  {
    auto log = env.open();  // the header is rewritten from the file name
    CHECK(read_all(*log).size() == 3 * per_batch);
  }
  flip_bit(segment_file(env), 64 + 24, 2);  // first batch's version 1 -> 5
  expect_batches(env, 0);
}

TEST_CASE("a file that is not a Herald segment stops the open", "[recovery]") {
  log_env env;
  write_log(env, 2);
  write_file(segment_file(env, 500), std::string(200, 'x'));
  auto log = env.try_open();
  REQUIRE_FALSE(log);
  CHECK_THAT(describe(log.error()),
             Catch::Contains("is not a Herald segment") && Catch::Contains("move it out"));
}

TEST_CASE("leftovers of unfinished work are cleaned up on open", "[recovery]") {
  log_env env;
  write_log(env, 2);
  std::filesystem::create_directories(env.part() + "/compaction.tmp");
  write_file(env.part() + "/compaction.tmp/00000000000000000000.log", "partial");
  write_file(env.part() + "/00000000000000000000.index.tmp", "partial");
  write_file(env.part() + "/00000000000000009999.index", "orphan");
  expect_batches(env, 2);
  CHECK_FALSE(std::filesystem::exists(env.part() + "/compaction.tmp"));
  CHECK_FALSE(std::filesystem::exists(env.part() + "/00000000000000000000.index.tmp"));
  CHECK_FALSE(std::filesystem::exists(env.part() + "/00000000000000009999.index"));
}

TEST_CASE("random damage to the last segment never crashes and keeps a valid prefix",
          "[recovery]") {
  std::mt19937_64 rng{2024};
  for (int round = 0; round < 30; ++round) {
    log_env env;
    env.opts.segment_bytes = 4096;
    int64_t n = 0;
    {
      auto log = env.open();
      for (int i = 0; i < 25; ++i, n += 2) REQUIRE(log->append(make_batch(n, 2), timestamp{t0_ns}));
    }
    auto files = files_with(env.part(), ".log");
    auto last = files.back();
    auto bytes = read_file(last);
    auto kind = rng() % 3;
    if (kind == 0 && bytes.size() > 64) {
      bytes.resize(64 + rng() % (bytes.size() - 64));
    } else if (kind == 1) {
      for (int i = 0; i < 5; ++i)
        bytes[64 + rng() % (bytes.size() - 64)] ^= static_cast<char>(rng());
    } else {
      for (int i = 0; i < 300; ++i) bytes.push_back(static_cast<char>(rng()));
    }
    write_file(last, bytes);
    auto log = env.try_open();
    if (!log) {
      // Only a byte pattern that looks like a newer batch may stop the open.
      CHECK_THAT(describe(log.error()), Catch::Contains("newer"));
      continue;
    }
    auto rs = read_all(**log);
    for (size_t i = 0; i < rs.size(); ++i) REQUIRE(rs[i].seq == static_cast<int64_t>(i));
    CHECK((*log)->end_offset() == offset{static_cast<int64_t>(rs.size())});
  }
}
