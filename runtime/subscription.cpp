#include "runtime/subscription.hpp"

#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "messages/atoms.hpp"
#include "messages/errors.hpp"

namespace herald {

subscription& subscription::operator=(subscription&& other) noexcept {
  if (this != &other) {
    if (st_) (void)stop();
    st_ = std::move(other.st_);
  }
  return *this;
}

subscription::~subscription() {
  if (st_) (void)stop();
}

bool subscription::active() const {
  std::lock_guard<std::mutex> guard{st_->mtx};
  return !st_->stopped && !st_->exited;
}

caf::error subscription::failure() const {
  std::lock_guard<std::mutex> guard{st_->mtx};
  return st_->exit_reason;
}

caf::error subscription::stop() {
  if (!st_) return caf::none;
  return stop_subscription(*st_);
}

caf::error stop_subscription(subscription_state& st) {
  caf::actor member;
  {
    std::lock_guard<std::mutex> guard{st.mtx};
    if (st.stopped) return caf::none;
    st.stopped = true;
    if (st.exited) return caf::none;
    member = st.actor;
  }
  caf::error result;
  if (member) {
    caf::scoped_actor self{member->home_system()};
    // The member commits, leaves its group and exits normally (no restart: it is transient).
    self->request(member, st.stop_timeout, stop_atom::value)
        .receive([](ok_atom) {},
                 [&](caf::error& err) {
                   // Already gone (between a failure and its restart): nothing to stop.
                   if (err != caf::sec::request_receiver_down) result = std::move(err);
                 });
    if (result) self->send_exit(member, caf::exit_reason::kill);
  }
  if (st.supervisor) caf::anon_send_exit(st.supervisor, caf::exit_reason::user_shutdown);
  if (result)
    return make_error(errc::timeout, "member '" + st.member + "' of group '" + st.group +
                                         "' did not stop cleanly (" + describe(result) +
                                         "); it was killed and its uncommitted events will be "
                                         "delivered again");
  return caf::none;
}

}  // namespace herald
