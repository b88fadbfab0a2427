#include "messages/event_id.hpp"

#include <chrono>
#include <random>

namespace herald {

namespace {

constexpr char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

__extension__ typedef unsigned __int128 uint128;

int8_t decode_char(char c) {
  if (c >= '0' && c <= '9') return static_cast<int8_t>(c - '0');
  if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  for (int8_t i = 10; i < 32; ++i)
    if (alphabet[i] == c) return i;
  return -1;
}

}  // namespace

void event_id::write_text(char* out) const {
  // 128 bits as 26 base32 digits, most significant first: 130 = 26 * 5, so the first digit
  // holds only the top 3 bits.
  uint128 v = (static_cast<uint128>(hi) << 64) | lo;
  for (int i = 25; i >= 0; --i) {
    out[i] = alphabet[static_cast<unsigned>(v) & 31];
    v >>= 5;
  }
}

std::string event_id::to_string() const {
  std::string s(text_size, '0');
  write_text(s.data());
  return s;
}

std::optional<event_id> event_id::parse(std::string_view text) {
  if (text.size() != text_size) return std::nullopt;
  event_id id;
  for (size_t i = 0; i < text_size; ++i) {
    auto d = decode_char(text[i]);
    if (d < 0) return std::nullopt;
    if (i == 0 && d > 7) return std::nullopt;  // would overflow 128 bits
    id.hi = (id.hi << 5) | (id.lo >> 59);
    id.lo = (id.lo << 5) | static_cast<uint64_t>(d);
  }
  return id;
}

event_id_generator::event_id_generator() {
  std::random_device rd;
  rng_state_ = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^ reinterpret_cast<uintptr_t>(this);
}

uint64_t event_id_generator::random64() {
  // splitmix64: fast and good enough for id randomness (not for secrets).
  uint64_t z = (rng_state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

event_id event_id_generator::next() {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  return next(ms);
}

event_id event_id_generator::next(int64_t unix_ms) {
  if (unix_ms <= last_ms_) {
    // Same millisecond (or the clock stepped back): increment, so ids stay strictly
    // increasing per generator. 2^80 ids per millisecond cannot overflow in practice.
    if (++last_.lo == 0) ++last_.hi;
    return last_;
  }
  last_ms_ = unix_ms;
  last_.hi = (static_cast<uint64_t>(unix_ms) << 16) | (random64() & 0xFFFF);
  // Keep the top bit of the random part clear so that increments never carry into the time.
  last_.lo = random64() & 0x7FFFFFFFFFFFFFFFull;
  return last_;
}

namespace {

event_id_generator& local_generator() {
  thread_local event_id_generator gen;
  return gen;
}

}  // namespace

event_id next_event_id() {
  return local_generator().next();
}

event_id next_event_id(int64_t unix_ms) {
  return local_generator().next(unix_ms);
}

}  // namespace herald
