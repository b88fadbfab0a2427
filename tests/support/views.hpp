// Event views without a runtime: events encoded into one batch at a chosen base offset, for
// unit tests of code that reads event_views (aggregators, projections).
#pragma once

#include <string_view>
#include <vector>

#include "messages/event.hpp"
#include "messages/record_batch.hpp"

namespace herald::test {

struct encoded_events {
  record_batch_ptr batch;         ///< keeps the views' bytes alive
  std::vector<event_view> views;  ///< offsets base, base + 1, ...
};

/// `topic` must outlive the views (a string literal does).
inline encoded_events encode(const std::vector<event>& evs, offset base = offset{0},
                             std::string_view topic = "cart.events",
                             partition_id p = partition_id{0}) {
  batch_builder b;
  for (auto& e : evs) (void)b.add(e);
  encoded_events out;
  out.batch = b.seal(producer_id{1}, 0);
  batch_cursor cur{*out.batch, base, topic, p};
  while (!cur.done()) {
    event_view v;
    cur.next(v);
    out.views.push_back(v);
  }
  return out;
}

}  // namespace herald::test
