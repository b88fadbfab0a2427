#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/supervisor.hpp"
#include "messages/atoms.hpp"
#include "messages/errors.hpp"
#include "messages/registration.hpp"
#include "tests/support/wait.hpp"

using namespace herald;
using namespace std::chrono_literals;

namespace {

// A child that fails on `crash_atom` and exits normally on `ok_atom`.
using crash_atom = caf::atom_constant<caf::atom("t_crash")>;

// The int argument only avoids a UBSan report inside CAF for argument-less spawns.
caf::behavior crashy_actor(caf::event_based_actor* self, int) {
  return {
      [self](crash_atom) { self->quit(make_error(errc::handler_failed, "told to crash")); },
      [self](ok_atom) { self->quit(); },
  };
}

/// Records every handle a child_spec started.
struct starts {
  std::mutex mtx;
  std::vector<caf::actor> handles;
  size_t count() {
    std::lock_guard<std::mutex> g{mtx};
    return handles.size();
  }
  caf::actor last() {
    std::lock_guard<std::mutex> g{mtx};
    return handles.back();
  }
};

child_spec spec(const std::string& name, starts& s, restart_mode mode = restart_mode::permanent) {
  return {name, mode, false, [](caf::actor_system& sys) { return sys.spawn(crashy_actor, 0); },
          [&s](const caf::actor& a) {
            std::lock_guard<std::mutex> g{s.mtx};
            s.handles.push_back(a);
          }};
}

supervisor_options fast(restart_strategy strategy = restart_strategy::one_for_one,
                        int max_restarts = 5) {
  supervisor_options o;
  o.strategy = strategy;
  o.intensity = {max_restarts, 10s};
  o.backoff = {.initial = 1ms, .multiplier = 2.0, .max = 10ms, .jitter = 0.0};
  return o;
}

struct fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  fixture() {
    register_types(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
};

}  // namespace

TEST_CASE_METHOD(fixture, "a failed permanent child is restarted with a new handle",
                 "[supervisor]") {
  starts s;
  auto sup = sys->spawn(supervisor, "root", fast(), std::vector<child_spec>{spec("worker", s)});
  REQUIRE(test::wait_until([&] { return s.count() == 1; }));
  auto first = s.last();
  caf::anon_send(first, crash_atom::value);
  REQUIRE(test::wait_until([&] { return s.count() == 2; }));
  CHECK(s.last() != first);
  caf::scoped_actor self{*sys};
  supervision_node tree;
  self->request(sup, 5s, get_supervision_tree{})
      .receive([&](supervision_node& n) { tree = n; }, [](caf::error& e) { FAIL(describe(e)); });
  REQUIRE(tree.children.size() == 1);
  CHECK(tree.children[0].name == "worker");
  CHECK(tree.children[0].restarts == 1);
  CHECK(tree.children[0].last_failure.find("told to crash") != std::string::npos);
  self->send_exit(sup, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(fixture, "temporary and transient children follow their restart mode",
                 "[supervisor]") {
  starts temp, trans;
  auto sup = sys->spawn(supervisor, "root", fast(),
                        std::vector<child_spec>{spec("temp", temp, restart_mode::temporary),
                                                spec("trans", trans, restart_mode::transient)});
  REQUIRE(test::wait_until([&] { return temp.count() == 1 && trans.count() == 1; }));
  caf::anon_send(temp.last(), crash_atom::value);  // failed, but temporary: not restarted
  caf::anon_send(trans.last(), ok_atom::value);    // normal exit, transient: not restarted
  caf::scoped_actor self{*sys};
  // Both leave the tree once their exits are handled.
  REQUIRE(test::wait_until([&] {
    size_t n = 99;
    self->request(sup, 5s, get_supervision_tree{})
        .receive([&](supervision_node& t) { n = t.children.size(); }, [](caf::error&) {});
    return n == 0;
  }));
  CHECK(temp.count() == 1);
  CHECK(trans.count() == 1);
  self->send_exit(sup, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(fixture, "exceeding the restart intensity escalates to the parent",
                 "[supervisor]") {
  starts s;
  caf::scoped_actor self{*sys};
  auto sup = sys->spawn(supervisor, "group-x", fast(restart_strategy::one_for_one, 2),
                        std::vector<child_spec>{spec("worker", s)});
  self->monitor(sup);
  for (size_t i = 1; i <= 3; ++i) {
    REQUIRE(test::wait_until([&] { return s.count() == i; }));
    caf::anon_send(s.last(), crash_atom::value);
  }
  caf::error reason;
  self->receive([&](caf::down_msg& dm) { reason = dm.reason; },
                caf::after(std::chrono::seconds{20}) >> [] { FAIL("no escalation"); });
  CHECK(is(reason, errc::escalated));
  CHECK(describe(reason).find("worker") != std::string::npos);
  CHECK(s.count() == 3);  // two restarts allowed, the third failure escalated
}

TEST_CASE_METHOD(fixture, "all_for_one restarts every child when one fails", "[supervisor]") {
  starts a, b;
  auto sup = sys->spawn(supervisor, "pair", fast(restart_strategy::all_for_one),
                        std::vector<child_spec>{spec("a", a), spec("b", b)});
  REQUIRE(test::wait_until([&] { return a.count() == 1 && b.count() == 1; }));
  caf::anon_send(a.last(), crash_atom::value);
  REQUIRE(test::wait_until([&] { return a.count() == 2 && b.count() == 2; }));
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(fixture, "all_for_one restarts in start order, whichever child failed",
                 "[supervisor]") {
  // A later child may need the new handle of an earlier one (a member and its handler).
  std::mutex mtx;
  std::vector<std::string> order;
  auto logged = [&](const std::string& name, starts& s) {
    auto c = spec(name, s);
    c.on_start = [&, name, inner = c.on_start](const caf::actor& a) {
      inner(a);
      std::lock_guard<std::mutex> g{mtx};
      order.push_back(name);
    };
    return c;
  };
  starts a, b;
  auto sup = sys->spawn(supervisor, "pair", fast(restart_strategy::all_for_one),
                        std::vector<child_spec>{logged("a", a), logged("b", b)});
  REQUIRE(test::wait_until([&] { return a.count() == 1 && b.count() == 1; }));
  caf::anon_send(b.last(), crash_atom::value);  // the later child fails
  REQUIRE(test::wait_until([&] { return a.count() == 2 && b.count() == 2; }));
  caf::anon_send(a.last(), crash_atom::value);  // the earlier one fails
  REQUIRE(test::wait_until([&] { return a.count() == 3 && b.count() == 3; }));
  {
    std::lock_guard<std::mutex> g{mtx};
    CHECK(order == std::vector<std::string>{"a", "b", "a", "b", "a", "b"});
  }
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(fixture, "the supervision tree reports nested supervisors", "[supervisor]") {
  starts leaf;
  auto inner = child_spec{"inner", restart_mode::permanent, true,
                          [&leaf](caf::actor_system& sys) {
                            return sys.spawn(supervisor, "inner", fast(),
                                             std::vector<child_spec>{spec("leaf", leaf)});
                          },
                          nullptr};
  auto sup = sys->spawn(supervisor, "root", fast(), std::vector<child_spec>{inner});
  REQUIRE(test::wait_until([&] { return leaf.count() == 1; }));
  caf::scoped_actor self{*sys};
  supervision_node tree;
  self->request(sup, 5s, get_supervision_tree{})
      .receive([&](supervision_node& n) { tree = n; }, [](caf::error&) { FAIL(); });
  REQUIRE(tree.children.size() == 1);
  CHECK(tree.children[0].kind == "supervisor");
  REQUIRE(tree.children[0].children.size() == 1);
  CHECK(tree.children[0].children[0].name == "leaf");
  CHECK(tree.children[0].children[0].state == "running");
  self->send_exit(sup, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(fixture, "stopping a supervisor stops its children", "[supervisor]") {
  starts s;
  auto sup = sys->spawn(supervisor, "root", fast(), std::vector<child_spec>{spec("w", s)});
  REQUIRE(test::wait_until([&] { return s.count() == 1; }));
  caf::scoped_actor self{*sys};
  self->monitor(s.last());
  self->send_exit(sup, caf::exit_reason::user_shutdown);
  bool down = false;
  self->receive([&](caf::down_msg&) { down = true; },
                caf::after(std::chrono::seconds{20}) >> [] {});
  CHECK(down);
  CHECK(s.count() == 1);  // not restarted during shutdown
}
