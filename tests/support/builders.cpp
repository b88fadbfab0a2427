#include "tests/support/builders.hpp"

#include <charconv>
#include <cstdlib>

namespace herald::test {

runtime_config quiet_config() {
  runtime_config cfg;
  // HERALD_TEST_LOG=info (or debug) shows what the runtime did when a test fails.
  auto* level = std::getenv("HERALD_TEST_LOG");
  cfg.log_level = level ? level : "warn";
  cfg.request_timeout = std::chrono::seconds{10};
  cfg.drain_timeout = std::chrono::seconds{10};
  return cfg;
}

event order(const std::string& topic, const std::string& key, int64_t seq) {
  return event::builder{topic, "OrderPlaced"}
      .key(key)
      .payload(R"({"order_id":")" + key + R"(","seq":)" + std::to_string(seq) +
               R"(,"total":49.99})")
      .build();
}

int64_t seq_of(const event_view& e) {
  auto p = e.payload();
  auto pos = p.find(R"("seq":)");
  if (pos == std::string_view::npos) return -1;
  int64_t v = -1;
  std::from_chars(p.data() + pos + 6, p.data() + p.size(), v);
  return v;
}

void recorder::add(const std::string& member, const event_view& e) {
  item it{member,        std::string{e.key()}, seq_of(e),
          e.partition(), e.offset(),           std::string{e.id_text()}};
  std::lock_guard<std::mutex> guard{mtx_};
  items_.push_back(std::move(it));
}

size_t recorder::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return items_.size();
}

std::vector<recorder::item> recorder::items() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return items_;
}

std::map<std::string, std::vector<int64_t>> recorder::by_key() const {
  std::map<std::string, std::vector<int64_t>> out;
  for (auto& it : items()) out[it.key].push_back(it.seq);
  return out;
}

std::map<std::string, int> recorder::id_counts() const {
  std::map<std::string, int> out;
  for (auto& it : items()) ++out[it.id];
  return out;
}

}  // namespace herald::test
