// The disk's own rates, measured in the directory a durable workload writes to, so that W3's
// figures can be read as a ratio to the device (issue 4). Plain POSIX calls, no Herald code.
#pragma once

#include <string>

namespace herald::bench {

struct device_rates {
  /// Sequential write rate in MiB/s: 64 KiB write()s appended to one file (up to 256 MiB or
  /// ~2 s of writing), then one fdatasync, timed together: what reaches the device, not only
  /// the page cache.
  double write_mbps = 0;
  /// Durable appends per second: a loop of "append 4 KiB with pwrite, fdatasync" for ~2 s,
  /// the pattern of a log that acknowledges after each sync (every append extends the file,
  /// as a segment does).
  double fsync_per_s = 0;
};

/// Measures both in `dir` (which must exist) with a scratch file that is removed afterwards.
/// Throws std::runtime_error when the directory cannot be written.
device_rates measure_device(const std::string& dir);

/// A fresh, empty directory for one run: under $HERALD_BENCH_DIR when set, else /tmp.
std::string make_scratch_dir(const std::string& tag);

/// Removes a directory made by make_scratch_dir, with everything in it (best effort).
void remove_scratch_dir(const std::string& dir);

}  // namespace herald::bench
