#include "messages/errors.hpp"

#include <caf/atom.hpp>
#include <caf/exit_reason.hpp>
#include <caf/message.hpp>
#include <caf/pec.hpp>
#include <caf/sec.hpp>

namespace herald {

const char* to_string(errc x) {
  switch (x) {
    case errc::none:
      return "none";
    case errc::unknown_topic:
      return "unknown_topic";
    case errc::topic_exists:
      return "topic_exists";
    case errc::invalid_topic_name:
      return "invalid_topic_name";
    case errc::invalid_partition_count:
      return "invalid_partition_count";
    case errc::invalid_config:
      return "invalid_config";
    case errc::invalid_event:
      return "invalid_event";
    case errc::event_too_large:
      return "event_too_large";
    case errc::invalid_json:
      return "invalid_json";
    case errc::member_exists:
      return "member_exists";
    case errc::invalid_argument:
      return "invalid_argument";
    case errc::timeout:
      return "timeout";
    case errc::shutting_down:
      return "shutting_down";
    case errc::corrupt_batch:
      return "corrupt_batch";
    case errc::offset_out_of_range:
      return "offset_out_of_range";
    case errc::fenced:
      return "fenced";
    case errc::handler_failed:
      return "handler_failed";
    case errc::storage_failure:
      return "storage_failure";
    case errc::unknown_partition:
      return "unknown_partition";
    case errc::producer_closed:
      return "producer_closed";
    case errc::escalated:
      return "escalated";
    case errc::version_conflict:
      return "version_conflict";
    case errc::command_rejected:
      return "command_rejected";
    case errc::invalid_schema:
      return "invalid_schema";
    case errc::incompatible_schema:
      return "incompatible_schema";
    case errc::schema_violation:
      return "schema_violation";
    case errc::unknown_schema:
      return "unknown_schema";
  }
  return "unknown_error_code";
}

caf::error make_error(errc code, std::string what) {
  return caf::make_error(code, std::move(what));
}

namespace {

std::string context_text(const caf::message& ctx) {
  if (ctx.empty()) return {};
  if (ctx.size() == 1 && ctx.match_element<std::string>(0)) return ctx.get_as<std::string>(0);
  return to_string(ctx);
}

}  // namespace

std::string describe(const caf::error& err) {
  if (!err) return "no error";
  std::string name;
  auto cat = err.category();
  if (cat == caf::atom("herald")) {
    name = to_string(static_cast<errc>(err.code()));
  } else if (cat == caf::atom("system")) {
    name = to_string(static_cast<caf::sec>(err.code()));
  } else if (cat == caf::atom("exit")) {
    name = to_string(static_cast<caf::exit_reason>(err.code()));
  } else if (cat == caf::atom("parser")) {
    name = to_string(static_cast<caf::pec>(err.code()));
  } else {
    name = to_string(cat) + ":" + std::to_string(err.code());
  }
  auto ctx = context_text(err.context());
  if (ctx.empty()) return name;
  return name + ": " + ctx;
}

bool is(const caf::error& err, errc code) {
  return err.category() == caf::atom("herald") && err.code() == static_cast<uint8_t>(code);
}

}  // namespace herald
