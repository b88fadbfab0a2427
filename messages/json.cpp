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
