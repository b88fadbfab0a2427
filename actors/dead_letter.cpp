#include "actors/dead_letter.hpp"

#include <cstdio>
#include <ctime>

namespace herald {

std::string dead_letter_topic(const std::string& topic) {
  return topic + ".dlq";
}

std::string rfc3339(timestamp t) {
  auto secs = static_cast<time_t>(t.value / 1'000'000'000);
  auto ms = static_cast<int>((t.value / 1'000'000) % 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];  // room for any int the format could meet (-Wformat-truncation)
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

std::optional<timestamp> parse_rfc3339(const std::string& text) {
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon,
                  &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  auto secs = timegm(&tm);
  return timestamp{static_cast<int64_t>(secs) * 1'000'000'000 + int64_t{ms} * 1'000'000};
}

event make_dead_letter(const event_view& ev, const failure_story& story) {
  event::builder b{dead_letter_topic(story.topic), std::string{ev.type()}};
  b.id(ev.id()).time(ev.time()).key(std::string{ev.key()});
  if (ev.is_tombstone())
    b.tombstone();
  else
    b.payload(std::string{ev.payload()});
  // The flow stays the flow: the correlation id of a root event is its own id, which build()
  // keeps as "starts a flow".
  b.correlation_id(std::string{ev.correlation_id()})
      .causation_id(std::string{ev.causation_id()})
      .traceparent(std::string{ev.traceparent()})
      .schema_version(ev.schema_version());
  ev.for_each_header(
      [&](const header_view& h) { b.header(std::string{h.key}, std::string{h.value}); });
  b.header(dlq_header::topic, story.topic)
      .header(dlq_header::partition, std::to_string(story.partition.value))
      .header(dlq_header::offset, std::to_string(story.offset.value))
      .header(dlq_header::group, story.group)
      .header(dlq_header::attempts, std::to_string(story.attempts))
      .header(dlq_header::first_failure, rfc3339(story.first_failure))
      .header(dlq_header::last_failure, rfc3339(story.last_failure))
      .header(dlq_header::error, story.error);
  return b.build();
}

std::optional<parsed_dead_letter> parse_dead_letter(const event& dl) {
  parsed_dead_letter out;
  auto get = [&](const char* k) {
    return dl.header(k);
  };
  auto topic = get(dlq_header::topic);
  auto part = get(dlq_header::partition);
  auto off = get(dlq_header::offset);
  if (!topic || !part || !off) return std::nullopt;
  auto& s = out.story;
  s.topic = std::string{*topic};
  try {
    s.partition = partition_id{std::stoi(std::string{*part})};
    s.offset = offset{std::stoll(std::string{*off})};
    if (auto a = get(dlq_header::attempts)) s.attempts = std::stoi(std::string{*a});
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (auto g = get(dlq_header::group)) s.group = std::string{*g};
  if (auto e = get(dlq_header::error)) s.error = std::string{*e};
  if (auto f = get(dlq_header::first_failure))
    s.first_failure = parse_rfc3339(std::string{*f}).value_or(timestamp{});
  if (auto l = get(dlq_header::last_failure))
    s.last_failure = parse_rfc3339(std::string{*l}).value_or(timestamp{});
  event::builder b{s.topic, std::string{dl.type()}};
  b.id(dl.id()).time(dl.time()).key(std::string{dl.key()});
  if (dl.is_tombstone())
    b.tombstone();
  else
    b.payload(std::string{dl.payload()});
  b.correlation_id(std::string{dl.correlation_id()})
      .causation_id(std::string{dl.causation_id()})
      .traceparent(std::string{dl.traceparent()})
      .schema_version(dl.schema_version());
  for (auto& h : dl.headers())
    if (h.key.rfind("herald.dlq.", 0) != 0) b.header(h.key, h.value);
  out.original = b.build();
  return out;
}

}  // namespace herald
