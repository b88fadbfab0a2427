#include "examples/payments/payments.hpp"

#include <cstdio>
#include <random>

#include <boost/json.hpp>

namespace pay {

std::string money(const std::string& currency, cents amount) {
  auto digits = std::to_string(amount / 100);
  std::string units;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) units += ',';
    units += digits[i];
  }
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%02d", static_cast<int>(amount % 100));
  return currency + " " + units + frac;
}

std::vector<payment> checkout(uint32_t seed, int n) {
  std::mt19937 rng{seed};
  std::uniform_int_distribution<int> card{1, 12};
  std::uniform_int_distribution<cents> amount{500, 25000};
  std::vector<payment> out;
  for (int i = 1; i <= n; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "PAY-%04d", i);
    char c[16];
    int k = card(rng);
    std::snprintf(c, sizeof c, "card-%02d", k);
    out.push_back({id, i, c, k == 5 || k == 11 ? "CHF" : "USD", amount(rng)});
  }
  return out;
}

herald::event to_event(const payment& p) {
  boost::json::object o{{"payment_id", p.id},
                        {"seq", p.seq},
                        {"card", p.card},
                        {"currency", p.currency},
                        {"amount_cents", p.amount}};
  return herald::event::builder{"payments", "PaymentRequested"}
      .key(p.card)
      .payload(boost::json::serialize(o))
      .build();
}

payment from_json(std::string_view payload) {
  boost::system::error_code ec;
  auto v = boost::json::parse(payload, ec);
  if (ec || !v.is_object()) return {};
  auto& o = v.as_object();
  return {boost::json::value_to<std::string>(o.at("payment_id")), o.at("seq").to_number<int>(),
          boost::json::value_to<std::string>(o.at("card")),
          boost::json::value_to<std::string>(o.at("currency")),
          o.at("amount_cents").to_number<cents>()};
}

caf::error gateway::charge(const payment& p, int attempt) {
  ++calls_;
  if (p.currency == "CHF" && !chf_enabled_) {
    ++rejections_;
    return herald::make_error(
        herald::errc::handler_failed,
        "gateway rejected " + p.id + ": currency CHF is not enabled for this merchant");
  }
  // A draw per (payment, attempt), not from a shared stream: the same payment times out on
  // the same attempts whatever order the partitions are handled in.
  std::seed_seq ss{seed_, static_cast<uint32_t>(p.seq), static_cast<uint32_t>(attempt)};
  std::mt19937 rng{ss};
  if (attempt <= 2 && std::uniform_int_distribution<int>{1, 100}(rng) <= 20) {
    ++timeouts_;
    return herald::make_error(herald::errc::handler_failed, "gateway timeout charging " + p.id);
  }
  return caf::none;
}

caf::error settlement::on_payment(const herald::event_view& e, herald::handler_context& ctx) {
  auto p = from_json(e.payload());
  {
    std::lock_guard<std::mutex> guard{mtx_};
    attempts_[p.id].push_back(clock::now());
  }
  if (auto err = gw_.charge(p, ctx.attempt())) return err;
  std::lock_guard<std::mutex> guard{mtx_};
  ++charges_[p.id];
  totals_[p.currency] += p.amount;
  auto& last = last_seq_[p.card];
  if (p.seq < last) in_order_ = false;
  last = p.seq;
  return caf::none;
}

std::vector<clock::time_point> settlement::attempts(const std::string& payment_id) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto it = attempts_.find(payment_id);
  return it == attempts_.end() ? std::vector<clock::time_point>{} : it->second;
}

std::map<std::string, int> settlement::charges() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return charges_;
}

int settlement::charged() const {
  std::lock_guard<std::mutex> guard{mtx_};
  int n = 0;
  for (auto& [id, k] : charges_) n += k;
  return n;
}

std::map<std::string, cents> settlement::totals() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return totals_;
}

bool settlement::in_order() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return in_order_;
}

}  // namespace pay
