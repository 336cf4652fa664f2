#include "engine/workflow/tasks/task_dispatcher.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <exception>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <boost/json.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "engine/core/fnv1a.hpp"
#include "engine/core/logging.hpp"
#include "engine/workflow/definition.hpp"
#include "engine/workflow/placeholders.hpp"
#include "engine/workflow/tasks/builtin_tasks.hpp"
#include "engine/workflow/tasks/http_task.hpp"
#include "engine/workflow/tasks/parking_lot.hpp"
#include "engine/workflow/tasks/priority_queues.hpp"
#include "engine/workflow/tasks/task_messages.hpp"
#include "engine/workflow/tasks/task_metrics.hpp"

namespace wfe::workflow {
namespace {

using sleep_done_atom = caf::atom_constant<caf::atom("tsleepdone")>;
using exec_done_atom = caf::atom_constant<caf::atom("texecdone")>;
using sleep_cut_atom = caf::atom_constant<caf::atom("tsleepcut")>;

// How long an `http` task may outlive its step's timeout (see start_local): about the
// timer service's default tick, so the step's own timer normally fails the attempt first.
constexpr std::chrono::milliseconds k_step_timeout_grace{1000};
using lease_check_atom = caf::atom_constant<caf::atom("tleasechk")>;
using poll_expired_atom = caf::atom_constant<caf::atom("tpollexp")>;
using run_handler_atom = caf::atom_constant<caf::atom("trunhandlr")>;
using park_sweep_atom = caf::atom_constant<caf::atom("tparksweep")>;
using handler_deadline_atom = caf::atom_constant<caf::atom("thdeadln")>;
using handler_stuck_atom = caf::atom_constant<caf::atom("thstuck")>;
using start_report_atom = caf::atom_constant<caf::atom("tstartrep")>;
using answer_recorded_atom = caf::atom_constant<caf::atom("tanswered")>;
// A C++ handler still running this long after it was told to stop (cancelled()) is
// logged: it holds a worker slot that only its return gives back.
constexpr std::chrono::seconds k_cancel_warn_after{10};
// The longest wait between two checks of the handlers' deadlines (arm_deadline_check).
constexpr std::chrono::seconds k_deadline_check_max{1};

struct handler_job {
  std::shared_ptr<const task_handler> fn;
  json_ref input;
  task_context ctx;
};

}  // namespace
}  // namespace wfe::workflow

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::handler_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wfe::workflow::task_result)

namespace wfe::workflow {
namespace {

using clock = std::chrono::steady_clock;
constexpr std::string_view k_external_label = "external";

// The token of an external task: 32 hex digits of a 128-bit hash of its workflow id, step
// and attempt. Derived, not random, so that the same attempt queued again after a restart
// (recovery re-dispatches every SCHEDULED/RUNNING step) has the token its worker holds,
// and the worker's heartbeat, complete or fail adopts it (dispatcher::adopt). Not a
// secret: the worker API has no authentication (whoever can reach it can poll).
std::string token_of(const std::string& workflow_id, const std::string& step,
                     std::uint32_t attempt) {
  // FNV-1a of "<workflow id>\xff<step>\xff<attempt>" (0xff: no id contains it) from two
  // bases, each lane finished with splitmix64.
  std::string key;
  key.reserve(workflow_id.size() + step.size() + 12);
  key.append(workflow_id).push_back('\xff');
  key.append(step).push_back('\xff');
  key.append(std::to_string(attempt));
  auto finish = [](std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  const std::uint64_t hi = finish(core::fnv1a_64(key));
  const std::uint64_t lo = finish(core::fnv1a_64(key, 0x84222325cbf29ce4ULL));
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string t(32, '0');
  for (int i = 0; i < 16; ++i) {
    t[static_cast<std::size_t>(i)] = k_hex[(hi >> (60 - 4 * i)) & 0xF];
    t[static_cast<std::size_t>(16 + i)] = k_hex[(lo >> (60 - 4 * i)) & 0xF];
  }
  return t;
}

std::string token_of(const task_request& r) { return token_of(r.workflow_id, r.step, r.attempt); }

double seconds_since(clock::time_point t) {
  return std::chrono::duration<double>(clock::now() - t).count();
}

// A detached worker thread running one C++ handler at a time.
caf::behavior handler_worker(caf::event_based_actor*) {
  return {
      [](run_handler_atom, const handler_job& job) -> task_result {
        try {
          return (*job.fn)(job.input, job.ctx);
        } catch (const std::exception& e) {
          return task_result::failure("handler_exception", e.what());
        } catch (...) {
          return task_result::failure("handler_exception", "the handler threw a non-exception");
        }
      },
  };
}

struct running_task {
  task_request req;
  std::string label;  // metrics `task` label
  clock::time_point started;
  bool start_reported = false;  // `started` sent; else the result reports the start too
  std::shared_ptr<std::atomic<bool>> cancel;  // a C++ handler's task_context::cancelled()
  std::function<void()> stop_http;            // an `http` task's: closes its connection
  bool abandoned = false;                     // task_abandon: its answer is not wanted
  bool cancel_counted = false;                // in workflow_tasks_cancelled_running
  // A C++ handler's step timeout + grace (in handler_deadlines_); none without a timeout.
  std::optional<clock::time_point> deadline;
};

struct parked_poll {
  std::uint64_t id = 0;
  caf::typed_response_promise<poll_reply> promise;
};

struct lease {
  task_request req;
  std::string queue;
  std::string worker_id;
  clock::time_point started;
  clock::time_point deadline;
  bool abandoned = false;       // task_abandon: heartbeats answer cancel_requested
  bool start_reported = false;  // `started` sent; else its result reports the start too
  bool answering = false;       // the worker's result is on its way into the journal
};

// A worker's complete/fail waiting for its workflow to record the result.
struct pending_answer {
  caf::typed_response_promise<token_reply> promise;
  std::string outcome;  // the metrics outcome once recorded: completed | failed
};

// Tells the dispatcher, once, what became of a result sent to a workflow: the entity's
// verdict (task_update::on_recorded), or, should the update be dropped unanswered (its
// shard stopped first), "not recorded" when the last copy of the callback goes.
class answer_guard {
 public:
  answer_guard(caf::actor dispatcher, std::string token)
      : dispatcher_(std::move(dispatcher)), token_(std::move(token)) {}
  answer_guard(const answer_guard&) = delete;
  answer_guard& operator=(const answer_guard&) = delete;
  ~answer_guard() {
    if (!fired_) fire(false, "the workflow did not answer");
  }
  void fire(bool recorded, std::string why) {
    if (fired_) return;
    fired_ = true;
    caf::anon_send(dispatcher_, answer_recorded_atom::value, token_, recorded, std::move(why));
  }

 private:
  caf::actor dispatcher_;
  std::string token_;
  bool fired_ = false;
};

struct external_queue {
  external_queue(std::size_t capacity, std::size_t max_parked, clock::duration wake_timeout)
      : tasks(capacity), lot(max_parked, wake_timeout) {}
  priority_queues<task_request> tasks;
  parking_lot lot;  // requests that found `tasks` full
  std::deque<parked_poll> pollers;
  std::uint64_t leases = 0;
};

class dispatcher {
 public:
  dispatcher(caf::event_based_actor* self, task_settings s, task_update_route route,
             std::shared_ptr<task_metrics> metrics, std::shared_ptr<task_handlers> handlers,
             std::shared_ptr<task_load> load)
      : self_(self),
        s_(s),
        route_(std::move(route)),
        metrics_holder_(std::move(metrics)),
        metrics_(*metrics_holder_),
        handlers_(std::move(handlers)),
        load_(load ? std::move(load) : std::make_shared<task_load>()),
        local_(s.max_queued),
        local_lot_(s.max_parked, s.parked_wake_timeout),
        queueless_lot_(s.max_parked, s.parked_wake_timeout) {
    load_->local_capacity = 3 * s_.max_queued;
    publish();
  }

  // -- runtime side ------------------------------------------------------------

  void on_request(task_request req) {
    if (req.task.starts_with(k_external_task_prefix)) return on_external_request(std::move(req));
    builtin_task b{};
    if (!parse_builtin(req.task, b) && !(handlers_ && handlers_->find(req.task))) {
      metrics_.finished("unknown", "failed");
      return send_failed(
          req, "unknown_task",
          "no built-in or handler named '" + req.task.substr(0, 64) + "' on this node");
    }
    const auto p = req.priority;
    if (!admit(local_, local_lot_, req)) return park_or_reject(local_lot_, req, "local");
    ++queued_[index(p)];
    pump();
  }

  // -- local execution -----------------------------------------------------------

  void send_update(task_update u) {
    auto to = route_(u.workflow_id);
    self_->send(to, std::move(u));
  }

  void pump() {
    bool freed = false;
    while (running_.size() < s_.max_workers) {
      auto next = local_.pop();
      if (!next) break;
      freed = true;
      --queued_[index(next->priority)];
      start_local(std::move(*next));
    }
    if (freed) wake_local();
    publish();
  }

  void start_local(task_request req) {
    const auto id = next_exec_++;
    builtin_task b{};
    const bool builtin = parse_builtin(req.task, b);
    // The start is reported once the task goes asynchronous (report_start); one that
    // finishes right here (noop, fail, bad input) reports it with its result.
    auto& run = running_[id];
    run.label = req.task;
    run.started = clock::now();
    run.req = std::move(req);
    const auto& r = run.req;
    if (!builtin) return start_handler(id, r);
    switch (b) {
      case builtin_task::noop:
        return finish(id, task_result::success());
      case builtin_task::fail:
        return finish(id, run_fail(r.input, r.attempt));
      case builtin_task::sleep: {
        auto ms = parse_sleep_input(r.input, s_.sleep_max);
        if (!ms) return finish(id, std::move(ms).error());
        report_start(id, run);
        // A step timeout shorter than the sleep: the entity's timer fails the attempt
        // then, and the sleep would only hold a worker slot for the rest of it (a
        // backlog under retries). Its slot is freed at the timeout, with no answer.
        if (r.timeout_ms > 0 && std::chrono::milliseconds(r.timeout_ms) < *ms) {
          self_->delayed_send(self_, std::chrono::milliseconds(r.timeout_ms), sleep_cut_atom::value,
                              id);
          return;
        }
        self_->delayed_send(self_, *ms, sleep_done_atom::value, id);
        return;
      }
      case builtin_task::http: {
        // ${workflow.input...}, ${steps.<name>.output...}: placeholders.hpp.
        core::expected<boost::json::value, std::string> resolved{boost::json::value()};
        const bool templated = has_placeholders(*r.input);
        if (templated) {
          resolved = resolve_placeholders(
              *r.input, placeholder_scope{r.workflow_id, *r.workflow_input, r.dependency_outputs});
          if (!resolved) {
            return finish(id, task_result::failure(std::string(k_invalid_input),
                                                   "http: " + std::move(resolved).error()));
          }
        }
        auto in = parse_http_input(templated ? *resolved : *r.input, s_);
        if (!in) return finish(id, std::move(in).error());
        // A step timeout shorter than the request's own: the entity's timer fails the
        // attempt then, and the request, useless after it, ends a grace period later
        // instead of holding its slot (retries of a hanging server took every worker).
        // The grace lets the timer come first, so the attempt reads "timeout".
        if (r.timeout_ms > 0) {
          const auto cap = std::chrono::milliseconds(r.timeout_ms) + k_step_timeout_grace;
          if (cap < in->timeout) in->timeout = cap;
        }
        if (!http_) {
          try {
            http_ = std::make_unique<http_task_runner>(s_);
          } catch (const std::exception& e) {  // a ca-file or client cert that is not PEM
            return finish(id, task_result::failure("http_error", std::string("http: ") + e.what()));
          }
        }
        report_start(id, run);
        run.stop_http = http_->run(
            std::move(*in), [me = caf::actor_cast<caf::actor>(self_), id](task_result result) {
              caf::anon_send(me, exec_done_atom::value, id, std::move(result));
            });
        return;
      }
    }
  }

  void start_handler(std::uint64_t id, const task_request& r) {
    auto fn = handlers_ ? handlers_->find(r.task) : nullptr;
    if (!fn) {
      return finish(id, task_result::failure("unknown_task", "handler '" + r.task.substr(0, 64) +
                                                                 "' is not registered"));
    }
    caf::actor worker;
    if (!idle_workers_.empty()) {
      worker = std::move(idle_workers_.back());
      idle_workers_.pop_back();
    } else {
      worker = self_->spawn<caf::detached>(handler_worker);
      workers_.push_back(worker);
    }
    auto& run = running_.at(id);
    report_start(id, run);
    run.cancel = std::make_shared<std::atomic<bool>>(false);
    // A handler cannot be interrupted; one that checks ctx.cancelled() gives its slot
    // back after the step's timeout (with the grace of `http`: the entity's timer fails
    // the attempt first, so the late result is ignored).
    if (r.timeout_ms > 0) {
      run.deadline = clock::now() + std::chrono::milliseconds(r.timeout_ms) + k_step_timeout_grace;
      handler_deadlines_.emplace(*run.deadline, id);
      arm_deadline_check();
    }
    handler_job job{std::move(fn), r.input,
                    task_context{r.workflow_id, r.step, r.attempt, r.priority, r.timeout_ms,
                                 run.cancel, r.workflow_input, r.dependency_outputs}};
    self_->request(worker, caf::infinite, run_handler_atom::value, std::move(job))
        .then(
            [this, id, worker](task_result& result) {
              idle_workers_.push_back(worker);
              // Given up at the step's timeout: no answer (the entity's timer failed the
              // attempt), counted as timed out.
              auto run = running_.find(id);
              const bool given_up =
                  run != running_.end() && run->second.cancel && run->second.cancel->load();
              finish(id, given_up ? std::nullopt : std::optional<task_result>(std::move(result)));
              pump();
            },
            [this, id, worker](caf::error& e) {
              std::erase(workers_, worker);
              finish(id, task_result::failure("handler_exception",
                                              "the handler's worker died: " + caf::to_string(e)));
              pump();
            });
  }

  // Frees a local task's slot and sends its result; none (nullopt) for a task given up
  // at its step's timeout (the entity's timer fails that attempt).
  void finish(std::uint64_t id, std::optional<task_result> result) {
    auto it = running_.find(id);
    if (it == running_.end()) return;
    auto& run = it->second;
    metrics_.seconds(seconds_since(run.started));
    metrics_.finished(run.label, !result      ? (run.abandoned ? "abandoned" : "timed_out")
                                 : result->ok ? "completed"
                                              : "failed");
    if (result) {
      send_result(run.req, std::move(*result), false, !run.start_reported, ms_since(run.started));
    } else if (!run.start_reported && !run.abandoned) {
      // Given up at its step's timeout (shorter than start_report_delay): the entity's
      // timeout timer counts from StepStarted, so the start is reported now.
      send_started(run);
    }
    if (run.cancel_counted) --cancelled_running_;
    if (run.deadline) handler_deadlines_.erase({*run.deadline, id});
    running_.erase(it);
    publish();
  }

  // -- start reports ---------------------------------------------------------------
  // A task that went asynchronous (a sleep, an http request, a handler on its thread,
  // a lease to an external worker) reports its start only after start_report_delay: one
  // that ends before reports it with its result, so its workflow writes StepStarted and
  // the result in one journal write. One timer serves every pending report.

  void report_start(std::uint64_t id, running_task& run) {
    if (run.start_reported) return;
    if (s_.start_report_delay.count() == 0) return send_started(run);
    unreported_runs_.push_back(id);
    arm_start_reports();
  }

  void report_start(const std::string& token, lease& l) {
    if (l.start_reported) return;
    if (s_.start_report_delay.count() == 0) return send_started(l);
    unreported_leases_.push_back(token);
    arm_start_reports();
  }

  template <class Task>
  void send_started(Task& t) {
    t.start_reported = true;
    task_update u;
    u.what = task_update::kind::started;
    u.workflow_id = t.req.workflow_id;
    u.step = t.req.step;
    u.attempt = t.req.attempt;
    u.started_ago_ms = ms_since(t.started);
    send_update(std::move(u));
  }

  void arm_start_reports() {
    if (start_reports_armed_) return;
    start_reports_armed_ = true;
    self_->delayed_send(self_, s_.start_report_delay, start_report_atom::value);
  }

  // The reports held back: those of tasks still running (not abandoned) are sent now.
  void on_start_reports() {
    start_reports_armed_ = false;
    for (auto id : unreported_runs_) {
      auto it = running_.find(id);
      if (it != running_.end() && !it->second.start_reported && !it->second.abandoned) {
        send_started(it->second);
      }
    }
    unreported_runs_.clear();
    for (const auto& token : unreported_leases_) {
      auto it = leases_.find(token);
      if (it != leases_.end() && !it->second.start_reported && !it->second.abandoned) {
        send_started(it->second);
      }
    }
    unreported_leases_.clear();
  }

  static std::int64_t ms_since(clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - t).count();
  }

  // -- external workers ----------------------------------------------------------

  void on_external_request(task_request req) {
    auto name = std::string_view(req.task).substr(k_external_task_prefix.size());
    if (!is_valid_id(name)) {
      metrics_.finished(k_external_label, "failed");
      return send_failed(req, std::string(k_invalid_input),
                         "external task queue '" + req.task.substr(0, 64) + "' is not a valid id");
    }
    // The attempt is out with a worker already (its entity recovered with the task out
    // and dispatched it again): that lease answers for it — a completion, a failure, or
    // heartbeat_timeout — so no second worker gets it. A reservation it held is passed on.
    if (leases_.contains(token_of(req))) {
      if (queueless_lot_.claim(req.workflow_id, req.step, req.attempt)) wake_queueless();
      const std::string qname(name);
      auto* q = queue(qname, /*create=*/false);
      if (q != nullptr && q->lot.claim(req.workflow_id, req.step, req.attempt)) {
        wake_queue(qname, *q);
      }
      return;
    }
    // A request woken from the lot of requests waiting for a free queue (max-queues)
    // holds a reserved queue; it releases it whether or not its queue exists by now.
    const bool has_queue_slot = queueless_lot_.claim(req.workflow_id, req.step, req.attempt);
    auto* q = queue(name, /*create=*/false);
    if (q == nullptr) {
      if (has_queue_slot || (queueless_lot_.parked() == 0 &&
                             queues_.size() + queueless_lot_.reserved() < s_.max_queues)) {
        q = queue(name, /*create=*/true);
      }
      if (q == nullptr) return park_or_reject(queueless_lot_, req, "external (too many queues)");
    } else if (has_queue_slot) {
      wake_queueless();  // the reserved queue went unused: offer it to the next one
    }
    const std::string qname(name);
    if (!q->pollers.empty() && q->leases < s_.max_leases_per_queue) {
      if (q->lot.claim(req.workflow_id, req.step, req.attempt)) wake_queue(qname, *q);
      auto poller = std::move(q->pollers.front());
      q->pollers.pop_front();
      poller.promise.deliver(hand_out(qname, *q, std::move(req), ""));
      publish();
      return;
    }
    const auto p = req.priority;
    if (!admit(q->tasks, q->lot, req)) {
      park_or_reject(q->lot, req, "queue '" + qname + "'");
      drop_if_idle(qname);
      return;
    }
    ++queued_[index(p)];
    publish();
  }

  caf::result<poll_reply> on_poll(const external_poll& p) {
    auto wait = p.wait_ms < 0 ? s_.poll_wait_default
                              : std::min(std::chrono::milliseconds(p.wait_ms), s_.poll_wait_max);
    if (auto* q = queue(p.queue, false);
        q != nullptr && !q->tasks.empty() && q->leases < s_.max_leases_per_queue) {
      auto req = *q->tasks.pop();
      --queued_[index(req.priority)];
      auto reply = hand_out(p.queue, *q, std::move(req), p.worker_id);
      wake_queue(p.queue, *q);
      publish();
      return reply;
    }
    if (wait.count() == 0) return poll_reply{};
    auto* q = queue(p.queue, true);
    if (q == nullptr) return poll_reply{poll_reply::status::too_many_queues, {}, {}, 0};
    if (q->pollers.size() >= s_.max_pollers_per_queue) {
      return poll_reply{poll_reply::status::too_many_pollers, {}, {}, 0};
    }
    auto promise = self_->make_response_promise<poll_reply>();
    const auto id = next_poll_++;
    q->pollers.push_back({id, promise});
    self_->delayed_send(self_, wait, poll_expired_atom::value, p.queue, id);
    publish();
    return promise;
  }

  void on_poll_expired(const std::string& name, std::uint64_t id) {
    auto* q = queue(name, false);
    if (q == nullptr) return;
    auto it = std::find_if(q->pollers.begin(), q->pollers.end(),
                           [id](const parked_poll& p) { return p.id == id; });
    if (it == q->pollers.end()) return;  // got a task meanwhile
    it->promise.deliver(poll_reply{});
    q->pollers.erase(it);
    drop_if_idle(name);
    publish();
  }

  caf::result<token_reply> on_complete(const std::string& token, external_completion& c) {
    auto it = leases_.find(token);
    if (it == leases_.end() && !finished_.contains(token)) it = adopt(token);
    if (it == leases_.end()) return unknown_or_duplicate(token);
    return answer(it, "completed", task_result::success(std::move(c.output)), false);
  }

  caf::result<token_reply> on_fail(const std::string& token, external_failure& f) {
    auto it = leases_.find(token);
    if (it == leases_.end() && !finished_.contains(token)) it = adopt(token);
    if (it == leases_.end()) return unknown_or_duplicate(token);
    auto r = task_result::failure(f.error_type.empty() ? "external" : std::move(f.error_type),
                                  std::move(f.error));
    r.output = std::move(f.details);
    return answer(it, "failed", std::move(r), f.non_retryable);
  }

  // A worker's result goes to its workflow, and the worker is answered only once the
  // workflow has recorded it (persisted what it decided), so an acknowledged result is
  // never lost to a crash. The lease lives until then: another answer meanwhile is told
  // to retry (unavailable), and a result the workflow could not record leaves the lease
  // as it was, for the worker's retry.
  caf::result<token_reply> answer(std::unordered_map<std::string, lease>::iterator it,
                                  std::string outcome, task_result r, bool non_retryable) {
    auto& l = it->second;
    if (l.answering) {
      return token_reply{token_reply::status::unavailable, false,
                         "another answer for this task is being recorded; retry"};
    }
    l.answering = true;
    const auto& token = it->first;
    auto promise = self_->make_response_promise<token_reply>();
    answers_[token] = pending_answer{promise, std::move(outcome)};
    auto guard = std::make_shared<answer_guard>(caf::actor_cast<caf::actor>(self_), token);
    send_result(l.req, std::move(r), non_retryable, !l.start_reported, ms_since(l.started),
                [guard](bool recorded, std::string why) { guard->fire(recorded, std::move(why)); });
    return promise;
  }

  void on_answer_recorded(const std::string& token, bool recorded, std::string& why) {
    auto a = answers_.find(token);
    if (a == answers_.end()) return;
    auto pending = std::move(a->second);
    answers_.erase(a);
    auto it = leases_.find(token);
    if (!recorded) {
      if (it != leases_.end()) it->second.answering = false;
      pending.promise.deliver(token_reply{
          token_reply::status::unavailable, false,
          "the workflow did not record the result (" + why.substr(0, 200) + "); retry"});
      return;
    }
    if (it != leases_.end()) end_lease(it, pending.outcome);
    remember(token);
    pending.promise.deliver(token_reply{token_reply::status::ok});
  }

  // What waits and runs, by destination (GET /api/v1/tasks/queues).
  queues_report on_queues() const {
    queues_report out;
    auto fill = [](queue_report& r, const priority_queues<task_request>& tasks,
                   const parking_lot& lot) {
      for (auto p : {task_priority::high, task_priority::normal, task_priority::low}) {
        r.queued[index(p)] = tasks.size(p);
        r.parked[index(p)] = lot.parked(p);
      }
    };
    fill(out.local, local_, local_lot_);
    out.local.running = running_.size();
    out.queues.reserve(queues_.size());
    for (const auto& [name, q] : queues_) {
      auto& r = out.queues.emplace_back();
      r.name = name;
      fill(r, q.tasks, q.lot);
      r.pollers = q.pollers.size();
      r.running = q.leases;
    }
    std::sort(out.queues.begin(), out.queues.end(),
              [](const queue_report& a, const queue_report& b) { return a.name < b.name; });
    out.waiting_for_a_queue = queueless_lot_.parked();
    return out;
  }

  token_reply on_heartbeat(const std::string& token) {
    auto it = leases_.find(token);
    if (it == leases_.end()) it = adopt(token);
    if (it == leases_.end()) {
      return {recovering_ ? token_reply::status::recovering : token_reply::status::not_found};
    }
    it->second.deadline = clock::now() + s_.heartbeat_timeout;
    return {token_reply::status::ok, it->second.abandoned};
  }

  void on_recovering(bool on) {
    recovering_ = on;
    if (!on) adopt_until_ = clock::now() + s_.heartbeat_timeout;
  }

  void on_lease_check(const std::string& token) {
    auto it = leases_.find(token);
    if (it == leases_.end()) return;
    const auto now = clock::now();
    if (it->second.answering) {  // its worker answered: the lease ends when recorded
      self_->delayed_send(self_, s_.heartbeat_timeout, lease_check_atom::value, token);
      return;
    }
    if (now < it->second.deadline) {
      self_->delayed_send(self_, it->second.deadline - now, lease_check_atom::value, token);
      return;
    }
    auto l = end_lease(it, "heartbeat_timeout");
    send_result(l.req,
                task_result::failure("heartbeat_timeout",
                                     "worker '" + l.worker_id.substr(0, 64) +
                                         "' sent no heartbeat within " +
                                         std::to_string(s_.heartbeat_timeout.count()) + " ms"),
                false, !l.start_reported, ms_since(l.started));
  }

  // Reservations of woken entries that did not come back are released, and their
  // slots woken for the next parked entries.
  void on_park_sweep() {
    sweep_armed_ = false;
    const auto now = clock::now();
    if (auto n = local_lot_.expire(now)) {
      metrics_.wake_expired(n);
      wake_local();
    }
    std::vector<std::string> maybe_idle;
    for (auto& [name, q] : queues_) {
      if (auto n = q.lot.expire(now)) {
        metrics_.wake_expired(n);
        wake_queue(name, q);
        maybe_idle.push_back(name);
      }
    }
    for (const auto& name : maybe_idle) drop_if_idle(name);  // wakes queueless_lot_
    if (auto n = queueless_lot_.expire(now)) {
      metrics_.wake_expired(n);
      wake_queueless();
    }
    arm_sweep();
    publish();
  }

  // task_abandon: the attempt's answer is not wanted any more (its step timed out, its
  // workflow was cancelled or failed). What waits for a slot — queued or parked, local or
  // external — is dropped; a running C++ handler is asked to stop (ctx.cancelled()) and
  // its answer dropped; a `sleep` gives its slot back, and so does an `http` request,
  // whose connection is closed. An external lease stays until its worker answers or
  // stops heartbeating, and its heartbeats answer cancel_requested (the worker's answer
  // is ignored by the entity).
  void on_abandon(const task_abandon& a) {
    if (auto l = leases_.find(token_of(a.workflow_id, a.step, a.attempt)); l != leases_.end()) {
      l->second.abandoned = true;
      return;
    }
    const auto same = [&a](const std::string& wf, const std::string& step, std::uint32_t n) {
      return n == a.attempt && wf == a.workflow_id && step == a.step;
    };
    const auto same_req = [&same](const task_request& r) {
      return same(r.workflow_id, r.step, r.attempt);
    };
    const auto same_parked = [&same](const parked_task& t) {
      return same(t.workflow_id, t.step, t.attempt);
    };
    // Every run of the attempt (a re-offer of a RUNNING step can run it twice).
    std::vector<std::uint64_t> ended;
    for (auto& [id, run] : running_) {
      if (!same_req(run.req)) continue;
      run.abandoned = true;
      builtin_task b{};
      if (run.cancel) {
        cancel_handler(id, run);
      } else if (run.stop_http || (parse_builtin(run.req.task, b) && b == builtin_task::sleep)) {
        if (run.stop_http) run.stop_http();  // its late exec_done finds no task: ignored
        ended.push_back(id);
      }
    }
    drop_waiting(same_req, same_parked);             // first: the freed slots must not run a copy
    for (auto id : ended) finish(id, std::nullopt);  // frees the slot, answers nothing
    if (!ended.empty()) pump();
  }

  // Drops the first copy of an abandoned attempt still waiting: queued or parked, local
  // or external.
  template <class SameReq, class SameParked>
  void drop_waiting(const SameReq& same_req, const SameParked& same_parked) {
    if (auto r = local_.take_first(same_req)) {
      --queued_[index(r->priority)];
      metrics_.finished(r->task, "abandoned");
      wake_local();
      publish();
      return;
    }
    auto dropped_parked = [this](const parked_task& t, std::string_view label) {
      --parked_[index(t.priority)];
      metrics_.finished(label, "abandoned");
      publish();
    };
    if (auto t = local_lot_.take_if(same_parked)) return dropped_parked(*t, "local");
    if (auto t = queueless_lot_.take_if(same_parked)) return dropped_parked(*t, k_external_label);
    for (auto& [name, q] : queues_) {
      const std::string qname = name;  // wake_queue and drop_if_idle may erase q
      if (auto r = q.tasks.take_first(same_req)) {
        --queued_[index(r->priority)];
        metrics_.finished(k_external_label, "abandoned");
        wake_queue(qname, q);
        drop_if_idle(qname);
        publish();
        return;
      }
      if (auto t = q.lot.take_if(same_parked)) {
        dropped_parked(*t, k_external_label);
        drop_if_idle(qname);
        return;
      }
    }
  }

  // Past its step's timeout (and the grace): a handler that checks ctx.cancelled()
  // returns; its result is then dropped like a cut sleep's (finish). The deadlines of
  // running handlers are kept here and checked by one pending message at a time, at
  // most k_deadline_check_max apart: a delayed message per handler would stay in CAF's
  // clock until its deadline even after the handler returned — with timeouts of up to
  // ten years, one entry per run for years.
  void arm_deadline_check() {
    if (deadline_check_armed_ || handler_deadlines_.empty()) return;
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
        handler_deadlines_.begin()->first - clock::now());
    wait = std::clamp(wait, std::chrono::milliseconds(0),
                      std::chrono::milliseconds(k_deadline_check_max));
    deadline_check_armed_ = true;
    self_->delayed_send(self_, wait, handler_deadline_atom::value);
  }

  void on_deadline_check() {
    deadline_check_armed_ = false;
    const auto now = clock::now();
    while (!handler_deadlines_.empty() && handler_deadlines_.begin()->first <= now) {
      const auto id = handler_deadlines_.begin()->second;
      handler_deadlines_.erase(handler_deadlines_.begin());
      auto it = running_.find(id);
      if (it == running_.end()) continue;
      it->second.deadline.reset();
      if (it->second.cancel) cancel_handler(id, it->second);
    }
    arm_deadline_check();
  }

  // Tells a running C++ handler to stop (ctx.cancelled()). Cancellation is cooperative:
  // one that does not return is counted (workflow_tasks_cancelled_running) and logged
  // after k_cancel_warn_after, since it keeps its worker slot.
  void cancel_handler(std::uint64_t id, running_task& run) {
    run.cancel->store(true);
    if (run.cancel_counted) return;
    run.cancel_counted = true;
    ++cancelled_running_;
    publish();
    self_->delayed_send(self_, k_cancel_warn_after, handler_stuck_atom::value, id);
  }

  void on_handler_stuck(std::uint64_t id) {
    auto it = running_.find(id);
    if (it == running_.end() || !it->second.cancel_counted) return;
    const auto& r = it->second.req;
    core::logger("workflow")
        ->warn(
            "task handler '{}' of workflow '{}' step '{}' attempt {} has not returned {} s "
            "after it was cancelled: it holds one of the {} worker slots "
            "(pekko.workflow.max-workers) until it does; a handler should check "
            "task_context::cancelled()",
            r.task, r.workflow_id, r.step, r.attempt, k_cancel_warn_after.count(), s_.max_workers);
  }

  void on_exit() {
    // The exit waits for the running handlers: those that check ctx.cancelled() end now.
    for (auto& [id, run] : running_) {
      if (run.cancel) run.cancel->store(true);
    }
    for (auto& w : workers_) caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
    workers_.clear();
    idle_workers_.clear();
    http_.reset();  // stops the io thread; drops in-flight requests
  }

 private:
  static std::size_t index(task_priority p) { return static_cast<std::size_t>(p); }

  external_queue* queue(std::string_view name, bool create) {
    auto it = queues_.find(std::string(name));
    if (it != queues_.end()) return &it->second;
    if (!create || queues_.size() >= s_.max_queues) return nullptr;
    return &queues_
                .emplace(std::string(name),
                         external_queue(s_.max_queued, s_.max_parked, s_.parked_wake_timeout))
                .first->second;
  }

  void drop_if_idle(const std::string& name) {
    auto it = queues_.find(name);
    if (it == queues_.end()) return;
    const auto& q = it->second;
    if (q.tasks.empty() && q.pollers.empty() && q.leases == 0 && q.lot.idle()) {
      queues_.erase(it);
      wake_queueless();
    }
  }

  // -- parking (see parking_lot.hpp) -----------------------------------------------

  // Whether `req` may take a slot of `tasks` (and then takes it): a woken request takes
  // the slot reserved for it; any other only a free, unreserved slot, and only when no
  // request of its priority is parked (FIFO: it would overtake them).
  bool admit(priority_queues<task_request>& tasks, parking_lot& lot, const task_request& req) {
    const auto p = req.priority;
    const bool claimed = lot.claim(req.workflow_id, req.step, req.attempt);
    if (!claimed && (lot.parked(p) > 0 || tasks.size(p) + lot.reserved(p) >= tasks.capacity())) {
      return false;
    }
    return tasks.push(p, req);
  }

  void park_or_reject(parking_lot& lot, const task_request& req, const std::string& where) {
    const bool external = req.task.starts_with(k_external_task_prefix);
    parked_task t{req.workflow_id, req.step, req.attempt, req.priority,
                  external ? req.task.substr(k_external_task_prefix.size()) : std::string()};
    if (parked_total() >= s_.max_parked_total) return reject(req, where, true);
    if (!lot.park(std::move(t))) return reject(req, where);
    ++parked_[index(req.priority)];
    metrics_.finished(external ? k_external_label : "local", "parked");
    publish();
  }

  // One woken entry: its slot is reserved; the region re-dispatches it at once.
  void on_wake(const parked_task& t) {
    --parked_[index(t.priority)];
    metrics_.woken();
    task_update u;
    u.what = task_update::kind::resubmit;
    u.workflow_id = t.workflow_id;
    u.step = t.step;
    u.attempt = t.attempt;
    send_update(std::move(u));
  }

  void wake(parking_lot& lot, const std::function<bool(task_priority)>& has_room) {
    if (lot.parked() == 0) return;
    if (lot.wake(
            has_room, [this](const parked_task& t) { on_wake(t); }, clock::now()) > 0) {
      arm_sweep();
    }
  }

  void wake_local() {
    wake(local_lot_, [this](task_priority p) {
      return local_.size(p) + local_lot_.reserved(p) < local_.capacity();
    });
  }

  void wake_queue(const std::string&, external_queue& q) {
    wake(q.lot, [&q](task_priority p) {
      return q.tasks.size(p) + q.lot.reserved(p) < q.tasks.capacity();
    });
  }

  void wake_queueless() {
    wake(queueless_lot_, [this](task_priority) {
      return queues_.size() + queueless_lot_.reserved() < s_.max_queues;
    });
  }

  // One timer for every lot: armed while some reservation is held.
  void arm_sweep() {
    if (sweep_armed_) return;
    bool held = local_lot_.reserved() > 0 || queueless_lot_.reserved() > 0;
    for (auto it = queues_.begin(); !held && it != queues_.end(); ++it) {
      held = it->second.lot.reserved() > 0;
    }
    if (!held) return;
    sweep_armed_ = true;
    self_->delayed_send(self_, s_.parked_wake_timeout, park_sweep_atom::value);
  }

  poll_reply hand_out(const std::string& name, external_queue& q, task_request req,
                      std::string worker_id) {
    auto token = token_of(req);
    if (leases_.contains(token)) {
      // The same attempt queued twice before its first copy was leased (a request of a
      // live lease is dropped on arrival): this worker shares the lease, whose first
      // answer counts.
      return poll_reply{poll_reply::status::task, token, std::move(req),
                        s_.heartbeat_timeout.count()};
    }
    ++q.leases;
    const auto now = clock::now();
    poll_reply reply{poll_reply::status::task, token, req, s_.heartbeat_timeout.count()};
    auto it = leases_
                  .emplace(token, lease{std::move(req), name, std::move(worker_id), now,
                                        now + s_.heartbeat_timeout})
                  .first;
    report_start(token, it->second);
    self_->delayed_send(self_, s_.heartbeat_timeout, lease_check_atom::value, token);
    return reply;
  }

  lease end_lease(std::unordered_map<std::string, lease>::iterator it, std::string_view outcome) {
    lease l = std::move(it->second);
    leases_.erase(it);
    metrics_.seconds(seconds_since(l.started));
    metrics_.finished(k_external_label, outcome);
    if (auto* q = queue(l.queue, false)) {
      --q->leases;
      serve_pollers(*q, l.queue);
      drop_if_idle(l.queue);
    }
    publish();
    return l;
  }

  // Parked polls left waiting because the queue was at max-leases-per-queue.
  void serve_pollers(external_queue& q, const std::string& name) {
    while (!q.pollers.empty() && !q.tasks.empty() && q.leases < s_.max_leases_per_queue) {
      auto req = *q.tasks.pop();
      --queued_[index(req.priority)];
      auto poller = std::move(q.pollers.front());
      q.pollers.pop_front();
      poller.promise.deliver(hand_out(name, q, std::move(req), ""));
      wake_queue(name, q);
    }
  }

  token_reply unknown_or_duplicate(const std::string& token) const {
    if (finished_.contains(token)) return {token_reply::status::duplicate};
    return {recovering_ ? token_reply::status::recovering : token_reply::status::not_found};
  }

  void remember(const std::string& token) {
    if (s_.remembered_tokens == 0) return;
    finished_.insert(token);
    finished_order_.push_back(token);
    while (finished_order_.size() > s_.remembered_tokens) {
      finished_.erase(finished_order_.front());
      finished_order_.pop_front();
    }
  }

  // A token without a lease: its worker got it before the node restarted. Recovery
  // queued the same attempt again (same token: token_of); that queued task becomes the
  // worker's lease, as if it had polled it now. Not found (the lease expired and the
  // step moved on, the attempt finished, or its workflow has not been recovered yet):
  // leases_.end(). Linear in the queued and parked external tasks (bounded by max-queued
  // and max-parked per queue), so only in the restart window: until heartbeat-timeout after the
  // runtime finished waking the interrupted workflows (or after the dispatcher started, if it woke
  // none). A lease from before the restart that was not heartbeated by then had expired anyway.
  std::unordered_map<std::string, lease>::iterator adopt(const std::string& token) {
    if (!recovering_ && clock::now() > adopt_until_) return leases_.end();
    for (auto& [name, q] : queues_) {
      auto req = q.tasks.take_first([&](const task_request& r) { return token_of(r) == token; });
      if (!req) continue;
      --queued_[index(req->priority)];
      const std::string qname = name;  // hand_out and wake_queue may not erase q
      hand_out(qname, q, std::move(*req), "");
      wake_queue(qname, q);
      publish();
      return leases_.find(token);
    }
    // Re-queued into a full queue, the attempt was parked: only its identity waits there,
    // which is all a lease needs (the worker has the input). Leaving it would hand the
    // task to a second worker once the queue has room. Already woken, its re-dispatch
    // on the way: the lease is made now, and the re-dispatch, finding it, passes the
    // slot reserved for it on (on_external_request).
    const auto has_token = [&token](const parked_task& p) {
      return token_of(p.workflow_id, p.step, p.attempt) == token;
    };
    for (auto& [name, q] : queues_) {
      auto t = q.lot.take_if(has_token);
      if (t) {
        --parked_[index(t->priority)];
      } else {
        t = q.lot.find_woken(has_token);
      }
      if (!t) continue;
      task_request req;
      req.workflow_id = std::move(t->workflow_id);
      req.step = std::move(t->step);
      req.attempt = t->attempt;
      req.priority = t->priority;
      req.task = std::string(k_external_task_prefix) + name;
      const std::string qname = name;  // hand_out may not erase q
      hand_out(qname, q, std::move(req), "");
      publish();
      return leases_.find(token);
    }
    return leases_.end();
  }

  [[nodiscard]] std::uint64_t parked_total() const { return parked_[0] + parked_[1] + parked_[2]; }

  // `node_full`: the node's parked entries are at max-parked-total (the lot had room).
  void reject(const task_request& req, const std::string& where, bool node_full = false) {
    metrics_.finished(req.task.starts_with(k_external_task_prefix) ? k_external_label : "local",
                      "rejected");
    task_update u;
    u.what = task_update::kind::rejected;
    u.workflow_id = req.workflow_id;
    u.step = req.step;
    u.attempt = req.attempt;
    u.rejections = req.rejections;
    u.message = "the " + std::string(to_string(req.priority)) + " priority queue of " + where +
                " is full" +
                (node_full ? ", and the node's parked tasks are at "
                             "pekko.workflow.tasks.max-parked-total (" +
                                 std::to_string(s_.max_parked_total) + ")"
                 : s_.max_parked > 0 ? ", and so is its parking lot"
                                     : "");
    send_update(std::move(u));
  }

  void send_failed(const task_request& req, std::string error_type, std::string message) {
    send_result(req, task_result::failure(std::move(error_type), std::move(message)));
  }

  void send_result(const task_request& req, task_result r, bool non_retryable = false,
                   bool started = false, std::int64_t started_ago_ms = 0,
                   std::function<void(bool, std::string)> on_recorded = {}) {
    task_update u;
    u.started = started;
    u.started_ago_ms = started_ago_ms;
    u.on_recorded = std::move(on_recorded);
    u.workflow_id = req.workflow_id;
    u.step = req.step;
    u.attempt = req.attempt;
    if (r.ok) {
      u.what = task_update::kind::completed;
      u.output = std::move(r.output);
    } else {
      u.what = task_update::kind::failed;
      u.error_type = std::move(r.error_type);
      u.message = std::move(r.message);
      u.output = std::move(r.output);  // details, e.g. a failed http's {status, body}
      u.non_retryable = non_retryable;
    }
    send_update(std::move(u));
  }

  void publish() {
    std::uint64_t total = 0;
    std::uint64_t parked = 0;
    for (auto p : {task_priority::high, task_priority::normal, task_priority::low}) {
      metrics_.queued(p, queued_[index(p)]);
      metrics_.parked(p, parked_[index(p)]);
      total += queued_[index(p)];
      parked += parked_[index(p)];
    }
    std::uint64_t pollers = 0;
    for (const auto& [name, q] : queues_) pollers += q.pollers.size();
    const auto running = running_.size() + leases_.size();
    metrics_.running(running);
    metrics_.cancelled_running(cancelled_running_);
    metrics_.pollers(pollers);
    load_->queued.store(total, std::memory_order_relaxed);
    load_->local_queued.store(local_.size(), std::memory_order_relaxed);
    load_->running.store(running, std::memory_order_relaxed);
    load_->parked.store(parked, std::memory_order_relaxed);
  }

  caf::event_based_actor* self_;
  task_settings s_;
  task_update_route route_;
  std::shared_ptr<task_metrics> metrics_holder_;
  task_metrics& metrics_;
  std::shared_ptr<task_handlers> handlers_;
  std::shared_ptr<task_load> load_;

  priority_queues<task_request> local_;
  std::array<std::uint64_t, 3> queued_{};  // every destination, by priority
  std::array<std::uint64_t, 3> parked_{};  // every parking lot, by priority (not woken)
  parking_lot local_lot_;
  parking_lot queueless_lot_;  // requests waiting for a free external queue (max-queues)
  bool sweep_armed_ = false;
  std::unordered_map<std::uint64_t, running_task> running_;
  std::uint64_t cancelled_running_ = 0;  // running_ entries with cancel_counted
  // (deadline, running_ id) of the C++ handlers with a step timeout (running_task).
  std::set<std::pair<clock::time_point, std::uint64_t>> handler_deadlines_;
  bool deadline_check_armed_ = false;
  std::uint64_t next_exec_ = 1;
  // Start reports held back (report_start): running_ ids and lease tokens; at most
  // every running task and lease once, cleared at each start_report_atom.
  std::vector<std::uint64_t> unreported_runs_;
  std::vector<std::string> unreported_leases_;
  bool start_reports_armed_ = false;
  std::vector<caf::actor> workers_;
  std::vector<caf::actor> idle_workers_;
  std::unique_ptr<http_task_runner> http_;

  std::unordered_map<std::string, external_queue> queues_;
  std::unordered_map<std::string, lease> leases_;
  std::unordered_map<std::string, pending_answer> answers_;  // by token; at most one per lease
  std::unordered_set<std::string> finished_;
  std::deque<std::string> finished_order_;
  std::uint64_t next_poll_ = 1;
  bool recovering_ = false;                                              // task_recovering_atom
  clock::time_point adopt_until_ = clock::now() + s_.heartbeat_timeout;  // adopt()
};

caf::behavior dispatcher_actor(caf::event_based_actor* self, task_settings s,
                               task_update_route route, std::shared_ptr<task_metrics> metrics,
                               std::shared_ptr<task_handlers> handlers,
                               std::shared_ptr<task_load> load) {
  auto d = std::make_shared<dispatcher>(self, s, std::move(route), std::move(metrics),
                                        std::move(handlers), std::move(load));
  self->attach_functor([d](const caf::error&) { d->on_exit(); });
  return {
      [d](task_request& req) { d->on_request(std::move(req)); },
      [d](task_poll_atom, const external_poll& p) { return d->on_poll(p); },
      [d](task_recovering_atom, bool on) { d->on_recovering(on); },
      [d](task_complete_atom, const std::string& token, external_completion& c) {
        return d->on_complete(token, c);
      },
      [d](task_queues_atom) { return d->on_queues(); },
      [d](task_fail_atom, const std::string& token, external_failure& f) {
        return d->on_fail(token, f);
      },
      [d](task_heartbeat_atom, const std::string& token) { return d->on_heartbeat(token); },
      [d](sleep_done_atom, std::uint64_t id) {
        d->finish(id, task_result::success());
        d->pump();
      },
      [d](sleep_cut_atom, std::uint64_t id) {
        d->finish(id, std::nullopt);
        d->pump();
      },
      [d](handler_deadline_atom) { d->on_deadline_check(); },
      [d](handler_stuck_atom, std::uint64_t id) { d->on_handler_stuck(id); },
      [d](const task_abandon& a) { d->on_abandon(a); },
      [d](exec_done_atom, std::uint64_t id, task_result& r) {
        d->finish(id, std::move(r));
        d->pump();
      },
      [d](lease_check_atom, const std::string& token) { d->on_lease_check(token); },
      [d](poll_expired_atom, const std::string& queue, std::uint64_t id) {
        d->on_poll_expired(queue, id);
      },
      [d](park_sweep_atom) { d->on_park_sweep(); },
      [d](start_report_atom) { d->on_start_reports(); },
      [d](answer_recorded_atom, const std::string& token, bool recorded, std::string& why) {
        d->on_answer_recorded(token, recorded, why);
      },
  };
}

}  // namespace

caf::actor spawn_task_dispatcher(caf::actor_system& sys, task_settings settings,
                                 task_update_route route, prometheus::Registry* registry,
                                 std::shared_ptr<task_handlers> handlers,
                                 std::shared_ptr<task_load> load) {
  // Metric families are registered here, on the caller's thread, before the actor runs.
  return sys.spawn(dispatcher_actor, settings, std::move(route),
                   std::make_shared<task_metrics>(registry), std::move(handlers), std::move(load));
}

caf::actor spawn_task_dispatcher(caf::actor_system& sys, task_settings settings, caf::actor sink,
                                 prometheus::Registry* registry,
                                 std::shared_ptr<task_handlers> handlers,
                                 std::shared_ptr<task_load> load) {
  return spawn_task_dispatcher(
      sys, settings, [sink = std::move(sink)](const std::string&) { return sink; }, registry,
      std::move(handlers), std::move(load));
}

}  // namespace wfe::workflow
