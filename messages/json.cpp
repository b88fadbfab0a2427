#include "messages/json.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/error.hpp>

#include "messages/errors.hpp"

namespace herald {

namespace {

// A SAX handler that accepts everything: validation is the parser's own job.
struct null_handler {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);
  using ec_t = boost::json::error_code;
  bool on_document_begin(ec_t&) { return true; }
  bool on_document_end(ec_t&) { return true; }
  bool on_object_begin(ec_t&) { return true; }
  bool on_object_end(std::size_t, ec_t&) { return true; }
  bool on_array_begin(ec_t&) { return true; }
  bool on_array_end(std::size_t, ec_t&) { return true; }
  bool on_key_part(boost::json::string_view, std::size_t, ec_t&) { return true; }
  bool on_key(boost::json::string_view, std::size_t, ec_t&) { return true; }
  bool on_string_part(boost::json::string_view, std::size_t, ec_t&) { return true; }
  bool on_string(boost::json::string_view, std::size_t, ec_t&) { return true; }
  bool on_number_part(boost::json::string_view, ec_t&) { return true; }
  bool on_int64(int64_t, boost::json::string_view, ec_t&) { return true; }
  bool on_uint64(uint64_t, boost::json::string_view, ec_t&) { return true; }
  bool on_double(double, boost::json::string_view, ec_t&) { return true; }
  bool on_bool(bool, ec_t&) { return true; }
  bool on_null(ec_t&) { return true; }
  bool on_comment_part(boost::json::string_view, ec_t&) { return true; }
  bool on_comment(boost::json::string_view, ec_t&) { return true; }
};

}  // namespace

caf::error validate_json(std::string_view text) {
  if (text.empty()) return make_error(errc::invalid_json, "payload is empty; expected a JSON text");
  boost::json::parse_options opts;
  opts.max_depth = max_json_depth;
  boost::json::basic_parser<null_handler> p{opts};
  boost::json::error_code ec;
  auto n = p.write_some(false, text.data(), text.size(), ec);
  if (!ec && n < text.size()) ec = boost::json::error::extra_data;
  if (ec == boost::json::error::too_deep)
    return make_error(errc::invalid_json, "payload nests arrays and objects deeper than " +
                                              std::to_string(max_json_depth) +
                                              " levels, Herald's limit (at byte " +
                                              std::to_string(n) + ")");
  if (ec)
    return make_error(errc::invalid_json, "payload is not valid JSON: " + ec.message() +
                                              " at byte " + std::to_string(n));
  return caf::none;
}

}  // namespace herald

namespace herald {

namespace {

// Keeps the members of the outermost object; everything deeper only counts its depth.
struct flat_handler {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);
  using ec_t = boost::json::error_code;
  using sv = boost::json::string_view;

  flat_json* out = nullptr;
  json_field* current = nullptr;  // the member whose value comes next (depth 1 only)
  int depth = 0;
  bool not_object = false;

  json_field* value_slot() {
    if (depth != 1) return nullptr;
    auto* f = current;
    current = nullptr;
    return f;
  }
  bool on_document_begin(ec_t&) { return true; }
  bool on_document_end(ec_t&) { return true; }
  bool on_object_begin(ec_t&) {
    if (depth == 0) {
      ++depth;
      return true;
    }
    if (auto* f = value_slot()) f->type = json_field::kind::nested;
    ++depth;
    return true;
  }
  bool on_object_end(std::size_t, ec_t&) {
    --depth;
    return true;
  }
  bool on_array_begin(ec_t&) {
    if (depth == 0) not_object = true;
    if (auto* f = value_slot()) f->type = json_field::kind::nested;
    ++depth;
    return true;
  }
  bool on_array_end(std::size_t, ec_t&) {
    --depth;
    return true;
  }
  bool on_key_part(sv s, std::size_t n, ec_t&) {
    if (depth != 1) return true;
    if (n == s.size()) {
      current = &out->add_field();
      current->key.clear();
    }
    current->key.append(s.data(), s.size());
    return true;
  }
  bool on_key(sv s, std::size_t n, ec_t& ec) {
    if (depth != 1) return true;
    if (n == s.size()) {
      current = &out->add_field();
      current->key.clear();
    }
    return on_key_tail(s, ec);
  }
  bool on_key_tail(sv s, ec_t&) {
    current->key.append(s.data(), s.size());
    return true;
  }
  bool on_string_part(sv s, std::size_t n, ec_t&) {
    if (depth == 0) not_object = true;
    if (depth != 1 || !current) return true;
    if (n == s.size()) current->text.clear();
    current->text.append(s.data(), s.size());
    return true;
  }
  bool on_string(sv s, std::size_t n, ec_t&) {
    if (depth == 0) not_object = true;
    if (auto* f = value_slot()) {
      if (n == s.size()) f->text.clear();
      f->text.append(s.data(), s.size());
      f->type = json_field::kind::string;
    }
    return true;
  }
  bool on_number_part(sv, ec_t&) { return true; }
  bool on_int64(int64_t v, sv, ec_t&) {
    if (depth == 0) not_object = true;
    if (auto* f = value_slot()) {
      f->type = json_field::kind::integer;
      f->integer = v;
      f->number = static_cast<double>(v);
    }
    return true;
  }
  bool on_uint64(uint64_t v, sv, ec_t&) {
    if (depth == 0) not_object = true;
    if (auto* f = value_slot()) {
      f->type = json_field::kind::number;  // beyond int64: not an integer Herald reads
      f->number = static_cast<double>(v);
    }
    return true;
  }
  bool on_double(double v, sv, ec_t&) {
    if (depth == 0) not_object = true;
    if (auto* f = value_slot()) {
      f->type = json_field::kind::number;
      f->number = v;
    }
    return true;
  }
  bool on_bool(bool v, ec_t&) {
    if (depth == 0) not_object = true;
    if (auto* f = value_slot()) {
      f->type = json_field::kind::boolean;
      f->integer = v ? 1 : 0;
    }
    return true;
  }
  bool on_null(ec_t&) {
    if (depth == 0) not_object = true;
    if (auto* f = value_slot()) f->type = json_field::kind::null;
    return true;
  }
  bool on_comment_part(sv, ec_t&) { return true; }
  bool on_comment(sv, ec_t&) { return true; }
};

}  // namespace

json_field& flat_json::add_field() {
  if (used_ == fields_.size()) fields_.emplace_back();
  auto& f = fields_[used_++];
  f.type = json_field::kind::null;
  return f;
}

const json_field* flat_json::find(std::string_view key) const {
  for (size_t i = used_; i > 0; --i)
    if (fields_[i - 1].key == key) return &fields_[i - 1];
  return nullptr;
}

caf::error flat_json::parse(std::string_view text) {
  used_ = 0;
  if (text.empty()) return make_error(errc::invalid_json, "payload is empty; expected an object");
  boost::json::parse_options opts;
  opts.max_depth = max_json_depth;
  boost::json::basic_parser<flat_handler> p{opts};
  p.handler().out = this;
  boost::json::error_code ec;
  auto n = p.write_some(false, text.data(), text.size(), ec);
  if (!ec && n < text.size()) ec = boost::json::error::extra_data;
  if (ec) {
    used_ = 0;
    return make_error(errc::invalid_json, "payload is not valid JSON: " + ec.message() +
                                              " at byte " + std::to_string(n));
  }
  if (p.handler().not_object) {
    used_ = 0;
    return make_error(errc::invalid_json, "payload is JSON but not an object");
  }
  return caf::none;
}

}  // namespace herald
