#include "bench/device.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "bench/support.hpp"

namespace herald::bench {

namespace {

constexpr size_t write_block = 64 * 1024;
constexpr int64_t write_max_bytes = int64_t{256} << 20;
constexpr int64_t write_max_ns = 2'000'000'000;
constexpr size_t fsync_block = 4096;
constexpr int64_t fsync_max_ns = 2'000'000'000;

[[noreturn]] void fail(const std::string& what, const std::string& path) {
  throw std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

/// Bytes that no layer below can compress or deduplicate away.
std::vector<char> noise(size_t n) {
  std::vector<char> out(n);
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (auto& c : out) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  return out;
}

/// Owns a scratch file: closes and unlinks it on every path out.
struct scratch_file {
  std::string path;
  int fd = -1;
  explicit scratch_file(std::string p) : path(std::move(p)) {
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) fail("cannot create", path);
  }
  ~scratch_file() {
    ::close(fd);
    ::unlink(path.c_str());
  }
};

double sequential_write_mbps(const std::string& dir) {
  scratch_file f{dir + "/device-write.tmp"};
  auto buf = noise(write_block);
  int64_t written = 0;
  auto t0 = steady_ns();
  while (written < write_max_bytes && steady_ns() - t0 < write_max_ns) {
    auto n = ::write(f.fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot write", f.path);
    }
    written += n;
  }
  if (::fdatasync(f.fd) != 0) fail("cannot fdatasync", f.path);
  auto t1 = steady_ns();
  return static_cast<double>(written) / double(1 << 20) * 1e9 / static_cast<double>(t1 - t0);
}

double fsync_rate(const std::string& dir) {
  scratch_file f{dir + "/device-fsync.tmp"};
  auto buf = noise(fsync_block);
  int64_t ops = 0;
  off_t pos = 0;
  auto t0 = steady_ns();
  int64_t t1 = t0;
  while (t1 - t0 < fsync_max_ns) {
    if (::pwrite(f.fd, buf.data(), buf.size(), pos) != static_cast<ssize_t>(buf.size()))
      fail("cannot write", f.path);
    if (::fdatasync(f.fd) != 0) fail("cannot fdatasync", f.path);
    pos += static_cast<off_t>(buf.size());
    ++ops;
    t1 = steady_ns();
  }
  return static_cast<double>(ops) * 1e9 / static_cast<double>(t1 - t0);
}

}  // namespace

device_rates measure_device(const std::string& dir) {
  device_rates r;
  r.write_mbps = sequential_write_mbps(dir);
  r.fsync_per_s = fsync_rate(dir);
  return r;
}

std::string make_scratch_dir(const std::string& tag) {
  const char* base = std::getenv("HERALD_BENCH_DIR");
  std::string pattern =
      std::string{base && *base ? base : "/tmp"} + "/herald-bench-" + tag + "-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) fail("cannot create a directory like", pattern);
  return buf.data();
}

void remove_scratch_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace herald::bench
