// Logging: one named spdlog logger per subsystem ("herald.partition", "herald.group", ...),
// writing structured lines to one sink (standard error by default). Lines are written as
// key=value (format "text") or as JSON objects, one per line (format "json"); every line about
// an event or a partition carries topic= and partition= (and offset=, correlation_id= where
// there is one), so lines can be grepped or queried by them. Levels and format change at run
// time, process-wide; HERALD_LOG_LEVEL and HERALD_LOG_FORMAT set them from the environment.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

namespace herald::log {

/// The logger of `subsystem`, created on first use with the current default level.
/// Cheap after the first call per subsystem: keep the result in a static.
std::shared_ptr<spdlog::logger> get(std::string_view subsystem);

/// Sets the level of every Herald logger, and the default for new ones. Accepts trace, debug,
/// info, warn, error, critical, off. Returns false (and changes nothing) for anything else.
bool set_level(std::string_view level);

/// True if `level` names a level set_level() accepts.
bool valid_level(std::string_view level);

/// Sets the level of one subsystem's logger ("consumer", "partition", ...).
bool set_level(std::string_view subsystem, std::string_view level);

/// Applies a level specification: "debug", or "info,consumer=debug,partition=warn" (a default,
/// then per-subsystem levels). Returns false, changing nothing, if any part is invalid.
bool apply_levels(std::string_view spec);
/// True if apply_levels(spec) would succeed.
bool valid_levels(std::string_view spec);

/// "text" (key=value after a timestamp, level and logger) or "json" (one JSON object per line:
/// time, level, logger, then every key=value of the message as a field). False for others.
bool set_format(std::string_view format);
bool valid_format(std::string_view format);

/// Sends every Herald logger's lines to `sink` (null: back to standard error). For programs
/// that collect logs elsewhere, and for tests.
void set_sink(std::shared_ptr<spdlog::sinks::sink> sink);

/// Reads HERALD_LOG_LEVEL (a specification for apply_levels) and HERALD_LOG_FORMAT. Returns a
/// message naming what is wrong when a variable is set to something invalid, else empty.
std::string apply_env();

}  // namespace herald::log
