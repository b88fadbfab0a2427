#include "schema/upcaster.hpp"

#include <exception>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "messages/errors.hpp"

namespace herald {

namespace {

std::string step_name(std::string_view type, uint32_t from) {
  return std::string{type} + " v" + std::to_string(from) + " -> v" + std::to_string(from + 1);
}

}  // namespace

upcaster_set& upcaster_set::add(std::string type, uint32_t from, upcast_fn step) {
  // Copy on write: a subscription that took a copy keeps the steps it was given.
  auto next = steps_ ? std::make_shared<steps>(*steps_) : std::make_shared<steps>();
  (*next)[std::move(type)][from] = std::move(step);
  steps_ = std::move(next);
  return *this;
}

caf::error upcaster_set::check_chain(std::string_view type, uint32_t to) const {
  if (!steps_) return caf::none;
  auto it = steps_->find(type);
  if (it == steps_->end() || it->second.empty()) return caf::none;
  for (auto v = it->second.begin()->first; v < to; ++v)
    if (!it->second.count(v))
      return make_error(errc::invalid_argument,
                        "the upcasters of " + std::string{type} + " lack the step " +
                            step_name(type, v) + ", so events older than v" +
                            std::to_string(v + 1) + " cannot reach the expected v" +
                            std::to_string(to) + "; add it with upcaster_set::add");
  return caf::none;
}

caf::expected<std::string> upcaster_set::upcast(std::string_view type, uint32_t from, uint32_t to,
                                                std::string_view payload) const {
  const std::map<uint32_t, upcast_fn>* chain = nullptr;
  if (steps_)
    if (auto it = steps_->find(type); it != steps_->end()) chain = &it->second;
  boost::json::error_code ec;
  auto doc = boost::json::parse(boost::json::string_view{payload.data(), payload.size()}, ec);
  if (ec || !doc.is_object())
    return make_error(errc::handler_failed, std::string{type} + " v" + std::to_string(from) +
                                                " payload is not a JSON object; cannot upcast it");
  for (auto v = from; v < to; ++v) {
    auto step = chain ? chain->find(v) : decltype(chain->find(v)){};
    if (!chain || step == chain->end())
      return make_error(errc::handler_failed,
                        "no upcaster " + step_name(type, v) + " to bring a v" +
                            std::to_string(from) + " event to the v" + std::to_string(to) +
                            " this subscription expects; add it to subscribe_options::upcasters");
    caf::error err;
    try {
      err = step->second(doc.as_object());
    } catch (const std::exception& e) {
      err = make_error(errc::handler_failed, e.what());
    }
    if (err)
      return make_error(errc::handler_failed,
                        "upcaster " + step_name(type, v) + " failed: " + describe(err));
  }
  return boost::json::serialize(doc);
}

}  // namespace herald
