// W6 (retry): which events fail, a handler that fails them, and the ledger that proves every
// event was applied exactly once or dead-lettered.
//
// Event i carries its sequence number in the header "bench.seq". Its fate is a hash of i, so
// the expected counts are known before the run: 1% of the events fail their first two
// attempts and succeed on the third, 0.1% fail every attempt and end in "<topic>.dlq".
//
// The ledger is preallocated (three bytes per event, indexed by sequence number): the handler
// neither allocates nor locks. It is written by one member actor at a time and read by the
// driver only after the subscription stopped.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include <caf/error.hpp>

#include "bench/support.hpp"
#include "runtime/herald.hpp"

namespace herald::bench {

constexpr std::string_view seq_header = "bench.seq";

enum class fate : uint8_t { succeeds, fails_twice, always_fails };

/// splitmix64(seq) % 1000: 0 always fails (0.1%), 1..10 fail twice (1%), the rest succeed.
fate fate_of(uint64_t seq);

struct fault_plan {
  uint64_t fails_twice = 0;
  uint64_t always_fails = 0;
};
/// How many of events 0..n-1 have each failing fate.
fault_plan plan_for(uint64_t n);

class fault_ledger {
 public:
  explicit fault_ledger(uint64_t n);

  /// The W6 handler (run by the member actor): fails the event as its fate says, using
  /// ctx.attempt() to know how often it failed already; otherwise applies it.
  caf::error handle(const event_view& e, handler_context& ctx);

  /// Records a dead letter read back from "<topic>.dlq" (its original's sequence number).
  void dead_lettered(const event& original);

  struct verdict {
    uint64_t applied = 0;        ///< events applied at least once
    uint64_t applied_twice = 0;  ///< events applied more than once (must be 0)
    uint64_t retried = 0;        ///< events the handler saw more than once
    uint64_t dead_lettered = 0;  ///< dead letters found in the dlq topic
    uint64_t lost = 0;           ///< events neither applied nor dead-lettered (must be 0)
    uint64_t wrong_dead = 0;     ///< dead letters of events that should have succeeded
    uint64_t bad_seq = 0;        ///< events without a valid bench.seq header
  };
  /// Call after the subscription stopped.
  verdict check() const;

  const latency_histogram& latencies() const { return hist_; }

 private:
  uint64_t n_;
  std::vector<uint8_t> calls_;    // handler calls per event (saturating)
  std::vector<uint8_t> applied_;  // successful applications per event (saturating)
  std::vector<uint8_t> dead_;     // dead letters per event (saturating)
  uint64_t bad_seq_ = 0;
  latency_histogram hist_;
};

}  // namespace herald::bench
