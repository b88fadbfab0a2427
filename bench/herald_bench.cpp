// herald-bench: runs the workloads of ../shared/WORKLOADS.md and prints one JSON line each.
//
//   herald-bench [--workloads=W1,W2,W3,W5,W6,AGG,ENT,ENT_RECOVERY] [--n=1000000] [--threads=0]
//   herald-bench --workloads=OBS   (W1 with metrics off, then on, then tracing 1% and on)
//   herald-bench --single=W1 [--baseline=off]   (one workload in this process; for profiling)
//
// W3 runs once per durability policy (always, interval, never); "W3:never" selects one. W1
// runs first when it is selected, so that W3 and W6 can report their ratio to it; the disk's
// own rates are measured once, before the first W3, in the directory W3 writes to.
//
// Each workload runs in a child process of its own (a fresh heap, so peak_rss_mb is that
// workload's), which measures the raw CAF baseline right after the workload, in the same
// process and the same run. Progress goes to standard error, results to standard output.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/device.hpp"
#include "bench/entities.hpp"
#include "bench/workloads.hpp"

namespace {

using namespace herald::bench;

std::string arg_value(int argc, char** argv, const char* name, std::string fallback) {
  std::string prefix = std::string{"--"} + name + "=";
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0) return argv[i] + prefix.size();
  return fallback;
}

std::vector<std::string> split(const std::string& s, char sep = ',') {
  std::vector<std::string> out;
  std::stringstream ss{s};
  std::string item;
  while (std::getline(ss, item, sep))
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

/// One child run: a workload and its variant (W3: the durability policy; ENT: snapshots off
/// or on; ENT_RECOVERY: memory or disk; W1: an observability variant, metrics-off, trace-1%,
/// trace-on).
struct job {
  std::string workload;
  std::string durability;
  std::string variant;
  std::string label() const {
    auto suffix = durability.empty() ? variant : durability;
    return suffix.empty() ? workload : workload + ":" + suffix;
  }
};

/// The variants of the workloads that have them; every one runs when none is named.
const std::vector<std::string>& variants(const std::string& workload) {
  static const std::vector<std::string> none;
  static const std::vector<std::string> ent = {"off", "on"};
  static const std::vector<std::string> recovery = {"memory", "disk"};
  if (workload == "W3") return durability_policies();
  if (workload == "ENT") return ent;
  if (workload == "ENT_RECOVERY") return recovery;
  return none;
}

/// "W3" -> one job per policy; "W3:never" -> that one; W1 moved to the front.
std::vector<job> plan(const std::vector<std::string>& selection) {
  auto& known = known_workloads();
  std::vector<job> jobs;
  for (auto& item : selection) {
    if (item == "OBS") {
      // The W1 figures of docs/OBSERVABILITY.md: the cost of metrics and of tracing.
      jobs.push_back({"W1", "", "metrics-off"});
      jobs.push_back({"W1", "", ""});
      jobs.push_back({"W1", "", "trace-1%"});
      jobs.push_back({"W1", "", "trace-on"});
      continue;
    }
    auto parts = split(item, ':');
    if (parts.empty() || parts.size() > 2 ||
        std::find(known.begin(), known.end(), parts[0]) == known.end())
      throw std::invalid_argument("unknown workload '" + item +
                                  "' (known: W1, W2, W3, W3:always, W3:interval, W3:never, W5, "
                                  "W6, AGG, ENT, ENT:off, ENT:on, ENT_RECOVERY, "
                                  "ENT_RECOVERY:memory, ENT_RECOVERY:disk, W1:metrics-off, "
                                  "W1:trace-1%, W1:trace-on, OBS)");
    if (parts[0] == "W1" && parts.size() > 1) {
      auto& ws = w1_variants();
      if (std::find(ws.begin(), ws.end(), parts[1]) == ws.end())
        throw std::invalid_argument("unknown W1 variant '" + parts[1] +
                                    "' (known: metrics-off, trace-1%, trace-on)");
      jobs.push_back({"W1", "", parts[1]});
      continue;
    }
    auto& vs = variants(parts[0]);
    if (vs.empty()) {
      if (parts.size() > 1) throw std::invalid_argument(parts[0] + " has no variants: " + item);
      jobs.push_back({parts[0], ""});
    } else if (parts.size() == 1) {
      for (auto& v : vs) jobs.push_back({parts[0], v});
    } else if (std::find(vs.begin(), vs.end(), parts[1]) != vs.end()) {
      jobs.push_back({parts[0], parts[1]});
    } else {
      throw std::invalid_argument("unknown variant '" + parts[1] + "' of " + parts[0]);
    }
  }
  std::stable_partition(jobs.begin(), jobs.end(), [](const job& j) { return j.workload == "W1"; });
  return jobs;
}

/// The value of "key": in a JSON line, or 0.
double json_number(const std::string& line, const std::string& key) {
  auto tag = "\"" + key + "\":";
  auto pos = line.find(tag);
  return pos == std::string::npos ? 0.0 : std::atof(line.c_str() + pos + tag.size());
}

/// ENT and ENT_RECOVERY: their own fields, then the baseline like every workload.
int run_entities(const std::vector<std::string>& parts, uint64_t n, size_t threads, int argc,
                 char** argv) {
  auto variant = parts.size() > 1 ? parts[1] : variants(parts[0]).front();
  auto r = parts[0] == "ENT" ? run_entity_commands(variant, n, threads)
                             : run_entity_recovery(variant, n, threads);
  double baseline = 0;
  if (arg_value(argc, argv, "baseline", "on") != "off") baseline = run_baseline(n, threads);
  char tail[128];
  std::snprintf(tail, sizeof(tail), R"(,"baseline_eps":%.0f,"ratio_to_baseline":%.3f})", baseline,
                baseline > 0 ? r.rate / baseline : 0.0);
  std::printf("%s%s\n", r.json.c_str(), tail);
  if (!r.ok) std::fprintf(stderr, "herald-bench: %s FAILED its checks\n", parts[0].c_str());
  return r.ok ? 0 : 3;
}

int run_single(int argc, char** argv, uint64_t n, size_t threads) {
  auto parts = split(arg_value(argc, argv, "single", ""), ':');
  if (parts.empty()) throw std::invalid_argument("--single needs a workload");
  if (parts[0] == "ENT" || parts[0] == "ENT_RECOVERY")
    return run_entities(parts, n, threads, argc, argv);
  run_options opts;
  opts.threads = threads;
  opts.durability = parts.size() > 1 ? parts[1] : arg_value(argc, argv, "durability", "always");
  if (parts[0] == "W1" && !apply_w1_variant(parts.size() > 1 ? parts[1] : "", opts))
    throw std::invalid_argument("unknown W1 variant '" + parts[1] + "'");
  opts.metrics_off_eps = std::atof(arg_value(argc, argv, "metrics-off-eps", "0").c_str());
  opts.w1_eps = std::atof(arg_value(argc, argv, "w1-eps", "0").c_str());
  auto mbps = std::atof(arg_value(argc, argv, "disk-write-mbps", "0").c_str());
  auto fsyncs = std::atof(arg_value(argc, argv, "disk-fsync-per-s", "0").c_str());
  if (mbps > 0 && fsyncs > 0) opts.device = device_rates{mbps, fsyncs};
  auto r = run_workload(parts[0], n, opts);
  if (arg_value(argc, argv, "baseline", "on") != "off") r.baseline_eps = run_baseline(n, threads);
  std::printf("%s\n", r.to_json().c_str());
  if (!r.ok())
    std::fprintf(stderr,
                 "herald-bench: %s FAILED its checks (lost, applied twice, misplaced "
                 "dead letters)\n",
                 parts[0].c_str());
  return r.ok() ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  auto n = std::stoull(arg_value(argc, argv, "n", "1000000"));
  auto threads = std::stoul(arg_value(argc, argv, "threads", "0"));
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  auto single = arg_value(argc, argv, "single", "");
  std::vector<job> jobs;
  std::string device_args;
  try {
    if (!single.empty()) return run_single(argc, argv, n, threads);
    jobs = plan(split(arg_value(argc, argv, "workloads", "W1,W2,W3,W5,W6,AGG,ENT,ENT_RECOVERY")));
    if (std::any_of(jobs.begin(), jobs.end(), [](const job& j) { return j.workload == "W3"; })) {
      auto dir = make_scratch_dir("device");
      std::fprintf(stderr, "herald-bench: measuring the disk in %s ...\n", dir.c_str());
      device_rates dev;
      try {
        dev = measure_device(dir);
      } catch (...) {
        remove_scratch_dir(dir);
        throw;
      }
      remove_scratch_dir(dir);
      std::fprintf(stderr, "herald-bench: disk: %.1f MiB/s sequential, %.0f fdatasyncs/s\n",
                   dev.write_mbps, dev.fsync_per_s);
      device_args = " --disk-write-mbps=" + std::to_string(dev.write_mbps) +
                    " --disk-fsync-per-s=" + std::to_string(dev.fsync_per_s);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "herald-bench: %s: %s\n", single.empty() ? "error" : single.c_str(),
                 e.what());
    return 2;
  }
  int rc = 0;
  double w1_eps = 0;
  double metrics_off_eps = 0;
  for (auto& j : jobs) {
    std::fprintf(stderr, "herald-bench: running %s with n=%llu ...\n", j.label().c_str(),
                 static_cast<unsigned long long>(n));
    auto cmd = self_path() + " --single=" + j.label() + " --n=" + std::to_string(n) +
               " --threads=" + std::to_string(threads);
    if (w1_eps > 0) cmd += " --w1-eps=" + std::to_string(w1_eps);
    if (metrics_off_eps > 0) cmd += " --metrics-off-eps=" + std::to_string(metrics_off_eps);
    // The shell must not read the '%' of "trace-1%" or anything else: quote the label.
    cmd.replace(cmd.find("--single=") + 9, j.label().size(), "'" + j.label() + "'");
    if (j.workload == "W3") cmd += device_args;
    FILE* child = popen(cmd.c_str(), "r");
    if (!child) {
      std::perror("popen");
      return 2;
    }
    char line[8192];
    while (std::fgets(line, sizeof(line), child)) {
      if (j.workload == "W1" && j.variant.empty()) w1_eps = json_number(line, "e2e_eps");
      if (j.variant == "metrics-off") metrics_off_eps = json_number(line, "e2e_eps");
      std::fputs(line, stdout);
      std::fflush(stdout);
    }
    int status = pclose(child);
    if (status != 0) {
      std::fprintf(stderr, "herald-bench: %s failed (status %d)\n", j.label().c_str(), status);
      rc = 1;
    }
  }
  return rc;
}
