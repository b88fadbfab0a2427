#include "runtime/subscription.hpp"

#include <caf/scoped_actor.hpp>

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
  {
    std::lock_guard<std::mutex> guard{st.mtx};
    if (st.stopped) return caf::none;
    st.stopped = true;
    if (st.exited) return caf::none;
  }
  caf::scoped_actor self{st.actor->home_system()};
  caf::error result;
  self->request(st.actor, st.stop_timeout, stop_atom::value)
      .receive([](ok_atom) {},
               [&](caf::error& err) {
                 // Already gone (it failed or was killed): nothing to stop.
                 if (err != caf::sec::request_receiver_down) result = std::move(err);
               });
  if (result) {
    self->send_exit(st.actor, caf::exit_reason::kill);
    return make_error(errc::timeout, "member '" + st.member + "' of group '" + st.group +
                                         "' did not stop cleanly (" + describe(result) +
                                         "); it was killed and its uncommitted events will be "
                                         "delivered again");
  }
  return caf::none;
}

}  // namespace herald
