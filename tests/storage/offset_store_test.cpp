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
