#include "net/http_server.hpp"

#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>

#include "messages/errors.hpp"

namespace herald::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto idle_timeout = std::chrono::seconds{30};
constexpr size_t max_body = 1 << 20;

}  // namespace

struct http_server::impl {
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::thread thread;
  std::mutex mtx;
  std::map<std::pair<std::string, std::string>, http_handler> routes;
  bool stopped = false;

  http_response dispatch(const http_request& req) {
    http_handler h;
    {
      std::lock_guard<std::mutex> guard{mtx};
      auto it = routes.find({req.method, req.path});
      if (it == routes.end()) {
        bool other_method = false;
        for (auto& [k, v] : routes) other_method = other_method || k.second == req.path;
        if (other_method)
          return {405, "text/plain; charset=utf-8",
                  "method " + req.method + " not allowed on " + req.path + "\n"};
        std::string known;
        for (auto& [k, v] : routes) known += "  " + k.first + " " + k.second + "\n";
        return {404, "text/plain; charset=utf-8",
                "no route for " + req.path + "; this server has:\n" + known};
      }
      h = it->second;
    }
    try {
      return h(req);
    } catch (const std::exception& e) {
      return {500, "text/plain; charset=utf-8", std::string{"handler failed: "} + e.what() + "\n"};
    }
  }
};

namespace {

/// One connection: read a request, answer it, repeat while the client keeps it alive.
class session : public std::enable_shared_from_this<session> {
 public:
  // The server outlives its sessions: it joins the I/O thread before it goes, and the
  // io_context destroys the sessions' pending handlers with itself.
  session(tcp::socket s, http_server::impl* srv) : stream_(std::move(s)), srv_(srv) {}

  void run() { read(); }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(max_body);
    stream_.expires_after(idle_timeout);
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    auto& msg = parser_->get();
    http_request req;
    req.method = std::string{msg.method_string()};
    std::string target{msg.target()};
    auto q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) req.query = target.substr(q + 1);
    req.body = std::move(msg.body());
    auto out = srv_->dispatch(req);
    res_ = std::make_unique<bhttp::response<bhttp::string_body>>();
    res_->version(msg.version());
    res_->result(out.status);
    res_->set(bhttp::field::server, "herald");
    res_->set(bhttp::field::content_type, out.content_type);
    res_->keep_alive(msg.keep_alive());
    res_->body() = std::move(out.body);
    res_->prepare_payload();
    bhttp::async_write(stream_, *res_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return;
      if (!self->res_->keep_alive()) {
        beast::error_code ignored;
        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        return;
      }
      self->read();
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::unique_ptr<bhttp::response<bhttp::string_body>> res_;
  http_server::impl* srv_;
};

void accept(http_server::impl* srv) {
  auto& acc = srv->acceptor;
  acc.async_accept(asio::make_strand(srv->io), [srv](beast::error_code ec, tcp::socket s) {
    if (ec == asio::error::operation_aborted || !srv->acceptor.is_open()) return;
    if (!ec) std::make_shared<session>(std::move(s), srv)->run();
    accept(srv);
  });
}

}  // namespace

http_server::http_server(std::shared_ptr<impl> p) : impl_(std::move(p)) {}

caf::expected<std::unique_ptr<http_server>> http_server::start(const std::string& address,
                                                               uint16_t port) {
  beast::error_code ec;
  auto addr = asio::ip::make_address(address, ec);
  if (ec)
    return make_error(errc::invalid_config,
                      "http address '" + address + "' is not an IP address (" + ec.message() + ")");
  auto p = std::make_shared<impl>();
  tcp::endpoint ep{addr, port};
  auto fail = [&](const char* what) {
    return make_error(errc::invalid_config, std::string{"cannot "} + what + " http " + address +
                                                ":" + std::to_string(port) + ": " + ec.message() +
                                                "; choose another observability.http_port");
  };
  p->acceptor.open(ep.protocol(), ec);
  if (ec) return fail("open");
  p->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  p->acceptor.bind(ep, ec);
  if (ec) return fail("bind");
  p->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen on");
  accept(p.get());
  p->thread = std::thread{[io = &p->io] {
    io->run();
  }};
  return std::unique_ptr<http_server>{new http_server(std::move(p))};
}

http_server::~http_server() {
  stop();
}

void http_server::route(const std::string& method, const std::string& path, http_handler h) {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  impl_->routes[{method, path}] = std::move(h);
}

uint16_t http_server::port() const {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void http_server::stop() {
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    if (impl_->stopped) return;
    impl_->stopped = true;
  }
  // Closing the acceptor and stopping the context ends every session (their sockets close
  // with the context's handlers destroyed).
  asio::post(impl_->io, [p = impl_.get()] {
    beast::error_code ignored;
    p->acceptor.close(ignored);
    p->io.stop();
  });
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace herald::net
