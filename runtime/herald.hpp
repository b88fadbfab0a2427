// Everything a user of Herald as a library needs: include this one header.
#pragma once

#include "actors/cart_aggregator.hpp"
#include "actors/handler.hpp"
#include "messages/errors.hpp"
#include "messages/event.hpp"
#include "messages/group.hpp"
#include "messages/topic.hpp"
#include "observability/trace_tree.hpp"
#include "runtime/aggregator.hpp"
#include "runtime/config.hpp"
#include "runtime/entities.hpp"
#include "runtime/producer.hpp"
#include "runtime/projection.hpp"
#include "runtime/read_models.hpp"
#include "runtime/runtime.hpp"
#include "runtime/subscription.hpp"
