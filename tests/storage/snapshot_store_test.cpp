// Snapshot stores: the byte format, keeping K, queries of the past, and unreadable files.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <memory>

#include "messages/errors.hpp"
#include "storage/snapshot_store.hpp"
#include "tests/support/disk.hpp"

using namespace herald;

namespace {

entity_snapshot snap(const std::string& id, int64_t version) {
  entity_snapshot s;
  s.id = id;
  s.version = version;
  s.partition = partition_id{3};
  s.next = offset{100 + version};
  s.last_offset = offset{99 + version};
  s.last_time = timestamp{1000 * version};
  s.taken = timestamp{123456789};
  s.state_version = 7;
  s.state = "state of " + id + " at " + std::to_string(version);
  return s;
}

}  // namespace

TEST_CASE("a snapshot survives encoding byte for byte, and damage is detected") {
  auto s = snap("ACC-1", 42);
  auto bytes = encode_snapshot(s);
  CHECK(bytes.size() == snapshot_format::fixed_size + 5 + 4 + s.state.size() + 4);
  CHECK(bytes.substr(0, 4) == "HSNP");
  auto back = decode_snapshot(bytes.data(), bytes.size());
  REQUIRE(back);
  CHECK(*back == s);
  for (size_t i : {size_t{5}, size_t{20}, bytes.size() - 10, bytes.size() - 1}) {
    auto bad = bytes;
    bad[i] ^= 0x10;
    CHECK_FALSE(decode_snapshot(bad.data(), bad.size()));
  }
  CHECK_FALSE(decode_snapshot(bytes.data(), bytes.size() - 1));
  auto newer = bytes;
  newer[4] = 9;
  auto err = decode_snapshot(newer.data(), newer.size());
  REQUIRE_FALSE(err);
  CHECK(is(err.error(), errc::invalid_argument));
}

TEST_CASE("snapshot stores keep the newest K and answer queries of the past") {
  test::temp_dir dir{"herald-snapshots"};
  auto store = GENERATE(as<std::string>{}, "memory", "files");
  std::unique_ptr<snapshot_store> st;
  if (store == "memory")
    st = std::make_unique<memory_snapshot_store>();
  else
    st = std::make_unique<file_snapshot_store>(dir.path());
  for (int64_t v : {10, 20, 30, 40}) REQUIRE_FALSE(st->save(snap("A", v), 3));
  REQUIRE_FALSE(st->save(snap("B", 5), 3));
  CHECK(st->versions("A") == std::vector<int64_t>{20, 30, 40});
  auto latest = st->load("A", {});
  REQUIRE(latest);
  REQUIRE(*latest);
  CHECK(**latest == snap("A", 40));
  auto by_version = st->load("A", {.max_version = 35});
  REQUIRE(by_version);
  REQUIRE(*by_version);
  CHECK((*by_version)->version == 30);
  auto by_time = st->load("A", {.max_time = timestamp{25000}});
  REQUIRE(by_time);
  REQUIRE(*by_time);
  CHECK((*by_time)->version == 20);
  auto none = st->load("A", {.max_version = 15});
  REQUIRE(none);
  CHECK_FALSE(*none);
  auto missing = st->load("C", {});
  REQUIRE(missing);
  CHECK_FALSE(*missing);
}

TEST_CASE(
    "a torn snapshot file is skipped for the previous one, and odd ids get their own directory") {
  test::temp_dir dir{"herald-snapshots"};
  file_snapshot_store st{dir.path()};
  std::vector<std::string> ids{
      "a/b", "a%2Fb", "ünï cødé", std::string(300, 'x'), std::string(300, 'x') + "y", ".."};
  for (auto& id : ids) {
    REQUIRE_FALSE(st.save(snap(id, 1), 2));
    REQUIRE_FALSE(st.save(snap(id, 2), 2));
  }
  for (auto& id : ids) {
    auto s = st.load(id, {});
    REQUIRE(s);
    REQUIRE(*s);
    CHECK((*s)->id == id);
  }
  // Tear the newest file of "a/b" in half.
  auto path = st.entity_dir("a/b") + "/00000000000000000002.snap";
  auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size / 2);
  auto s = st.load("a/b", {});
  REQUIRE(s);
  REQUIRE(*s);
  CHECK((*s)->version == 1);
  CHECK(st.skipped() == 1);
}
