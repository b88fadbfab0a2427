// A blocking HTTP GET for tests of the runtime's HTTP endpoint (Boost.Beast).
#pragma once

#include <cstdint>
#include <string>

namespace herald::test {

struct http_reply {
  unsigned status = 0;
  std::string content_type;
  std::string body;
  std::string error;  ///< set when the request itself failed
};

http_reply http_get(uint16_t port, const std::string& target);

}  // namespace herald::test
