#include "actors/snapshot_writer.hpp"

#include "base/logging.hpp"

namespace herald {

namespace {

auto& logger() {
  static auto l = log::get("entity");
  return l;
}

}  // namespace

caf::behavior snapshot_writer(snapshot_writer_t* self, std::string topic,
                              std::shared_ptr<snapshot_store> store, int32_t keep,
                              std::shared_ptr<entity_probe> probe) {
  auto& st = self->state;
  st.topic = std::move(topic);
  st.store = std::move(store);
  st.keep = keep;
  st.probe = std::move(probe);
  return {
      [self](entity_snapshot& s) {
        auto& st = self->state;
        auto& slot = st.pending[s.id];
        if (slot.version > 0) ++st.probe->snapshots_superseded;
        if (slot.version < s.version) slot = std::move(s);
        if (!st.flush_queued) {
          // Behind the snapshots already in the mailbox: they join this flush.
          st.flush_queued = true;
          self->send(self, snapshot_flush_atom::value);
        }
      },
      [self](snapshot_flush_atom) {
        auto& st = self->state;
        st.flush_queued = false;
        for (auto& [id, s] : st.pending) {
          if (auto err = st.store->save(s, st.keep)) {
            ++st.probe->snapshot_failures;
            // A lost snapshot costs replay time only: the entity goes on and tries again at
            // its next snapshot.
            logger()->warn("topic={} entity={} event=snapshot_failed version={} error=\"{}\"",
                           st.topic, id, s.version, describe(err));
          } else {
            ++st.probe->snapshots_written;
          }
        }
        st.pending.clear();
      },
  };
}

}  // namespace herald
