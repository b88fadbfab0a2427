// Supervision: the tree as data, and the messages a supervisor takes.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>

namespace herald {

/// One node of the supervision tree, as returned by get_supervision_tree.
struct supervision_node {
  std::string name;
  std::string kind;      ///< "supervisor" or "worker"
  std::string strategy;  ///< supervisors: one_for_one / all_for_one
  std::string mode;      ///< permanent / transient / temporary
  std::string state;     ///< running / restarting / stopped
  uint64_t actor_id = 0;
  int64_t restarts = 0;  ///< times this child was restarted
  std::string last_failure;
  std::vector<supervision_node> children;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, supervision_node& x) {
    return f(caf::meta::type_name("supervision_node"), x.name, x.kind, x.strategy, x.mode, x.state,
             x.actor_id, x.restarts, x.last_failure, x.children);
  }
};

/// -> supervision_node: the supervisor and everything below it.
struct get_supervision_tree {
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, get_supervision_tree&) {
    return f(caf::meta::type_name("get_supervision_tree"));
  }
};

/// -> ok_atom: stops the child `name` for good (no restart).
struct stop_child {
  std::string name;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, stop_child& x) {
    return f(caf::meta::type_name("stop_child"), x.name);
  }
};

}  // namespace herald
