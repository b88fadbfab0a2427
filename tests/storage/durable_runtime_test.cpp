// A runtime on a data directory: topics default to the disk log, records and committed group
// offsets survive a restart, each durability policy acknowledges what it promises, and
// deleting a topic deletes its directory.
#include <catch2/catch.hpp>

#include <filesystem>
#include <set>

#include "runtime/herald.hpp"
#include "storage/disk_storage_factory.hpp"
#include "tests/support/builders.hpp"
#include "tests/support/disk.hpp"
#include "tests/support/groups.hpp"
#include "tests/support/wait.hpp"

using namespace herald;
using namespace herald::test;

namespace {

runtime_config disk_config(const temp_dir& dir) {
  auto cfg = quiet_config();
  cfg.data_dir = dir.path();
  return cfg;
}

void publish_orders(runtime& rt, const std::string& topic, int64_t from, int64_t to) {
  auto p = rt.make_producer();
  for (auto i = from; i < to; ++i)
    REQUIRE_FALSE(p.publish_async(order(topic, "k" + std::to_string(i % 13), i)));
  REQUIRE_FALSE(p.flush());
}

std::vector<int64_t> all_seqs(runtime& rt, const std::string& topic, int partitions) {
  std::vector<int64_t> out;
  for (int p = 0; p < partitions; ++p) {
    for (offset from{0};;) {
      auto evs = rt.read(topic, p, from, 1000);
      REQUIRE(evs);
      if (evs->empty()) break;
      for (auto& e : *evs) out.push_back(seq_in(e.payload()));
      from = evs->back().offset() + 1;
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("with a data_dir, topics are on disk and their records survive a restart",
          "[durable][runtime]") {
  temp_dir dir;
  {
    runtime rt{disk_config(dir)};
    auto md = rt.create_topic("orders", {.partitions = 3});
    REQUIRE(md);
    CHECK(md->config.storage == "disk");
    CHECK(md->config.durability == durability_policy::always());
    publish_orders(rt, "orders", 0, 500);
  }
  CHECK(std::filesystem::is_directory(dir / "orders/2"));
  runtime rt{disk_config(dir)};
  REQUIRE(rt.create_topic("orders", {.partitions = 3}));
  auto seqs = all_seqs(rt, "orders", 3);
  REQUIRE(seqs.size() == 500);
  for (int64_t i = 0; i < 500; ++i) CHECK(seqs[i] == i);
  // New events continue after the old ones.
  publish_orders(rt, "orders", 500, 600);
  CHECK(all_seqs(rt, "orders", 3).size() == 600);
}

TEST_CASE("a group resumes where it committed after a restart on the same data_dir",
          "[durable][runtime]") {
  temp_dir dir;
  {
    runtime rt{disk_config(dir)};
    REQUIRE(rt.create_topic("orders", {.partitions = 2}));
    recorder seen;
    auto sub = rt.subscribe("orders", "billing", [&](const event_view& e) { seen.add("m", e); });
    REQUIRE(sub);
    publish_orders(rt, "orders", 0, 200);
    REQUIRE(wait_until([&] { return seen.size() >= 200; }));
    REQUIRE(wait_until([&] {
      auto lag = rt.group_lag("billing");
      return lag && lag->total == 0;
    }));
    REQUIRE_FALSE(rt.shutdown());
  }
  runtime rt{disk_config(dir)};
  REQUIRE(rt.create_topic("orders", {.partitions = 2}));
  publish_orders(rt, "orders", 200, 300);
  recorder seen;
  auto sub = rt.subscribe("orders", "billing", [&](const event_view& e) { seen.add("m", e); });
  REQUIRE(sub);
  REQUIRE(wait_until([&] { return seen.size() >= 100; }));
  // Give a wrong redelivery time to show up, bounded by the group settling.
  REQUIRE(wait_until([&] {
    auto lag = rt.group_lag("billing");
    return lag && lag->total == 0;
  }));
  // Exactly the new events, each once: nothing before the committed offsets came again.
  CHECK(seen.size() == 100);
  std::set<int64_t> seqs;
  for (auto& it : seen.items()) seqs.insert(it.seq);
  CHECK(seqs.size() == 100);
  CHECK(*seqs.begin() == 200);
  CHECK(*seqs.rbegin() == 299);
  // A group that never committed still starts from its start position.
  recorder fresh;
  auto sub2 = rt.subscribe("orders", "audit", [&](const event_view& e) { fresh.add("m", e); });
  REQUIRE(sub2);
  CHECK(wait_until([&] { return fresh.size() >= 300; }));
}

TEST_CASE("each durability policy acknowledges what it promises", "[durable][runtime]") {
  temp_dir dir;
  auto policy = GENERATE(durability_policy::always(), durability_policy::interval(1000),
                         durability_policy::never());
  auto factory = std::make_shared<disk_storage_factory>(dir.path());
  auto cfg = quiet_config();
  cfg.storage = factory;
  runtime rt{cfg};
  topic_config tc;
  tc.partitions = 1;
  tc.durability = policy;
  REQUIRE(rt.create_topic("t", tc));
  auto p = rt.make_producer();
  auto log = factory->find("t", partition_id{0});
  REQUIRE(log);
  for (int i = 0; i < 20; ++i) {
    auto ack = p.publish(order("t", "k", i));
    REQUIRE(ack);
    if (policy.mode == durability_policy::kind::always)
      // The acknowledgement came after an fdatasync that covered the event.
      CHECK(log->synced_offset() > ack->offset);
    else
      CHECK(log->end_offset() > ack->offset);
  }
  switch (policy.mode) {
    case durability_policy::kind::always:
      CHECK(factory->syncs() >= 1);
      break;
    case durability_policy::kind::interval:
      // Acknowledged before any fdatasync; the interval timer syncs them soon after.
      CHECK(wait_until([&] { return log->synced_offset() == log->end_offset(); },
                       std::chrono::seconds{10}));
      CHECK(factory->syncs() >= 1);
      break;
    case durability_policy::kind::never:
      // Nothing asked for an fdatasync: the page cache decides when the bytes reach the disk.
      CHECK(factory->syncs() == 0);
      break;
  }
}

TEST_CASE("deleting a topic deletes its directory and its committed offsets",
          "[durable][runtime]") {
  temp_dir dir;
  runtime rt{disk_config(dir)};
  REQUIRE(rt.create_topic("gone", {.partitions = 2}));
  recorder seen;
  auto sub = rt.subscribe("gone", "g", [&](const event_view& e) { seen.add("m", e); });
  REQUIRE(sub);
  publish_orders(rt, "gone", 0, 10);
  REQUIRE(wait_until([&] { return seen.size() >= 10; }));
  REQUIRE_FALSE(sub->stop());
  REQUIRE(std::filesystem::exists(dir / "gone/1"));
  {
    // The runtime holds the store; a second handle on it is fine for reading the file.
    auto before = offset_store::open(dir / "@groups");
    REQUIRE(before);
    REQUIRE_FALSE((*before)->committed("g").empty());
  }
  REQUIRE_FALSE(rt.delete_topic("gone"));
  CHECK_FALSE(std::filesystem::exists(dir / "gone"));
  auto store = offset_store::open(dir / "@groups");
  REQUIRE(store);
  CHECK((*store)->committed("g").empty());
}

TEST_CASE("disk storage refuses configurations it cannot honour, with a clear error",
          "[durable][runtime]") {
  SECTION("storage disk without a data_dir") {
    runtime rt{quiet_config()};
    topic_config tc;
    tc.storage = "disk";
    auto md = rt.create_topic("t", tc);
    REQUIRE_FALSE(md);
    CHECK_THAT(describe(md.error()), Catch::Contains("data_dir"));
  }
  SECTION("compaction of a memory topic") {
    runtime rt{quiet_config()};
    topic_config tc;
    tc.compaction = true;
    auto md = rt.create_topic("t", tc);
    REQUIRE_FALSE(md);
    CHECK(is(md.error(), errc::invalid_config));
  }
  SECTION("an interval of 0 ms") {
    temp_dir dir;
    runtime rt{disk_config(dir)};
    topic_config tc;
    tc.durability = durability_policy::interval(0);
    auto md = rt.create_topic("t", tc);
    REQUIRE_FALSE(md);
    CHECK(is(md.error(), errc::invalid_config));
  }
  SECTION("a memory topic next to disk ones") {
    temp_dir dir;
    runtime rt{disk_config(dir)};
    topic_config tc;
    tc.storage = "memory";
    REQUIRE(rt.create_topic("m", tc));
    CHECK_FALSE(std::filesystem::exists(dir / "m"));
  }
}

TEST_CASE("an idempotent group applies nothing twice when a restarted runtime redelivers",
          "[durable][runtime][idempotence]") {
  temp_dir dir;
  subscribe_options so;
  so.idempotent = true;
  {
    runtime rt{disk_config(dir)};
    REQUIRE(rt.create_topic("orders", {.partitions = 2}));
    recorder applied;
    auto sub = rt.subscribe(
        "orders", "billing", [&](const event_view& e) { applied.add("m", e); }, so);
    REQUIRE(sub);
    publish_orders(rt, "orders", 0, 200);
    REQUIRE(wait_until([&] { return applied.size() >= 200; }));
    REQUIRE_FALSE(rt.shutdown());
    REQUIRE(applied.size() == 200);
  }
  {
    // The group's ids are on disk beside its offsets. Take the offsets back to 0, as a power
    // loss that lost the latest commits (or an operator resetting the group) would: a new
    // runtime delivers every event again.
    auto store = offset_store::open(dir / "@groups");
    REQUIRE(store);
    size_t saved = 0;
    for (int32_t p = 0; p < 2; ++p) {
      saved += (*store)->processed("billing", "orders", partition_id{p}).size();
      REQUIRE_FALSE((*store)->commit("billing", "orders", partition_id{p}, offset{0}));
    }
    CHECK(saved == 200);
  }
  runtime rt{disk_config(dir)};
  REQUIRE(rt.create_topic("orders", {.partitions = 2}));
  publish_orders(rt, "orders", 200, 250);
  recorder applied;
  auto sub = rt.subscribe(
      "orders", "billing", [&](const event_view& e) { applied.add("m", e); }, so);
  REQUIRE(sub);
  // All 250 were delivered (the lag reaches 0 only past them): the 200 old ones were
  // recognised and skipped, only the 50 new ones applied.
  REQUIRE(wait_until([&] {
    auto lag = rt.group_lag("billing");
    return lag && lag->total == 0;
  }));
  CHECK(sub->probe().duplicates.load() == 200);
  CHECK(applied.size() == 50);
  std::set<int64_t> seqs;
  for (auto& it : applied.items()) seqs.insert(it.seq);
  CHECK(seqs.size() == 50);
  CHECK(*seqs.begin() == 200);
  CHECK(*seqs.rbegin() == 249);
}

TEST_CASE("without idempotence the same redelivery applies everything again",
          "[durable][runtime][idempotence]") {
  // The control for the test above: the redelivery really happens.
  temp_dir dir;
  {
    runtime rt{disk_config(dir)};
    REQUIRE(rt.create_topic("orders", {.partitions = 2}));
    recorder applied;
    auto sub = rt.subscribe("orders", "billing", [&](const event_view& e) { applied.add("m", e); });
    REQUIRE(sub);
    publish_orders(rt, "orders", 0, 100);
    REQUIRE(wait_until([&] { return applied.size() >= 100; }));
    REQUIRE_FALSE(rt.shutdown());
  }
  {
    auto store = offset_store::open(dir / "@groups");
    REQUIRE(store);
    CHECK((*store)->processed("billing", "orders", partition_id{0}).empty());
    for (int32_t p = 0; p < 2; ++p)
      REQUIRE_FALSE((*store)->commit("billing", "orders", partition_id{p}, offset{0}));
  }
  runtime rt{disk_config(dir)};
  REQUIRE(rt.create_topic("orders", {.partitions = 2}));
  recorder applied;
  auto sub = rt.subscribe("orders", "billing", [&](const event_view& e) { applied.add("m", e); });
  REQUIRE(sub);
  REQUIRE(wait_until([&] { return applied.size() >= 100; }));
  CHECK(applied.size() == 100);
}

TEST_CASE("an idempotent group's ids on disk stay within its window", "[durable][runtime]") {
  temp_dir dir;
  subscribe_options so;
  so.idempotent = true;
  so.idempotence_window = 40;
  std::vector<std::string> last_ids;
  {
    runtime rt{disk_config(dir)};
    REQUIRE(rt.create_topic("orders", {.partitions = 1}));
    recorder applied;
    auto sub = rt.subscribe(
        "orders", "billing", [&](const event_view& e) { applied.add("m", e); }, so);
    REQUIRE(sub);
    for (int64_t round = 0; round < 10; ++round) {
      publish_orders(rt, "orders", round * 100, round * 100 + 100);
      REQUIRE(wait_until([&] { return applied.size() >= static_cast<size_t>(round * 100 + 100); }));
    }
    REQUIRE_FALSE(rt.shutdown());
    auto items = applied.items();
    for (auto i = items.size() - 40; i < items.size(); ++i) last_ids.push_back(items[i].id);
  }
  auto store = offset_store::open(dir / "@groups");
  REQUIRE(store);
  auto ids = (*store)->processed("billing", "orders", partition_id{0});
  REQUIRE(ids.size() == 40);
  std::vector<std::string> text;
  for (auto& id : ids) text.push_back(id.to_string());
  CHECK(text == last_ids);
}
