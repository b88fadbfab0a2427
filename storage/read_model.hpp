// A read model: where a projection (runtime/projection.hpp) keeps the state it derives from
// events, together with how far it got in each input partition. Both change in one atomic
// step, so after a crash the model never holds an event its position says is still to come,
// nor misses one its position says it has: replaying from the stored position applies every
// event exactly once (effectively-once). docs/PROJECTIONS.md.
//
// Implementations: memory_read_model (storage/memory_read_model.hpp), sqlite_read_model
// (storage/sqlite_read_model.hpp). One writer at a time: the projection's actor; queries may
// come from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "messages/event.hpp"

namespace herald {

/// How far a read model got in one input partition.
struct model_position {
  offset next{-1};            ///< the next offset to apply; -1: nothing applied yet
  int64_t last_event_ms = 0;  ///< time of the last applied event (ms since the epoch)
};

/// An event the model refused (bad input): the projection writes it to <topic>.dlq.
struct refusal {
  offset off;
  caf::error why;
};

class read_model {
 public:
  virtual ~read_model() = default;

  /// Positions per partition of `topic` (partitions never applied are missing).
  [[nodiscard]] virtual caf::expected<std::map<int32_t, model_position>> positions(
      const std::string& projection, const std::string& topic) = 0;

  /// Applies `events` (one partition, in offset order) and sets the position to `next`, in
  /// one atomic step. Events below the stored position are skipped, so applying a range twice
  /// (a redelivery, two writers racing) changes nothing the second time. Events the model
  /// refuses are skipped too and reported in `refused`. An error (the storage failed) means
  /// nothing was applied.
  [[nodiscard]] virtual caf::error apply(const std::string& projection, const std::string& topic,
                                         partition_id p, const std::vector<event_view>& events,
                                         offset next, std::vector<refusal>& refused) = 0;

  /// Drops the model's rows and the projection's positions (a rebuild starts from scratch).
  [[nodiscard]] virtual caf::error reset(const std::string& projection) = 0;
};

}  // namespace herald
