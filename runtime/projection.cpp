#include "runtime/projection.hpp"

#include <algorithm>
#include <random>

#include <caf/actor_system.hpp>

#include "actors/dead_letter.hpp"
#include "messages/errors.hpp"

namespace herald {

caf::expected<projection> projection::start(runtime& rt, projection_spec spec,
                                            subscribe_options opts) {
  if (spec.name.empty() || spec.topic.empty() || !spec.model)
    return make_error(errc::invalid_config, "projection_spec needs a name, a topic and a model");
  if (auto md = rt.topic(spec.topic); !md) return std::move(md.error());
  auto dlq = dead_letter_topic(spec.topic);
  if (auto t = rt.create_topic(dlq, {.partitions = 1}); !t && !is(t.error(), errc::topic_exists))
    return std::move(t.error());
  std::random_device rd;
  auto id = producer_id{((static_cast<uint64_t>(rd()) << 31) ^ rd()) & 0x7FFFFFFFFFFFFFFFull};
  // Dead letters carry the input's payload as it was, valid JSON or not.
  auto popts = rt.config().producer;
  popts.validate_json = false;
  auto out = std::make_shared<producer_core>(rt.system(), id, popts,
                                             [&rt](const std::string& t) { return rt.topic(t); });
  out->set_registry(rt.registry());
  out->start();
  if (auto err = out->prepare(dlq)) {
    out->close();
    return err;
  }
  projection p;
  p.rt_ = &rt;
  p.spec_ = std::move(spec);
  p.opts_ = std::move(opts);
  p.probe_ = std::make_shared<projection_probe>();
  p.dead_letters_ = std::move(out);
  if (auto err = p.run()) return err;
  return p;
}

caf::error projection::run() {
  projector_args args{spec_.name,    spec_.topic, spec_.model,       rt_->registry(),
                      dead_letters_, probe_,      spec_.after_commit};
  auto sub = rt_->subscribe_supervised_actor(
      spec_.topic, spec_.name,
      [args](caf::actor_system& sys) { return sys.spawn(projector_actor, args); }, opts_);
  if (!sub) return std::move(sub.error());
  sub_ = std::move(*sub);
  return caf::none;
}

projection& projection::operator=(projection&& other) noexcept {
  if (this != &other) {
    (void)stop();
    rt_ = other.rt_;
    spec_ = std::move(other.spec_);
    opts_ = std::move(other.opts_);
    probe_ = std::move(other.probe_);
    dead_letters_ = std::move(other.dead_letters_);
    sub_ = std::move(other.sub_);
  }
  return *this;
}

projection::~projection() {
  (void)stop();
}

caf::error projection::stop() {
  caf::error first;
  if (sub_.valid()) first = sub_.stop();
  sub_ = herald::subscription{};
  if (dead_letters_) {
    if (auto err = dead_letters_->flush(); err && !first) first = std::move(err);
    dead_letters_->close();
    dead_letters_.reset();
  }
  return first;
}

caf::error projection::rebuild() {
  if (!rt_ || !dead_letters_)
    return make_error(errc::invalid_argument, "rebuild on a stopped projection");
  if (sub_.valid())
    if (auto err = sub_.stop()) return err;
  sub_ = herald::subscription{};
  if (auto err = spec_.model->reset(spec_.name)) return err;
  return run();
}

caf::expected<projection_lag> projection::lag() {
  if (!rt_) return make_error(errc::invalid_argument, "lag of an empty projection");
  auto md = rt_->topic(spec_.topic);
  if (!md) return std::move(md.error());
  auto pos = spec_.model->positions(spec_.name, spec_.topic);
  if (!pos) return std::move(pos.error());
  projection_lag out;
  auto now_ms = timestamp::now().value / 1'000'000;
  for (int32_t p = 0; p < static_cast<int32_t>(md->partitions.size()); ++p) {
    auto st = rt_->describe_partition(spec_.topic, p);
    if (!st) return std::move(st.error());
    auto it = pos->find(p);
    auto from = it == pos->end() || it->second.next < st->start ? st->start : it->second.next;
    if (from >= st->end) continue;
    out.events += st->end - from;
    auto first = rt_->read(spec_.topic, p, from, 1);
    if (!first) return std::move(first.error());
    if (!first->empty()) {
      auto age = now_ms - first->front().time().value / 1'000'000;
      out.behind = std::max(out.behind, std::chrono::milliseconds{std::max<int64_t>(0, age)});
    }
  }
  return out;
}

}  // namespace herald
