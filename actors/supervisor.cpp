#include "actors/supervisor.hpp"

#include <memory>

#include <caf/response_promise.hpp>
#include <caf/system_messages.hpp>

#include "base/logging.hpp"
#include "messages/atoms.hpp"
#include "messages/errors.hpp"

namespace herald {

namespace {

auto& logger() {
  static auto l = log::get("supervisor");
  return l;
}

using self_ptr = supervisor_actor_t*;
using child_t = supervisor_state::child;
using clock = std::chrono::steady_clock;

child_t* find(self_ptr self, const caf::actor_addr& addr) {
  for (auto& c : self->state.children)
    if (c.handle && c.handle.address() == addr) return &c;
  return nullptr;
}

child_t* find(self_ptr self, const std::string& name) {
  for (auto& c : self->state.children)
    if (c.spec.name == name) return &c;
  return nullptr;
}

caf::error start(self_ptr self, child_t& c) {
  caf::actor a;
  try {
    a = c.spec.start(self->home_system());
  } catch (const std::exception& e) {
    return make_error(errc::invalid_argument, "starting '" + c.spec.name + "' threw: " + e.what());
  }
  if (!a)
    return make_error(errc::invalid_argument,
                      "start function of '" + c.spec.name + "' returned no actor");
  self->monitor(a);
  c.handle = std::move(a);
  c.restarting = false;
  c.started = clock::now();
  if (c.spec.on_start) c.spec.on_start(c.handle);
  return caf::none;
}

/// Stops a child without treating its exit as a failure.
void stop(self_ptr self, child_t& c) {
  if (!c.handle) return;
  self->demonitor(c.handle);
  self->send_exit(c.handle, caf::exit_reason::user_shutdown);
  c.handle = nullptr;
}

void stop_all(self_ptr self) {
  auto& kids = self->state.children;
  for (auto it = kids.rbegin(); it != kids.rend(); ++it) stop(self, *it);
}

void schedule_restart(self_ptr self, child_t& c, std::chrono::milliseconds delay) {
  c.restarting = true;
  ++c.generation;
  self->delayed_send(self, delay, restart_atom::value, c.spec.name, c.generation);
}

void escalate(self_ptr self, const child_t& c) {
  auto& st = self->state;
  auto msg = "supervisor '" + st.name_ + "': child '" + c.spec.name + "' failed more than " +
             std::to_string(st.options.intensity.max_restarts) + " times within " +
             std::to_string(st.options.intensity.window.count()) + " ms (last: " + c.last_failure +
             "); escalating to the parent supervisor";
  logger()->error("supervisor={} child={} event=escalate last_failure=\"{}\"", st.name_,
                  c.spec.name, c.last_failure);
  stop_all(self);
  self->quit(make_error(errc::escalated, msg));
}

void on_child_down(self_ptr self, caf::down_msg& dm) {
  auto& st = self->state;
  auto* c = find(self, dm.source);
  if (!c || st.stopping) return;
  c->handle = nullptr;
  bool failed = static_cast<bool>(dm.reason) && dm.reason != caf::exit_reason::user_shutdown;
  if (c->spec.mode == restart_mode::temporary ||
      (c->spec.mode == restart_mode::transient && !failed)) {
    logger()->info("supervisor={} child={} event=child_exited reason=\"{}\" restart=no", st.name_,
                   c->spec.name, describe(dm.reason));
    auto name = c->spec.name;
    std::erase_if(st.children, [&](const child_t& x) { return x.spec.name == name; });
    return;
  }
  auto now = clock::now();
  c->last_failure = dm.reason ? describe(dm.reason) : "exited normally";
  // A child that ran longer than the window before failing starts its backoff over.
  if (now - c->started > st.options.intensity.window) c->failures = 0;
  if (!st.window.allow(now)) {
    escalate(self, *c);
    return;
  }
  ++c->failures;
  auto delay = st.options.backoff.delay(c->failures, st.rng);
  logger()->warn(
      "supervisor={} child={} event=child_failed reason=\"{}\" restart_in_ms={} "
      "strategy={}",
      st.name_, c->spec.name, c->last_failure, delay.count(), to_string(st.options.strategy));
  if (st.options.strategy != restart_strategy::all_for_one) {
    schedule_restart(self, *c, delay);
    return;
  }
  // All of them, in start order (same delay, so the timers fire in that order too): a later
  // child may need the new handle of an earlier one.
  for (auto& other : st.children) {
    if (&other != c) {
      if (!other.handle) continue;
      stop(self, other);
    }
    schedule_restart(self, other, delay);
  }
}

supervision_node node_of(self_ptr self) {
  auto& st = self->state;
  supervision_node n;
  n.name = st.name_;
  n.kind = "supervisor";
  n.strategy = to_string(st.options.strategy);
  n.state = st.stopping ? "stopping" : "running";
  n.actor_id = self->id();
  for (auto& c : st.children) {
    supervision_node k;
    k.name = c.spec.name;
    k.kind = c.spec.is_supervisor ? "supervisor" : "worker";
    k.mode = to_string(c.spec.mode);
    k.state = c.handle ? "running" : (c.restarting ? "restarting" : "stopped");
    k.actor_id = c.handle ? c.handle.id() : 0;
    k.restarts = c.restarts;
    k.last_failure = c.last_failure;
    n.children.push_back(std::move(k));
  }
  return n;
}

}  // namespace

caf::behavior supervisor(supervisor_actor_t* self, std::string name, supervisor_options options,
                         std::vector<child_spec> children) {
  auto& st = self->state;
  st.name_ = std::move(name);
  st.options = std::move(options);
  st.window = restart_window{st.options.intensity};
  self->set_down_handler([self](caf::down_msg& dm) { on_child_down(self, dm); });
  // Trap exits: a shutdown request stops the children in reverse start order first.
  self->set_exit_handler([self](caf::exit_msg& em) {
    self->state.stopping = true;
    stop_all(self);
    self->quit(em.reason);
  });
  for (auto& spec : children) {
    st.children.push_back(child_t{std::move(spec)});
    if (auto err = start(self, st.children.back())) {
      logger()->error("supervisor={} child={} event=start_failed error=\"{}\"", st.name_,
                      st.children.back().spec.name, describe(err));
      st.children.back().last_failure = describe(err);
    }
  }
  return {
      [self](start_child& req) -> caf::result<caf::actor> {
        auto& st = self->state;
        if (find(self, req.spec.name))
          return make_error(
              errc::invalid_argument,
              "supervisor '" + st.name_ + "' already has a child named '" + req.spec.name + "'");
        st.children.push_back(child_t{std::move(req.spec)});
        if (auto err = start(self, st.children.back())) {
          st.children.pop_back();
          return err;
        }
        return st.children.back().handle;
      },
      [self](stop_child& req) -> caf::result<ok_atom> {
        auto& st = self->state;
        auto* c = find(self, req.name);
        if (!c) return make_error(errc::invalid_argument, "no child named '" + req.name + "'");
        stop(self, *c);
        std::erase_if(st.children, [&](const child_t& x) { return x.spec.name == req.name; });
        return ok_atom::value;
      },
      [self](restart_atom, const std::string& name, uint64_t generation) {
        auto* c = find(self, name);
        if (!c || !c->restarting || c->generation != generation || self->state.stopping) return;
        ++c->restarts;
        if (auto err = start(self, *c)) {
          // A start that fails counts as a failure of the child.
          c->last_failure = describe(err);
          logger()->error("supervisor={} child={} event=restart_failed error=\"{}\"",
                          self->state.name_, name, c->last_failure);
          if (!self->state.window.allow(clock::now())) {
            escalate(self, *c);
            return;
          }
          schedule_restart(self, *c,
                           self->state.options.backoff.delay(++c->failures, self->state.rng));
          return;
        }
        logger()->info("supervisor={} child={} event=child_restarted restarts={}",
                       self->state.name_, name, c->restarts);
      },
      [self](get_supervision_tree) -> caf::result<supervision_node> {
        auto node = std::make_shared<supervision_node>(node_of(self));
        auto pending = std::make_shared<size_t>(0);
        auto& kids = self->state.children;
        for (size_t i = 0; i < kids.size(); ++i)
          if (kids[i].spec.is_supervisor && kids[i].handle) ++*pending;
        if (*pending == 0) return *node;
        // Only now: a response promise takes over the response, a returned value would be lost.
        auto rp = self->make_response_promise<supervision_node>();
        for (size_t i = 0; i < kids.size(); ++i) {
          if (!kids[i].spec.is_supervisor || !kids[i].handle) continue;
          auto done = [rp, node, pending]() mutable {
            if (--*pending == 0) rp.deliver(*node);
          };
          self->request(kids[i].handle, std::chrono::seconds{5}, get_supervision_tree{})
              .then(
                  [node, i, done](supervision_node& sub) mutable {
                    // The child reports its subtree; what its parent knows about it
                    // (restarts, mode, last failure) stays.
                    auto& slot = node->children[i];
                    sub.name = slot.name;
                    sub.mode = slot.mode;
                    sub.restarts = slot.restarts;
                    sub.last_failure = slot.last_failure;
                    slot = std::move(sub);
                    done();
                  },
                  [done](caf::error&) mutable { done(); });
        }
        return rp;
      },
  };
}

}  // namespace herald
