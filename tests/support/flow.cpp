#include "tests/support/flow.hpp"

#include <stdexcept>

#include "tests/support/wait.hpp"

namespace herald::test {

struct three_hop_flow::shared {
  producer out;
  mutable std::mutex mtx;
  std::vector<event> payments;
  std::vector<event> shipments;
};

namespace {

template <class T>
T check(caf::expected<T> x, const char* what) {
  if (!x) throw std::runtime_error(std::string{what} + ": " + describe(x.error()));
  return std::move(*x);
}

}  // namespace

three_hop_flow::three_hop_flow(runtime& rt) : st_(std::make_shared<shared>()) {
  for (auto name : {"orders", "payments", "shipments"})
    check(rt.create_topic(name, {.partitions = 2}), "create_topic");
  st_->out = rt.make_producer();
  auto st = st_;
  subs_.push_back(check(rt.subscribe("orders", "payment",
                                     [st](const event_view& e) -> caf::error {
                                       return st->out.publish_async(
                                           make_event("payments", "PaymentCompleted",
                                                      std::string{e.key()}, R"({"paid":true})"));
                                     }),
                        "subscribe payment"));
  subs_.push_back(check(rt.subscribe("payments", "shipping",
                                     [st](const event_view& e) -> caf::error {
                                       {
                                         std::lock_guard<std::mutex> guard{st->mtx};
                                         st->payments.push_back(e.to_event());
                                       }
                                       return st->out.publish_async(
                                           make_event("shipments", "ShipmentRequested",
                                                      std::string{e.key()}, R"({"ship":true})"));
                                     }),
                        "subscribe shipping"));
  subs_.push_back(check(rt.subscribe("shipments", "audit",
                                     [st](const event_view& e) {
                                       std::lock_guard<std::mutex> guard{st->mtx};
                                       st->shipments.push_back(e.to_event());
                                     }),
                        "subscribe audit"));
}

three_hop_flow::~three_hop_flow() {
  stop();
}

void three_hop_flow::stop() {
  for (auto& s : subs_) (void)s.stop();
  subs_.clear();
  if (st_->out.valid()) st_->out.close();
}

std::vector<event> three_hop_flow::payments() const {
  std::lock_guard<std::mutex> guard{st_->mtx};
  return st_->payments;
}

std::vector<event> three_hop_flow::shipments() const {
  std::lock_guard<std::mutex> guard{st_->mtx};
  return st_->shipments;
}

bool three_hop_flow::wait_for_shipments(size_t n) const {
  return wait_until([&] { return shipments().size() >= n; });
}

}  // namespace herald::test
