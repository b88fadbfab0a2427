#include "messages/event.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "messages/errors.hpp"
#include "messages/json.hpp"
#include "messages/record_batch.hpp"

namespace herald {

namespace {

caf::expected<boost::json::value> parse_json(std::string_view text) {
  boost::json::error_code ec;
  boost::json::parse_options opts;
  opts.max_depth = max_json_depth;
  auto v = boost::json::parse(boost::json::string_view{text.data(), text.size()}, ec, {}, opts);
  if (ec) return make_error(errc::invalid_json, "payload is not valid JSON: " + ec.message());
  return v;
}

}  // namespace

// -- event ------------------------------------------------------------------------------------

std::optional<std::string_view> event::header(std::string_view key) const {
  for (auto& h : headers_)
    if (h.key == key) return std::string_view{h.value};
  return std::nullopt;
}

caf::expected<boost::json::value> event::json() const {
  return parse_json(payload_);
}

event::builder::builder(std::string topic, std::string type) {
  ev_.topic_ = std::move(topic);
  ev_.type_ = std::move(type);
}

event::builder& event::builder::key(std::string k) {
  ev_.key_ = std::move(k);
  return *this;
}

event::builder& event::builder::payload(std::string json_text) {
  ev_.payload_ = std::move(json_text);
  ev_.tombstone_ = false;
  return *this;
}

event::builder& event::builder::tombstone() {
  ev_.payload_.clear();
  ev_.tombstone_ = true;
  return *this;
}

event::builder& event::builder::correlation_id(std::string id) {
  ev_.correlation_id_ = std::move(id);
  return *this;
}

event::builder& event::builder::causation_id(std::string id) {
  ev_.causation_id_ = std::move(id);
  return *this;
}

event::builder& event::builder::traceparent(std::string tp) {
  ev_.traceparent_ = std::move(tp);
  return *this;
}

event::builder& event::builder::schema_version(uint32_t v) {
  ev_.schema_version_ = v;
  return *this;
}

event::builder& event::builder::header(std::string key, std::string value) {
  ev_.headers_.push_back({std::move(key), std::move(value)});
  return *this;
}

event::builder& event::builder::id(event_id id) {
  ev_.id_ = id;
  return *this;
}

event::builder& event::builder::time(herald::timestamp t) {
  ev_.time_ = t;
  return *this;
}

event event::builder::build() {
  // One clock read serves both the timestamp and the id's millisecond part.
  if (ev_.time_.value == 0) ev_.time_ = timestamp::now();
  if (ev_.id_.empty()) ev_.id_ = next_event_id(ev_.time_.value / 1'000'000);
  ev_.id_.write_text(ev_.id_text_.data());
  // An explicit correlation id equal to the event's own id means "starts a flow".
  if (ev_.correlation_id_ == ev_.id_text()) ev_.correlation_id_.clear();
  return std::move(ev_);
}

event make_event(std::string topic, std::string type, std::string key, std::string payload) {
  return event::builder{std::move(topic), std::move(type)}
      .key(std::move(key))
      .payload(std::move(payload))
      .build();
}

// -- event_view -------------------------------------------------------------------------------

std::string_view event_view::id_text() const {
  if (!id_rendered_) {
    id_.write_text(id_text_.data());
    id_rendered_ = true;
  }
  return {id_text_.data(), id_text_.size()};
}

header_view event_view::read_header(const char*& p) {
  auto klen = format::load<uint16_t>(p);
  auto vlen = format::load<uint16_t>(p + 2);
  header_view h{{p + 4, klen}, {p + 4 + klen, vlen}};
  p += 4 + klen + vlen;
  return h;
}

std::optional<std::string_view> event_view::header(std::string_view key) const {
  const char* p = headers_;
  for (size_t i = 0; i < header_count_; ++i) {
    auto h = read_header(p);
    if (h.key == key) return h.value;
  }
  return std::nullopt;
}

caf::expected<boost::json::value> event_view::json() const {
  return parse_json(payload_);
}

event event_view::to_event() const {
  event ev;
  ev.id_ = id_;
  id_.write_text(ev.id_text_.data());
  ev.topic_ = topic_;
  ev.type_ = type_;
  ev.key_ = key_;
  ev.payload_ = payload_;
  ev.tombstone_ = tombstone_;
  ev.time_ = time_;
  ev.partition_ = partition_;
  ev.offset_ = offset_;
  if (!correlation_self_) ev.correlation_id_ = correlation_;
  ev.causation_id_ = causation_;
  ev.traceparent_ = traceparent_;
  ev.schema_version_ = schema_version_;
  for_each_header([&](const header_view& h) {
    ev.headers_.push_back({std::string{h.key}, std::string{h.value}});
  });
  return ev;
}

}  // namespace herald
