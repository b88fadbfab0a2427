#include "observability/trace_tree.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_to.hpp>

#include "messages/errors.hpp"

namespace herald::obs {

namespace {

namespace json = boost::json;

struct raw_span {
  std::string name;
  int64_t start = 0, end = 0;
  std::map<std::string, std::string, std::less<>> attrs;
};

int64_t to_int(const json::value& v) {
  if (v.is_string()) return std::stoll(std::string{v.as_string()});
  if (v.is_int64()) return v.as_int64();
  if (v.is_uint64()) return static_cast<int64_t>(v.as_uint64());
  return 0;
}

raw_span read_span(const json::object& s) {
  raw_span r;
  if (auto* n = s.if_contains("name")) r.name = json::value_to<std::string>(*n);
  if (auto* t = s.if_contains("startTimeUnixNano")) r.start = to_int(*t);
  if (auto* t = s.if_contains("endTimeUnixNano")) r.end = to_int(*t);
  if (auto* as = s.if_contains("attributes"); as && as->is_array()) {
    for (auto& a : as->as_array()) {
      auto& o = a.as_object();
      auto key = json::value_to<std::string>(o.at("key"));
      auto& val = o.at("value").as_object();
      if (auto* sv = val.if_contains("stringValue"))
        r.attrs[key] = json::value_to<std::string>(*sv);
      else if (auto* iv = val.if_contains("intValue"))
        r.attrs[key] = std::to_string(to_int(*iv));
    }
  }
  return r;
}

std::string attr(const raw_span& s, std::string_view key) {
  auto it = s.attrs.find(key);
  return it == s.attrs.end() ? std::string{} : it->second;
}

std::string ms(int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f ms", static_cast<double>(ns) / 1e6);
  return buf;
}

void render_event(const causal_tree& t, size_t idx, const std::string& prefix, bool last, bool root,
                  const traced_event* parent, std::string& out) {
  auto& e = t.events[idx];
  std::string head = root ? "" : prefix + (last ? "└─ " : "├─ ");
  std::string body = root ? "" : prefix + (last ? "   " : "│  ");
  out += head + "+" + ms(e.start_ns() - t.first_ns) + " " + e.type + " " + e.id + " " + e.topic;
  if (e.partition >= 0) out += "/" + std::to_string(e.partition);
  if (e.offset >= 0) out += "@" + std::to_string(e.offset);
  if (parent && parent->start_ns() && e.start_ns())
    out += " (hop " + ms(e.start_ns() - parent->start_ns()) + ")";
  out += "\n";
  std::string pad = body + "   ";
  std::vector<std::string> parts;
  if (e.publish_start_ns) parts.push_back("publish " + ms(e.publish_end_ns - e.publish_start_ns));
  if (e.append_start_ns) parts.push_back("append " + ms(e.append_end_ns - e.append_start_ns));
  if (!parts.empty()) {
    out += pad;
    for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i];
    out += "\n";
  }
  for (auto& g : e.groups) {
    out += pad + g.group + ":";
    if (g.deliver_start_ns) out += " delivered after " + ms(g.deliver_end_ns - g.deliver_start_ns);
    for (size_t i = 0; i < g.handles.size(); ++i) {
      auto& h = g.handles[i];
      out += (g.deliver_start_ns || i ? ", " : " ") + std::string{"handled in "} +
             ms(h.end_ns - h.start_ns) + " (attempt " + std::to_string(h.attempt) +
             (h.error.empty() ? ")" : ", failed: " + h.error + ")");
    }
    out += "\n";
  }
  for (size_t i = 0; i < e.children.size(); ++i)
    render_event(t, e.children[i], body, i + 1 == e.children.size(), false, &e, out);
}

}  // namespace

int64_t traced_event::start_ns() const {
  if (publish_start_ns) return publish_start_ns;
  int64_t first = append_start_ns;
  for (auto& g : groups) {
    if (g.deliver_start_ns && (!first || g.deliver_start_ns < first)) first = g.deliver_start_ns;
    for (auto& h : g.handles)
      if (!first || h.start_ns < first) first = h.start_ns;
  }
  return first;
}

caf::expected<causal_tree> load_causal_tree(std::istream& in, const std::string& correlation_id) {
  causal_tree t;
  t.correlation_id = correlation_id;
  std::map<std::string, size_t> by_id;
  auto event_of = [&](const raw_span& s) -> traced_event& {
    auto id = attr(s, "messaging.message.id");
    auto [it, added] = by_id.emplace(id, t.events.size());
    if (added) {
      t.events.emplace_back();
      auto& e = t.events.back();
      e.id = id;
      e.type = attr(s, "herald.event.type");
      e.topic = attr(s, "messaging.destination.name");
      e.causation_id = attr(s, "herald.causation_id");
    }
    return t.events[it->second];
  };
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    json::error_code ec;
    auto doc = json::parse(line, ec);
    if (ec || !doc.is_object())
      return make_error(errc::invalid_argument, "line " + std::to_string(line_no) +
                                                    " of the trace file is not OTLP/JSON: " +
                                                    (ec ? ec.message() : "not an object"));
    auto* rs = doc.as_object().if_contains("resourceSpans");
    if (!rs || !rs->is_array()) continue;
    for (auto& r : rs->as_array()) {
      auto* ss = r.as_object().if_contains("scopeSpans");
      if (!ss) continue;
      for (auto& scope : ss->as_array()) {
        auto* spans = scope.as_object().if_contains("spans");
        if (!spans) continue;
        for (auto& sv : spans->as_array()) {
          auto s = read_span(sv.as_object());
          if (attr(s, "herald.correlation_id") != correlation_id) continue;
          ++t.spans;
          auto& e = event_of(s);
          if (auto p = attr(s, "messaging.destination.partition.id"); !p.empty())
            e.partition = std::stoi(p);
          if (auto o = attr(s, "messaging.message.offset"); !o.empty()) e.offset = std::stoll(o);
          if (!t.first_ns || s.start < t.first_ns) t.first_ns = s.start;
          t.last_ns = std::max(t.last_ns, s.end);
          if (s.name == "publish") {
            e.publish_start_ns = s.start;
            e.publish_end_ns = s.end;
          } else if (s.name == "append") {
            e.append_start_ns = s.start;
            e.append_end_ns = s.end;
          } else if (s.name == "deliver" || s.name == "handle") {
            auto group = attr(s, "messaging.consumer.group.name");
            auto g = std::find_if(e.groups.begin(), e.groups.end(),
                                  [&](auto& x) { return x.group == group; });
            if (g == e.groups.end()) {
              e.groups.push_back({group, 0, 0, {}});
              g = std::prev(e.groups.end());
            }
            if (s.name == "deliver") {
              g->deliver_start_ns = s.start;
              g->deliver_end_ns = s.end;
            } else {
              auto a = attr(s, "herald.attempt");
              g->handles.push_back(
                  {s.start, s.end, a.empty() ? 0 : std::stoi(a), attr(s, "error.message")});
            }
          }
        }
      }
    }
  }
  if (t.events.empty())
    return make_error(errc::invalid_argument,
                      "no span of correlation id '" + correlation_id +
                          "' in the trace file (was the flow sampled? is it the right file?)");
  for (auto& e : t.events) {
    std::sort(e.groups.begin(), e.groups.end(), [](auto& a, auto& b) { return a.group < b.group; });
    for (auto& g : e.groups)
      std::sort(g.handles.begin(), g.handles.end(),
                [](auto& a, auto& b) { return a.start_ns < b.start_ns; });
  }
  std::vector<size_t> order(t.events.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return t.events[a].start_ns() < t.events[b].start_ns(); });
  for (auto i : order) {
    auto it = by_id.find(t.events[i].causation_id);
    if (t.events[i].causation_id.empty() || it == by_id.end() || it->second == i)
      t.roots.push_back(i);
    else
      t.events[it->second].children.push_back(i);
  }
  return t;
}

caf::expected<causal_tree> load_causal_tree(const std::string& file,
                                            const std::string& correlation_id) {
  std::ifstream in{file};
  if (!in)
    return make_error(errc::invalid_argument,
                      "cannot read the trace file '" + file +
                          "' (runtime_config::observability.tracing.file writes it)");
  return load_causal_tree(in, correlation_id);
}

std::string render(const causal_tree& t) {
  std::string out = "correlation " + t.correlation_id + ": " + std::to_string(t.events.size()) +
                    " events, " + std::to_string(t.spans) + " spans, " +
                    ms(t.last_ns - t.first_ns) + " from the first span's start to the last's end\n";
  for (auto r : t.roots) render_event(t, r, "", true, true, nullptr, out);
  return out;
}

}  // namespace herald::obs
