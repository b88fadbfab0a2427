// Reading a trace file back: the causal tree and timeline of one flow (one correlation id),
// from the OTLP/JSON lines the tracer writes. What `herald-trace FILE ID` prints.
//
//   correlation 01JDV...: 3 events, 11 spans, 1.234 ms from the first publish to the last handle
//   +0.000 ms OrderPlaced 01JDV... orders/1@0
//             publish 0.210 ms, append 0.012 ms
//             payment: delivered after 0.050 ms, handled in 0.020 ms (attempt 1)
//   └─ +0.400 ms PaymentCompleted 01JDW... payments/0@0 (hop 0.400 ms)
//      ...
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace herald::obs {

struct traced_event {
  struct handle_call {
    int64_t start_ns = 0, end_ns = 0;
    int32_t attempt = 0;
    std::string error;
  };
  struct group_view {
    std::string group;
    int64_t deliver_start_ns = 0, deliver_end_ns = 0;  ///< 0: no deliver span
    std::vector<handle_call> handles;                  ///< in start order
  };
  std::string id;
  std::string type;
  std::string topic;
  std::string causation_id;
  int32_t partition = -1;
  int64_t offset = -1;
  int64_t publish_start_ns = 0, publish_end_ns = 0;  ///< 0: no publish span in the file
  int64_t append_start_ns = 0, append_end_ns = 0;
  std::vector<group_view> groups;
  std::vector<size_t> children;  ///< events it caused, by first publish
  /// When the event entered the flow: its publish, else its earliest span.
  int64_t start_ns() const;
};

struct causal_tree {
  std::string correlation_id;
  std::vector<traced_event> events;
  std::vector<size_t> roots;  ///< events whose cause is not in the file (the flow's start)
  size_t spans = 0;
  int64_t first_ns = 0;
  int64_t last_ns = 0;
};

/// Reads OTLP/JSON lines from `in` and keeps the spans of `correlation_id`. Lines that are not
/// JSON are an error naming the line; spans of other flows are skipped. errc::invalid_argument
/// when no span of that flow is in the input.
caf::expected<causal_tree> load_causal_tree(std::istream& in, const std::string& correlation_id);
caf::expected<causal_tree> load_causal_tree(const std::string& file,
                                            const std::string& correlation_id);

/// The tree and timeline as text (see the file comment).
std::string render(const causal_tree& tree);

}  // namespace herald::obs
