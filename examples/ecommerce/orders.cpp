#include "examples/ecommerce/orders.hpp"

#include <cmath>
#include <cstdio>
#include <exception>

#include <boost/json.hpp>

namespace shop {

namespace {

std::string decimal(cents c) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%lld.%02lld", static_cast<long long>(c / 100),
                static_cast<long long>(c % 100));
  return buf;
}

cents to_cents(const boost::json::value& v) {
  return std::llround(v.to_number<double>() * 100);
}

}  // namespace

// Boost.JSON finds these by argument-dependent lookup; they throw on a missing or mistyped
// field, which parse_order turns into an error value.
line_item tag_invoke(boost::json::value_to_tag<line_item>, const boost::json::value& v) {
  auto& o = v.as_object();
  return {boost::json::value_to<std::string>(o.at("sku")), o.at("qty").to_number<int>(),
          to_cents(o.at("price"))};
}

order tag_invoke(boost::json::value_to_tag<order>, const boost::json::value& v) {
  auto& o = v.as_object();
  return {boost::json::value_to<std::string>(o.at("order_id")),
          boost::json::value_to<std::string>(o.at("user_id")),
          boost::json::value_to<std::vector<line_item>>(o.at("items")), to_cents(o.at("total"))};
}

order order_generator::next() {
  char id[16];
  std::snprintf(id, sizeof(id), "ORD-%06d", next_number_++);
  char user[16];
  std::snprintf(user, sizeof(user), "USR-%03u", 1 + below(60));
  order o{id, user, {}, 0};
  // One to three distinct products; now and then a bulk quantity (the fraud service's cue).
  auto first = below(catalog.size());
  auto lines = 1 + below(3);
  for (uint32_t i = 0; i < lines; ++i) {
    auto& p = catalog[(first + i * 2) % catalog.size()];
    int qty = below(100) < 3 ? 12 : static_cast<int>(1 + below(3));
    o.items.push_back({p.sku, qty, p.price});
    o.total += qty * p.price;
  }
  return o;
}

herald::event to_event(const order& o) {
  // Built as text: Boost.JSON would print 49.99 as 4.999E1, correct but unfriendly in logs.
  std::string json = R"({"event":"OrderPlaced","order_id":")" + o.order_id + R"(","user_id":")" +
                     o.user_id + R"(","items":[)";
  for (size_t i = 0; i < o.items.size(); ++i) {
    auto& it = o.items[i];
    if (i > 0) json += ',';
    json += R"({"sku":")" + it.sku + R"(","qty":)" + std::to_string(it.qty) + R"(,"price":)" +
            decimal(it.unit_price) + "}";
  }
  json += R"(],"total":)" + decimal(o.total) + "}";
  return herald::make_event("orders", "OrderPlaced", o.order_id, std::move(json));
}

caf::expected<order> parse_order(const herald::event_view& e) {
  auto doc = e.json();
  if (!doc) return std::move(doc.error());
  try {
    return boost::json::value_to<order>(*doc);
  } catch (const std::exception& ex) {
    return herald::make_error(herald::errc::invalid_event,
                              "OrderPlaced " + std::string{e.id_text()} + " at offset " +
                                  std::to_string(e.offset().value) + ": " + ex.what());
  }
}

std::string money(cents c) {
  auto units = std::to_string(c / 100);
  std::string out = "$";
  for (size_t i = 0; i < units.size(); ++i) {
    if (i > 0 && (units.size() - i) % 3 == 0) out += ',';
    out += units[i];
  }
  char rest[8];
  std::snprintf(rest, sizeof(rest), ".%02lld", static_cast<long long>(c % 100));
  return out + rest;
}

}  // namespace shop
