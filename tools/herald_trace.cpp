// herald-trace: prints the causal tree and timeline of one flow from a trace file.
//
//   herald-trace TRACE_FILE CORRELATION_ID
//
// The trace file is what a runtime writes with observability.tracing.file set (OTLP/JSON
// lines). Exit status: 0 printed, 1 the flow is not in the file or the file is unreadable,
// 2 bad usage.
#include <cstdio>
#include <cstring>

#include "messages/errors.hpp"
#include "observability/trace_tree.hpp"

int main(int argc, char** argv) {
  if (argc != 3 || std::strcmp(argv[1], "--help") == 0) {
    std::fprintf(stderr,
                 "usage: herald-trace TRACE_FILE CORRELATION_ID\n"
                 "prints the causal tree and timeline of one flow from an OTLP/JSON trace file\n"
                 "(runtime_config::observability.tracing.file)\n");
    return 2;
  }
  auto tree = herald::obs::load_causal_tree(std::string{argv[1]}, std::string{argv[2]});
  if (!tree) {
    std::fprintf(stderr, "herald-trace: %s\n", herald::describe(tree.error()).c_str());
    return 1;
  }
  std::fputs(herald::obs::render(*tree).c_str(), stdout);
  return 0;
}
