#include "examples/bank/account.hpp"

#include <stdexcept>

#include <boost/json.hpp>

namespace bank {

namespace {

caf::error rejected(std::string what) {
  return herald::make_error(herald::errc::command_rejected, std::move(what));
}

/// Parses a small payload without touching the heap: replay applies every event of an
/// account, and a full replay should cost little more than reading the log.
template <class F>
void with_json(std::string_view text, F&& f) {
  unsigned char buf[1024];
  boost::json::monotonic_resource mr{buf, sizeof(buf)};
  boost::json::error_code ec;
  auto v = boost::json::parse(text, ec, &mr);
  if (ec || !v.is_object())
    throw std::runtime_error("account payload is not a JSON object: " + std::string{text});
  f(v.as_object());
}

}  // namespace

std::string payload(std::string_view event, const std::string& id, int64_t amount) {
  return R"({"event":")" + std::string{event} + R"(","account_id":)" +
         boost::json::serialize(boost::json::string_view{id}) + R"(,"amount":)" +
         std::to_string(amount) + "}";
}

std::string money(int64_t cents) {
  auto sign = cents < 0 ? "-" : "";
  auto c = cents < 0 ? -cents : cents;
  auto frac = std::to_string(c % 100);
  return sign + std::to_string(c / 100) + "." + (frac.size() == 1 ? "0" + frac : frac);
}

caf::expected<std::vector<herald::entity_event>> account_entity::decide(const account& s,
                                                                        const std::string& id,
                                                                        const command& cmd) {
  if (auto d = std::get_if<deposit>(&cmd)) {
    if (d->amount <= 0)
      return rejected("a deposit to " + id + " must be a positive number of cents, not " +
                      std::to_string(d->amount));
    return std::vector<herald::entity_event>{{"Deposited", payload("Deposited", id, d->amount)}};
  }
  auto& w = std::get<withdraw>(cmd);
  if (w.amount <= 0)
    return rejected("a withdrawal from " + id + " must be a positive number of cents, not " +
                    std::to_string(w.amount));
  if (w.amount > s.balance)
    return rejected("overdraft: account " + id + " holds " + money(s.balance) +
                    ", cannot withdraw " + money(w.amount) + "; withdraw at most " +
                    money(s.balance) + " or deposit first");
  return std::vector<herald::entity_event>{{"Withdrawn", payload("Withdrawn", id, w.amount)}};
}

void account_entity::apply(account& s, const herald::event_view& e) {
  bool deposited = e.type() == "Deposited";
  if (!deposited && e.type() != "Withdrawn") return;  // a newer event type: not ours to know
  with_json(e.payload(), [&](const boost::json::object& o) {
    auto amount = o.at("amount").to_number<int64_t>();
    if (deposited) {
      s.balance += amount;
      ++s.deposits;
    } else {
      s.balance -= amount;
      ++s.withdrawals;
    }
  });
}

std::string account_entity::encode(const account& s) {
  return boost::json::serialize(boost::json::object{
      {"balance", s.balance}, {"deposits", s.deposits}, {"withdrawals", s.withdrawals}});
}

caf::expected<account> account_entity::decode(std::string_view bytes) {
  account s;
  try {
    with_json(bytes, [&](const boost::json::object& o) {
      s.balance = o.at("balance").to_number<int64_t>();
      s.deposits = o.at("deposits").to_number<int64_t>();
      s.withdrawals = o.at("withdrawals").to_number<int64_t>();
    });
  } catch (std::exception& e) {
    return herald::make_error(herald::errc::invalid_argument,
                              std::string{"account snapshot unreadable: "} + e.what());
  }
  return s;
}

}  // namespace bank
