#include "tests/support/carts.hpp"

#include <random>
#include <stdexcept>

namespace herald::test {

namespace {

struct ref_line {
  int64_t qty = 0;
  int64_t price = 0;
};

cart::cart_updated snapshot_of(const std::string& id, const std::map<std::string, ref_line>& lines,
                               uint64_t version) {
  cart::cart_updated u;
  u.cart_id = id;
  u.version = version;
  for (auto& [sku, l] : lines) {
    u.items.push_back({sku, l.qty, l.price});
    u.item_count += l.qty;
    u.total += l.qty * l.price;
  }
  return u;
}

}  // namespace

cart_session random_session(uint32_t seed, int n_carts, int n_events) {
  std::mt19937 rng{seed};
  auto below = [&](uint32_t n) {
    return static_cast<int64_t>(rng() % n);
  };
  static const char* skus[] = {"WIDGET-01", "GADGET-02", "CABLE-03", "LAMP-04", "DESK-05"};
  std::map<std::string, std::map<std::string, ref_line>> carts;
  cart_session s;
  for (int i = 0; i < n_events; ++i) {
    auto id = "CART-" + std::to_string(below(static_cast<uint32_t>(n_carts)));
    auto& lines = carts[id];
    auto roll = below(10);
    if (lines.empty() || roll < 6) {
      std::string sku = skus[below(5)];
      int64_t qty = 1 + below(5);
      int64_t price = 100 * (1 + below(50)) + below(2) * 99;
      s.events.push_back(cart::make_event(cart::item_added{id, sku, qty, price}));
      auto& l = lines[sku];
      l.qty += qty;
      l.price = price;
    } else {
      auto it = lines.begin();
      std::advance(it, below(static_cast<uint32_t>(lines.size())));
      if (roll == 9) {  // more than the cart holds: refused, no version
        s.events.push_back(cart::make_event(cart::item_removed{id, it->first, it->second.qty + 1}));
        ++s.rejected;
        continue;
      }
      int64_t qty = 1 + below(static_cast<uint32_t>(it->second.qty));
      s.events.push_back(cart::make_event(cart::item_removed{id, it->first, qty}));
      it->second.qty -= qty;
      if (it->second.qty == 0) lines.erase(it);
    }
    auto& hist = s.expected[id];
    hist.push_back(snapshot_of(id, lines, hist.size() + 1));
  }
  return s;
}

std::vector<std::vector<event>> read_topic(runtime& rt, const std::string& topic) {
  auto md = rt.topic(topic);
  if (!md) throw std::runtime_error(describe(md.error()));
  std::vector<std::vector<event>> out(md->partitions.size());
  for (size_t p = 0; p < md->partitions.size(); ++p) {
    auto st = rt.describe_partition(topic, static_cast<int32_t>(p));
    if (!st) throw std::runtime_error(describe(st.error()));
    for (auto from = st->start; from < st->end;) {
      auto evs = rt.read(topic, static_cast<int32_t>(p), from, 4096);
      if (!evs) throw std::runtime_error(describe(evs.error()));
      if (evs->empty()) break;
      for (auto& e : *evs) {
        from = e.offset() + 1;
        out[p].push_back(std::move(e));
      }
    }
  }
  return out;
}

std::map<std::string, std::vector<cart::cart_updated>> read_cart_updates(runtime& rt,
                                                                         const std::string& topic) {
  std::map<std::string, std::vector<cart::cart_updated>> out;
  for (auto& part : read_topic(rt, topic))
    for (auto& e : part) {
      auto u = cart::parse_cart_updated(e.payload());
      if (!u) throw std::runtime_error(describe(u.error()));
      out[u->cart_id].push_back(std::move(*u));
    }
  return out;
}

}  // namespace herald::test
