#include "runtime/runtime.hpp"

#include <algorithm>
#include <limits>
#include <random>
#include <stdexcept>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/consumer.hpp"
#include "actors/supervisor.hpp"
#include "actors/topic_registry.hpp"
#include "base/logging.hpp"
#include "messages/atoms.hpp"
#include "messages/errors.hpp"
#include "messages/registration.hpp"
#include "net/http_server.hpp"
#include "storage/disk_storage_factory.hpp"
#include "storage/memory_log.hpp"

namespace herald {

namespace {

auto& logger() {
  static auto l = log::get("runtime");
  return l;
}

}  // namespace

caf::error validate(const runtime_config& cfg) {
  auto bad = [](std::string what) {
    return make_error(errc::invalid_config, std::move(what));
  };
  if (cfg.worker_threads > 1024) return bad("worker_threads must be 0 (one per core) to 1024");
  if (!log::valid_levels(cfg.log_level))
    return bad("log_level '" + cfg.log_level +
               "' is not one of trace, debug, info, warn, error, critical, off (optionally "
               "followed by subsystem=level pairs: 'info,consumer=debug')");
  auto& o = cfg.observability;
  if (!log::valid_format(o.log_format))
    return bad("observability.log_format '" + o.log_format + "' is neither 'text' nor 'json'");
  if (o.http_port < -1 || o.http_port > 65535)
    return bad("observability.http_port must be -1 (off), 0 (any free port) or a port number");
  if (!(o.tracing.sample >= 0.0 && o.tracing.sample <= 1.0))
    return bad(
        "observability.tracing.sample must be between 0 and 1 (the fraction of flows "
        "traced)");
  auto& p = cfg.producer;
  if (p.batch_max_events < 1) return bad("producer.batch_max_events must be at least 1");
  if (p.batch_max_bytes < 1024 ||
      p.batch_max_bytes > static_cast<int32_t>(format::max_batch_bytes / 2))
    return bad("producer.batch_max_bytes must be between 1024 and " +
               std::to_string(format::max_batch_bytes / 2));
  if (p.max_inflight_batches < 1) return bad("producer.max_inflight_batches must be at least 1");
  if (cfg.consumer.credit_window < 1) return bad("consumer.credit_window must be at least 1");
  if (cfg.broker.partition.max_delivery_events < 1)
    return bad("broker.partition.max_delivery_events must be at least 1");
  if (cfg.request_timeout.count() <= 0) return bad("request_timeout must be positive");
  if (!cfg.data_dir.empty())
    if (auto err = validate(cfg.disk)) return err;
  return caf::none;
}

struct runtime::impl {
  runtime_config cfg;
  caf::actor_system_config sys_cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::actor registry;
  std::atomic<bool> stopping{false};
  std::mutex mtx;
  bool stopped = false;
  std::vector<std::weak_ptr<producer_core>> producers;
  std::vector<std::weak_ptr<subscription_state>> subscriptions_list;
  std::atomic<uint64_t> next_member{0};
  std::atomic<uint64_t> next_subscription{0};
  std::atomic<uint64_t> next_producer{0};
  uint64_t producer_id_base = 0;
  /// The root of the supervision tree, and its "subscriptions" supervisor, which holds one
  /// supervisor per subscription.
  caf::actor root;
  caf::actor subscriptions;
  /// Writes the dead letters of every subscription (created on first need).
  std::shared_ptr<producer_core> dead_letters;
  /// Children of the root supervisor started by start_service(), in start order.
  std::vector<std::string> services;
  /// Processed-id sets of idempotent groups, by group.
  std::map<std::string, std::shared_ptr<group_ids>> idempotence;
  /// Made once the broker runs (it replays `_schemas`); producers share its catalog handle.
  std::unique_ptr<schema_registry> schemas;
  /// Metrics and tracer (null when off); the HTTP server (null when off).
  obs::instruments obs;
  std::unique_ptr<net::http_server> http;

  template <class T, class... Ts>
  caf::expected<T> call(const caf::actor& dest, Ts&&... xs) {
    if (!dest) return make_error(errc::shutting_down, "the runtime is stopped");
    caf::scoped_actor self{*sys};
    caf::expected<T> result{caf::error{}};
    self->request(dest, cfg.request_timeout, std::forward<Ts>(xs)...)
        .receive([&](T& x) { result = std::move(x); },
                 [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  caf::error check_running() const {
    if (stopping.load())
      return make_error(errc::shutting_down,
                        "the runtime is shutting down; no new producers "
                        "or subscriptions");
    return caf::none;
  }
};

runtime::runtime(runtime_config cfg) : impl_(std::make_unique<impl>()) {
  if (auto err = validate(cfg)) throw std::invalid_argument(describe(err));
  impl_->cfg = std::move(cfg);
  auto& c = impl_->cfg;
  log::set_format(c.observability.log_format);
  log::apply_levels(c.log_level);
  auto env_problem = log::apply_env();
  if (!env_problem.empty())
    logger()->warn("event=bad_log_environment problem=\"{}\" action=ignored", env_problem);
  if (c.observability.metrics) impl_->obs.metrics = std::make_shared<obs::metrics>();
  if (!c.observability.tracing.file.empty()) {
    auto t = obs::tracer::open(c.observability.tracing);
    if (!t) throw std::invalid_argument(describe(t.error()));
    impl_->obs.tracer = std::move(*t);
  }
  c.broker.obs = impl_->obs;
  // Before any actor: a port that is taken fails the constructor with nothing to stop. A
  // scrape that comes before the broker is up gets empty figures.
  if (c.observability.http_port >= 0) start_http();
  if (!c.storage && !c.data_dir.empty()) {
    auto disk = std::make_shared<disk_storage_factory>(c.data_dir, c.disk);
    if (auto store = disk->offsets(); store && !c.broker.coordinator.offsets)
      c.broker.coordinator.offsets = *store;
    c.storage = std::move(disk);
  }
  if (!c.storage) c.storage = std::make_shared<memory_storage_factory>();
  register_types(impl_->sys_cfg);
  // Like CAF's own default, at least 4: a handler that blocks (I/O, a lock) then takes one
  // thread, not half of a 2-core machine's.
  auto threads = c.worker_threads ? c.worker_threads
                                  : std::max<size_t>(4, std::thread::hardware_concurrency());
  impl_->sys_cfg.set("scheduler.max-threads", threads);
  impl_->sys = std::make_unique<caf::actor_system>(impl_->sys_cfg);
  impl_->registry = impl_->sys->spawn(topic_registry, c.storage, c.broker);
  // Supervision: the root restarts what fails below it; every subscription has a supervisor
  // of its own under "subscriptions", so one failing for good stops only itself.
  supervisor_options root_opts;
  root_opts.intensity = {100, std::chrono::seconds{10}};
  impl_->root = impl_->sys->spawn(supervisor, "herald", root_opts, std::vector<child_spec>{});
  supervisor_options subs_opts;
  subs_opts.intensity = {1000, std::chrono::seconds{10}};
  auto subs = impl_->call<caf::actor>(
      impl_->root, start_child{child_spec{"subscriptions", restart_mode::permanent, true,
                                          [subs_opts](caf::actor_system& sys) {
                                            return sys.spawn(supervisor, "subscriptions", subs_opts,
                                                             std::vector<child_spec>{});
                                          },
                                          nullptr}});
  if (!subs)
    throw std::runtime_error("cannot start the supervision tree: " + describe(subs.error()));
  impl_->subscriptions = std::move(*subs);
  // Producer ids must not repeat across restarts (partitions drop batches by producer id and
  // sequence): random high bits, a counter below.
  std::random_device rd;
  impl_->producer_id_base = (static_cast<uint64_t>(rd()) << 32) & 0x7FFFFFFF00000000ull;
  impl_->schemas = std::make_unique<schema_registry>(*this);
  if (auto err = impl_->schemas->load()) {
    (void)shutdown();  // stop the broker, or destroying the actor system would wait for it
    throw std::runtime_error("cannot rebuild the schema registry from '" +
                             std::string{schemas_topic} + "': " + describe(err));
  }
  logger()->info("event=runtime_started workers={} metrics={} tracing={} http_port={}", threads,
                 impl_->obs.metrics ? "on" : "off",
                 impl_->obs.tracer ? c.observability.tracing.file : std::string{"off"},
                 http_port());
}

runtime::~runtime() {
  (void)shutdown();
  impl_->registry = nullptr;
  impl_->sys.reset();         // waits for every actor to terminate
  impl_->obs.tracer.reset();  // writes what is left and closes the file
}

caf::actor_system& runtime::system() {
  return *impl_->sys;
}
const caf::actor& runtime::registry() const {
  return impl_->registry;
}
const runtime_config& runtime::config() const {
  return impl_->cfg;
}
schema_registry& runtime::schemas() {
  return *impl_->schemas;
}
bool runtime::shutting_down() const {
  return impl_->stopping.load();
}

// -- topics -----------------------------------------------------------------------------------

caf::expected<topic_metadata> runtime::create_topic(const std::string& name, topic_config cfg) {
  if (auto err = impl_->check_running()) return err;
  return impl_->call<topic_metadata>(impl_->registry, herald::create_topic{name, std::move(cfg)});
}

caf::error runtime::delete_topic(const std::string& name) {
  auto r = impl_->call<ok_atom>(impl_->registry, herald::delete_topic{name});
  return r ? caf::none : std::move(r.error());
}

caf::expected<topic_metadata> runtime::topic(const std::string& name) {
  return impl_->call<topic_metadata>(impl_->registry, get_topic{name});
}

caf::expected<std::vector<topic_metadata>> runtime::topics() {
  return impl_->call<std::vector<topic_metadata>>(impl_->registry, list_topics{});
}

caf::expected<partition_status> runtime::describe_partition(const std::string& topic,
                                                            int32_t partition) {
  auto md = this->topic(topic);
  if (!md) return std::move(md.error());
  if (partition < 0 || static_cast<size_t>(partition) >= md->partitions.size())
    return make_error(errc::unknown_partition, "topic '" + topic + "' has partitions 0.." +
                                                   std::to_string(md->partitions.size() - 1) +
                                                   ", not " + std::to_string(partition));
  return impl_->call<herald::partition_status>(md->partitions[partition], get_partition_status{});
}

caf::expected<std::vector<event>> runtime::read(const std::string& topic, int32_t partition,
                                                offset from, int32_t max_events) {
  auto md = this->topic(topic);
  if (!md) return std::move(md.error());
  if (partition < 0 || static_cast<size_t>(partition) >= md->partitions.size())
    return make_error(errc::unknown_partition,
                      "no partition " + std::to_string(partition) + " in topic '" + topic + "'");
  auto r = impl_->call<read_result>(md->partitions[partition],
                                    read_records{from, max_events, int64_t{64} << 20});
  if (!r) return std::move(r.error());
  std::vector<event> out;
  event_view v;
  for (auto& s : r->slices) {
    batch_cursor cur{s, topic, partition_id{partition}};
    while (!cur.done()) {
      cur.next(v);
      out.push_back(v.to_event());
    }
  }
  return out;
}

// -- producing --------------------------------------------------------------------------------

producer runtime::make_producer() {
  return make_producer(impl_->cfg.producer);
}

producer runtime::make_producer(producer_options opts) {
  auto id = producer_id{impl_->producer_id_base | ++impl_->next_producer};
  auto md = [this](const std::string& name) {
    return topic(name);
  };
  auto core = std::make_shared<producer_core>(*impl_->sys, id, opts, std::move(md));
  core->set_registry(impl_->registry);
  if (impl_->schemas) core->set_schemas(impl_->schemas->handle());
  core->set_tracer(impl_->obs.tracer);
  core->start();
  if (impl_->stopping.load()) core->close();
  std::lock_guard<std::mutex> guard{impl_->mtx};
  auto& ps = impl_->producers;
  ps.erase(std::remove_if(ps.begin(), ps.end(), [](auto& w) { return w.expired(); }), ps.end());
  ps.push_back(core);
  return producer{std::move(core)};
}

// -- consuming --------------------------------------------------------------------------------

caf::expected<subscription> runtime::subscribe_fn(std::vector<std::string> topics,
                                                  const std::string& group, handler_fn handler,
                                                  subscribe_options opts) {
  if (!handler) return make_error(errc::invalid_argument, "subscribe needs a handler");
  return join(std::move(topics), group, std::move(handler), nullptr, std::move(opts));
}

caf::expected<subscription> runtime::subscribe_actor(const std::string& topic,
                                                     const std::string& group, caf::actor handler,
                                                     subscribe_options opts) {
  if (!handler) return make_error(errc::invalid_argument, "subscribe_actor needs an actor");
  return join({topic}, group, nullptr, std::move(handler), std::move(opts));
}

caf::expected<subscription> runtime::subscribe_supervised_actor(const std::string& topic,
                                                                const std::string& group,
                                                                actor_factory make,
                                                                subscribe_options opts) {
  if (!make)
    return make_error(errc::invalid_argument, "subscribe_supervised_actor needs a factory");
  return join({topic}, group, nullptr, nullptr, std::move(opts), std::move(make));
}

caf::expected<subscription> runtime::join(std::vector<std::string> topics, const std::string& group,
                                          handler_fn fn, caf::actor handler_actor,
                                          subscribe_options opts, actor_factory make_handler) {
  if (auto err = impl_->check_running()) return err;
  if (group.empty()) return make_error(errc::invalid_argument, "consumer group name is empty");
  if (topics.empty()) return make_error(errc::invalid_argument, "subscribe needs a topic");
  if (auto err = opts.retry.backoff.validate()) return err;
  if (auto err = opts.restart_backoff.validate()) return err;
  if (opts.retry.max_attempts < 1)
    return make_error(errc::invalid_config, "retry.max_attempts must be at least 1");
  if (opts.idempotent && opts.idempotence_window > processed_ids::max_capacity)
    return make_error(errc::invalid_config,
                      "idempotence_window " + std::to_string(opts.idempotence_window) +
                          " is over the limit of 2^32 ids per partition: choose a smaller one");
  if (!opts.expected_versions.empty()) {
    if (!fn)
      return make_error(errc::invalid_argument,
                        "expected_versions needs a function handler; a handler written as an "
                        "actor reads whole deliveries and upcasts itself");
    for (auto& [type, version] : opts.expected_versions)
      if (auto err = opts.upcasters.check_chain(type, version)) return err;
    fn = upcasting_handler(std::move(fn), opts.expected_versions, opts.upcasters,
                           impl_->schemas->handle());
  }
  std::vector<topic_metadata> mds;
  for (auto& t : topics) {
    auto md = topic(t);
    if (!md) return std::move(md.error());
    mds.push_back(std::move(*md));
  }
  auto coordinator = impl_->call<caf::actor>(impl_->registry, get_group{group});
  if (!coordinator) return std::move(coordinator.error());
  auto st = std::make_shared<subscription_state>();
  st->group = group;
  st->member =
      opts.member.empty() ? group + "-" + std::to_string(++impl_->next_member) : opts.member;
  st->probe = std::make_shared<consumer_probe>();
  st->stop_timeout = impl_->cfg.request_timeout;

  consumer_args args;
  args.group = group;
  args.member = st->member;
  args.coordinator = *coordinator;
  args.registry = impl_->registry;
  args.fn = std::move(fn);
  args.handler_actor = std::move(handler_actor);
  args.options = impl_->cfg.consumer;
  if (opts.credit_window > 0) args.options.credit_window = opts.credit_window;
  args.options.retry = opts.retry;
  args.options.on_failure = opts.on_failure;
  args.probe = st->probe;
  args.topics = mds;
  args.start = opts.start;
  args.obs = impl_->obs;
  if (opts.idempotent) {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    auto& ids = impl_->idempotence[group];
    // With a data directory the ids are saved beside the group's committed offsets.
    if (!ids)
      ids = std::make_shared<group_ids>(std::max<size_t>(1, opts.idempotence_window), group,
                                        impl_->cfg.broker.coordinator.offsets);
    args.processed = ids;
  }
  if (opts.on_failure == failure_policy::retry_then_dead_letter) {
    // The dead-letter topics exist before the first failure, so a member never blocks on
    // creating one.
    for (auto& md : mds) {
      auto dlq = create_topic(dead_letter_topic(md.name), {.partitions = 1});
      if (!dlq && !is(dlq.error(), errc::topic_exists)) return std::move(dlq.error());
    }
    {
      std::lock_guard<std::mutex> guard{impl_->mtx};
      if (!impl_->dead_letters) {
        auto md = [this](const std::string& name) {
          return topic(name);
        };
        auto core = std::make_shared<producer_core>(
            *impl_->sys, producer_id{impl_->producer_id_base | ++impl_->next_producer},
            impl_->cfg.producer, std::move(md));
        core->set_registry(impl_->registry);
        core->set_tracer(impl_->obs.tracer);
        core->start();
        impl_->producers.push_back(core);
        impl_->dead_letters = std::move(core);
      }
      args.dead_letters = impl_->dead_letters;
    }
    // ... and the dead-letter producer knows them: the member publishes from a scheduler
    // thread, where a registry lookup would block that thread (with one, the whole runtime).
    for (auto& md : mds)
      if (auto err = args.dead_letters->prepare(dead_letter_topic(md.name))) return err;
  }
  // The first member reports its join; restarted members join on their own.
  args.on_joined = [weak = std::weak_ptr<subscription_state>{st}](const caf::error& err) {
    if (auto s = weak.lock()) {
      std::lock_guard<std::mutex> guard{s->mtx};
      s->join_done = true;
      s->join_error = err;
      s->cv.notify_all();
    }
  };
  // A handler the subscription owns starts before its member (and, all_for_one, restarts
  // before it), so the member always gets the current handle.
  struct handler_slot {
    std::mutex mtx;
    caf::actor handle;
  };
  auto slot = std::make_shared<handler_slot>();
  std::vector<child_spec> children;
  if (make_handler)
    children.push_back(child_spec{"handler", restart_mode::transient, false, make_handler,
                                  [slot](const caf::actor& a) {
                                    std::lock_guard<std::mutex> guard{slot->mtx};
                                    slot->handle = a;
                                  }});
  auto starts = std::make_shared<std::atomic<int>>(0);
  bool owned_handler = static_cast<bool>(make_handler);
  child_spec member{"member", restart_mode::transient, false,
                    [args, starts, slot, owned_handler](caf::actor_system& sys) {
                      auto a = args;
                      if (starts->fetch_add(1) > 0) {
                        a.restarted = true;
                        a.on_joined = nullptr;
                      }
                      if (owned_handler) {
                        std::lock_guard<std::mutex> guard{slot->mtx};
                        a.handler_actor = slot->handle;
                      }
                      return sys.spawn(consumer_actor, std::move(a));
                    },
                    [weak = std::weak_ptr<subscription_state>{st}](const caf::actor& a) {
                      if (auto s = weak.lock()) {
                        std::lock_guard<std::mutex> guard{s->mtx};
                        s->actor = a;
                      }
                    }};
  children.push_back(std::move(member));
  supervisor_options sopts;
  sopts.intensity = opts.restarts;
  sopts.backoff = opts.restart_backoff;
  if (owned_handler) sopts.strategy = restart_strategy::all_for_one;
  // Unique even for a member name taken twice: the group's coordinator is the one to refuse
  // that, with an error that names the member.
  auto name =
      "subscription/" + group + "/" + st->member + "#" + std::to_string(++impl_->next_subscription);
  auto sup = impl_->call<caf::actor>(
      impl_->subscriptions, start_child{child_spec{name, restart_mode::temporary, true,
                                                   [name, sopts, children](caf::actor_system& sys) {
                                                     return sys.spawn(supervisor, name, sopts,
                                                                      children);
                                                   },
                                                   nullptr}});
  if (!sup) return std::move(sup.error());
  st->supervisor = *sup;
  caf::actor_cast<caf::abstract_actor*>(st->supervisor)
      ->attach_functor([weak = std::weak_ptr<subscription_state>{st}](const caf::error& reason) {
        if (auto s = weak.lock()) {
          std::lock_guard<std::mutex> guard{s->mtx};
          s->exited = true;
          s->exit_reason = reason;
          s->join_done = true;
          s->cv.notify_all();
        }
      });
  {
    std::unique_lock<std::mutex> lk{st->mtx};
    if (!st->cv.wait_for(lk, impl_->cfg.request_timeout, [&] { return st->join_done; }))
      st->join_error = make_error(errc::timeout, "joining group '" + group + "' timed out");
  }
  if (st->join_error) {
    caf::anon_send_exit(st->supervisor, caf::exit_reason::user_shutdown);
    return st->join_error;
  }
  std::lock_guard<std::mutex> guard{impl_->mtx};
  auto& subs = impl_->subscriptions_list;
  subs.erase(std::remove_if(subs.begin(), subs.end(), [](auto& w) { return w.expired(); }),
             subs.end());
  subs.push_back(st);
  return subscription{std::move(st)};
}

caf::expected<std::vector<dead_letter_info>> runtime::dead_letters(const std::string& topic,
                                                                   size_t max) {
  auto dlq = dead_letter_topic(topic);
  auto md = this->topic(dlq);
  if (!md) {
    if (is(md.error(), errc::unknown_topic)) return std::vector<dead_letter_info>{};
    return std::move(md.error());
  }
  std::vector<dead_letter_info> out;
  for (int32_t p = 0; p < static_cast<int32_t>(md->partitions.size()); ++p) {
    auto status = describe_partition(dlq, p);
    if (!status) return std::move(status.error());
    for (auto from = status->start; from < status->end && out.size() < max;) {
      auto evs = read(dlq, p, from, 1024);
      if (!evs) return std::move(evs.error());
      if (evs->empty()) break;
      for (auto& ev : *evs) {
        from = ev.offset() + 1;
        auto parsed = parse_dead_letter(ev);
        if (!parsed) continue;  // written by hand, without the headers: not ours to redrive
        out.push_back(
            {std::move(parsed->original), std::move(parsed->story), partition_id{p}, ev.offset()});
        if (out.size() >= max) break;
      }
    }
  }
  return out;
}

caf::expected<size_t> runtime::redrive(const std::string& topic, const redrive_filter& filter) {
  auto all = dead_letters(topic, std::numeric_limits<size_t>::max());
  if (!all) return std::move(all.error());
  std::vector<event> chosen;
  for (auto& dl : *all) {
    if (!filter.key.empty() && dl.original.key() != filter.key) continue;
    if (filter.from.value >= 0 && dl.dlq_offset < filter.from) continue;
    if (filter.to.value >= 0 && dl.dlq_offset >= filter.to) continue;
    chosen.push_back(std::move(dl.original));
  }
  if (chosen.empty()) return size_t{0};
  auto p = make_producer();
  auto acks = p.publish(chosen);
  if (!acks) return std::move(acks.error());
  logger()->info("topic={} event=redrive events={}", topic, chosen.size());
  return chosen.size();
}

caf::expected<supervision_node> runtime::supervision_tree() {
  auto tree = impl_->call<supervision_node>(impl_->root, get_supervision_tree{});
  if (!tree) return tree;
  // The broker's actors are supervised by the topic registry (partitions restart on their
  // log); it reports its part of the tree itself.
  auto broker = impl_->call<supervision_node>(impl_->registry, get_supervision_tree{});
  if (!broker) return std::move(broker.error());
  tree->children.insert(tree->children.begin(), std::move(*broker));
  return tree;
}

caf::expected<caf::actor> runtime::start_service(child_spec spec) {
  if (auto err = impl_->check_running()) return err;
  auto name = spec.name;
  auto a = impl_->call<caf::actor>(impl_->root, start_child{std::move(spec)});
  if (!a) return a;
  std::lock_guard<std::mutex> guard{impl_->mtx};
  impl_->services.push_back(std::move(name));
  return a;
}

caf::expected<group_description> runtime::describe_group(const std::string& group) {
  auto groups = this->groups();
  if (!groups) return std::move(groups.error());
  if (std::find(groups->begin(), groups->end(), group) == groups->end())
    return make_error(errc::invalid_argument, "no consumer group named '" + group + "'");
  auto coordinator = impl_->call<caf::actor>(impl_->registry, get_group{group});
  if (!coordinator) return std::move(coordinator.error());
  return impl_->call<group_description>(*coordinator, herald::describe_group{});
}

caf::expected<std::vector<std::string>> runtime::groups() {
  return impl_->call<std::vector<std::string>>(impl_->registry, list_groups{});
}

caf::expected<runtime::lag_info> runtime::group_lag(const std::string& group) {
  auto d = describe_group(group);
  if (!d) return std::move(d.error());
  lag_info out;
  for (auto& pa : d->partitions) {
    auto ps = describe_partition(pa.topic, pa.partition.value);
    if (!ps) return std::move(ps.error());
    auto from = pa.committed.value >= 0 ? pa.committed : ps->start;
    auto lag = std::max<int64_t>(0, ps->end - from);
    out.partitions.emplace_back(topic_partition{pa.topic, pa.partition}, lag);
    out.total += lag;
  }
  return out;
}

// -- lifecycle --------------------------------------------------------------------------------

caf::error runtime::shutdown() {
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    if (impl_->stopped) return caf::none;
    impl_->stopped = true;
  }
  impl_->stopping = true;
  // Nothing new from outside: the HTTP endpoint goes first.
  if (impl_->http) impl_->http->stop();
  caf::error first;
  auto note = [&](caf::error err) {
    if (err && !first) first = std::move(err);
  };
  std::vector<std::shared_ptr<producer_core>> producers;
  std::vector<std::shared_ptr<subscription_state>> subs;
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    for (auto& w : impl_->producers)
      if (auto p = w.lock()) producers.push_back(std::move(p));
    for (auto& w : impl_->subscriptions_list)
      if (auto s = w.lock()) subs.push_back(std::move(s));
  }
  // 1. Producers: everything accepted gets acknowledged (or reported). The dead-letter
  // producer stays open while groups drain: an event may run out of attempts meanwhile.
  std::shared_ptr<producer_core> dlq_producer;
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    dlq_producer = impl_->dead_letters;
  }
  for (auto& p : producers) {
    if (p == dlq_producer) continue;
    note(p->flush());
    p->close();
  }
  // Services (entity types) write to the broker themselves: they stop before it does, in
  // reverse start order.
  std::vector<std::string> services;
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    services = impl_->services;
  }
  for (auto it = services.rbegin(); it != services.rend(); ++it) {
    auto r = impl_->call<ok_atom>(impl_->root, stop_child{*it});
    if (!r) note(std::move(r.error()));
  }
  // 2. Let groups with live members consume what was acknowledged, within drain_timeout.
  auto deadline = std::chrono::steady_clock::now() + impl_->cfg.drain_timeout;
  std::vector<std::string> live_groups;
  for (auto& s : subs) {
    std::lock_guard<std::mutex> guard{s->mtx};
    if (!s->stopped && !s->exited) live_groups.push_back(s->group);
  }
  std::sort(live_groups.begin(), live_groups.end());
  live_groups.erase(std::unique(live_groups.begin(), live_groups.end()), live_groups.end());
  for (auto& g : live_groups) {
    for (;;) {
      auto lag = group_lag(g);
      if (lag && lag->total == 0) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        auto left = lag ? std::to_string(lag->total) + " events" : describe(lag.error());
        logger()->warn("group={} event=drain_timeout left={}", g, left);
        note(make_error(errc::timeout, "group '" + g + "' did not consume everything within " +
                                           "drain_timeout (" + left +
                                           " left); the committed "
                                           "offsets tell where it resumes"));
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{2});
    }
  }
  // 3. Subscriptions commit and leave; the dead letters they wrote are acknowledged;
  // 4. the broker stops.
  for (auto& s : subs) note(stop_subscription(*s));
  if (dlq_producer) {
    note(dlq_producer->flush());
    dlq_producer->close();
  }
  if (impl_->registry) {
    auto r = impl_->call<ok_atom>(impl_->registry, stop_atom::value);
    if (!r) caf::anon_send_exit(impl_->registry, caf::exit_reason::kill);
  }
  // The supervision tree last: it stops whatever is still below it, in reverse start order.
  if (impl_->root) caf::anon_send_exit(impl_->root, caf::exit_reason::user_shutdown);
  flush_traces();
  if (auto& t = impl_->obs.tracer; t && t->dropped() > 0)
    logger()->warn(
        "event=spans_dropped spans={} file={} reason=\"the trace writer fell {} spans behind\" "
        "action=\"lower observability.tracing.sample or write the file to a faster disk\"",
        t->dropped(), t->file(), obs::tracer::max_pending);
  logger()->info("event=runtime_stopped");
  return first;
}

}  // namespace herald

// -- observability ----------------------------------------------------------------------------

namespace herald {

void runtime::start_http() {
  auto& o = impl_->cfg.observability;
  auto srv = net::http_server::start(o.http_address, static_cast<uint16_t>(o.http_port));
  if (!srv) throw std::invalid_argument(describe(srv.error()));
  impl_->http = std::move(*srv);
  impl_->http->route("GET", "/metrics", [this](const net::http_request&) {
    return net::http_response{200, "text/plain; version=0.0.4; charset=utf-8",
                              metrics_prometheus()};
  });
  impl_->http->route("GET", "/metrics.json", [this](const net::http_request&) {
    return net::http_response{200, "application/json", metrics_json()};
  });
}

obs::metrics_snapshot runtime::metrics_snapshot() {
  if (!impl_->obs.metrics) return {};
  auto snap = impl_->obs.metrics->snapshot();
  // Lag in seconds: the age of the first event the group has not committed, read from its
  // partition (one request per lagging partition).
  std::map<std::string, caf::expected<topic_metadata>> topics;
  const auto now = timestamp::now();
  for (auto& g : snap.groups) {
    if (g.lag_events <= 0) continue;
    auto it = topics.find(g.topic);
    if (it == topics.end()) it = topics.emplace(g.topic, topic(g.topic)).first;
    if (!it->second || static_cast<size_t>(g.partition) >= it->second->partitions.size()) continue;
    auto& actor = it->second->partitions[static_cast<size_t>(g.partition)];
    if (!actor) continue;
    auto from = offset{std::max<int64_t>(0, g.committed)};
    auto r = impl_->call<read_result>(actor, read_records{from, 1, 1});
    if (!r && is(r.error(), errc::offset_out_of_range)) {
      // Retention removed what the group did not read: its oldest unread is the log start.
      auto st = impl_->call<partition_status>(actor, get_partition_status{});
      if (st) r = impl_->call<read_result>(actor, read_records{st->start, 1, 1});
    }
    if (!r || r->slices.empty()) continue;
    auto age = now.value - r->slices.front().append_time.value;
    g.lag_seconds = std::max<double>(0.0, static_cast<double>(age) / 1e9);
  }
  return snap;
}

std::string runtime::metrics_json() {
  return obs::to_json(metrics_snapshot());
}

std::string runtime::metrics_prometheus() {
  return obs::to_prometheus(metrics_snapshot());
}

uint16_t runtime::http_port() const {
  return impl_->http ? impl_->http->port() : 0;
}

net::http_server* runtime::http() {
  return impl_->http.get();
}

caf::error runtime::set_log_level(const std::string& spec) {
  if (!log::apply_levels(spec))
    return make_error(errc::invalid_argument,
                      "log level '" + spec +
                          "' is not one of trace, debug, info, warn, error, critical, off "
                          "(optionally followed by subsystem=level pairs: "
                          "'info,consumer=debug'); nothing changed");
  logger()->info("event=log_level_changed levels=\"{}\"", spec);
  return caf::none;
}

void runtime::flush_traces() {
  if (impl_->obs.tracer) impl_->obs.tracer->flush();
}

}  // namespace herald
