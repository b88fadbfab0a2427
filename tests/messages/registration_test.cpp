// Every type register_types() lists must survive CAF's binary serializer: a type that is
// missing or whose inspect() drops a field breaks only when a message crosses a node, long
// after the change that broke it. The table below must name every registered type, so adding a
// registration without a round-trip case fails here.
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <tuple>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

#include "messages/errors.hpp"
#include "messages/event.hpp"
#include "messages/group.hpp"
#include "messages/partition.hpp"
#include "messages/record_batch.hpp"
#include "messages/registration.hpp"
#include "messages/supervision.hpp"
#include "messages/topic.hpp"

using namespace herald;

namespace {

struct system_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::actor dummy;  // a live actor, so handles inside messages resolve again

  system_fixture() {
    register_types(cfg);
    cfg.set("scheduler.max-threads", 1);
    sys = std::make_unique<caf::actor_system>(cfg);
    // One argument: CAF 0.17 binds a reference to a null tuple when spawning a function
    // without arguments (UBSan reports it).
    dummy = sys->spawn(
        [](int) {
          return caf::behavior{[](int) {
          }};
        },
        0);
  }
  ~system_fixture() { caf::anon_send_exit(dummy, caf::exit_reason::user_shutdown); }
};

// CAF 0.17 trap: `sink(msg)` / `source(msg)` on a caf::message resolve to the
// type_erased_tuple serialize() overload, which drops the error of every element (a corrupt
// batch then arrives as an empty message, no error). inspect() returns it.
std::vector<char> serialize(caf::actor_system& sys, caf::message msg) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  auto err = caf::inspect(sink, msg);
  INFO(sys.render(err));
  REQUIRE_FALSE(err);
  return buf;
}

caf::expected<caf::message> deserialize(caf::actor_system& sys, const std::vector<char>& buf) {
  caf::message out;
  caf::binary_deserializer source{sys, buf};
  if (auto err = caf::inspect(source, out)) return err;
  return out;
}

/// Serializes `x` inside a message, reads it back and returns the copy.
template <class T>
T round_trip(caf::actor_system& sys, const T& x) {
  auto buf = serialize(sys, caf::make_message(x));
  auto out = deserialize(sys, buf);
  INFO((out ? std::string{} : describe(out.error())));
  REQUIRE(out);
  const caf::message& msg = *out;
  REQUIRE(msg.size() == 1);
  REQUIRE(msg.template match_element<T>(0));
  return msg.template get_as<T>(0);
}

// Every field, spelled out: comparing printed text would miss a field left out of inspect(),
// since printing and serializing walk the same inspect(). Values in the tests are never the
// defaults, so a dropped field shows.
auto fields(const topic_config& x) {
  return std::tie(x.partitions, x.retention, x.max_event_bytes, x.storage);
}
auto fields(const create_topic& x) {
  return std::tie(x.name, x.config);
}
auto fields(const delete_topic& x) {
  return std::tie(x.name);
}
auto fields(const get_topic& x) {
  return std::tie(x.name);
}
auto fields(const get_group& x) {
  return std::tie(x.name);
}
auto fields(const append_ack& x) {
  return std::tie(x.topic, x.partition, x.producer, x.seq, x.base, x.count, x.duplicate, x.error);
}
auto fields(const read_records& x) {
  return std::tie(x.from, x.max_events, x.max_bytes);
}
auto fields(const offset_for_time& x) {
  return std::tie(x.time);
}
auto fields(const group_cursor& x) {
  return std::tie(x.group, x.assignment, x.next, x.credit, x.delivered);
}
auto fields(const partition_status& x) {
  return std::tie(x.topic, x.partition, x.start, x.end, x.retained_events, x.retained_bytes,
                  x.appended_events, x.appended_batches);
}
auto fields(const join_group& x) {
  return std::tie(x.member, x.handle, x.start);
}
auto fields(const leave_group& x) {
  return std::tie(x.member);
}
auto fields(const assign_partition& x) {
  return std::tie(x.topic, x.partition, x.assignment, x.partition_actor, x.from, x.start);
}
auto fields(const revoke_partition& x) {
  return std::tie(x.topic, x.partition, x.assignment);
}
auto fields(const revoke_done& x) {
  return std::tie(x.topic, x.partition, x.assignment, x.next);
}
auto fields(const commit_offset& x) {
  return std::tie(x.topic, x.partition, x.assignment, x.next);
}
auto fields(const subscribe_group& x) {
  return std::tie(x.group, x.member, x.assignment, x.from, x.start, x.credit);
}
auto fields(const unsubscribe_group& x) {
  return std::tie(x.group, x.assignment);
}
auto fields(const grant_credit& x) {
  return std::tie(x.group, x.assignment, x.n);
}
auto fields(const partition_assignment& x) {
  return std::tie(x.topic, x.partition, x.member, x.assignment, x.revoking, x.committed);
}
auto fields(const durable_advanced& x) {
  return std::tie(x.durable);
}
auto fields(const stop_child& x) {
  return std::tie(x.name);
}
auto fields(const supervision_node& x) {
  return std::tie(x.name, x.kind, x.strategy, x.mode, x.state, x.actor_id, x.restarts,
                  x.last_failure);
}
auto fields(const partition_restarted& x) {
  return std::tie(x.topic, x.partition);
}
auto fields(const group_description& x) {
  return std::tie(x.group, x.members, x.rebalances);
}

template <class T>
void check_elements(const std::vector<T>& got, const std::vector<T>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(fields(got[i]) == fields(want[i]));
}

template <class T>
T check_fields(caf::actor_system& sys, const T& x) {
  auto copy = round_trip(sys, x);
  CHECK(fields(copy) == fields(x));
  return copy;
}

std::vector<event> sample_events(const std::string& topic, int n) {
  std::vector<event> out;
  for (int i = 0; i < n; ++i) {
    auto b = event::builder{topic, "OrderPlaced"};
    b.key("ORD-" + std::to_string(i))
        .payload(R"({"seq":)" + std::to_string(i) + "}")
        .causation_id("01ARZ3NDEKTSV4RRFFQ69G5FAV")
        .schema_version(2)
        .header("tenant", "acme-" + std::to_string(i));
    if (i % 3 == 2) b.tombstone();
    out.push_back(b.build());
  }
  return out;
}

record_batch_ptr make_batch(const std::vector<event>& evs, uint64_t seq = 9) {
  batch_builder b;
  for (auto& ev : evs) REQUIRE_FALSE(b.add(ev));
  return b.seal(producer_id{77}, seq);
}

std::vector<event> decode(const batch_slice& s) {
  std::vector<event> out;
  batch_cursor cur{s, "orders", partition_id{1}};
  event_view v;
  while (!cur.done()) {
    cur.next(v);
    out.push_back(v.to_event());
  }
  return out;
}

/// Compares what a record carries (offset and partition come from where it is read).
void check_same_events(const std::vector<event>& got, const std::vector<event>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("event " << i);
    CHECK(got[i].id() == want[i].id());
    CHECK(got[i].id_text() == want[i].id_text());
    CHECK(got[i].type() == want[i].type());
    CHECK(got[i].key() == want[i].key());
    CHECK(got[i].payload() == want[i].payload());
    CHECK(got[i].is_tombstone() == want[i].is_tombstone());
    CHECK(got[i].time() == want[i].time());
    CHECK(got[i].correlation_id() == want[i].correlation_id());
    CHECK(got[i].causation_id() == want[i].causation_id());
    CHECK(got[i].schema_version() == want[i].schema_version());
    CHECK(got[i].headers() == want[i].headers());
  }
}

void check_same_slice(const batch_slice& got, const batch_slice& want) {
  CHECK(got.base == want.base);
  CHECK(got.append_time == want.append_time);
  CHECK(got.begin_pos == want.begin_pos);
  CHECK(got.count == want.count);
  REQUIRE(got.batch);
  REQUIRE(got.batch->size() == want.batch->size());
  CHECK(std::equal(got.batch->data() + format::b_length, got.batch->data() + got.batch->size(),
                   want.batch->data() + format::b_length));
  // A copy, not the sender's pointer: the bytes went through the buffer.
  CHECK(got.batch.get() != want.batch.get());
}

topic_metadata sample_metadata(const caf::actor& a) {
  topic_metadata md;
  md.name = "orders";
  md.config.partitions = 2;
  md.config.retention = {100, 2048, 60000};
  md.config.max_event_bytes = 4096;
  md.partitions = {a, a};
  return md;
}

}  // namespace

TEST_CASE("register_types lists every name once", "[registration]") {
  auto& names = registered_type_names();
  REQUIRE_FALSE(names.empty());
  std::set<std::string> unique(names.begin(), names.end());
  CHECK(unique.size() == names.size());
  for (auto& n : names) CHECK(n.rfind("herald.", 0) == 0);
}

TEST_CASE("every registered name resolves in an actor system", "[registration]") {
  system_fixture fx;
  for (auto& name : registered_type_names()) {
    INFO(name);
    CHECK(fx.sys->types().make_value(name) != nullptr);
  }
}

TEST_CASE("every registered type round-trips through the binary serializer", "[registration]") {
  system_fixture fx;
  auto& sys = *fx.sys;
  const auto md = sample_metadata(fx.dummy);
  const auto evs = sample_events("orders", 4);
  const auto batch = make_batch(evs);
  const batch_slice whole_counted{batch, offset{40}, timestamp{1'700'000'000'000'000'000},
                                  format::batch_header_size, batch->record_count()};
  const auto err = make_error(errc::fenced, "stale epoch 4");

  // name -> a check that builds a value with every field set and round-trips it.
  std::map<std::string, std::function<void()>> cases = {
      {"herald.offset",
       [&] {
         CHECK(round_trip(sys, offset{123456789}) == offset{123456789});
       }},
      {"herald.event",
       [&] {
         for (auto& ev : evs) CHECK(round_trip(sys, ev) == ev);
       }},
      {"herald.topic_config",
       [&] {
         check_fields(sys, md.config);
       }},
      {"herald.topic_metadata",
       [&] {
         auto copy = round_trip(sys, md);
         CHECK(copy.name == md.name);
         CHECK(fields(copy.config) == fields(md.config));
         CHECK(copy.partitions == md.partitions);
       }},
      {"herald.topic_metadata_list",
       [&] {
         auto copy = round_trip(sys, std::vector<topic_metadata>{md, md});
         REQUIRE(copy.size() == 2);
         CHECK(copy[1].partitions == md.partitions);
       }},
      {"herald.create_topic",
       [&] {
         check_fields(sys, create_topic{"orders", md.config});
       }},
      {"herald.delete_topic",
       [&] {
         check_fields(sys, delete_topic{"orders"});
       }},
      {"herald.get_topic",
       [&] {
         check_fields(sys, get_topic{"orders"});
       }},
      {"herald.list_topics",
       [&] {
         round_trip(sys, list_topics{});
       }},
      {"herald.get_group",
       [&] {
         check_fields(sys, get_group{"billing"});
       }},
      {"herald.list_groups",
       [&] {
         round_trip(sys, list_groups{});
       }},
      {"herald.append_batch",
       [&] {
         auto copy = round_trip(sys, append_batch{partition_id{3}, batch});
         CHECK(copy.partition == partition_id{3});
         REQUIRE(copy.batch);
         CHECK(copy.batch->producer() == producer_id{77});
         CHECK(copy.batch->producer_seq() == 9);
         check_same_events(decode({copy.batch, offset{0}, timestamp{0}, format::batch_header_size,
                                   copy.batch->record_count()}),
                           evs);
       }},
      {"herald.append_ack",
       [&] {
         append_ack ack{"orders", partition_id{1}, producer_id{77}, 9, offset{40}, 4, true, err};
         auto copy = check_fields(sys, ack);
         CHECK(is(copy.error, errc::fenced));
         CHECK(describe(copy.error) == describe(err));
       }},
      {"herald.read_records",
       [&] {
         check_fields(sys, read_records{offset{7}, 11, 4096});
       }},
      {"herald.read_result",
       [&] {
         read_result r{{whole_counted}, offset{44}, offset{50}};
         auto copy = round_trip(sys, r);
         CHECK(copy.next == offset{44});
         CHECK(copy.end == offset{50});
         REQUIRE(copy.slices.size() == 1);
         check_same_slice(copy.slices[0], whole_counted);
         check_same_events(decode(copy.slices[0]), evs);
       }},
      {"herald.offset_for_time",
       [&] {
         check_fields(sys, offset_for_time{timestamp{1'700'000'000'123'000'000}});
       }},
      {"herald.durable_advanced",
       [&] {
         check_fields(sys, durable_advanced{offset{77}});
       }},
      {"herald.get_partition_status",
       [&] {
         round_trip(sys, get_partition_status{});
       }},
      {"herald.partition_status",
       [&] {
         partition_status ps{"orders",
                             partition_id{1},
                             offset{3},
                             offset{90},
                             87,
                             4096,
                             90,
                             9,
                             {{"billing", epoch{5}, offset{60}, 100, 60}}};
         auto copy = check_fields(sys, ps);
         check_elements(copy.groups, ps.groups);
       }},
      {"herald.join_group",
       [&] {
         join_group j{"m-1", fx.dummy, {md}, start_position::at(timestamp{42})};
         auto copy = check_fields(sys, j);
         CHECK(copy.handle == fx.dummy);
         REQUIRE(copy.topics.size() == 1);
         CHECK(copy.topics[0].name == md.name);
         CHECK(copy.topics[0].partitions == md.partitions);
       }},
      {"herald.leave_group",
       [&] {
         check_fields(sys, leave_group{"m-1"});
       }},
      {"herald.assign_partition",
       [&] {
         assign_partition a{"orders", partition_id{1}, epoch{8},
                            fx.dummy, offset{17},      start_position::at(offset{5})};
         auto copy = check_fields(sys, a);
         CHECK(copy.partition_actor == fx.dummy);
       }},
      {"herald.revoke_partition",
       [&] {
         check_fields(sys, revoke_partition{"orders", partition_id{1}, epoch{8}});
       }},
      {"herald.revoke_done",
       [&] {
         check_fields(sys, revoke_done{"orders", partition_id{1}, epoch{8}, offset{9}});
       }},
      {"herald.commit_offset",
       [&] {
         check_fields(sys, commit_offset{"orders", partition_id{1}, epoch{8}, offset{9}});
       }},
      {"herald.subscribe_group",
       [&] {
         subscribe_group s{"billing", fx.dummy, epoch{8}, offset{-1}, start_position::latest(), 64};
         check_fields(sys, s);
       }},
      {"herald.unsubscribe_group",
       [&] {
         check_fields(sys, unsubscribe_group{"billing", epoch{8}});
       }},
      {"herald.grant_credit",
       [&] {
         check_fields(sys, grant_credit{"billing", epoch{8}, 32});
       }},
      {"herald.delivery",
       [&] {
         // A slice that starts at the second record: position and count must survive.
         batch_cursor cur{*batch, offset{40}, {}, partition_id{}};
         cur.skip();
         batch_slice tail{batch, offset{40}, timestamp{5}, cur.position(), 2};
         delivery d{"orders",   partition_id{1}, epoch{8}, {tail, whole_counted},
                    offset{41}, offset{44},      6};
         auto copy = round_trip(sys, d);
         CHECK(copy.topic == "orders");
         CHECK(copy.partition == partition_id{1});
         CHECK(copy.assignment == epoch{8});
         CHECK(copy.first == offset{41});
         CHECK(copy.next == offset{44});
         CHECK(copy.count == 6);
         REQUIRE(copy.slices.size() == 2);
         check_same_slice(copy.slices[0], tail);
         check_same_events(decode(copy.slices[0]), {evs[1], evs[2]});
         CHECK(copy.slices[0].first_offset() == offset{41});
         check_same_events(decode(copy.slices[1]), evs);
       }},
      {"herald.describe_group",
       [&] {
         round_trip(sys, describe_group{});
       }},
      {"herald.group_description",
       [&] {
         group_description g{"billing",
                             {"m-1", "m-2"},
                             {{"orders", partition_id{0}, "m-1", epoch{3}, true, offset{12}},
                              {"orders", partition_id{1}, "", epoch{0}, false, offset{-1}}},
                             4};
         auto copy = check_fields(sys, g);
         check_elements(copy.partitions, g.partitions);
       }},
      {"herald.supervision_node",
       [&] {
         supervision_node leaf{"partition-0",         "worker", "", "permanent", "running", 42, 3,
                               "runtime_error: boom", {}};
         supervision_node root{"broker", "supervisor", "one_for_one", "permanent", "restarting", 7,
                               1,        "",           {leaf, leaf}};
         auto copy = check_fields(sys, root);
         REQUIRE(copy.children.size() == 2);
         check_elements(copy.children, root.children);
       }},
      {"herald.get_supervision_tree",
       [&] {
         round_trip(sys, get_supervision_tree{});
       }},
      {"herald.stop_child",
       [&] {
         check_fields(sys, stop_child{"partition-3"});
       }},
      {"herald.partition_restarted",
       [&] {
         check_fields(sys, partition_restarted{"orders", partition_id{2}, caf::actor{}});
       }},
  };

  std::set<std::string> covered;
  for (auto& [name, _] : cases) covered.insert(name);
  std::set<std::string> registered(registered_type_names().begin(), registered_type_names().end());
  CHECK(covered == registered);
  for (auto& [name, check] : cases) {
    INFO("type " << name);
    check();
  }
}

TEST_CASE("a batch slice without a batch round-trips as null", "[registration][batch]") {
  system_fixture fx;
  auto copy = round_trip(*fx.sys, append_batch{partition_id{2}, nullptr});
  CHECK(copy.partition == partition_id{2});
  CHECK_FALSE(copy.batch);
}

TEST_CASE("a corrupted serialized batch is rejected with corrupt_batch", "[registration][batch]") {
  system_fixture fx;
  auto evs = sample_events("orders", 3);
  auto batch = make_batch(evs);
  auto buf = serialize(*fx.sys, caf::make_message(append_batch{partition_id{0}, batch}));
  // The batch bytes travel verbatim; find them in the buffer.
  auto first = std::search(buf.begin(), buf.end(), batch->data() + format::b_crc_start,
                           batch->data() + batch->size());
  REQUIRE(first != buf.end());
  const auto batch_begin = first - static_cast<std::ptrdiff_t>(format::b_crc_start);
  REQUIRE(deserialize(*fx.sys, buf));  // intact: accepted

  SECTION("a flipped bit in a record") {
    batch_begin[batch->size() - 3] ^= 0x04;  // inside the last payload
  }
  SECTION("a flipped bit in the CRC-covered header") {
    batch_begin[format::b_record_count] ^= 0x01;
  }
  SECTION("a length field that lies") {
    batch_begin[format::b_length] ^= 0x08;
  }
  auto out = deserialize(*fx.sys, buf);
  REQUIRE_FALSE(out);
  INFO(describe(out.error()));
  CHECK(is(out.error(), errc::corrupt_batch));
}

TEST_CASE("a serialized batch claiming more than the format limit is rejected",
          "[registration][batch]") {
  system_fixture fx;
  auto batch = make_batch(sample_events("orders", 1));
  auto buf = serialize(*fx.sys, caf::make_message(append_batch{partition_id{0}, batch}));
  // The byte count precedes the batch bytes as a big-endian u32.
  auto first = std::search(buf.begin(), buf.end(), batch->data() + format::b_crc_start,
                           batch->data() + batch->size());
  REQUIRE(first != buf.end());
  auto len_pos = first - static_cast<std::ptrdiff_t>(format::b_crc_start) - 4;
  for (int i = 0; i < 4; ++i) len_pos[i] = static_cast<char>(0x7f);
  auto out = deserialize(*fx.sys, buf);
  REQUIRE_FALSE(out);
  CHECK(is(out.error(), errc::corrupt_batch));
}
