// Logging: one named spdlog logger per subsystem ("herald.partition", "herald.group", ...),
// writing key=value lines to standard error. Every line about an event or a partition carries
// topic= and partition= (and offset= where there is one), so lines can be grepped by them.
// Levels change at run time with set_level().
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

/// Sets the level of one subsystem's logger.
bool set_level(std::string_view subsystem, std::string_view level);

}  // namespace herald::log
