// herald-bench: runs the workloads of ../shared/WORKLOADS.md and prints one JSON line each.
//
//   herald-bench [--workloads=W1,W2,W5] [--n=1000000] [--threads=0]
//   herald-bench --single=W1 [--baseline=off]   (one workload in this process; for profiling)
//
// Each workload runs in a child process of its own (a fresh heap, so peak_rss_mb is that
// workload's), which measures the raw CAF baseline right after the workload, in the same
// process and the same run. Progress goes to standard error, results to standard output.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/workloads.hpp"

namespace {

std::string arg_value(int argc, char** argv, const char* name, std::string fallback) {
  std::string prefix = std::string{"--"} + name + "=";
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0) return argv[i] + prefix.size();
  return fallback;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss{s};
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string self_path() {
  char buf[4096];
  auto n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "herald-bench";
  buf[n] = '\0';
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace herald::bench;
  auto n = std::stoull(arg_value(argc, argv, "n", "1000000"));
  auto threads = std::stoul(arg_value(argc, argv, "threads", "0"));
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  auto single = arg_value(argc, argv, "single", "");
  try {
    if (!single.empty()) {
      auto r = run_workload(single, n, threads);
      if (arg_value(argc, argv, "baseline", "on") != "off") r.baseline_eps = run_baseline(n, threads);
      std::printf("%s\n", r.to_json().c_str());
      return r.lost == 0 ? 0 : 3;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "herald-bench: %s: %s\n", single.c_str(), e.what());
    return 2;
  }
  auto selection = split(arg_value(argc, argv, "workloads", "W1,W2,W5"));
  int rc = 0;
  for (auto& w : selection) {
    std::fprintf(stderr, "herald-bench: running %s with n=%llu ...\n", w.c_str(),
                 static_cast<unsigned long long>(n));
    auto cmd = self_path() + " --single=" + w + " --n=" + std::to_string(n) +
               " --threads=" + std::to_string(threads);
    FILE* child = popen(cmd.c_str(), "r");
    if (!child) {
      std::perror("popen");
      return 2;
    }
    char line[4096];
    while (std::fgets(line, sizeof(line), child)) {
      std::fputs(line, stdout);
      std::fflush(stdout);
    }
    int status = pclose(child);
    if (status != 0) {
      std::fprintf(stderr, "herald-bench: %s failed (status %d)\n", w.c_str(), status);
      rc = 1;
    }
  }
  return rc;
}
