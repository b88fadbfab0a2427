// assign_partitions is a pure function: the rebalance rules (balance, stickiness,
// determinism, per-topic eligibility) are checked here without actors.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "actors/assignor.hpp"

using namespace herald;

namespace {

std::vector<member_topics> members_of(const std::vector<std::string>& names,
                                      const std::vector<std::string>& topics) {
  std::vector<member_topics> out;
  for (auto& n : names) out.push_back({n, topics});
  return out;
}

std::vector<std::string> names(int n, const std::string& prefix = "m") {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

/// Partitions of `topic` per member (members with none included when listed in `all`).
std::map<std::string, int> counts(const assignment_map& a, const std::string& topic,
                                  const std::vector<std::string>& all) {
  std::map<std::string, int> out;
  for (auto& n : all) out[n] = 0;
  for (auto& [tp, owner] : a)
    if (tp.topic == topic) ++out[owner];
  return out;
}

/// Every member gets floor(n/m) or ceil(n/m) partitions of `topic`, and every partition is
/// assigned to exactly one member.
void check_balanced(const assignment_map& a, const std::string& topic, int32_t partitions,
                    const std::vector<std::string>& members) {
  INFO("topic " << topic << ", " << partitions << " partitions, " << members.size() << " members");
  for (int32_t p = 0; p < partitions; ++p) {
    auto it = a.find({topic, partition_id{p}});
    REQUIRE(it != a.end());
    CHECK(std::find(members.begin(), members.end(), it->second) != members.end());
  }
  const int m = static_cast<int>(members.size());
  for (auto& [member, n] : counts(a, topic, members)) {
    INFO("member " << member);
    CHECK(n >= partitions / m);
    CHECK(n <= (partitions + m - 1) / m);
  }
}

int moved(const assignment_map& before, const assignment_map& after) {
  int n = 0;
  for (auto& [tp, owner] : after) {
    auto it = before.find(tp);
    if (it != before.end() && it->second != owner) ++n;
  }
  return n;
}

/// The fewest partitions of one topic that must change owner to go from `before` to any
/// balanced assignment over `members`: members that hold more than their quota must give up
/// the excess, and the quotas are best spent on those holding the most.
int minimum_moves(const assignment_map& before, const std::string& topic, int32_t partitions,
                  const std::vector<std::string>& members) {
  std::vector<int> held;
  int orphaned = 0;  // held by someone who is no longer a member
  for (auto& [tp, owner] : before) {
    if (tp.topic != topic) continue;
    if (std::find(members.begin(), members.end(), owner) == members.end()) ++orphaned;
  }
  for (auto& [member, n] : counts(before, topic, members)) held.push_back(n);
  std::sort(held.rbegin(), held.rend());
  const int m = static_cast<int>(members.size());
  int extra = partitions % m;
  int excess = 0;
  for (int h : held) {
    int quota = partitions / m + (extra-- > 0 ? 1 : 0);
    excess += std::max(0, h - quota);
  }
  return excess + orphaned;
}

}  // namespace

TEST_CASE("assignor gives every member floor or ceil of the partitions", "[assignor]") {
  for (int32_t partitions : {1, 2, 3, 5, 8, 12, 16, 31}) {
    for (int m : {1, 2, 3, 4, 5, 7, 40}) {
      auto ms = names(m);
      auto a = assign_partitions({{"orders", partitions}}, members_of(ms, {"orders"}), {});
      CHECK(a.size() == static_cast<size_t>(partitions));
      check_balanced(a, "orders", partitions, ms);
    }
  }
}

TEST_CASE("assignor moves only the partitions a join or a leave requires", "[assignor]") {
  for (int32_t partitions : {4, 6, 7, 12, 17}) {
    auto ms = names(1);
    assignment_map current =
        assign_partitions({{"orders", partitions}}, members_of(ms, {"orders"}), {});
    // Members join one by one, then leave one by one from the middle.
    for (int m = 2; m <= 6; ++m) {
      auto before = current;
      ms.push_back("m" + std::to_string(m - 1));
      current = assign_partitions({{"orders", partitions}}, members_of(ms, {"orders"}), before);
      INFO(partitions << " partitions, join of member " << m);
      check_balanced(current, "orders", partitions, ms);
      CHECK(moved(before, current) == minimum_moves(before, "orders", partitions, ms));
      // A joiner takes only what it needs: floor(n/m) partitions.
      CHECK(counts(current, "orders", ms)[ms.back()] == partitions / m);
    }
    while (ms.size() > 1) {
      auto before = current;
      auto gone = ms[ms.size() / 2];
      ms.erase(ms.begin() + static_cast<std::ptrdiff_t>(ms.size() / 2));
      current = assign_partitions({{"orders", partitions}}, members_of(ms, {"orders"}), before);
      INFO(partitions << " partitions, leave of " << gone);
      check_balanced(current, "orders", partitions, ms);
      CHECK(moved(before, current) == minimum_moves(before, "orders", partitions, ms));
      // Survivors keep what they had: only the leaver's partitions changed hands.
      for (auto& [tp, owner] : before)
        if (owner != gone) CHECK(current.at(tp) == owner);
    }
  }
}

TEST_CASE("assignor output depends only on its input, not on member order", "[assignor]") {
  std::map<std::string, int32_t> topics{{"orders", 13}, {"payments", 5}, {"audit", 1}};
  auto ms = members_of({"carol", "alice", "dave", "bob"}, {"orders", "payments", "audit"});
  assignment_map previous{
      {{"orders", partition_id{0}}, "dave"}, {{"orders", partition_id{1}}, "dave"},
      {{"orders", partition_id{2}}, "dave"}, {{"orders", partition_id{3}}, "dave"},
      {{"orders", partition_id{4}}, "dave"}, {{"payments", partition_id{2}}, "gone"}};
  auto first = assign_partitions(topics, ms, previous);
  CHECK(assign_partitions(topics, ms, previous) == first);
  std::mt19937 rng{7};
  for (int i = 0; i < 20; ++i) {
    std::shuffle(ms.begin(), ms.end(), rng);
    CHECK(assign_partitions(topics, ms, previous) == first);
  }
  // The previous owner keeps what fits its quota.
  CHECK(counts(first, "orders", {"dave"})["dave"] == 4);
  for (int p = 0; p < 4; ++p) CHECK(first.at({"orders", partition_id{p}}) == "dave");
}

TEST_CASE("assignor gives a topic's partitions only to members subscribed to it", "[assignor]") {
  std::map<std::string, int32_t> topics{{"orders", 6}, {"payments", 4}, {"unread", 3}};
  std::vector<member_topics> ms = {
      {"a", {"orders"}},
      {"b", {"orders", "payments"}},
      {"c", {"payments"}},
      {"d", {"payments"}},
  };
  auto a = assign_partitions(topics, ms, {});
  check_balanced(a, "orders", 6, {"a", "b"});
  check_balanced(a, "payments", 4, {"b", "c", "d"});
  // Nobody reads "unread": its partitions are left out instead of given to anyone.
  for (int p = 0; p < 3; ++p) CHECK(a.count({"unread", partition_id{p}}) == 0);
  CHECK(a.size() == 10);
  // A member that drops a topic loses its partitions of that topic only.
  auto before = a;
  ms[1].topics = {"orders"};
  auto after = assign_partitions(topics, ms, before);
  check_balanced(after, "orders", 6, {"a", "b"});
  check_balanced(after, "payments", 4, {"c", "d"});
  for (auto& [tp, owner] : before)
    if (tp.topic == "orders") CHECK(after.at(tp) == owner);
}
