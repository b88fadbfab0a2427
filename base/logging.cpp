#include "base/logging.hpp"

#include <mutex>

#include <spdlog/sinks/stdout_sinks.h>

namespace herald::log {

namespace {

std::mutex mtx;
spdlog::level::level_enum default_level = spdlog::level::info;

std::shared_ptr<spdlog::sinks::sink> shared_sink() {
  static auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  return sink;
}

bool parse(std::string_view text, spdlog::level::level_enum& out) {
  auto lvl = spdlog::level::from_str(std::string{text});
  // from_str maps unknown names to "off"; only accept "off" when asked for it.
  if (lvl == spdlog::level::off && text != "off") return false;
  out = lvl;
  return true;
}

}  // namespace

std::shared_ptr<spdlog::logger> get(std::string_view subsystem) {
  std::string name = "herald.";
  name += subsystem;
  std::lock_guard<std::mutex> guard{mtx};
  if (auto existing = spdlog::get(name)) return existing;
  auto logger = std::make_shared<spdlog::logger>(name, shared_sink());
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e level=%l logger=%n %v");
  logger->set_level(default_level);
  spdlog::register_logger(logger);
  return logger;
}

bool valid_level(std::string_view level) {
  spdlog::level::level_enum lvl;
  return parse(level, lvl);
}

bool set_level(std::string_view level) {
  spdlog::level::level_enum lvl;
  if (!parse(level, lvl)) return false;
  std::lock_guard<std::mutex> guard{mtx};
  default_level = lvl;
  spdlog::apply_all([&](std::shared_ptr<spdlog::logger> l) {
    if (l->name().rfind("herald.", 0) == 0) l->set_level(lvl);
  });
  return true;
}

bool set_level(std::string_view subsystem, std::string_view level) {
  spdlog::level::level_enum lvl;
  if (!parse(level, lvl)) return false;
  get(subsystem)->set_level(lvl);
  return true;
}

}  // namespace herald::log
