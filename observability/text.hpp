// Small text helpers shared by the exporters (trace lines, Prometheus, JSON snapshots).
#pragma once

#include <string>
#include <string_view>

namespace herald::obs {

/// Appends `s` as a JSON string literal (quotes included).
void json_quote(std::string& out, std::string_view s);

/// Appends `s` escaped for a Prometheus label value (backslash, quote, newline).
void prom_label_escape(std::string& out, std::string_view s);

}  // namespace herald::obs
