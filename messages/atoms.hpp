// Atoms for messages without fields (timers, stop requests). Atoms need no registration.
#pragma once

#include <caf/atom.hpp>

namespace herald {

/// A partition's periodic retention check (age limits).
using retention_tick_atom = caf::atom_constant<caf::atom("h_rettick")>;
/// A coordinator's revoke deadline for one partition.
using revoke_timeout_atom = caf::atom_constant<caf::atom("h_revto")>;
/// Asks a member to commit, leave its group and stop; answered when it has.
using stop_atom = caf::atom_constant<caf::atom("h_stop")>;
/// Asks a member or producer for its counters.
using stats_atom = caf::atom_constant<caf::atom("h_stats")>;
/// A producer's timer: ship batches that lingered long enough.
using linger_tick_atom = caf::atom_constant<caf::atom("h_linger")>;
/// A supervisor's timer: restart the child (name, generation) now.
using restart_atom = caf::atom_constant<caf::atom("h_restart")>;
/// A member's timer: run the retries that are due.
using retry_tick_atom = caf::atom_constant<caf::atom("h_retry")>;
using dead_letter_retry_atom = caf::atom_constant<caf::atom("h_dlretry")>;
/// A member (re)joins its group.
using join_atom = caf::atom_constant<caf::atom("h_join")>;
/// A producer's timer: ask the registry again for a topic whose partition restarted.
using refresh_atom = caf::atom_constant<caf::atom("h_refresh")>;
/// A member's timer: ask the registry again for its group's coordinator.
using find_coordinator_atom = caf::atom_constant<caf::atom("h_findco")>;
/// Liveness probe; answered with ok.
/// An aggregator's timers: is its producer idle yet (start), quiet periods ended, interval
/// tick, try the outputs its producer refused again; and a callback: a dead letter stored.
using agg_poll_atom = caf::atom_constant<caf::atom("h_aggpoll")>;
using agg_quiet_atom = caf::atom_constant<caf::atom("h_aggquiet")>;
using agg_interval_atom = caf::atom_constant<caf::atom("h_aggint")>;
using agg_outbox_atom = caf::atom_constant<caf::atom("h_aggout")>;
using agg_dlq_atom = caf::atom_constant<caf::atom("h_aggdlq")>;
using agg_dlq_retry_atom = caf::atom_constant<caf::atom("h_aggdlqr")>;
/// An output was lost (the producer gave up on it): the aggregator restarts and rebuilds.
using agg_failed_atom = caf::atom_constant<caf::atom("h_aggfail")>;
using ping_atom = caf::atom_constant<caf::atom("h_ping")>;
using ok_atom = caf::atom_constant<caf::atom("h_ok")>;

}  // namespace herald
