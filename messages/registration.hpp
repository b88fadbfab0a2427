// One place that registers every message type with CAF. Forgetting a registration is the
// classic CAF bug: an unregistered type sent to another node arrives as an empty message.
// tests/messages/registration_test.cpp round-trips every type listed here.
#pragma once

#include <string>
#include <vector>

#include <caf/actor_system_config.hpp>

namespace herald {

/// Registers every Herald message type and the "herald" error category with `cfg`.
void register_types(caf::actor_system_config& cfg);

/// The names under which register_types() registers types (for the self-check).
const std::vector<std::string>& registered_type_names();

}  // namespace herald
