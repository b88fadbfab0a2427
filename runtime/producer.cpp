#include "runtime/producer.hpp"

#include "messages/errors.hpp"

namespace herald {

namespace {

caf::error no_core() {
  return make_error(errc::producer_closed, "this producer handle is empty (moved from or "
                                           "default-constructed); get one from "
                                           "runtime::make_producer()");
}

}  // namespace

producer& producer::operator=(producer&& other) noexcept {
  if (this != &other) {
    close();
    core_ = std::move(other.core_);
  }
  return *this;
}

producer::~producer() { close(); }

caf::expected<publish_ack> producer::publish(const event& ev) {
  if (!core_) return no_core();
  return core_->publish(ev);
}

caf::expected<std::vector<publish_ack>> producer::publish(const std::vector<event>& evs) {
  if (!core_) return no_core();
  return core_->publish(evs);
}

caf::error producer::publish_async(const event& ev) {
  if (!core_) return no_core();
  return core_->publish_async(ev);
}

caf::error producer::flush() {
  if (!core_) return no_core();
  return core_->flush();
}

void producer::close() {
  if (core_) {
    core_->close();
    core_.reset();
  }
}

producer_stats producer::stats() const { return core_ ? core_->stats() : producer_stats{}; }

producer_id producer::id() const { return core_ ? core_->id() : producer_id{}; }

}  // namespace herald
