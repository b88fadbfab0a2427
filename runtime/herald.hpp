// Everything a user of Herald as a library needs: include this one header.
#pragma once

#include "actors/handler.hpp"
#include "messages/errors.hpp"
#include "messages/event.hpp"
#include "messages/group.hpp"
#include "messages/topic.hpp"
#include "observability/trace_tree.hpp"
#include "runtime/config.hpp"
#include "runtime/producer.hpp"
#include "runtime/runtime.hpp"
#include "runtime/subscription.hpp"
