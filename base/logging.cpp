#include "base/logging.hpp"

#include <cctype>
#include <cstdlib>
#include <mutex>
#include <vector>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace herald::log {

namespace {

constexpr const char* text_pattern = "%Y-%m-%dT%H:%M:%S.%e level=%l logger=%n %v";

std::mutex mtx;
spdlog::level::level_enum default_level = spdlog::level::info;
bool json_format = false;

std::shared_ptr<spdlog::sinks::sink> stderr_sink() {
  static auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  return sink;
}

std::shared_ptr<spdlog::sinks::sink>& current_sink() {
  static std::shared_ptr<spdlog::sinks::sink> sink = stderr_sink();
  return sink;
}

bool parse(std::string_view text, spdlog::level::level_enum& out) {
  auto lvl = spdlog::level::from_str(std::string{text});
  // from_str maps unknown names to "off"; only accept "off" when asked for it.
  if (lvl == spdlog::level::off && text != "off") return false;
  out = lvl;
  return true;
}

void append_json_string(spdlog::memory_buf_t& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out.append(std::string_view{"\\n"});
    } else if (static_cast<unsigned char>(c) < 0x20) {
      fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<int>(c));
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

bool is_number(std::string_view s) {
  if (s.empty() || s.size() > 18) return false;
  size_t i = s[0] == '-' ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

/// Where the quoted value starting at `from` ends. Values such as error texts may hold quotes
/// of their own, unescaped: the closing quote is the first one followed by the end or by
/// " key=", else the last one.
size_t closing_quote(std::string_view text, size_t from) {
  size_t last = std::string_view::npos;
  for (size_t q = text.find('"', from); q != std::string_view::npos; q = text.find('"', q + 1)) {
    if (q > 0 && text[q - 1] == '\\') continue;
    last = q;
    if (q + 1 == text.size()) return q;
    if (text[q + 1] != ' ') continue;
    size_t k = q + 2;
    while (k < text.size() &&
           (std::isalnum(static_cast<unsigned char>(text[k])) || text[k] == '_' || text[k] == '.'))
      ++k;
    if (k > q + 2 && k < text.size() && text[k] == '=') return q;
  }
  return last == std::string_view::npos ? text.size() : last;
}

/// Turns the key=value message of a Herald line into JSON fields: `k=v` and `k="quoted \"v\""`
/// become "k":"v" (integers stay numbers); words that are no pair go to "msg".
class json_formatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    using namespace std::chrono;
    auto ms = duration_cast<milliseconds>(msg.time.time_since_epoch()).count();
    std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    fmt::format_to(std::back_inserter(dest),
                   "{{\"time\":\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z\",\"level\":\"{}\","
                   "\"logger\":",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                   static_cast<int>(ms % 1000),
                   std::string_view{spdlog::level::to_string_view(msg.level).data(),
                                    spdlog::level::to_string_view(msg.level).size()});
    append_json_string(dest, std::string_view{msg.logger_name.data(), msg.logger_name.size()});
    std::string_view text{msg.payload.data(), msg.payload.size()};
    std::string rest;
    size_t i = 0;
    while (i < text.size()) {
      while (i < text.size() && text[i] == ' ') ++i;
      if (i >= text.size()) break;
      size_t key_end = i;
      while (key_end < text.size() && text[key_end] != '=' && text[key_end] != ' ') ++key_end;
      if (key_end >= text.size() || text[key_end] != '=' || key_end == i) {
        // Not a pair: a free word.
        size_t w = text.find(' ', i);
        if (w == std::string_view::npos) w = text.size();
        if (!rest.empty()) rest += ' ';
        rest.append(text.substr(i, w - i));
        i = w;
        continue;
      }
      auto key = text.substr(i, key_end - i);
      size_t v = key_end + 1;
      std::string value;
      bool quoted = v < text.size() && text[v] == '"';
      if (quoted) {
        auto close = closing_quote(text, v + 1);
        for (size_t k = v + 1; k < close; ++k) {
          if (text[k] == '\\' && k + 1 < close) ++k;
          value += text[k];
        }
        v = close + 1;
      } else {
        size_t e = text.find(' ', v);
        if (e == std::string_view::npos) e = text.size();
        value.assign(text.substr(v, e - v));
        v = e;
      }
      dest.push_back(',');
      append_json_string(dest, key);
      dest.push_back(':');
      if (!quoted && is_number(value))
        dest.append(std::string_view{value});
      else
        append_json_string(dest, value);
      i = v;
    }
    if (!rest.empty()) {
      dest.append(std::string_view{",\"msg\":"});
      append_json_string(dest, rest);
    }
    dest.append(std::string_view{"}\n"});
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<json_formatter>();
  }
};

/// Gives `l` the current format (called with mtx held).
void format_logger(spdlog::logger& l) {
  if (json_format)
    l.set_formatter(std::make_unique<json_formatter>());
  else
    l.set_pattern(text_pattern);
}

template <class F>
void for_each_herald_logger(F&& f) {
  spdlog::apply_all([&](std::shared_ptr<spdlog::logger> l) {
    if (l->name().rfind("herald.", 0) == 0) f(*l);
  });
}

}  // namespace

std::shared_ptr<spdlog::logger> get(std::string_view subsystem) {
  std::string name = "herald.";
  name += subsystem;
  std::lock_guard<std::mutex> guard{mtx};
  if (auto existing = spdlog::get(name)) return existing;
  auto logger = std::make_shared<spdlog::logger>(name, current_sink());
  format_logger(*logger);
  logger->set_level(default_level);
  spdlog::register_logger(logger);
  return logger;
}

bool valid_level(std::string_view level) {
  spdlog::level::level_enum lvl;
  return parse(level, lvl);
}

bool set_level(std::string_view level) {
  spdlog::level::level_enum lvl;
  if (!parse(level, lvl)) return false;
  std::lock_guard<std::mutex> guard{mtx};
  default_level = lvl;
  for_each_herald_logger([&](spdlog::logger& l) { l.set_level(lvl); });
  return true;
}

bool set_level(std::string_view subsystem, std::string_view level) {
  spdlog::level::level_enum lvl;
  if (!parse(level, lvl)) return false;
  get(subsystem)->set_level(lvl);
  return true;
}

namespace {

using level_parts = std::vector<std::pair<std::string_view, std::string_view>>;  // {sub, level}

bool parse_levels(std::string_view spec, level_parts& parts) {
  while (!spec.empty()) {
    auto comma = spec.find(',');
    auto item = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
    if (item.empty()) continue;
    auto eq = item.find('=');
    std::string_view sub = eq == std::string_view::npos ? std::string_view{} : item.substr(0, eq);
    std::string_view lvl = eq == std::string_view::npos ? item : item.substr(eq + 1);
    if (!valid_level(lvl) || (eq != std::string_view::npos && sub.empty())) return false;
    parts.emplace_back(sub, lvl);
  }
  return true;
}

}  // namespace

bool valid_levels(std::string_view spec) {
  level_parts parts;
  return parse_levels(spec, parts);
}

bool apply_levels(std::string_view spec) {
  level_parts parts;
  if (!parse_levels(spec, parts)) return false;
  for (auto& [sub, lvl] : parts)
    if (sub.empty()) set_level(lvl);
  for (auto& [sub, lvl] : parts)
    if (!sub.empty()) set_level(sub, lvl);
  return true;
}

bool valid_format(std::string_view format) {
  return format == "text" || format == "json";
}

bool set_format(std::string_view format) {
  if (!valid_format(format)) return false;
  std::lock_guard<std::mutex> guard{mtx};
  json_format = format == "json";
  for_each_herald_logger([](spdlog::logger& l) { format_logger(l); });
  return true;
}

void set_sink(std::shared_ptr<spdlog::sinks::sink> sink) {
  std::lock_guard<std::mutex> guard{mtx};
  current_sink() = sink ? std::move(sink) : stderr_sink();
  for_each_herald_logger([](spdlog::logger& l) {
    l.sinks().clear();
    l.sinks().push_back(current_sink());
  });
  // Sinks format: the new sink takes the current format.
  for_each_herald_logger([](spdlog::logger& l) { format_logger(l); });
}

std::string apply_env() {
  std::string problems;
  if (const char* lvl = std::getenv("HERALD_LOG_LEVEL"); lvl && *lvl && !apply_levels(lvl))
    problems += std::string{"HERALD_LOG_LEVEL='"} + lvl +
                "' is not a level (trace, debug, info, warn, error, critical, off), optionally "
                "followed by subsystem=level pairs such as 'info,consumer=debug'. ";
  if (const char* f = std::getenv("HERALD_LOG_FORMAT"); f && *f && !set_format(f))
    problems += std::string{"HERALD_LOG_FORMAT='"} + f + "' is neither 'text' nor 'json'.";
  return problems;
}

}  // namespace herald::log
