// Builders for test data and a thread-safe recorder of what handlers saw.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/herald.hpp"

namespace herald::test {

/// A runtime for tests: quiet logs, small timeouts.
runtime_config quiet_config();

/// An OrderPlaced event for `topic` with key `key` and sequence number `seq` in its payload.
event order(const std::string& topic, const std::string& key, int64_t seq);

/// Reads the "seq" number back from an order() payload.
int64_t seq_of(const event_view& e);

/// What a handler saw, recorded from any thread.
class recorder {
 public:
  struct item {
    std::string member;
    std::string key;
    int64_t seq;
    partition_id partition;
    offset off;
    std::string id;
  };

  void add(const std::string& member, const event_view& e);
  size_t size() const;
  std::vector<item> items() const;
  /// Sequence numbers seen per key, in the order handled.
  std::map<std::string, std::vector<int64_t>> by_key() const;
  /// How often each event id was handled.
  std::map<std::string, int> id_counts() const;

 private:
  mutable std::mutex mtx_;
  std::vector<item> items_;
};

}  // namespace herald::test
