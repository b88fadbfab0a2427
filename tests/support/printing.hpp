// Lets Catch print Herald's strong types in failure messages instead of "{?}".
#pragma once

#include <catch2/catch.hpp>

#include <string>

#include "messages/ids.hpp"

namespace Catch {

template <>
struct StringMaker<herald::offset> {
  static std::string convert(herald::offset x) { return "offset " + std::to_string(x.value); }
};

template <>
struct StringMaker<herald::partition_id> {
  static std::string convert(herald::partition_id x) {
    return "partition " + std::to_string(x.value);
  }
};

template <>
struct StringMaker<herald::epoch> {
  static std::string convert(herald::epoch x) { return "epoch " + std::to_string(x.value); }
};

template <>
struct StringMaker<herald::timestamp> {
  static std::string convert(herald::timestamp x) { return std::to_string(x.value) + " ns"; }
};

}  // namespace Catch
