// The entity workloads (bench/README.md): ENT, command throughput of bank accounts with
// snapshots off and on, and ENT_RECOVERY, the rebuild of one entity with 100,000 events from
// a full replay and from a snapshot. Each prints one JSON line with the raw CAF baseline
// measured in the same process.
#pragma once

#include <cstdint>
#include <string>

namespace herald::bench {

struct entity_run {
  std::string json;  ///< the line, without the baseline fields
  bool ok = false;   ///< balances add up, no command failed
  double rate = 0;   ///< the figure compared with the baseline (commands/s, replayed events/s)
};

/// ENT with variant "off" or "on" (snapshots), n commands.
entity_run run_entity_commands(const std::string& variant, uint64_t n, size_t threads);
/// ENT_RECOVERY with variant "memory" or "disk", min(n, 100000) events.
entity_run run_entity_recovery(const std::string& variant, uint64_t n, size_t threads);

}  // namespace herald::bench
