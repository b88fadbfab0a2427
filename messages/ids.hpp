// Strong types for the numbers Herald passes around, so an offset can never be passed where a
// partition id is expected. Each is a plain value with a CAF inspect().
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <string>

namespace herald {

template <class Tag, class Rep>
struct strong_value {
  using rep = Rep;
  Rep value{};

  constexpr strong_value() = default;
  constexpr explicit strong_value(Rep v) : value(v) {}

  friend constexpr auto operator<=>(const strong_value&, const strong_value&) = default;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, strong_value& x) {
    return f(x.value);
  }
};

/// Position of a record in a partition's log. The first record of a partition has offset 0;
/// offsets are never reused, also not after retention deleted the records before them.
struct offset : strong_value<struct offset_tag, int64_t> {
  using strong_value::strong_value;
  constexpr offset operator+(int64_t n) const { return offset{value + n}; }
  constexpr int64_t operator-(offset o) const { return value - o.value; }
};

struct partition_id : strong_value<struct partition_tag, int32_t> {
  using strong_value::strong_value;
};

/// Identifies one producer for the lifetime of a runtime; numbers its batches (idempotence).
struct producer_id : strong_value<struct producer_tag, uint64_t> {
  using strong_value::strong_value;
};

/// Monotonic number of one (group, topic, partition) assignment. A delivery or commit that
/// carries an older epoch than the current owner's comes from a fenced-off member.
struct epoch : strong_value<struct epoch_tag, uint64_t> {
  using strong_value::strong_value;
  constexpr epoch next() const { return epoch{value + 1}; }
};

/// Nanoseconds since the Unix epoch (wall clock). Events carry it; retention and timestamp
/// seeks use it.
struct timestamp : strong_value<struct timestamp_tag, int64_t> {
  using strong_value::strong_value;
  static timestamp now() {
    return timestamp{std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count()};
  }
};

inline std::string to_string(offset x) { return std::to_string(x.value); }
inline std::string to_string(partition_id x) { return std::to_string(x.value); }

}  // namespace herald

template <>
struct std::hash<herald::partition_id> {
  size_t operator()(herald::partition_id p) const noexcept { return std::hash<int32_t>{}(p.value); }
};
