#include "runtime/aggregator.hpp"

#include <random>

#include <caf/actor_system.hpp>

#include "actors/dead_letter.hpp"
#include "messages/errors.hpp"

namespace herald {

namespace {

caf::error ensure_topic(runtime& rt, const std::string& name, int32_t partitions) {
  auto t = rt.create_topic(name, {.partitions = partitions});
  if (!t && !is(t.error(), errc::topic_exists)) return std::move(t.error());
  return caf::none;
}

}  // namespace

caf::expected<aggregator> aggregator::start(runtime& rt, aggregator_spec spec,
                                            subscribe_options opts) {
  if (spec.name.empty() || spec.input_topic.empty() || spec.output_topic.empty() ||
      spec.output_type.empty() || !spec.make_table)
    return make_error(errc::invalid_config,
                      "aggregator_spec needs a name, an input and an output topic, an output "
                      "type and make_table");
  if (spec.input_topic == spec.output_topic)
    return make_error(errc::invalid_config,
                      "aggregator '" + spec.name + "': its output topic is its input topic");
  if (auto err = spec.policy.validate()) return err;
  auto input = rt.topic(spec.input_topic);
  if (!input) return std::move(input.error());
  auto parts = static_cast<int32_t>(input->partitions.size());
  if (auto err = ensure_topic(rt, spec.output_topic, parts)) return err;
  auto dlq = dead_letter_topic(spec.input_topic);
  if (auto err = ensure_topic(rt, dlq, 1)) return err;

  // Its own producer: it outlives the actor's restarts (a new incarnation waits until what
  // the old one published is stored), and an id of its own.
  std::random_device rd;
  auto id = producer_id{((static_cast<uint64_t>(rd()) << 31) ^ rd()) & 0x7FFFFFFFFFFFFFFFull};
  // Dead letters carry the input's payload as it was, valid JSON or not.
  auto popts = rt.config().producer;
  popts.validate_json = false;
  auto out = std::make_shared<producer_core>(rt.system(), id, popts,
                                             [&rt](const std::string& t) { return rt.topic(t); });
  out->set_registry(rt.registry());
  out->start();
  // Looked up now, from this thread: the actor publishes from a scheduler thread.
  for (auto* t : {&spec.output_topic, &dlq})
    if (auto err = out->prepare(*t)) {
      out->close();
      return err;
    }

  aggregator result;
  result.name_ = spec.name;
  result.probe_ = std::make_shared<aggregator_probe>();
  result.out_ = out;
  aggregator_args args{spec, rt.registry(), out, result.probe_};
  auto group = spec.name;
  auto sub = rt.subscribe_supervised_actor(
      spec.input_topic, group,
      [args](caf::actor_system& sys) { return sys.spawn(aggregator_actor, args); },
      std::move(opts));
  if (!sub) {
    out->close();
    return std::move(sub.error());
  }
  result.sub_ = std::move(*sub);
  return result;
}

aggregator& aggregator::operator=(aggregator&& other) noexcept {
  if (this != &other) {
    (void)stop();
    name_ = std::move(other.name_);
    probe_ = std::move(other.probe_);
    out_ = std::move(other.out_);
    sub_ = std::move(other.sub_);
  }
  return *this;
}

aggregator::~aggregator() {
  (void)stop();
}

caf::error aggregator::stop() {
  caf::error first;
  if (sub_.valid()) first = sub_.stop();
  if (out_) {
    if (auto err = out_->flush(); err && !first) first = std::move(err);
    out_->close();
    out_.reset();
  }
  return first;
}

}  // namespace herald
