// An in-memory read model: a table of rows by key, and the positions, changed together under
// one lock per applied run of events. Nothing survives the process: a projection on it
// rebuilds by replay at every start (the positions start empty). Queries take the lock shared.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "storage/read_model.hpp"

namespace herald {

template <class Row>
class memory_read_model final : public read_model {
 public:
  using table = std::map<std::string, Row, std::less<>>;
  /// Applies one event to the table; an error refuses it (the table must be unchanged).
  using apply_fn = std::function<caf::error(table&, const event_view&)>;

  explicit memory_read_model(apply_fn fn) : fn_(std::move(fn)) {}

  caf::expected<std::map<int32_t, model_position>> positions(const std::string& projection,
                                                             const std::string& topic) override {
    std::shared_lock<std::shared_mutex> guard{mtx_};
    auto it = positions_.find({projection, topic});
    if (it == positions_.end()) return std::map<int32_t, model_position>{};
    return it->second;
  }

  caf::error apply(const std::string& projection, const std::string& topic, partition_id p,
                   const std::vector<event_view>& events, offset next,
                   std::vector<refusal>& refused) override {
    std::unique_lock<std::shared_mutex> guard{mtx_};
    auto& pos = positions_[{projection, topic}][p.value];
    for (auto& e : events) {
      if (pos.next.value >= 0 && e.offset() < pos.next) continue;
      if (auto err = fn_(rows_, e)) refused.push_back({e.offset(), std::move(err)});
      pos.last_event_ms = e.time().value / 1'000'000;
    }
    if (pos.next < next) pos.next = next;
    return caf::none;
  }

  caf::error reset(const std::string& projection) override {
    std::unique_lock<std::shared_mutex> guard{mtx_};
    rows_.clear();
    std::erase_if(positions_, [&](auto& kv) { return kv.first.first == projection; });
    return caf::none;
  }

  // -- queries (any thread) ---------------------------------------------------------------

  std::optional<Row> get(std::string_view key) const {
    std::shared_lock<std::shared_mutex> guard{mtx_};
    auto it = rows_.find(key);
    if (it == rows_.end()) return std::nullopt;
    return it->second;
  }
  /// A copy of every row, by key.
  table all() const {
    std::shared_lock<std::shared_mutex> guard{mtx_};
    return rows_;
  }
  size_t size() const {
    std::shared_lock<std::shared_mutex> guard{mtx_};
    return rows_.size();
  }

 private:
  apply_fn fn_;
  mutable std::shared_mutex mtx_;
  table rows_;
  std::map<std::pair<std::string, std::string>, std::map<int32_t, model_position>> positions_;
};

}  // namespace herald
