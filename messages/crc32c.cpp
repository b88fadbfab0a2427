#include "messages/crc32c.hpp"

#include <cstring>

#include <boost/crc.hpp>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace herald {

namespace {

using boost_crc32c = boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true>;

uint32_t crc32c_portable(const void* data, size_t n, uint32_t crc) {
  // Boost's "augmented" state is the un-finalized register; undo the final xor to continue.
  boost_crc32c c(crc ^ 0xFFFFFFFF);
  c.process_bytes(data, n);
  return c.checksum();
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t crc32c_sse42(const void* data, size_t n,
                                                          uint32_t crc) {
  auto p = static_cast<const unsigned char*>(data);
  uint64_t c = ~crc;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
    p += 8;
    n -= 8;
  }
  auto c32 = static_cast<uint32_t>(c);
  while (n > 0) {
    c32 = _mm_crc32_u8(c32, *p++);
    --n;
  }
  return ~c32;
}
#endif

using crc_fn = uint32_t (*)(const void*, size_t, uint32_t);

crc_fn pick() {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("sse4.2")) return crc32c_sse42;
#endif
  return crc32c_portable;
}

const crc_fn impl = pick();

}  // namespace

uint32_t crc32c(const void* data, size_t n, uint32_t crc) { return impl(data, n, crc); }

}  // namespace herald
