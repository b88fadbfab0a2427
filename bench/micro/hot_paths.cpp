// Micro-benchmarks of the hot pieces, each next to the baseline it should be compared with
// (STYLE.md: "partition_append_vs_vector_push"). Run: build/release/bench/herald-micro
// [--benchmark_format=json]. Ratios, not absolute times, are what to compare across runs.
#include <benchmark/benchmark.h>

#include <string>
#include <unordered_map>
#include <vector>

#include "actors/aggregate_stm.hpp"
#include "actors/cart_aggregator.hpp"
#include "bench/support.hpp"
#include "messages/crc32c.hpp"
#include "messages/event.hpp"
#include "messages/json.hpp"
#include "messages/record_batch.hpp"
#include "schema/json_schema.hpp"
#include "storage/memory_log.hpp"

namespace {

using namespace herald;

event sample_event(uint64_t i) {
  return event::builder{"orders", "OrderPlaced"}
      .key(bench::order_key(i))
      .payload(bench::order_payload(i, 1732268400000000000))
      .build();
}

std::vector<event> sample_events(size_t n) {
  std::vector<event> out;
  for (size_t i = 0; i < n; ++i) out.push_back(sample_event(i));
  return out;
}

// -- envelope encode/decode -------------------------------------------------------------------

// Encoding an event into a batch, per event.
void envelope_encode(benchmark::State& state) {
  auto evs = sample_events(256);
  batch_builder b{64 * 1024};
  size_t i = 0;
  for (auto _ : state) {
    if (auto err = b.add(evs[i++ & 255])) state.SkipWithError("add failed");
    if (b.count() == 256) benchmark::DoNotOptimize(b.seal(producer_id{1}, 0));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(envelope_encode);

// Baseline: copying the same payload bytes into a buffer.
void envelope_encode_vs_memcpy(benchmark::State& state) {
  auto evs = sample_events(256);
  std::vector<char> buf(64 * 1024);
  size_t pos = 0, i = 0;
  for (auto _ : state) {
    auto p = evs[i++ & 255].payload();
    if (pos + p.size() > buf.size()) pos = 0;
    std::memcpy(buf.data() + pos, p.data(), p.size());
    pos += p.size();
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(envelope_encode_vs_memcpy);

// Decoding: walking a batch into event_views, per event.
void envelope_decode(benchmark::State& state) {
  batch_builder b{64 * 1024};
  for (auto& e : sample_events(256)) (void)b.add(e);
  auto batch = b.seal(producer_id{1}, 0);
  event_view v;
  for (auto _ : state) {
    batch_cursor cur{*batch, offset{0}, "orders", partition_id{0}};
    while (!cur.done()) {
      cur.next(v);
      benchmark::DoNotOptimize(v.payload().data());
    }
  }
  state.SetItemsProcessed(state.iterations() * 256);
}
BENCHMARK(envelope_decode);

// Baseline: iterating a vector of owned events.
void envelope_decode_vs_vector_iterate(benchmark::State& state) {
  auto evs = sample_events(256);
  for (auto _ : state)
    for (auto& e : evs) benchmark::DoNotOptimize(e.payload().data());
  state.SetItemsProcessed(state.iterations() * 256);
}
BENCHMARK(envelope_decode_vs_vector_iterate);

// Building an owned event (id, clock, strings), as a producer does per event.
void event_build(benchmark::State& state) {
  uint64_t i = 0;
  auto payload = bench::order_payload(1, 1);
  for (auto _ : state) {
    auto ev = event::builder{"orders", "OrderPlaced"}.key("ORD-000001").payload(payload).build();
    benchmark::DoNotOptimize(ev.id());
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(event_build);

// -- checks -----------------------------------------------------------------------------------

void json_validate(benchmark::State& state) {
  auto p = bench::order_payload(123, 1732268400000000000);
  for (auto _ : state) benchmark::DoNotOptimize(validate_json(p));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(p.size()));
}
BENCHMARK(json_validate);

// A registered schema's check of the W1 payload, beside json_validate (the syntax-only check
// a producer runs for types without a schema): what validation adds per event.
const char* order_schema = R"({"type":"object","additionalProperties":false,
  "required":["event","order_id","user_id","items","total","ts_ns"],
  "properties":{"event":{"type":"string","enum":["OrderPlaced"]},
    "order_id":{"type":"string","minLength":1,"maxLength":32},"user_id":{"type":"string"},
    "items":{"type":"array","items":{"type":"object","required":["sku","qty"],
      "properties":{"sku":{"type":"string"},"qty":{"type":"integer","minimum":1}}}},
    "total":{"type":"number","minimum":0},"ts_ns":{"type":"integer"}}})";

void schema_validate_vs_json_validate(benchmark::State& state) {
  auto schema = json_schema::compile(order_schema);
  if (!schema) {
    state.SkipWithError("schema does not compile");
    return;
  }
  auto p = bench::order_payload(123, 1732268400000000000);
  if (schema->validate(p)) {
    state.SkipWithError("the W1 payload does not match the schema");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(schema->validate(p));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(p.size()));
}
BENCHMARK(schema_validate_vs_json_validate);

void crc32c_batch(benchmark::State& state) {
  std::vector<char> buf(static_cast<size_t>(state.range(0)), 'x');
  for (auto _ : state) benchmark::DoNotOptimize(crc32c(buf.data(), buf.size()));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(crc32c_batch)->Arg(256)->Arg(64 * 1024);

// -- partition append and dispatch ------------------------------------------------------------

record_batch_ptr sample_batch(size_t events) {
  batch_builder b{64 * 1024};
  for (auto& e : sample_events(events)) (void)b.add(e);
  return b.seal(producer_id{1}, 0);
}

// Appending a 128-event batch to the in-memory log, per batch.
void partition_append(benchmark::State& state) {
  auto batch = sample_batch(128);
  memory_log log;
  int64_t n = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(log.append(batch, timestamp{1}));
    if (++n % 100000 == 0) log.enforce_retention({-1, 0, -1}, timestamp{2});
  }
  state.SetItemsProcessed(state.iterations() * 128);
}
BENCHMARK(partition_append);

// Baseline: pushing the same batch pointer into a vector.
void partition_append_vs_vector_push(benchmark::State& state) {
  auto batch = sample_batch(128);
  std::vector<record_batch_ptr> v;
  for (auto _ : state) {
    v.push_back(batch);
    if (v.size() == 100000) v.clear();
  }
  state.SetItemsProcessed(state.iterations() * 128);
}
BENCHMARK(partition_append_vs_vector_push);

// Reading a delivery's worth (1024 events) of slices from the log, as the partition does
// for every delivery.
void batch_dispatch(benchmark::State& state) {
  auto batch = sample_batch(128);
  memory_log log;
  for (int i = 0; i < 64; ++i) (void)log.append(batch, timestamp{1});
  std::vector<batch_slice> out;
  int64_t from = 0;
  for (auto _ : state) {
    out.clear();
    auto next = log.read(offset{from}, 1024, 1 << 20, out);
    from = next->value >= log.end_offset().value ? 0 : next->value;
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * 1024);
}
BENCHMARK(batch_dispatch);

// -- aggregator fold -----------------------------------------------------------------------------

/// 4,096 cart events over 1,000 carts (AGG's mix: two adds, then a removal), encoded as one
/// partition's log; the fold walks them again and again at growing offsets.
struct cart_log {
  std::vector<record_batch_ptr> batches;
  std::vector<event_view> views;
  cart_log() {
    batch_builder b{1 << 20};
    std::vector<int64_t> held(1000);
    for (int i = 0; i < 4096; ++i) {
      auto c = static_cast<size_t>(i % 1000);
      auto id = "CART-" + std::to_string(c);
      if (i % 3 == 2 && held[c] > 0) {
        --held[c];
        (void)b.add(cart::make_event(cart::item_removed{id, "SKU-01", 1}));
      } else {
        ++held[c];
        (void)b.add(cart::make_event(cart::item_added{id, "SKU-01", 1, 199}));
      }
    }
    batches.push_back(b.seal(producer_id{1}, 0));
    batch_cursor cur{*batches.back(), offset{0}, "cart.events", partition_id{0}};
    while (!cur.done()) {
      event_view v;
      cur.next(v);
      views.push_back(v);
    }
  }
};

// The aggregator's per-event work: offset and id checks, the cart fold (SAX parse of the
// payload, the cart's lines), versions, the interval policy's bookkeeping. Redelivered views
// would be skipped by offset, so each round starts a fresh partition state every 4,096 events.
void aggregate_fold(benchmark::State& state) {
  cart_log log;
  auto policy = emit_policy::periodic(std::chrono::milliseconds{100});
  std::vector<emission> out;
  auto stm = std::make_unique<aggregate_stm>(policy, cart::make_table(), 16384, nullptr);
  size_t i = 0;
  auto now = aggregate_stm::clock::now();
  for (auto _ : state) {
    caf::error why;
    benchmark::DoNotOptimize(stm->apply(log.views[i], now, out, why));
    if (++i == log.views.size()) {
      state.PauseTiming();
      i = 0;
      stm->interval_tick(out);
      out.clear();
      stm = std::make_unique<aggregate_stm>(policy, cart::make_table(), 16384, nullptr);
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(aggregate_fold);

// Baseline: what the simplest fold costs, a counter per key in a hash map (no parsing).
void aggregate_fold_vs_hash_map_increment(benchmark::State& state) {
  cart_log log;
  std::unordered_map<std::string, int64_t> counts;
  size_t i = 0;
  for (auto _ : state) {
    auto& v = log.views[i];
    ++counts[std::string{v.key()}];
    if (++i == log.views.size()) i = 0;
  }
  benchmark::DoNotOptimize(counts.size());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(aggregate_fold_vs_hash_map_increment);

}  // namespace

BENCHMARK_MAIN();
