// Event ids: 128-bit, unique and sortable by creation time (the ULID layout: 48 bits of Unix
// milliseconds, then 80 bits that are random per millisecond and incremented within it).
// Rendered as 26 characters of Crockford base32, so ids sort the same as text and as numbers.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace herald {

struct event_id {
  static constexpr size_t text_size = 26;
  uint64_t hi = 0;  ///< 48 bits of milliseconds, then the top 16 random bits.
  uint64_t lo = 0;  ///< the low 64 random bits.

  friend constexpr auto operator<=>(const event_id&, const event_id&) = default;
  bool empty() const { return hi == 0 && lo == 0; }
  int64_t unix_ms() const { return static_cast<int64_t>(hi >> 16); }

  /// Writes exactly text_size characters to `out`.
  void write_text(char* out) const;
  std::string to_string() const;
  /// Parses the 26-character form; nullopt for anything else (wrong length or alphabet).
  static std::optional<event_id> parse(std::string_view text);

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, event_id& x) {
    return f(x.hi, x.lo);
  }
};

/// Creates ids. Not thread-safe: use one per thread (see next_event_id()).
/// Cost: a clock read and a few integer operations per id, no allocation.
class event_id_generator {
 public:
  event_id_generator();
  event_id next();
  event_id next(int64_t unix_ms);

 private:
  uint64_t rng_state_;
  int64_t last_ms_ = -1;
  event_id last_;
  uint64_t random64();
};

/// A new id from this thread's generator.
event_id next_event_id();
/// The same, for a caller that has just read the clock (milliseconds since the Unix epoch).
event_id next_event_id(int64_t unix_ms);

}  // namespace herald
