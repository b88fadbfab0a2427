#include "messages/cart.hpp"

#include <boost/json.hpp>

#include "messages/errors.hpp"

namespace herald::cart {

namespace {

void append_quoted(std::string& out, std::string_view s) {
  out += boost::json::serialize(boost::json::string_view{s.data(), s.size()});
}

caf::error bad(std::string what) {
  return make_error(errc::invalid_argument, std::move(what));
}

caf::error read_text(const flat_json& p, const char* name, std::string& out) {
  auto* f = p.find(name);
  if (!f) return bad(std::string{"field '"} + name + "' is missing");
  if (f->type != json_field::kind::string || f->text.empty())
    return bad(std::string{"field '"} + name + "' must be a non-empty string");
  out = f->text;
  return caf::none;
}

caf::error read_int(const flat_json& p, const char* name, int64_t min, int64_t& out) {
  auto* f = p.find(name);
  if (!f) return bad(std::string{"field '"} + name + "' is missing");
  if (f->type != json_field::kind::integer)
    return bad(std::string{"field '"} + name + "' must be an integer");
  if (f->integer < min)
    return bad(std::string{"field '"} + name + "' is " + std::to_string(f->integer) +
               "; it must be at least " + std::to_string(min));
  out = f->integer;
  return caf::none;
}

}  // namespace

std::string to_json(const item_added& x) {
  std::string out = R"({"cart_id":)";
  append_quoted(out, x.cart_id);
  out += R"(,"sku":)";
  append_quoted(out, x.sku);
  out += R"(,"qty":)" + std::to_string(x.qty) + R"(,"price":)" + std::to_string(x.price) + "}";
  return out;
}

std::string to_json(const item_removed& x) {
  std::string out = R"({"cart_id":)";
  append_quoted(out, x.cart_id);
  out += R"(,"sku":)";
  append_quoted(out, x.sku);
  out += R"(,"qty":)" + std::to_string(x.qty) + "}";
  return out;
}

std::string to_json(const cart_updated& x) {
  std::string out = R"({"cart_id":)";
  append_quoted(out, x.cart_id);
  out += R"(,"items":[)";
  for (size_t i = 0; i < x.items.size(); ++i) {
    auto& l = x.items[i];
    out += i ? R"(,{"sku":)" : R"({"sku":)";
    append_quoted(out, l.sku);
    out += R"(,"qty":)" + std::to_string(l.qty) + R"(,"price":)" + std::to_string(l.price) + "}";
  }
  out += R"(],"item_count":)" + std::to_string(x.item_count) + R"(,"total":)" +
         std::to_string(x.total) + R"(,"version":)" + std::to_string(x.version) + "}";
  return out;
}

event make_event(const item_added& x, const std::string& topic) {
  return event::builder{topic, item_added_type}.key(x.cart_id).payload(to_json(x)).build();
}

event make_event(const item_removed& x, const std::string& topic) {
  return event::builder{topic, item_removed_type}.key(x.cart_id).payload(to_json(x)).build();
}

caf::error parse(std::string_view payload, flat_json& p, item_added& out) {
  if (auto err = p.parse(payload)) return err;
  if (auto err = read_text(p, "cart_id", out.cart_id)) return err;
  if (auto err = read_text(p, "sku", out.sku)) return err;
  if (auto err = read_int(p, "qty", 1, out.qty)) return err;
  return read_int(p, "price", 0, out.price);
}

caf::error parse(std::string_view payload, flat_json& p, item_removed& out) {
  if (auto err = p.parse(payload)) return err;
  if (auto err = read_text(p, "cart_id", out.cart_id)) return err;
  if (auto err = read_text(p, "sku", out.sku)) return err;
  return read_int(p, "qty", 1, out.qty);
}

caf::expected<cart_updated> parse_cart_updated(std::string_view payload) {
  boost::system::error_code ec;
  auto v = boost::json::parse(payload, ec);
  if (ec || !v.is_object())
    return make_error(errc::invalid_json, "CartUpdated payload is not a JSON object");
  try {
    auto& o = v.as_object();
    cart_updated out;
    out.cart_id = boost::json::value_to<std::string>(o.at("cart_id"));
    for (auto& item : o.at("items").as_array()) {
      auto& io = item.as_object();
      out.items.push_back({boost::json::value_to<std::string>(io.at("sku")),
                           io.at("qty").to_number<int64_t>(), io.at("price").to_number<int64_t>()});
    }
    out.item_count = o.at("item_count").to_number<int64_t>();
    out.total = o.at("total").to_number<int64_t>();
    out.version = o.at("version").to_number<uint64_t>();
    return out;
  } catch (const std::exception& e) {
    return make_error(errc::invalid_json, std::string{"CartUpdated payload: "} + e.what());
  }
}

}  // namespace herald::cart
