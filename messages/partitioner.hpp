// Which partition a key goes to. The same function as Kafka's default partitioner (murmur2 of
// the key bytes, sign bit cleared, modulo the partition count), so a key lands on the same
// partition number in Herald and in a Kafka topic with as many partitions.
#pragma once

#include <cstdint>
#include <string_view>

namespace herald {

/// Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2).
inline uint32_t murmur2(std::string_view key) {
  const auto* data = reinterpret_cast<const unsigned char*>(key.data());
  const auto len = static_cast<uint32_t>(key.size());
  constexpr uint32_t seed = 0x9747b28c;
  constexpr uint32_t m = 0x5bd1e995;
  constexpr int r = 24;
  uint32_t h = seed ^ len;
  const uint32_t len4 = len / 4;
  for (uint32_t i = 0; i < len4; ++i) {
    const uint32_t i4 = i * 4;
    uint32_t k = uint32_t{data[i4]} | (uint32_t{data[i4 + 1]} << 8) |
                 (uint32_t{data[i4 + 2]} << 16) | (uint32_t{data[i4 + 3]} << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const uint32_t tail = len & ~3u;
  switch (len % 4) {
    case 3: h ^= uint32_t{data[tail + 2]} << 16; [[fallthrough]];
    case 2: h ^= uint32_t{data[tail + 1]} << 8; [[fallthrough]];
    case 1:
      h ^= uint32_t{data[tail]};
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return h;
}

/// The partition of `key` among `partitions` (> 0).
inline int32_t partition_for_key(std::string_view key, int32_t partitions) {
  return static_cast<int32_t>((murmur2(key) & 0x7fffffffu) % static_cast<uint32_t>(partitions));
}

}  // namespace herald
