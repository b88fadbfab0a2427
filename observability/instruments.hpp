// What the runtime hands to its actors for observability: the metrics registry and the
// tracer. Either may be null (metrics switched off, tracing off): actors then skip that work
// with one branch per batch.
#pragma once

#include <memory>

#include "observability/metrics.hpp"
#include "observability/tracer.hpp"

namespace herald::obs {

struct instruments {
  std::shared_ptr<obs::metrics> metrics;
  std::shared_ptr<obs::tracer> tracer;
};

}  // namespace herald::obs
