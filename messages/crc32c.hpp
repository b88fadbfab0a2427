// CRC32C (Castagnoli), the checksum of record batches on disk and on the wire.
#pragma once

#include <cstddef>
#include <cstdint>

namespace herald {

/// CRC32C of `n` bytes, continuing from `crc` (0 to start). Uses the SSE4.2 instruction when
/// the CPU has it (~8 bytes per 3 cycles), else Boost.CRC's table-driven version.
uint32_t crc32c(const void* data, size_t n, uint32_t crc = 0);

}  // namespace herald
