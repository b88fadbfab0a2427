// Logging: structured lines, levels changed at run time (API, configuration, environment).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <mutex>
#include <sstream>
#include <string>

#include <spdlog/sinks/ostream_sink.h>
#include <boost/json/parse.hpp>

#include "base/logging.hpp"
#include "runtime/herald.hpp"
#include "tests/support/builders.hpp"
#include "tests/support/wait.hpp"

using namespace herald;

namespace {

/// Captures every Herald log line for the lifetime of the object.
class captured_log {
 public:
  captured_log() : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)) {
    log::set_sink(sink_);
  }
  ~captured_log() { log::set_sink(nullptr); }
  std::string text() {
    sink_->flush();
    std::lock_guard<std::mutex> guard{mtx_};
    return out_.str();
  }
  bool contains(const std::string& s) { return text().find(s) != std::string::npos; }

 private:
  std::mutex mtx_;
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

}  // namespace

TEST_CASE("a level changed at run time takes effect at once", "[logging]") {
  captured_log logs;
  auto cfg = test::quiet_config();
  cfg.log_level = "warn";
  runtime rt{cfg};
  REQUIRE(rt.create_topic("before"));
  CHECK_FALSE(logs.contains("topic=before"));  // info lines are below warn

  REQUIRE_FALSE(rt.set_log_level("info,partition=debug"));
  CHECK(log::get("registry")->should_log(spdlog::level::info));
  CHECK_FALSE(log::get("registry")->should_log(spdlog::level::debug));
  CHECK(log::get("partition")->should_log(spdlog::level::debug));
  REQUIRE(rt.create_topic("after"));
  CHECK(logs.contains("topic=after"));

  // An invalid specification changes nothing and says what is allowed.
  auto err = rt.set_log_level("loud");
  REQUIRE(err);
  CHECK(describe(err).find("trace, debug, info") != std::string::npos);
  CHECK(log::get("registry")->should_log(spdlog::level::info));
  REQUIRE_FALSE(rt.set_log_level("error"));
  CHECK_FALSE(log::get("partition")->should_log(spdlog::level::debug));
}

TEST_CASE("HERALD_LOG_LEVEL overrides the configured level", "[logging]") {
  ::setenv("HERALD_LOG_LEVEL", "warn,consumer=trace", 1);
  auto cfg = test::quiet_config();
  cfg.log_level = "error";
  runtime rt{cfg};
  ::unsetenv("HERALD_LOG_LEVEL");
  CHECK(log::get("registry")->should_log(spdlog::level::warn));
  CHECK(log::get("consumer")->should_log(spdlog::level::trace));
}

TEST_CASE("lines about an event carry topic, partition, offset and correlation id", "[logging]") {
  captured_log logs;
  runtime rt{test::quiet_config()};
  REQUIRE(rt.create_topic("orders"));
  subscribe_options opts;
  opts.retry.max_attempts = 1;  // straight to the dead-letter topic
  auto sub = rt.subscribe(
      "orders", "billing",
      [](const event_view&) -> caf::error { return make_error(errc::handler_failed, "boom"); },
      opts);
  REQUIRE(sub);
  auto p = rt.make_producer();
  auto ev = event::builder{"orders", "OrderPlaced"}
                .key("ORD-1")
                .payload("{}")
                .correlation_id("FLOW-42")
                .build();
  REQUIRE(p.publish(ev));
  REQUIRE(test::wait_until([&] { return logs.contains("event=handler_failed"); }));
  auto text = logs.text();
  auto line_start = text.rfind('\n', text.find("event=handler_failed"));
  auto line = text.substr(line_start + 1, text.find('\n', line_start + 1) - line_start - 1);
  INFO(line);
  CHECK(line.find("topic=orders") != std::string::npos);
  CHECK(line.find("partition=0") != std::string::npos);
  CHECK(line.find("offset=0") != std::string::npos);
  CHECK(line.find("correlation_id=FLOW-42") != std::string::npos);
  CHECK(line.find("event_id=" + std::string{ev.id_text()}) != std::string::npos);
}

TEST_CASE("the JSON format writes one object per line with the message's fields", "[logging]") {
  captured_log logs;
  REQUIRE(log::set_format("json"));
  log::set_level("info");
  log::get("test")->info("topic={} partition={} event=demo error=\"{}\" note", "orders", 3,
                         "a \"quoted\" reason");
  REQUIRE(log::set_format("text"));
  auto text = logs.text();
  INFO(text);
  auto v = boost::json::parse(text.substr(0, text.find('\n')));
  auto& o = v.as_object();
  CHECK(o.at("logger").as_string() == "herald.test");
  CHECK(o.at("level").as_string() == "info");
  CHECK(o.at("topic").as_string() == "orders");
  CHECK(o.at("partition").as_int64() == 3);
  CHECK(o.at("event").as_string() == "demo");
  CHECK(o.at("error").as_string() == "a \"quoted\" reason");
  CHECK(o.at("msg").as_string() == "note");
  CHECK_FALSE(log::set_format("xml"));
}
