// offset_store: committed group offsets survive a reopen, the last commit wins, a deleted
// topic's offsets are forgotten, a torn tail is cut, compaction keeps exactly the live
// entries, and a file from a newer Herald is refused untouched.
#include <catch2/catch.hpp>

#include "messages/crc32c.hpp"
#include "messages/record_batch.hpp"
#include "storage/offset_store.hpp"
#include "tests/support/disk.hpp"

using namespace herald;
using namespace herald::test;

namespace {

std::shared_ptr<offset_store> open_store(const std::string& dir) {
  auto s = offset_store::open(dir);
  if (!s) FAIL(describe(s.error()));
  return *s;
}

offset committed(const offset_store& s, const std::string& group, const std::string& topic,
                 int32_t p) {
  for (auto& c : s.committed(group))
    if (c.topic == topic && c.partition == partition_id{p}) return c.next;
  return offset{-1};
}

}  // namespace

TEST_CASE("committed offsets survive a reopen and the last commit wins", "[offset_store]") {
  temp_dir dir;
  {
    auto s = open_store(dir.path());
    REQUIRE_FALSE(s->commit("g1", "orders", partition_id{0}, offset{10}));
    REQUIRE_FALSE(s->commit("g1", "orders", partition_id{1}, offset{20}));
    REQUIRE_FALSE(s->commit("g2", "orders", partition_id{0}, offset{5}));
    REQUIRE_FALSE(s->commit("g1", "orders", partition_id{0}, offset{11}));
    REQUIRE_FALSE(s->commit("g1", "payments", partition_id{3}, offset{7}));
  }
  auto s = open_store(dir.path());
  CHECK(committed(*s, "g1", "orders", 0) == offset{11});
  CHECK(committed(*s, "g1", "orders", 1) == offset{20});
  CHECK(committed(*s, "g1", "payments", 3) == offset{7});
  CHECK(committed(*s, "g2", "orders", 0) == offset{5});
  CHECK(s->committed("g1").size() == 3);
  CHECK(s->committed("nobody").empty());
}

TEST_CASE("a deleted topic's offsets are forgotten, also after a reopen", "[offset_store]") {
  temp_dir dir;
  {
    auto s = open_store(dir.path());
    REQUIRE_FALSE(s->commit("g", "a", partition_id{0}, offset{1}));
    REQUIRE_FALSE(s->commit("g", "b", partition_id{0}, offset{2}));
    REQUIRE_FALSE(s->forget_topic("a"));
    CHECK(committed(*s, "g", "a", 0) == offset{-1});
  }
  auto s = open_store(dir.path());
  CHECK(committed(*s, "g", "a", 0) == offset{-1});
  CHECK(committed(*s, "g", "b", 0) == offset{2});
}

TEST_CASE("a torn or corrupt tail is cut and the commits before it stay", "[offset_store]") {
  temp_dir dir;
  std::string path;
  int64_t good_size = 0;
  {
    auto s = open_store(dir.path());
    path = s->path();
    REQUIRE_FALSE(s->commit("g", "t", partition_id{0}, offset{100}));
    good_size = s->file_bytes();
    REQUIRE_FALSE(s->commit("g", "t", partition_id{0}, offset{200}));
  }
  auto want = offset{100};
  SECTION("torn") {
    truncate_file(path, file_size(path) - 3);
  }
  SECTION("bit flip") {
    flip_bit(path, file_size(path) - 2, 4);
  }
  SECTION("garbage") {
    auto bytes = read_file(path);
    good_size = static_cast<int64_t>(bytes.size());
    want = offset{200};
    bytes += std::string(50, '\x7f');
    write_file(path, bytes);
  }
  auto s = open_store(dir.path());
  CHECK(committed(*s, "g", "t", 0) == want);
  CHECK(file_size(path) == good_size);
  // Commits go on after the cut.
  REQUIRE_FALSE(s->commit("g", "t", partition_id{0}, offset{300}));
  s.reset();
  CHECK(committed(*open_store(dir.path()), "g", "t", 0) == offset{300});
}

TEST_CASE("compaction rewrites only the live entries", "[offset_store]") {
  temp_dir dir;
  auto s = open_store(dir.path());
  for (int i = 0; i < 1000; ++i) REQUIRE_FALSE(s->commit("g", "t", partition_id{i % 4}, offset{i}));
  auto before = s->file_bytes();
  REQUIRE_FALSE(s->compact());
  CHECK(s->file_bytes() < before / 50);
  CHECK(s->entries() == 4);
  s.reset();
  s = open_store(dir.path());
  for (int p = 0; p < 4; ++p) CHECK(committed(*s, "g", "t", p) == offset{996 + p});
}

TEST_CASE("many commits compact the file by themselves", "[offset_store]") {
  temp_dir dir;
  auto s = open_store(dir.path());
  for (int i = 0; i < 40000; ++i)
    REQUIRE_FALSE(s->commit("group", "topic", partition_id{i % 8}, offset{i}));
  CHECK(s->file_bytes() < (int64_t{1} << 20) + 4096);
  s.reset();
  s = open_store(dir.path());
  CHECK(committed(*s, "group", "topic", 7) == offset{39999});
}

TEST_CASE("an offset store from a newer Herald is refused and left as it is", "[offset_store]") {
  temp_dir dir;
  std::string path;
  {
    auto s = open_store(dir.path());
    path = s->path();
    REQUIRE_FALSE(s->commit("g", "t", partition_id{0}, offset{1}));
  }
  auto bytes = read_file(path);
  bytes[5] = 9;
  format::store<uint32_t>(bytes.data() + 60, crc32c(bytes.data(), 60));
  write_file(path, bytes);
  auto s = offset_store::open(dir.path());
  REQUIRE_FALSE(s);
  CHECK_THAT(describe(s.error()), Catch::Contains("newer") && Catch::Contains("upgrade"));
  CHECK(read_file(path) == bytes);
}

namespace {

std::vector<event_id> fresh_ids(event_id_generator& gen, int n) {
  std::vector<event_id> out;
  for (int i = 0; i < n; ++i) out.push_back(gen.next());
  return out;
}

}  // namespace

TEST_CASE("processed ids survive a reopen, per group and partition, the last window of them",
          "[offset_store][idempotence]") {
  temp_dir dir;
  event_id_generator gen;
  auto a = fresh_ids(gen, 30), b = fresh_ids(gen, 30), c = fresh_ids(gen, 5);
  {
    auto s = open_store(dir.path());
    REQUIRE_FALSE(s->save_processed("g", "orders", partition_id{0}, a, 50));
    REQUIRE_FALSE(s->save_processed("g", "orders", partition_id{0}, b, 50));
    REQUIRE_FALSE(s->save_processed("g", "orders", partition_id{1}, c, 50));
    REQUIRE_FALSE(s->save_processed("h", "orders", partition_id{0}, c, 2));
    REQUIRE_FALSE(s->commit("g", "orders", partition_id{0}, offset{60}));
    // In memory already: the last 50 of a + b.
    std::vector<event_id> want(a.begin() + 10, a.end());
    want.insert(want.end(), b.begin(), b.end());
    CHECK(s->processed("g", "orders", partition_id{0}) == want);
  }
  auto s = open_store(dir.path());
  std::vector<event_id> want(a.begin() + 10, a.end());
  want.insert(want.end(), b.begin(), b.end());
  CHECK(s->processed("g", "orders", partition_id{0}) == want);
  CHECK(s->processed("g", "orders", partition_id{1}) == c);
  CHECK(s->processed("h", "orders", partition_id{0}) ==
        std::vector<event_id>(c.begin() + 3, c.end()));
  CHECK(s->processed("g", "payments", partition_id{0}).empty());
  CHECK(committed(*s, "g", "orders", 0) == offset{60});
}

TEST_CASE("processed ids are forgotten with their topic and kept by compaction",
          "[offset_store][idempotence]") {
  temp_dir dir;
  event_id_generator gen;
  auto keep = fresh_ids(gen, 20);
  {
    auto s = open_store(dir.path());
    for (int i = 0; i < 50; ++i)
      REQUIRE_FALSE(s->save_processed("g", "orders", partition_id{0}, fresh_ids(gen, 20), 20));
    REQUIRE_FALSE(s->save_processed("g", "orders", partition_id{0}, keep, 20));
    REQUIRE_FALSE(s->save_processed("g", "gone", partition_id{0}, fresh_ids(gen, 5), 20));
    REQUIRE_FALSE(s->forget_topic("gone"));
    auto before = s->file_bytes();
    REQUIRE_FALSE(s->compact());
    // What is left: the header, one record of 20 ids (28 + 1 + 6 + 320 bytes).
    CHECK(s->file_bytes() == 64 + 28 + 1 + 6 + 20 * 16);
    CHECK(s->file_bytes() < before);
  }
  auto s = open_store(dir.path());
  CHECK(s->processed("g", "orders", partition_id{0}) == keep);
  CHECK(s->processed("g", "gone", partition_id{0}).empty());
}

TEST_CASE("a torn processed-ids record is cut; the records before it stay",
          "[offset_store][idempotence]") {
  temp_dir dir;
  event_id_generator gen;
  auto first = fresh_ids(gen, 10), second = fresh_ids(gen, 10);
  std::string path;
  int64_t after_first = 0;
  {
    auto s = open_store(dir.path());
    path = s->path();
    REQUIRE_FALSE(s->save_processed("g", "t", partition_id{0}, first, 100));
    after_first = s->file_bytes();
    REQUIRE_FALSE(s->save_processed("g", "t", partition_id{0}, second, 100));
  }
  truncate_file(path, file_size(path) - 7);
  auto s = open_store(dir.path());
  CHECK(s->processed("g", "t", partition_id{0}) == first);
  CHECK(file_size(path) == after_first);
}

TEST_CASE("a record of a type this Herald does not know is refused, not cut", "[offset_store]") {
  temp_dir dir;
  std::string path;
  {
    auto s = open_store(dir.path());
    path = s->path();
    REQUIRE_FALSE(s->commit("g", "t", partition_id{0}, offset{1}));
    REQUIRE_FALSE(s->commit("g", "t", partition_id{0}, offset{2}));
  }
  auto bytes = read_file(path);
  auto second = static_cast<size_t>(64 + 4 + format::load<uint32_t>(bytes.data() + 64));
  bytes[second + 8] = 9;  // the type of the second record, with its CRC made to match
  auto len = format::load<uint32_t>(bytes.data() + second);
  format::store<uint32_t>(bytes.data() + second + 4, crc32c(bytes.data() + second + 8, len - 4));
  write_file(path, bytes);
  auto s = offset_store::open(dir.path());
  REQUIRE_FALSE(s);
  CHECK_THAT(describe(s.error()), Catch::Contains(path) && Catch::Contains("record type 9") &&
                                      Catch::Contains("upgrade Herald"));
  CHECK(read_file(path) == bytes);
}
