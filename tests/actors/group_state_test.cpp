// group_state: the rebalance protocol of one consumer group, driven by hand. The coordinator
// actor only carries out what this state machine returns, so the protocol's guarantees
// (no two owners at once, no commit from a fenced owner, resume from the committed offset)
// are checked here without actors.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "actors/group_state.hpp"
#include "messages/errors.hpp"
#include "tests/support/printing.hpp"

using namespace herald;

namespace {

using kind = group_action::kind;

const std::map<std::string, int32_t> orders4{{"orders", 4}};

topic_partition tp(int32_t p, const std::string& topic = "orders") {
  return {topic, partition_id{p}};
}

std::vector<group_action> of_kind(const std::vector<group_action>& as, kind k) {
  std::vector<group_action> out;
  for (auto& a : as)
    if (a.what == k) out.push_back(a);
  return out;
}

/// Owner of each partition after applying `actions`, as the members would see it.
struct ownership {
  std::map<topic_partition, std::pair<std::string, epoch>> owner;

  void apply(const std::vector<group_action>& actions) {
    for (auto& a : actions) {
      if (a.what == kind::assign) {
        // Revoke-before-assign: nobody else may hold the partition at this point.
        auto it = owner.find(a.tp);
        INFO("assign of " << to_string(a.tp) << " to " << a.member);
        REQUIRE(it == owner.end());
        owner[a.tp] = {a.member, a.assignment};
      }
    }
  }
  void revoked(const topic_partition& p) { owner.erase(p); }
};

void join(group_state& g, const std::string& name, ownership& own,
          start_position start = start_position::earliest()) {
  REQUIRE_FALSE(g.add_member(name, orders4, start));
  own.apply(g.rebalance());
}

}  // namespace

TEST_CASE("group_state revokes a moving partition before assigning it elsewhere", "[group_state]") {
  group_state g{"billing"};
  ownership own;
  join(g, "a", own);
  REQUIRE(own.owner.size() == 4);
  for (auto& [p, o] : own.owner) CHECK(o.first == "a");

  REQUIRE_FALSE(g.add_member("b", orders4, start_position::earliest()));
  auto actions = g.rebalance();
  // Only revokes: b gets nothing while a still holds the partitions.
  CHECK(of_kind(actions, kind::assign).empty());
  auto revokes = of_kind(actions, kind::revoke);
  REQUIRE(revokes.size() == 2);
  for (auto& r : revokes) {
    CHECK(r.member == "a");
    CHECK(r.assignment == own.owner.at(r.tp).second);
  }
  auto d = g.describe();
  int revoking = 0;
  for (auto& pa : d.partitions) {
    CHECK(pa.member == "a");
    revoking += pa.revoking ? 1 : 0;
  }
  CHECK(revoking == 2);
  // A second rebalance while revoking does not revoke again or assign.
  CHECK(g.rebalance().empty());

  // a commits, finishes the revoke, and only then b gets the partition, from where a stopped.
  auto& r0 = revokes[0];
  REQUIRE(g.commit(r0.tp, r0.assignment, offset{40}));
  own.revoked(r0.tp);
  auto next = g.revoked(r0.tp, r0.assignment, offset{42});
  REQUIRE(next.size() == 1);
  CHECK(next[0].what == kind::assign);
  CHECK(next[0].member == "b");
  CHECK(next[0].tp == r0.tp);
  CHECK(next[0].from == offset{42});
  CHECK(next[0].assignment > r0.assignment);
  own.apply(next);
  // The old owner's late commit is fenced now.
  CHECK_FALSE(g.commit(r0.tp, r0.assignment, offset{50}));
  CHECK(g.committed(r0.tp) == offset{42});
  // A stale or repeated revoked() is ignored.
  CHECK(g.revoked(r0.tp, r0.assignment, offset{60}).empty());

  // A revoke the member answers without having handled anything (next = -1) keeps the commit.
  auto& r1 = revokes[1];
  REQUIRE(g.commit(r1.tp, r1.assignment, offset{7}));
  own.revoked(r1.tp);
  auto next1 = g.revoked(r1.tp, r1.assignment, offset{-1});
  REQUIRE(next1.size() == 1);
  CHECK(next1[0].member == "b");
  CHECK(next1[0].from == offset{7});
  own.apply(next1);

  CHECK(g.owned_by("a").size() == 2);
  CHECK(g.owned_by("b").size() == 2);
}

TEST_CASE("group_state hands a dead member's partitions on at once from the committed offset",
          "[group_state]") {
  group_state g{"billing"};
  ownership own;
  join(g, "a", own, start_position::latest());
  REQUIRE_FALSE(g.add_member("b", orders4, start_position::at(offset{3})));
  for (auto& r : g.rebalance()) {
    REQUIRE(r.what == kind::revoke);
    own.revoked(r.tp);
    own.apply(g.revoked(r.tp, r.assignment, offset{-1}));
  }
  auto a_parts = g.owned_by("a");
  REQUIRE(a_parts.size() == 2);
  // a committed one of its partitions, not the other.
  auto committed_tp = a_parts[0];
  auto fresh_tp = a_parts[1];
  REQUIRE(g.commit(committed_tp, own.owner.at(committed_tp).second, offset{17}));
  auto old_epoch = own.owner.at(committed_tp).second;

  // a dies: no revoke (nobody could answer it), its partitions go to b right away.
  g.remove_member("a");
  CHECK(g.owned_by("a").empty());
  auto actions = g.rebalance();
  CHECK(of_kind(actions, kind::revoke).empty());
  auto assigns = of_kind(actions, kind::assign);
  REQUIRE(assigns.size() == 2);
  std::map<topic_partition, group_action> by_tp;
  for (auto& a : assigns) {
    CHECK(a.member == "b");
    by_tp.emplace(a.tp, a);
  }
  REQUIRE(by_tp.count(committed_tp));
  REQUIRE(by_tp.count(fresh_tp));
  CHECK(by_tp.at(committed_tp).from == offset{17});
  CHECK(by_tp.at(committed_tp).assignment > old_epoch);
  // Nothing committed: b's own start position applies.
  CHECK(by_tp.at(fresh_tp).from == offset{-1});
  CHECK(by_tp.at(fresh_tp).start == start_position::at(offset{3}));
  // The dead member's late commit cannot move the group's position.
  CHECK_FALSE(g.commit(committed_tp, old_epoch, offset{99}));
  CHECK(g.committed(committed_tp) == offset{17});
  CHECK(g.owned_by("b").size() == 4);
}

TEST_CASE("group_state rejects a commit carrying a stale epoch", "[group_state]") {
  group_state g{"billing"};
  ownership own;
  join(g, "a", own);
  auto p = tp(2);
  auto current = own.owner.at(p).second;
  CHECK(g.commit(p, current, offset{10}));
  CHECK(g.committed(p) == offset{10});
  CHECK_FALSE(g.commit(p, epoch{current.value - 1}, offset{20}));
  CHECK_FALSE(g.commit(p, epoch{current.value + 1}, offset{20}));
  CHECK_FALSE(g.commit(tp(9), current, offset{20}));  // not a partition of the group
  CHECK(g.committed(p) == offset{10});
  // After the partition moved to a new owner, the previous epoch is stale too.
  g.remove_member("a");
  CHECK_FALSE(g.commit(p, current, offset{30}));
  REQUIRE_FALSE(g.add_member("b", orders4, start_position::earliest()));
  auto assigns = g.rebalance();
  REQUIRE(assigns.size() == 4);
  CHECK_FALSE(g.commit(p, current, offset{30}));
  CHECK(g.committed(p) == offset{10});
  for (auto& a : assigns)
    if (a.tp == p) {
      CHECK(a.from == offset{10});
      CHECK(g.commit(p, a.assignment, offset{31}));
    }
  CHECK(g.committed(p) == offset{31});
}

TEST_CASE("group_state refuses a second member with the same name", "[group_state]") {
  group_state g{"billing"};
  REQUIRE_FALSE(g.add_member("a", orders4, start_position::earliest()));
  auto before = g.rebalance();
  auto err = g.add_member("a", orders4, start_position::latest());
  REQUIRE(err);
  CHECK(is(err, errc::member_exists));
  CHECK(describe(err).find("'a'") != std::string::npos);
  CHECK(describe(err).find("billing") != std::string::npos);
  // The first member is untouched.
  CHECK(g.member_count() == 1);
  CHECK(g.owned_by("a").size() == 4);
  CHECK(g.rebalance().empty());
  CHECK(is(g.add_member("", orders4, start_position::earliest()), errc::invalid_argument));
}

TEST_CASE("group_state epochs never repeat across reassignments", "[group_state]") {
  group_state g{"billing", 1000};
  ownership own;
  join(g, "a", own);
  std::set<uint64_t> seen;
  for (auto& [p, o] : own.owner) {
    CHECK(o.second.value >= 1000);
    CHECK(seen.insert(o.second.value).second);
  }
  for (int round = 0; round < 5; ++round) {
    auto name = "x" + std::to_string(round);
    REQUIRE_FALSE(g.add_member(name, orders4, start_position::earliest()));
    for (auto& r : g.rebalance()) {
      if (r.what != kind::revoke) continue;
      for (auto& a : g.revoked(r.tp, r.assignment, offset{-1}))
        CHECK(seen.insert(a.assignment.value).second);
    }
    g.remove_member(name);
    for (auto& a : g.rebalance()) CHECK(seen.insert(a.assignment.value).second);
  }
}
