#include "bench/support.hpp"

#include <sys/resource.h>

#include <charconv>
#include <cstdio>

#include <cstring>

namespace herald::bench {

namespace {

// Appends the decimal digits of v, zero-padded to `width`.
char* put_uint(char* out, uint64_t v, int width = 0) {
  char tmp[24];
  auto [end, ec] = std::to_chars(tmp, tmp + sizeof(tmp), v);
  auto len = static_cast<int>(end - tmp);
  for (int i = len; i < width; ++i) *out++ = '0';
  std::memcpy(out, tmp, static_cast<size_t>(len));
  return out + len;
}

char* put(char* out, std::string_view s) {
  std::memcpy(out, s.data(), s.size());
  return out + s.size();
}

}  // namespace

// Built per event with std::to_chars, as code that cares about speed would do (fmt took
// ~220 ns per payload here, this ~60 ns). The baseline builds its payloads the same way.
std::string order_key(uint64_t i) {
  char buf[16];
  char* p = put(buf, "ORD-");
  p = put_uint(p, i % 10000, 6);
  return std::string(buf, p);
}

std::string order_payload(uint64_t i, int64_t ts_ns) {
  char buf[256];
  char* p = put(buf, R"({"event":"OrderPlaced","order_id":"ORD-)");
  p = put_uint(p, i % 10000, 6);
  p = put(p, R"(","user_id":"USR-)");
  p = put_uint(p, i % 997, 3);
  p = put(p, R"(","items":[{"sku":"WIDGET-)");
  p = put_uint(p, i % 50, 2);
  p = put(p, R"(","qty":)");
  p = put_uint(p, 1 + i % 5);
  p = put(p, R"(}],"total":)");
  p = put_uint(p, 10 + i % 90);
  *p++ = '.';
  p = put_uint(p, i % 100, 2);
  p = put(p, R"(,"ts_ns":)");
  p = put_uint(p, static_cast<uint64_t>(ts_ns));
  *p++ = '}';
  return std::string(buf, p);
}

int64_t read_ts_ns(std::string_view payload) {
  constexpr std::string_view tag = R"("ts_ns":)";
  auto pos = payload.rfind(tag);
  if (pos == std::string_view::npos) return 0;
  int64_t v = 0;
  auto first = payload.data() + pos + tag.size();
  std::from_chars(first, payload.data() + payload.size(), v);
  return v;
}

// Values below 128 have their own bucket; above, 64 buckets per power of two.
size_t latency_histogram::index(uint64_t v) {
  if (v < 128) return v;
  int msb = 63 - __builtin_clzll(v);
  int shift = msb - 6;  // v >> shift is in [64, 128)
  size_t idx = 128 + static_cast<size_t>(shift - 1) * 64 + ((v >> shift) - 64);
  return idx < buckets ? idx : buckets - 1;
}

uint64_t latency_histogram::value_at(size_t idx) {
  if (idx < 128) return idx;
  size_t k = idx - 128;
  int shift = static_cast<int>(k / 64) + 1;
  uint64_t top = k % 64 + 64;
  return ((top << shift) + ((top + 1) << shift)) / 2;  // bucket midpoint
}

void latency_histogram::record(int64_t ns) {
  if (ns < 0) ns = 0;
  ++counts_[index(static_cast<uint64_t>(ns))];
  ++count_;
  if (ns > max_) max_ = ns;
}

void latency_histogram::merge(const latency_histogram& other) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  if (other.max_ > max_) max_ = other.max_;
}

int64_t latency_histogram::quantile(double q) const {
  if (count_ == 0) return 0;
  auto target = static_cast<uint64_t>(q * static_cast<double>(count_));
  if (target >= count_) target = count_ - 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen > target) return std::min<int64_t>(static_cast<int64_t>(value_at(i)), max_);
  }
  return max_;
}

double peak_rss_mb() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

// Written at every build by git_commit.cmake (in the build tree).
#if __has_include("git_commit.hpp")
#include "git_commit.hpp"
#endif

std::string git_commit() {
#ifdef HERALD_GIT_COMMIT
  return HERALD_GIT_COMMIT;
#else
  return "unknown";
#endif
}

}  // namespace herald::bench
