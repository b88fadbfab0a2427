#include "messages/group.hpp"

namespace herald {

std::string to_string(const start_position& x) {
  switch (x.from) {
    case start_position::kind::earliest: return "earliest";
    case start_position::kind::latest: return "latest";
    case start_position::kind::at_offset: return "offset " + std::to_string(x.value);
    case start_position::kind::at_time: return "time " + std::to_string(x.value);
  }
  return "?";
}

}  // namespace herald
