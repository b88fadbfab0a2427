// kill -9 of a producing process at random moments, again and again on the same data
// directory: after each kill the directory is reopened in this process, and every event the
// killed process saw acknowledged (durability `always`) must be there, at the offset it was
// acknowledged with, in order, with no offset twice. 10 kills by default, 100 with
// HERALD_TEST_LONG=1 (make test-long).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/herald.hpp"
#include "tests/support/builders.hpp"
#include "tests/support/disk.hpp"

using namespace herald;
using namespace herald::test;

namespace {

struct acked {
  int32_t partition;
  int64_t off;
  int64_t seq;
};

/// Runs the producer until `delay` has passed, kills it with SIGKILL, and returns every line
/// it printed.
std::string run_and_kill(const std::string& dir, int run, std::chrono::milliseconds delay,
                         int& status) {
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  // Everything the child needs is prepared before fork(): between fork and exec only
  // async-signal-safe calls (this process has threads, whose locks the child inherits).
  auto r = std::to_string(run);
  auto pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(fds[1], 1);  // the duplicate does not inherit O_CLOEXEC
    ::execl(HERALD_CRASH_PRODUCER, HERALD_CRASH_PRODUCER, dir.c_str(), "ticks", "3", r.c_str(), "4",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string out;
  char buf[65536];
  auto deadline = std::chrono::steady_clock::now() + delay;
  bool killed = false;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (!killed && left <= 0) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
    pollfd p{fds[0], POLLIN, 0};
    ::poll(&p, 1, killed ? 1000 : static_cast<int>(std::max<int64_t>(left, 0)));
    if (p.revents & (POLLIN | POLLHUP)) {
      auto n = ::read(fds[0], buf, sizeof(buf));
      if (n <= 0) break;  // EOF: the process is gone and the pipe drained
      out.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fds[0]);
  ::waitpid(pid, &status, 0);
  return out;
}

std::vector<acked> parse(const std::string& out) {
  std::vector<acked> acks;
  std::istringstream in{out};
  std::string line;
  while (std::getline(in, line)) {
    // The last line may be cut by the kill: only complete lines count (printf + fflush
    // writes a line at once, but be strict).
    if (in.eof()) break;
    std::istringstream l{line};
    std::string tag;
    acked a{};
    if (l >> tag >> a.partition >> a.off >> a.seq && tag == "ack") acks.push_back(a);
  }
  return acks;
}

}  // namespace

TEST_CASE("every event acknowledged before a kill -9 is there after restart, in order",
          "[crash][fault]") {
  int iterations = std::getenv("HERALD_TEST_LONG") ? 100 : 10;
  temp_dir dir{"herald-crash"};
  // Random kill moments, reproducible: HERALD_TEST_SEED=<seed printed on failure>.
  auto seed = std::getenv("HERALD_TEST_SEED")
                  ? std::strtoull(std::getenv("HERALD_TEST_SEED"), nullptr, 10)
                  : static_cast<uint64_t>(std::random_device{}());
  INFO("HERALD_TEST_SEED=" << seed);
  std::mt19937_64 rng{seed};
  int runs_with_acks = 0;
  std::map<std::pair<int32_t, int64_t>, int64_t> all_acked;  // (partition, offset) -> seq
  int64_t total_acked = 0;
  for (int run = 1; run <= iterations; ++run) {
    auto delay = std::chrono::milliseconds{100 + rng() % 600};
    int status = 0;
    auto acks = parse(run_and_kill(dir.path(), run, delay, status));
    INFO("run " << run << " killed after " << delay.count() << " ms, " << acks.size() << " acks");
    REQUIRE(WIFSIGNALED(status));
    REQUIRE(WTERMSIG(status) == SIGKILL);
    for (auto& a : acks) {
      // The same offset is never acknowledged twice, across all runs.
      auto [it, fresh] = all_acked.emplace(std::make_pair(a.partition, a.off), a.seq);
      REQUIRE(fresh);
    }
    total_acked += static_cast<int64_t>(acks.size());
    if (!acks.empty()) ++runs_with_acks;

    auto cfg = quiet_config();
    cfg.data_dir = dir.path();
    runtime rt{cfg};
    topic_config tc;
    tc.partitions = 3;
    tc.durability = durability_policy::always();
    auto md = rt.create_topic("ticks", tc);
    REQUIRE(md);
    for (int32_t p = 0; p < 3; ++p) {
      std::map<int64_t, int64_t> stored;       // offset -> seq
      std::map<int64_t, int64_t> where;        // seq -> offset: each event is stored once
      std::map<int64_t, int64_t> last_seq_of;  // (run, thread) -> last seq seen
      int64_t prev = -1;
      for (offset from{0};;) {
        auto evs = rt.read("ticks", p, from, 4096);
        REQUIRE(evs);
        if (evs->empty()) break;
        for (auto& e : *evs) {
          REQUIRE(e.offset().value > prev);  // strictly increasing: no offset twice
          prev = e.offset().value;
          auto seq = seq_in(e.payload());
          stored[e.offset().value] = seq;
          INFO("partition " << p << " offset " << e.offset().value << " seq " << seq);
          REQUIRE(seq > 0);
          REQUIRE(where.emplace(seq, e.offset().value).second);
          // Each producing thread publishes in sequence and waits: its events keep order.
          auto& last = last_seq_of[seq / 10'000'000];
          REQUIRE(seq > last);
          last = seq;
        }
        from = offset{prev + 1};
      }
      for (auto& [key, seq] : all_acked) {
        if (key.first != p) continue;
        auto it = stored.find(key.second);
        INFO("partition " << p << " offset " << key.second << " seq " << seq);
        REQUIRE(it != stored.end());
        REQUIRE(it->second == seq);
      }
    }
    REQUIRE_FALSE(rt.shutdown());
  }
  // The kills must have hit a producer at work, not only during its start-up.
  CHECK(total_acked > 0);
  CHECK(runs_with_acks * 2 >= iterations);
}
