#include "runtime/entities.hpp"

#include <mutex>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/entity_supervisor.hpp"
#include "actors/supervisor.hpp"
#include "base/logging.hpp"
#include "messages/errors.hpp"
#include "runtime/runtime.hpp"

namespace herald {

struct entity_type_handle::shared {
  caf::actor_system* sys = nullptr;
  std::chrono::milliseconds timeout{10000};
  std::string topic;
  std::shared_ptr<entity_probe> probe;
  std::shared_ptr<snapshot_store> snapshots;
  mutable std::mutex mtx;
  caf::actor supervisor;  ///< replaced when the root supervisor restarts the type

  caf::actor current() const {
    std::lock_guard<std::mutex> guard{mtx};
    return supervisor;
  }

  template <class T, class Msg>
  caf::expected<T> call(Msg msg, std::chrono::milliseconds t) const {
    auto dest = current();
    if (!dest) return make_error(errc::shutting_down, "the entity type '" + topic + "' stopped");
    caf::scoped_actor self{*sys};
    caf::expected<T> out{caf::error{}};
    self->request(dest, t, std::move(msg))
        .receive([&](T& x) { out = std::move(x); }, [&](caf::error& e) { out = std::move(e); });
    return out;
  }
};

namespace {

caf::error check(const entity_options& o) {
  auto bad = [](std::string what) {
    return make_error(errc::invalid_config, std::move(what));
  };
  if (o.topic.empty()) return bad("entity_options.topic is empty; name the event topic");
  if (o.snapshot_every < 0) return bad("entity_options.snapshot_every must be 0 (off) or more");
  if (o.snapshots_kept < 1) return bad("entity_options.snapshots_kept must be at least 1");
  if (o.idle_timeout.count() < 0) return bad("entity_options.idle_timeout must be 0 or more");
  if (o.append_timeout.count() <= 0) return bad("entity_options.append_timeout must be positive");
  if (o.restarts.max_restarts < 0) return bad("entity_options.restarts.max_restarts is negative");
  return o.restart_backoff.validate();
}

}  // namespace

caf::expected<entity_type_handle> entity_type_handle::open(
    runtime& rt, std::shared_ptr<const entity_logic> logic, entity_options opts) {
  if (auto err = check(opts)) return err;
  auto md = rt.topic(opts.topic);
  if (!md && is(md.error(), errc::unknown_topic))
    md = rt.create_topic(opts.topic, {.partitions = opts.partitions});
  if (!md && is(md.error(), errc::topic_exists)) md = rt.topic(opts.topic);  // a race
  if (!md) return std::move(md.error());
  auto s = std::make_shared<shared>();
  s->sys = &rt.system();
  s->timeout = rt.config().request_timeout + opts.append_timeout;
  s->topic = opts.topic;
  s->probe = std::make_shared<entity_probe>();
  auto dir = opts.snapshot_dir;
  if (dir.empty() && !rt.config().data_dir.empty())
    dir = rt.config().data_dir + "/@snapshots/" + opts.topic;
  try {
    if (dir.empty())
      s->snapshots = std::make_shared<memory_snapshot_store>();
    else
      s->snapshots = std::make_shared<file_snapshot_store>(dir);
  } catch (std::exception& e) {
    return make_error(errc::storage_failure, e.what());
  }
  auto cfg = std::make_shared<entity_type_config>();
  cfg->topic = opts.topic;
  cfg->logic = std::move(logic);
  cfg->snapshot_every = opts.snapshot_every;
  cfg->snapshots_kept = opts.snapshots_kept;
  cfg->idle_timeout = opts.idle_timeout;
  cfg->append_timeout = opts.append_timeout;
  cfg->read_timeout = rt.config().request_timeout;
  cfg->max_event_bytes = md->config.max_event_bytes;
  entity_supervisor_args args;
  args.config = std::move(cfg);
  args.registry = rt.registry();
  args.snapshots = s->snapshots;
  args.probe = s->probe;
  args.restarts = opts.restarts;
  args.backoff = opts.restart_backoff;
  args.request_timeout = rt.config().request_timeout;
  child_spec spec{"entities/" + opts.topic, restart_mode::permanent, false,
                  [args](caf::actor_system& sys) { return sys.spawn(entity_supervisor, args); },
                  [weak = std::weak_ptr<shared>{s}](const caf::actor& a) {
                    if (auto p = weak.lock()) {
                      std::lock_guard<std::mutex> guard{p->mtx};
                      p->supervisor = a;
                    }
                  }};
  auto a = rt.start_service(std::move(spec));
  if (!a) return std::move(a.error());
  {
    std::lock_guard<std::mutex> guard{s->mtx};
    s->supervisor = *a;
  }
  log::get("entity")->info("topic={} event=entity_type_started snapshots={} snapshot_every={}",
                           opts.topic, dir.empty() ? "memory" : dir, opts.snapshot_every);
  entity_type_handle h;
  h.s_ = std::move(s);
  return h;
}

caf::expected<command_result> entity_type_handle::execute(entity_command cmd) const {
  return s_->call<command_result>(std::move(cmd), s_->timeout);
}

std::vector<caf::expected<command_result>> entity_type_handle::execute_all(
    std::vector<entity_command> cmds) const {
  std::vector<caf::expected<command_result>> out;
  out.reserve(cmds.size());
  auto dest = s_->current();
  if (!dest) {
    for (size_t i = 0; i < cmds.size(); ++i)
      out.emplace_back(make_error(errc::shutting_down, "the entity type stopped"));
    return out;
  }
  caf::scoped_actor self{*s_->sys};
  std::vector<decltype(self->request(dest, s_->timeout, std::move(cmds[0])))> pending;
  pending.reserve(cmds.size());
  for (auto& c : cmds) pending.push_back(self->request(dest, s_->timeout, std::move(c)));
  for (auto& p : pending) {
    caf::expected<command_result> r{caf::error{}};
    p.receive([&](command_result& x) { r = std::move(x); },
              [&](caf::error& e) { r = std::move(e); });
    out.push_back(std::move(r));
  }
  return out;
}

caf::expected<entity_state> entity_type_handle::query(get_entity_state q) const {
  return s_->call<entity_state>(std::move(q), s_->timeout);
}

caf::actor entity_type_handle::actor() const {
  return s_->current();
}

caf::expected<caf::actor> entity_type_handle::entity_actor(const std::string& id) const {
  return s_->call<caf::actor>(get_entity_actor{id}, s_->timeout);
}

const entity_probe& entity_type_handle::probe() const {
  return *s_->probe;
}

const snapshot_store& entity_type_handle::snapshots() const {
  return *s_->snapshots;
}

const std::string& entity_type_handle::topic() const {
  return s_->topic;
}

}  // namespace herald
