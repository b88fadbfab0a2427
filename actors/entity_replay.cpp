#include "actors/entity_replay.hpp"

namespace herald {

caf::error entity_replay::gap(int64_t found, offset at) const {
  return make_error(errc::storage_failure,
                    "entity '" + id_ + "' in topic '" + topic_ +
                        "': its events jump from version " + std::to_string(version_) + " to " +
                        std::to_string(found) + " at offset " + std::to_string(at.value) +
                        ", so events are missing from the log (deleted by retention, or "
                        "written by something other than the entity); keep entity topics "
                        "without retention, or restore the missing events");
}

}  // namespace herald
