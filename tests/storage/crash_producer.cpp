// Helper of crash_test: opens a runtime on a data directory, creates (or reopens) a topic with
// durability `always`, and publishes from several threads with publish(), which waits for the
// acknowledgement. Every acknowledged event is printed to standard output and flushed at
// once, so that whatever kills this process (SIGKILL at a random moment) the parent knows
// exactly which events were acknowledged:
//
//   ack <partition> <offset> <seq>
//
// Usage: herald_crash_producer <data_dir> <topic> <partitions> <run> [threads]
// Sequence numbers are run * 1e9 + thread * 1e7 + n, so runs and threads never collide.
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/herald.hpp"

int main(int argc, char** argv) {
  using namespace herald;
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s <data_dir> <topic> <partitions> <run> [threads]\n", argv[0]);
    return 2;
  }
  std::string dir = argv[1];
  std::string topic = argv[2];
  int partitions = std::atoi(argv[3]);
  int64_t run = std::atoll(argv[4]);
  int threads = argc > 5 ? std::atoi(argv[5]) : 4;

  runtime_config cfg;
  cfg.log_level = "warn";
  cfg.data_dir = dir;
  // Small segments, so that kills also land around rolls.
  cfg.disk.segment_bytes = 64 * 1024;
  runtime rt{cfg};
  topic_config tc;
  tc.partitions = partitions;
  tc.durability = durability_policy::always();
  if (auto md = rt.create_topic(topic, tc); !md) {
    std::fprintf(stderr, "create_topic: %s\n", describe(md.error()).c_str());
    return 3;
  }
  std::mutex out;
  auto worker = [&](int t) {
    auto p = rt.make_producer();
    for (int64_t n = 0;; ++n) {
      auto seq = run * 1'000'000'000 + t * 10'000'000 + n;
      auto ev = event::builder{topic, "Tick"}
                    .key("key-" + std::to_string(t) + "-" + std::to_string(n % 7))
                    .payload(R"({"seq":)" + std::to_string(seq) + "}")
                    .build();
      auto ack = p.publish(ev);
      if (!ack) {
        std::lock_guard<std::mutex> guard{out};
        std::fprintf(stderr, "publish: %s\n", describe(ack.error()).c_str());
        std::fflush(nullptr);
        std::_Exit(4);  // other threads still run: skip static destructors
      }
      std::lock_guard<std::mutex> guard{out};
      std::printf("ack %d %lld %lld\n", ack->partition.value,
                  static_cast<long long>(ack->offset.value), static_cast<long long>(seq));
      std::fflush(stdout);
    }
  };
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) ts.emplace_back(worker, t);
  for (auto& t : ts) t.join();
}
